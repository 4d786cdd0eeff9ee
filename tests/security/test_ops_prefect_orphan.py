"""Issue 15, item 15: a killed run left Prefect's temporary API server (uvicorn) running as
an orphan, for ever. It now gets SIGKILL when the run's process dies, however it dies
(PR_SET_PDEATHSIG, set from a thread that lives as long as the process)."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import TestDatabase

pytestmark = pytest.mark.slow

CLI = str(Path(sys.executable).parent / "claims-askes")


def marked(mark: str) -> list[psutil.Process]:
    """Live processes whose environment carries `mark` (a run and what it started)."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                continue
            if process.environ().get("CLAIMS_ASKES_TEST_MARK") == mark:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def uvicorn_of(process: psutil.Process) -> psutil.Process | None:
    for child in process.children(recursive=True):
        try:
            if "uvicorn" in child.cmdline():
                return child
        except psutil.NoSuchProcess:
            continue
    return None


def port_of(server: psutil.Process) -> int:
    args = server.cmdline()
    return int(args[args.index("--port") + 1])


def gone(process: psutil.Process, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def test_a_killed_run_leaves_no_prefect_server_behind(db: TestDatabase, tmp_path: Path) -> None:
    """`claims-askes run database-backup` with Prefect's temporary API, held inside its flow
    (the backup directory's lock is ours), is killed with SIGKILL once its API server
    answers: the server must die with it."""
    directory = tmp_path / "backups"
    directory.mkdir(mode=0o700)
    mark = uuid.uuid4().hex
    env = dict(
        os.environ,
        CLAIMS_ASKES_BACKUP_DIR=str(directory),
        CLAIMS_ASKES_TEST_MARK=mark,
        PREFECT_HOME=str(tmp_path / "prefect"),
    )
    env.pop("PREFECT_API_URL", None)  # the run's own temporary API server
    lock = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)  # the run's backup waits here, its server up
    run = subprocess.Popen(
        [CLI, "run", "database-backup", "--drill", "never"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    server = None
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert run.poll() is None, run.stderr.read() if run.stderr else ""
            server = server or uvicorn_of(psutil.Process(run.pid))
            if server is not None:
                try:
                    url = f"http://127.0.0.1:{port_of(server)}/api/health"
                    if httpx.get(url, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        else:
            raise AssertionError("the run's Prefect API server never answered")
        time.sleep(2)  # well inside the flow, blocked on the lock
        assert run.poll() is None
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)
        assert gone(server, timeout=15), "the run's Prefect API server outlived it"
        assert marked(mark) == []
    finally:
        for leftover in marked(mark):  # never leave one behind, even when failing
            leftover.kill()
        if run.poll() is None:
            run.kill()
        run.wait(timeout=30)
        os.close(lock)


SPAWN_FROM_A_THREAD = textwrap.dedent(
    """
    import sys, threading, time
    from claims_askes.core.runtime import popen_dying_with_run

    started = []
    thread = threading.Thread(
        target=lambda: started.append(popen_dying_with_run(["sleep", "600"]))
    )
    thread.start()
    thread.join()  # the thread that asked for the child has ended
    print(started[0].pid, flush=True)
    time.sleep(600)
    """
)


def test_a_child_started_from_a_thread_that_ended_lives_until_its_process_dies() -> None:
    """The parent-death signal follows the thread that forked: Prefect's events or log
    worker thread may start the server and end; the server must live on, and still die
    with the process."""
    parent = subprocess.Popen(
        [sys.executable, "-c", SPAWN_FROM_A_THREAD], stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        child = psutil.Process(int(parent.stdout.readline()))
        time.sleep(1)
        assert child.is_running() and child.status() != psutil.STATUS_ZOMBIE
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
        assert gone(child, timeout=10), "the child outlived its process"
    finally:
        if parent.poll() is None:
            parent.kill()
        parent.wait(timeout=30)
