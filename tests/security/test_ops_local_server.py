"""Issue 15, items 12 and 13, with the command line and a local server of its own.

12. A mistyped setting created things: `CLAIMS_ASKES_DATABASE=nonexistent_db claims-askes
    db current` created that database, `CLAIMS_ASKES_HOME=/nonexistent/x ...` ran initdb
    there. Only `db start` creates; every other command refuses in one line naming the
    setting and `claims-askes db start`.
13. The server log (`postgresql.log`), which holds failed statements with their values, was
    0644: it is 0600 from its creation, and one made readable is made 0600 again."""

from __future__ import annotations

import os
import random
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from claims_askes.db.localserver import free_port, port_is_taken

pytestmark = pytest.mark.slow


def run(
    args: list[str], env: dict[str, str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "claims_askes.cli", *args],
        env=dict(env, COLUMNS="250"),
        text=True,
        capture_output=True,
        check=False,
        timeout=300,
    )
    assert not check or result.returncode == 0, f"{args}: {result.stderr}"
    return result


def server_port() -> int:
    """A free port below the kernel's ephemeral range: a server stopped and started again
    gets it back (an ephemeral one may meanwhile be some connection's local port)."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for _ in range(100):
        port = random.randrange(20000, min(low, 32768))
        if not port_is_taken(port):
            return port
    return free_port()


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A directory for the server's home outside pytest's: another pytest session makes
    /tmp/pytest-of-<user> owner-only again at any time, and the server's OS user (as root)
    could then no longer reach its data directory."""
    path = Path(tempfile.mkdtemp(prefix="claims-askes-sec-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def cli_env(scratch: Path) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("DATABASE_URL", "_DB_PASSWORD"))}
    env.update(CLAIMS_ASKES_HOME=str(scratch / "home"), CLAIMS_ASKES_PG_PORT=str(server_port()))
    env.pop("CLAIMS_ASKES_DATABASE", None)
    yield env
    run(["db", "stop"], env, check=False)


def refused(result: subprocess.CompletedProcess[str], variable: str) -> str:
    """The one error line of a refused command: exit 2, naming the setting and the fix."""
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {variable}: "), lines[0]
    assert "run `claims-askes db start`" in lines[0], lines[0]
    return lines[0]


def databases(env: dict[str, str]) -> set[str]:
    url = run(["db", "url"], env).stdout.strip()
    out = subprocess.run(
        ["psql", url, "-Atc", "SELECT datname FROM pg_database"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(out.split())


def test_a_mistyped_home_creates_nothing(cli_env: dict[str, str], scratch: Path) -> None:
    missing = scratch / "nonexistent" / "x"
    env = dict(cli_env, CLAIMS_ASKES_HOME=str(missing))
    for command in (["db", "current"], ["db", "url"], ["db", "upgrade"], ["seed"]):
        line = refused(run(command, env, check=False), "CLAIMS_ASKES_HOME")
        assert f"no local server under {missing}" in line
    assert not (scratch / "nonexistent").exists()  # no initdb, no directory
    status = run(["db", "status"], env)  # status and stop only look
    assert "False" in status.stdout
    run(["db", "stop"], env)
    assert not (scratch / "nonexistent").exists()


def test_a_mistyped_database_is_refused_and_only_db_start_creates(
    cli_env: dict[str, str],
) -> None:
    run(["db", "start"], cli_env)
    before = databases(cli_env)
    assert "claims_askes" in before
    typo = dict(cli_env, CLAIMS_ASKES_DATABASE="nonexistent_db")
    for command in (["db", "current"], ["db", "url"], ["db", "upgrade"]):
        line = refused(run(command, typo, check=False), "CLAIMS_ASKES_DATABASE")
        assert "no database nonexistent_db" in line
    assert databases(cli_env) == before

    run(["db", "stop"], cli_env)  # a stopped server is started, still without creating
    refused(run(["db", "current"], typo, check=False), "CLAIMS_ASKES_DATABASE")
    assert databases(cli_env) == before

    run(["db", "start"], typo)  # the one command that creates
    assert databases(cli_env) == before | {"nonexistent_db"}
    assert run(["db", "current"], typo).returncode == 0


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_server_log_is_owner_only_from_the_start(cli_env: dict[str, str]) -> None:
    run(["db", "start"], cli_env)
    log = Path(cli_env["CLAIMS_ASKES_HOME"]) / "postgresql.log"
    assert mode(log) == 0o600
    # A failed statement, with a value, lands in the log: which stays owner-only.
    url = run(["db", "url"], cli_env).stdout.strip()
    subprocess.run(
        ["psql", url, "-Atc", "SELECT nik FROM no_such_table WHERE nik = '3171011234567890'"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "3171011234567890" in log.read_text()
    assert mode(log) == 0o600

    # A log made readable (an older version, or by hand) is owner-only again at start.
    run(["db", "stop"], cli_env)
    log.chmod(0o644)
    run(["db", "start"], cli_env)
    assert mode(log) == 0o600
