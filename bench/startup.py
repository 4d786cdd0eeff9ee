"""Run start-up benchmark (issue 18, part 4): `python bench/startup.py`.

    .venv/bin/python bench/startup.py                 # imports, then runs on warm workers
    .venv/bin/python bench/startup.py --repeat 5 --flows claim_adjudication database_backup

Two figures, each against a baseline measured in the same run (absolute times on a shared
2-core machine are noise):

1. **Import time** of each deployed flow module in a fresh interpreter, the best of
   --repeat, against `from prefect import flow, task`, which every run pays (`import
   prefect` alone leaves out `prefect.main`). Two columns: the wall time of the import
   statement (interpreter start excluded) and the CPU time of that interpreter (user +
   system, start included), which a loaded machine inflates much less. Goal: < 1.5 s.
2. **Trigger to first task** through a real `prefect server` (temporary, on loopback) and
   warm process workers (one run each done before measuring). The deployments run this
   file's `startup_probe` flow: it imports the named flow module, as a run of that flow does
   when the engine loads it, then runs one task. They have prefect.yaml's pull step (change
   to the checkout named by the variable `claims_askes_code_dir`) and run on two pools:
   - `project`: the job template `claims-askes deploy` gives the `claims-askes` pool
     (`deployments.setup.job_template`), whose command starts one interpreter;
   - `prefect-default`: Prefect 3.9's default process template, which starts a workspace
     supervisor interpreter first, then execs the engine in a second (the baseline).
   Measured from Prefect's own timestamps: from the run's Pending state (the moment a
   worker took it) to its first task's start. The worker's poll interval
   (PREFECT_WORKER_QUERY_SECONDS, 1 s here) is the time from the run's creation to Pending:
   left out, and printed apart. The probe's first task also reports when its process
   started and the CPU seconds it had used (Linux /proc; CPU time survives the
   supervisor's exec), which split the figure into the worker's share (Pending to the
   process) and the run process's own. Baseline: the same probe importing nothing, on
   each pool. Goal: < 5 s.

Not a test. History in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import flow, task

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
POOLS = {"project": "startup-bench", "prefect-default": "startup-bench-prefect-default"}
IMPORT_GOAL, START_GOAL = 1.5, 5.0
#: What every flow module imports, and a run's engine too: `import prefect` alone leaves out
#: `prefect.main` (0.5-0.7 s more), which `from prefect import flow` loads.
BASELINE_IMPORT = "from prefect import flow, task"


def process_facts() -> dict[str, float]:
    """When this process started (epoch seconds, from /proc, 10 ms ticks) and the CPU
    seconds it has used, its interpreter before an exec included."""
    ticks = os.sysconf("SC_CLK_TCK")
    stat = Path("/proc/self/stat").read_text()
    started_ticks = int(stat.rpartition(")")[2].split()[19])  # field 22, starttime
    age = time.clock_gettime(time.CLOCK_BOOTTIME) - started_ticks / ticks
    times = os.times()
    return {"started": time.time() - age, "cpu": times.user + times.system}


@task
def first_task(report: str) -> None:
    """Writes the process's facts to `report` (a path) if given: its start is the figure."""
    if report:
        Path(report).write_text(json.dumps(process_facts()))


@flow(name="startup-probe")
def startup_probe(module: str = "", report: str = "") -> None:
    """Import `module` (a flow module, as the worker's run of that flow does), then one task."""
    if module:
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        importlib.import_module(module)
    first_task(report)


# --- import time -----------------------------------------------------------------------------


def import_seconds(statement: str) -> tuple[float, float]:
    """(wall, CPU) seconds of `statement` (an import) in a fresh interpreter: the wall time of
    the statement alone, and the interpreter's user + system time, its start included."""
    timed = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [sys.executable, "-c", timed], cwd=ROOT, capture_output=True, text=True, check=True
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return float(done.stdout.strip().splitlines()[-1]), cpu


