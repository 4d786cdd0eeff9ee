"""The processes the benchmarks start: a Prefect server on loopback, its workers, and the
waiting and stopping around them (one copy for bench/scaling.py, bench/soak.py and
bench/startup.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from claims_askes.core.runtime import TELEMETRY_OFF


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[Any]:
    """`command` in a process group of its own (stop() ends it with its children), its
    output appended to `log`, in `log`'s folder."""
    with log.open("ab") as out:
        return subprocess.Popen(
            command,
            env=env,
            cwd=log.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen[Any], grace: float = 20.0) -> None:
    """SIGINT, then SIGKILL, to the process group start() made."""
    if process.poll() is not None:
        return
    for sig in (signal.SIGINT, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
            process.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            return


def wait_for(what: str, check: Any, timeout: float) -> Any:
    """The first true value of check(), polled; an error counts as not ready yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except Exception:  # not up yet
            value = None
        if value:
            return value
        time.sleep(0.3)
    raise SystemExit(f"{what}: not ready after {timeout:.0f} s")


def prefect_env(
    home: Path, api: str, base: Mapping[str, str] | None = None, **settings: str
) -> dict[str, str]:
    """`base` (default: this process's environment) with Prefect's home and API set, its
    UI and telemetry off, workers polling every second, and `settings` on top."""
    return {
        **(os.environ if base is None else base),
        **TELEMETRY_OFF,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api,
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        **settings,
    }


def start_prefect_server(env: dict[str, str], log: Path) -> subprocess.Popen[Any]:
    """`prefect server start` on the port of env's PREFECT_API_URL, once it answers."""
    import httpx

    api = env["PREFECT_API_URL"]
    port = api.rsplit(":", 1)[1].split("/")[0]
    prefect = str(Path(sys.executable).parent / "prefect")
    server = start([prefect, "server", "start", "--host", "127.0.0.1", "--port", port], env, log)
    try:
        wait_for("prefect server", lambda: httpx.get(f"{api}/health", timeout=2).is_success, 180)
    except BaseException:
        stop(server)
        raise
    return server
