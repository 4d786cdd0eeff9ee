#!/usr/bin/env python3
"""Set-up and the two entry points of a fresh machine (Python 3.11+, nothing else needed).

    python3 dev.py main    # venv, install, local database, migrations, demo data, every flow
    python3 dev.py test    # venv, install, ruff, mypy, import contracts, then the whole test
                           # suite (embedded server, then Debian's PostgreSQL 15 if installed)

Everything else is the `claims-askes` command inside .venv (see README.md).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
STAMP = VENV / ".claims-askes-installed"
DEBIAN_PG15 = Path("/usr/lib/postgresql/15/bin")
#: Prefect's telemetry off for every process started here, unless the user set otherwise
#: (the same as claims_askes.core.runtime.TELEMETRY_OFF, which dev.py cannot import before
#: the project is installed).
TELEMETRY_OFF = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}


def child_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a subprocess: `env` (default: this one) with telemetry off."""
    result = dict(os.environ if env is None else env)
    for name, value in TELEMETRY_OFF.items():
        result.setdefault(name, value)
    return result


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def ensure_environment() -> None:
    """Create .venv and install the project (again only when pyproject.toml changed)."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be run by an older python3
        sys.exit(f"Python 3.11+ is required, this is {sys.version.split()[0]}")
    if not (BIN / "python").exists():
        say("creating the virtual environment .venv")
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    say("installing claims-askes and its development tools into .venv")
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True, env=child_env())
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True, env=child_env())
    STAMP.write_text(wanted)


def run(args: list[str], env: dict[str, str] | None = None) -> int:
    return subprocess.run(args, cwd=ROOT, env=child_env(env), check=False).returncode


def main_job(extra: list[str]) -> int:
    """The main job end to end on the embedded defaults."""
    ensure_environment()
    return run([str(BIN / "claims-askes"), "demo", *extra])


#: The static checks, each a command that must pass before the tests run.
CHECKS = {
    "ruff check": ["ruff", "check", "--quiet", "."],
    "ruff format --check": ["ruff", "format", "--check", "--quiet", "."],
    "mypy": ["mypy"],
    "import contracts (lint-imports)": ["lint-imports", "--no-cache"],
}


def static_checks() -> int:
    """Lint, formatting, types and the layer contracts (pyproject.toml): quiet when they
    pass; the first failure stops the run with the tool's own report."""
    for name, command in CHECKS.items():
        say(name)
        done = subprocess.run(
            [str(BIN / command[0]), *command[1:]],
            cwd=ROOT,
            env=child_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            print(done.stdout + done.stderr, end="", flush=True)
            return done.returncode
    return 0


CHROMIUM = Path("/usr/bin/chromium")


def ensure_chromium() -> None:
    """The dashboard's browser test needs Debian's chromium: installed here when missing and
    this is root with apt-get; otherwise that test fails, saying so."""
    if CHROMIUM.exists() or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return
    if not shutil.which("apt-get"):
        return
    say("installing chromium (apt-get) for the dashboard's browser test")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-qq", "chromium"]
    if subprocess.run(install, env=env, check=False, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False, capture_output=True)
        subprocess.run(install, env=env, check=False, capture_output=True)


def tests(extra: list[str]) -> int:
    """The static checks, then the whole suite on the embedded server, then its database
    tests but the slow end-to-end ones on Debian's PostgreSQL 15 if present."""
    ensure_environment()
    code = static_checks()
    if code != 0:
        return code
    ensure_chromium()
    # loadfile: a module's tests run on one worker, in order, so a module-scoped server is
    # built once, and tests that build on each other's state (tests/test_pitr.py) hold.
    # Three workers on two cores: the tests wait on servers and subprocesses much of the
    # time (two workers left 30 % of the CPU idle; three took the suite from 26 to 19.5 min
    # on 2026-12-05, 22 on a busier run; four took 22.7, two sessions side by side 20.5).
    # --no-loadscope-reorder: modules go in tests/conftest.py's order, the heaviest first.
    pytest = [str(BIN / "python"), "-m", "pytest", "-n", "3", "--dist", "loadfile"]
    pytest += ["--no-loadscope-reorder"]
    pytest += ["-p", "no:cacheprovider", *extra]
    say("test suite on the embedded PostgreSQL server")
    code = run(pytest)
    if code != 0:
        return code
    if (
        (DEBIAN_PG15 / "postgres").exists()
        and "CLAIMS_ASKES_PG_BIN_DIR" not in os.environ
        and "TEST_DATABASE_URL" not in os.environ
    ):
        # The slow end-to-end tests (process kills, the local server's life cycle, Prefect
        # servers and workers) prove our processes, not the server's version: once is enough.
        say(f"database tests again on PostgreSQL 15 ({DEBIAN_PG15})")
        env = dict(os.environ, CLAIMS_ASKES_PG_BIN_DIR=str(DEBIAN_PG15))
        code = run([*pytest, "-m", "not embedded_only and not no_server and not slow"], env=env)
    return code


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["main", "test", "setup"])
    args, extra = parser.parse_known_args()
    if args.command == "setup":
        ensure_environment()
        return 0
    return main_job(extra) if args.command == "main" else tests(extra)


if __name__ == "__main__":
    sys.exit(main())