def compile_bytecode() -> None:
    """Compile the project's modules to bytecode first, as installing a package does: with
    PYTHONDONTWRITEBYTECODE set (as on this machine) every import would otherwise compile
    the project from source, which a deployed worker never does."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "flows", "tasks", "claims_askes", "schemas"],
        cwd=ROOT,
        check=True,
    )


def import_times(statements: list[str], repeat: int) -> dict[str, tuple[float, float]]:
    """The best of `repeat` (wall, CPU) times of each import statement, measured in turns
    (each round runs every statement once), so that a burst of load hits them alike."""
    samples: dict[str, list[tuple[float, float]]] = {m: [] for m in statements}
    for _ in range(repeat):
        for statement in statements:
            samples[statement].append(import_seconds(statement))
    return {m: (min(w for w, _ in s), min(c for _, c in s)) for m, s in samples.items()}


def flow_modules() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from deployments.project import read_project

    return [
        "flows." + e.entrypoint.split(":")[0].removeprefix("flows/").removesuffix(".py")
        for e in read_project()
        if e.code_exists
    ]


# --- run start through a server and workers --------------------------------------------------


def deploy_probes(client: Any) -> dict[str, Any]:
    """The probe's deployment on each pool (POOLS), with prefect.yaml's pull steps; the
    variable those resolve, `claims_askes_code_dir`, is this checkout."""
    import yaml
    from prefect.client.schemas.actions import VariableCreate, WorkPoolCreate
    from prefect.utilities.callables import parameter_schema
    from prefect.workers.process import ProcessWorker

    from deployments.project import PREFECT_YAML
    from deployments.setup import job_template

    client.create_variable(VariableCreate(name="claims_askes_code_dir", value=str(ROOT)))
    templates = {
        "project": job_template([]),
        "prefect-default": ProcessWorker.get_default_base_job_template(),
    }
    pull = yaml.safe_load(PREFECT_YAML.read_text())["pull"]
    flow_id = client.create_flow_from_name(startup_probe.name)
    deployments = {}
    for launch, pool in POOLS.items():
        client.create_work_pool(
            WorkPoolCreate(name=pool, type="process", base_job_template=templates[launch])
        )
        deployments[launch] = client.create_deployment(
            flow_id,
            f"startup-probe-{launch}",
            entrypoint="bench/startup.py:startup_probe",
            work_pool_name=pool,
            pull_steps=pull,
            parameter_openapi_schema=parameter_schema(startup_probe).model_dump_for_openapi(),
        )
    return deployments


@dataclass(frozen=True)
class RunStart:
    """One run, in seconds: the poll wait (creation to Pending, left out), Pending to the
    first task's start (the figure), Pending to its process's start (the worker's share),
    and the CPU its process had used when the first task ran."""

    poll: float
    start: float
    worker: float
    cpu: float


def one_run(client: Any, deployment_id: Any, module: str, report: Path) -> RunStart:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from bench.processes import wait_for

    report.unlink(missing_ok=True)
    run = client.create_flow_run_from_deployment(
        deployment_id, parameters={"module": module, "report": str(report)}
    )
    finished = wait_for(
        f"run of {module or 'nothing'}",
        lambda: (r := client.read_flow_run(run.id)).state.is_final() and r,
        180,
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
    facts = json.loads(report.read_text())
    return RunStart(
        poll=(pending - finished.created).total_seconds(),
        start=(first.start_time - pending).total_seconds(),
        worker=facts["started"] - pending.timestamp(),
        cpu=facts["cpu"],
    )


def median_run(runs: list[RunStart]) -> RunStart:
    return RunStart(
        *(
            statistics.median(getattr(r, f) for r in runs)
            for f in ("poll", "start", "worker", "cpu")
        )
    )


def run_starts(modules: list[str], repeat: int) -> dict[tuple[str, str], RunStart]:
    """The median run start per (launch, module), "" being the empty probe."""
    from prefect.client.orchestration import SyncPrefectClient

    # Imported here: this file is also the probe a worker runs, whose start is measured.
    from bench.processes import prefect_env, start, start_prefect_server, stop
    from claims_askes.db.localserver import free_port

    home = Path(tempfile.mkdtemp(prefix="claims-askes-startup-"))
    env = prefect_env(home, f"http://127.0.0.1:{free_port()}/api")
    url = env["PREFECT_API_URL"]
    prefect = str(BIN / "prefect")
    server = start_prefect_server(env, home / "server.log")
    workers: list[subprocess.Popen[Any]] = []
    report = home / "first-task.json"
    try:
        with SyncPrefectClient(url) as client:
            deployments = deploy_probes(client)
            for launch, pool in POOLS.items():
                command = [prefect, "worker", "start", "--pool", pool, "--type", "process"]
                log = home / launch / "worker.log"
                log.parent.mkdir()
                workers.append(start([*command, "--limit", "1"], env, log))
            for deployment in deployments.values():  # warm-up: the worker and the OS caches
                one_run(client, deployment, "", report)
            samples: dict[tuple[str, str], list[RunStart]] = {
                (launch, m): [] for launch in POOLS for m in ["", *modules]
            }
            for _ in range(repeat):
                for launch, module in samples:
                    samples[launch, module].append(
                        one_run(client, deployments[launch], module, report)
                    )
        return {key: median_run(runs) for key, runs in samples.items()}
    finally:
        for worker in workers:
            stop(worker)
        stop(server)
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    sys.path.insert(0, str(ROOT))  # bench.processes, when run as a script
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="Samples per figure")
    parser.add_argument(
        "--flows",
        nargs="*",
        default=["claim_adjudication", "eligibility_sweep", "database_monitoring"],
        help="Flow modules (under flows/) whose run start to measure",
    )
    parser.add_argument("--no-imports", action="store_true", help="Skip the import figures")
    parser.add_argument("--no-starts", action="store_true", help="Skip the run-start figures")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    if not args.no_imports:
        modules = flow_modules()
        compile_bytecode()
        imports = import_times([BASELINE_IMPORT, *(f"import {m}" for m in modules)], args.repeat)
        base_wall, base_cpu = imports.pop(BASELINE_IMPORT)
        print(
            f"`{BASELINE_IMPORT}` (baseline), best of {args.repeat}: {base_wall:.2f} s wall, "
            f"{base_cpu:.2f} s CPU"
        )
        print(
            f"{'flow module':34} {'wall':>7} {'x base':>7} {'cpu':>7} {'x base':>7}"
            f"  goal < {IMPORT_GOAL} s (wall / cpu)"
        )
        for module in modules:
            wall, cpu = imports[f"import {module}"]
            met = "/".join("met" if v < IMPORT_GOAL else "NOT met" for v in (wall, cpu))
            print(
                f"{module:34} {wall:6.2f}s {wall / base_wall:6.2f}x {cpu:6.2f}s "
                f"{cpu / base_cpu:6.2f}x  {met}"
            )
        slowest, (wall, cpu) = max(imports.items(), key=lambda kv: kv[1][0])
        print(f"slowest import: {slowest} {wall:.2f} s wall, {cpu:.2f} s CPU")

    if args.no_starts:
        return
    starts = run_starts([f"flows.{m}" for m in args.flows], args.repeat)
    poll = statistics.median(r.poll for r in starts.values())
    print(
        f"\nrun start on warm workers, median of {args.repeat}; the workers' poll wait "
        f"(creation to Pending, left out) was {poll:.2f} s"
    )
    print(
        f"{'launch':16} {'flow module':30} {'start':>7} {'x empty':>8} {'worker':>7} "
        f"{'process':>8} {'its cpu':>8}  goal < {START_GOAL} s"
    )
    for (launch, module), r in starts.items():
        empty = starts[launch, ""].start
        met = "met" if r.start < START_GOAL else "NOT met"
        print(
            f"{launch:16} {module or '(empty flow)':30} {r.start:6.2f}s {r.start / empty:7.2f}x "
            f"{r.worker:6.2f}s {r.start - r.worker:7.2f}s {r.cpu:7.2f}s  {met}"
        )
    ours, theirs = starts["project", ""].start, starts["prefect-default", ""].start
    slowest_start = max(r.start for (launch, _), r in starts.items() if launch == "project")
    print(
        f"\nempty flow: project launch {ours:.2f} s = {ours / theirs:.2f}x Prefect's default "
        f"({theirs:.2f} s); slowest project start {slowest_start:.2f} s "
        f"({slowest_start / ours:.2f}x its empty flow)"
    )
    print(
        "start = Pending to first task; worker = Pending to the run's process start; "
        "process = the rest; its cpu = CPU seconds of that process by its first task"
    )


if __name__ == "__main__":
    main()
