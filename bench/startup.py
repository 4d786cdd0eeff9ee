"""Run start-up benchmark (issue 18, part 4): `python bench/startup.py`.

    .venv/bin/python bench/startup.py                 # imports, then runs on a warm worker
    .venv/bin/python bench/startup.py --repeat 5 --flows claim_adjudication database_backup

Two figures, each against a baseline measured in the same run (absolute times on a shared
2-core machine are noise):

1. **Import time** of each deployed flow module in a fresh interpreter, from
   `python -X importtime` (the module's cumulative time, interpreter start excluded), the
   best of --repeat, against `import prefect` alone, which every run pays. Goal: < 1.5 s.
2. **Trigger to first task** through a real `prefect server` (temporary, on loopback) and a
   warm process worker (one run done before measuring). The deployment `startup-probe` is
   this file's `startup_probe` flow: it imports the named flow module, as a run of that
   flow does when the worker loads it, then runs one empty task. Measured from Prefect's
   own timestamps: from the run's Pending state (the moment the worker took it) to its
   first task's start. The worker's poll interval (PREFECT_WORKER_QUERY_SECONDS, 1 s here)
   is the time from the run's creation to Pending, and is left out; it is printed apart.
   Baseline: the same probe importing nothing. Goal: < 5 s.

Not a test. History in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from prefect import flow, task

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
POOL = "startup-bench"
IMPORT_GOAL, START_GOAL = 1.5, 5.0


@task
def first_task() -> None:
    """Does nothing: its start time is the figure."""


@flow(name="startup-probe")
def startup_probe(module: str = "") -> None:
    """Import `module` (a flow module, as the worker's run of that flow does), then one task."""
    if module:
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        importlib.import_module(module)
    first_task()


# --- import time -----------------------------------------------------------------------------


def import_seconds(module: str) -> float:
    """The cumulative import time of `module` in a fresh interpreter."""
    pattern = re.compile(r"^import time:\s+\d+ \|\s+(\d+) \| " + re.escape(module) + r"$")
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    found = [m for ln in done.stderr.splitlines() if (m := pattern.match(ln))]
    return int(found[-1].group(1)) / 1e6


def import_times(modules: list[str], repeat: int) -> dict[str, float]:
    """The best of `repeat` import times of each module, measured in turns (each round
    imports every module once), so that a burst of load on the machine hits them alike."""
    samples: dict[str, list[float]] = {m: [] for m in modules}
    for _ in range(repeat):
        for module in modules:
            samples[module].append(import_seconds(module))
    return {m: min(s) for m, s in samples.items()}


def flow_modules() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from deployments.project import read_project

    return [
        "flows." + e.entrypoint.split(":")[0].removeprefix("flows/").removesuffix(".py")
        for e in read_project()
        if e.code_exists
    ]


# --- run start through a server and a worker -------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except Exception:  # not up yet
            value = None
        if value:
            return value
        time.sleep(0.3)
    raise SystemExit(f"startup bench: {what} not ready after {timeout:.0f} s")


def stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[Any]:
    with log.open("w") as out:
        return subprocess.Popen(
            command,
            env=env,
            cwd=log.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def deploy_probe(client: Any) -> Any:
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.utilities.callables import parameter_schema
    from prefect.workers.process import ProcessWorker

    client.create_work_pool(
        WorkPoolCreate(
            name=POOL,
            type="process",
            base_job_template=ProcessWorker.get_default_base_job_template(),
        )
    )
    flow_id = client.create_flow_from_name(startup_probe.name)
    return client.create_deployment(
        flow_id,
        "startup-probe",
        entrypoint="bench/startup.py:startup_probe",
        work_pool_name=POOL,
        pull_steps=[{"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}],
        job_variables={"working_dir": str(ROOT)},
        parameter_openapi_schema=parameter_schema(startup_probe).model_dump_for_openapi(),
    )


def one_run(client: Any, deployment_id: Any, module: str, timeout: float) -> tuple[float, float]:
    """(poll wait, pending to first task start) of one run, in seconds."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    run = client.create_flow_run_from_deployment(deployment_id, parameters={"module": module})
    finished = wait_for(
        f"run of {module or 'nothing'}",
        lambda: (r := client.read_flow_run(run.id)).state.is_final() and r,
        timeout,
    )
    if not finished.state.is_completed():
        raise SystemExit(f"startup bench: the probe of {module!r} ended {finished.state_name}")
    pending = min(s.timestamp for s in client.read_flow_run_states(run.id) if s.is_pending())
    # Task runs reach the server as events, recorded a moment after the run ends.
    (first,) = wait_for(
        f"task run of {module or 'nothing'}",
        lambda: client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id]))
        ),
        60,
    )
    return (
        (pending - finished.created).total_seconds(),
        (first.start_time - pending).total_seconds(),
    )


def run_starts(modules: list[str], repeat: int) -> dict[str, tuple[float, float]]:
    """Median (poll wait, pending to first task) per module, "" being the empty probe."""
    from prefect.client.orchestration import SyncPrefectClient

    home = Path(tempfile.mkdtemp(prefix="claims-askes-startup-"))
    url = f"http://127.0.0.1:{free_port()}/api"
    env = dict(
        os.environ,
        PREFECT_HOME=str(home),
        PREFECT_API_URL=url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_UI_ENABLED="false",
        PREFECT_SERVER_UI_ENABLED="false",
        PREFECT_WORKER_QUERY_SECONDS="1",
    )
    port = url.split(":")[2].split("/")[0]
    prefect = str(BIN / "prefect")
    server = start(
        [prefect, "server", "start", "--host", "127.0.0.1", "--port", port],
        env,
        home / "server.log",
    )
    worker = None
    try:
        import httpx

        wait_for("prefect server", lambda: httpx.get(f"{url}/health").status_code == 200, 120)
        with SyncPrefectClient(url) as client:
            deployment_id = deploy_probe(client)
            worker = start(
                [prefect, "worker", "start", "--pool", POOL, "--type", "process", "--limit", "1"],
                env,
                home / "worker.log",
            )
            one_run(client, deployment_id, "", 180)  # warm-up: the worker and the OS caches
            samples: dict[str, list[tuple[float, float]]] = {m: [] for m in ["", *modules]}
            for _ in range(repeat):
                for module in samples:
                    samples[module].append(one_run(client, deployment_id, module, 180))
        return {
            m: (
                statistics.median(p for p, _ in runs),
                statistics.median(s for _, s in runs),
            )
            for m, runs in samples.items()
        }
    finally:
        if worker is not None:
            stop(worker)
        stop(server)
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="Samples per figure")
    parser.add_argument(
        "--flows",
        nargs="*",
        default=["claim_adjudication", "eligibility_sweep", "database_monitoring"],
        help="Flow modules (under flows/) whose run start to measure",
    )
    args = parser.parse_args()

    imports = import_times(["prefect", *flow_modules()], args.repeat)
    baseline = imports.pop("prefect")
    print(f"import prefect (baseline), best of {args.repeat}: {baseline:.2f} s")
    print(f"{'flow module':40} {'import':>8} {'x prefect':>10}  goal < {IMPORT_GOAL} s")
    for module, seconds in imports.items():
        met = "met" if seconds < IMPORT_GOAL else "NOT met"
        print(f"{module:40} {seconds:7.2f}s {seconds / baseline:9.2f}x  {met}")

    starts = run_starts([f"flows.{m}" for m in args.flows], args.repeat)
    poll, empty = starts.pop("")
    print(
        f"\nrun start on a warm worker, median of {args.repeat}; the worker's poll wait "
        f"(creation to Pending, left out) was {poll:.2f} s"
    )
    print(f"empty flow (baseline): Pending to first task {empty:.2f} s")
    print(f"{'flow module':40} {'start':>8} {'x empty':>10}  goal < {START_GOAL} s")
    for module, (_, seconds) in starts.items():
        met = "met" if seconds < START_GOAL else "NOT met"
        print(f"{module:40} {seconds:7.2f}s {seconds / empty:9.2f}x  {met}")
    slowest = max(imports.values())
    print(
        f"\nslowest import {slowest:.2f} s ({slowest / baseline:.2f}x prefect); slowest start "
        f"{max(s for _, s in starts.values()):.2f} s "
        f"({max(s for _, s in starts.values()) / empty:.2f}x the empty flow)"
    )


if __name__ == "__main__":
    main()
