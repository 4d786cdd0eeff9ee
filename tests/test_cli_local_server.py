"""The command line as a new user runs it: a local server of its own, migrated, with
`psql "$(claims-askes db url)"` showing the schemas and a service refused elsewhere."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from claims_askes.db.localserver import free_port

pytestmark = pytest.mark.slow


def run(
    args: list[str], env: dict[str, str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "claims_askes.cli", *args],
        env=env,
        text=True,
        capture_output=True,
        check=check,
        timeout=300,
    )


@pytest.fixture
def cli_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("DATABASE_URL", "_DB_PASSWORD"))}
    env.update(CLAIMS_ASKES_HOME=str(tmp_path / "home"), CLAIMS_ASKES_PG_PORT=str(free_port()))
    yield env
    run(["db", "stop"], env, check=False)
    shutil.rmtree(tmp_path / "home", ignore_errors=True)


def test_db_start_upgrade_url_status_stop(cli_env: dict[str, str]) -> None:
    started = run(["db", "start"], cli_env)
    assert "local server running" in started.stdout
    home = Path(cli_env["CLAIMS_ASKES_HOME"])
    assert oct((home / "secrets.json").stat().st_mode & 0o777) == "0o600"
    # The running server's port wins over a changed setting, with a message, not a wrong
    # server's password error.
    other = dict(cli_env, CLAIMS_ASKES_PG_PORT=str(free_port()))
    moved = run(["db", "start"], other, check=False)
    assert moved.returncode == 2
    assert f"runs on port {cli_env['CLAIMS_ASKES_PG_PORT']}" in moved.stderr

    run(["db", "upgrade"], cli_env)
    url = run(["db", "url"], cli_env).stdout.strip()
    schemas = subprocess.run(
        [
            "psql",
            url,
            "-Atc",
            "SELECT count(*) FROM pg_namespace WHERE nspname IN "
            "('claims_service','member_service','provider_service','benefit_service',"
            "'policy_service','authorization_service','payment_service','notification_service',"
            "'document_service','common','audit')",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert schemas == "11"

    member_url = run(["db", "url", "--service", "member"], cli_env).stdout.strip()
    assert "member_service_user" in member_url
    refused = subprocess.run(
        ["psql", member_url, "-Atc", "SELECT count(*) FROM claims_service.claim"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode != 0
    assert "permission denied for schema claims_service" in refused.stderr

    status = run(["db", "status"], cli_env).stdout
    assert "running" in status and "True" in status
    run(["db", "stop"], cli_env)
    assert "False" in run(["db", "status"], cli_env).stdout


def test_bad_setting_is_one_line_and_exit_code_2(cli_env: dict[str, str]) -> None:
    cli_env["CLAIMS_ASKES_PG_PORT"] = "99999999"
    result = run(["db", "status"], cli_env, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: CLAIMS_ASKES_PG_PORT:")
    assert len(result.stderr.strip().splitlines()) == 1


def test_unknown_service_is_refused_with_the_known_ones(cli_env: dict[str, str]) -> None:
    result = run(["db", "url", "--service", "billing"], cli_env, check=False)
    assert result.returncode == 2
    assert "unknown service 'billing'; known: claims, member" in result.stderr


def test_a_taken_port_is_named_with_the_variable_to_set(cli_env: dict[str, str]) -> None:
    """Two checkouts each have a local server of their own: the second, on the same port,
    is told which variable picks another, before anything is started."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", int(cli_env["CLAIMS_ASKES_PG_PORT"])))
        taken.listen()
        result = run(["db", "start"], cli_env, check=False)
    assert result.returncode == 2
    assert f"port {cli_env['CLAIMS_ASKES_PG_PORT']} is taken" in result.stderr
    assert "CLAIMS_ASKES_PG_PORT" in result.stderr
    home = Path(cli_env["CLAIMS_ASKES_HOME"])
    assert not (home / "pgdata" / "postmaster.pid").exists()
