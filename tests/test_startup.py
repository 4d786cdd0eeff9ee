"""A run starts fast (issue 18, part 4).

Importing a flow module (what a run does before its first task) does not import Great
Expectations, which alone took 2.5 of the 4.8 s; checkpoints import it when they first run.
The operations flows (monitoring every 5 minutes, backups, restores, maintenance,
partitions) import no pandas either: they need none until a restore compares its counts or
maintenance reads a report. And the work pool starts a run as one interpreter of the
checkout (`deployments.setup.ENGINE_COMMAND`), not Prefect 3.9's supervisor interpreter
followed by a second one, which imported Prefect twice per run. Times are measured by
bench/startup.py, not here.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect import flow

from deployments.project import ROOT, read_project

pytestmark = pytest.mark.no_server

MODULES = sorted(
    {e.entrypoint.rpartition(":")[0].removesuffix(".py").replace("/", ".") for e in read_project()}
)

#: Flows that work through SQL and files only: importing them imports no DataFrame library.
WITHOUT_PANDAS = [
    "flows.database_backup",
    "flows.database_maintenance",
    "flows.database_monitoring",
    "flows.database_restore",
    "flows.partition_maintenance",
]


def imported_packages(modules: list[str], packages: list[str]) -> list[str]:
    """Which of `packages` a fresh interpreter has imported after importing `modules`."""
    probe = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(packages)!r})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    return list(json.loads(done.stdout))


def test_no_flow_module_imports_great_expectations() -> None:
    assert len(MODULES) >= 10
    assert imported_packages(MODULES, ["great_expectations"]) == []


@pytest.mark.parametrize("module", WITHOUT_PANDAS)
def test_operations_flows_import_no_dataframe_library(module: str) -> None:
    assert module in MODULES
    assert imported_packages([module], ["pandas", "numpy", "pyarrow", "great_expectations"]) == []


def test_a_checkpoint_still_runs_great_expectations() -> None:
    import pandas as pd

    from claims_askes.quality import checkpoints as q

    report = q.run_checkpoint("startup-probe", pd.DataFrame({"a": [1, 2]}), [q.not_null("a")])
    assert report.success and "great_expectations" in sys.modules


def test_the_pools_command_is_the_checkouts_interpreter_running_the_engine() -> None:
    from deployments.setup import ENGINE_COMMAND, job_template

    command = job_template([])["variables"]["properties"]["command"]
    assert command["default"] == ENGINE_COMMAND
    placeholder = "{{ prefect.variables.claims_askes_code_dir }}"
    argv = shlex.split(ENGINE_COMMAND.replace(placeholder, "/srv/claims askes"))
    assert argv == ["/srv/claims askes/.venv/bin/python", "-m", "prefect.engine"]


# --- a run through a real process worker on the project's pool template ----------------------


@flow(name="startup-process-facts")
def process_facts(report: str) -> None:
    """Writes how its process was started to `report` (a path)."""
    Path(report).write_text(
        json.dumps(
            {
                "executable": sys.executable,
                "argv": sys.orig_argv[1:],
                "cwd": os.getcwd(),
                # Prefect's workspace supervisor hands the engine it resolved the entrypoint.
                "supervised": "PREFECT__FLOW_ENTRYPOINT" in os.environ,
            }
        )
    )


@pytest.fixture
def project_pool(prefect_api: str) -> Iterator[tuple[str, Any]]:
    """A work pool with the project's job template, a deployment of `process_facts` with
    prefect.yaml's pull step, and a process worker polling the pool; (pool, deployment id)."""
    import yaml
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import VariableCreate, VariableUpdate, WorkPoolCreate
    from prefect.utilities.callables import parameter_schema

    from deployments.project import PREFECT_YAML
    from deployments.setup import job_template

    pool = f"startup-test-{uuid.uuid4().hex[:8]}"
    with get_client(sync_client=True) as client:
        if client.read_variable_by_name("claims_askes_code_dir") is None:
            client.create_variable(VariableCreate(name="claims_askes_code_dir", value=str(ROOT)))
        else:
            client.update_variable(VariableUpdate(name="claims_askes_code_dir", value=str(ROOT)))
        client.create_work_pool(
            WorkPoolCreate(name=pool, type="process", base_job_template=job_template([]))
        )
        deployment_id = client.create_deployment(
            client.create_flow_from_name(process_facts.name),
            pool,
            entrypoint="tests/test_startup.py:process_facts",
            work_pool_name=pool,
            pull_steps=yaml.safe_load(PREFECT_YAML.read_text())["pull"],
            parameter_openapi_schema=parameter_schema(process_facts).model_dump_for_openapi(),
        )
    home = Path(os.environ.get("TMPDIR", "/tmp"))
    env = dict(os.environ, PREFECT_API_URL=prefect_api, PREFECT_WORKER_QUERY_SECONDS="1")
    worker = subprocess.Popen(
        [str(Path(sys.executable).parent / "prefect"), "worker", "start", "--pool", pool],
        env=env,
        cwd=home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield pool, deployment_id
    finally:
        os.killpg(worker.pid, signal.SIGINT)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


@pytest.mark.slow
def test_a_worker_starts_the_run_as_one_interpreter_of_the_checkout(
    project_pool: tuple[str, Any], tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client

    _, deployment_id = project_pool
    report = tmp_path / "facts.json"
    with get_client(sync_client=True) as client:
        run = client.create_flow_run_from_deployment(
            deployment_id, parameters={"report": str(report)}
        )
        deadline = time.monotonic() + 240
        while not (state := client.read_flow_run(run.id).state) or not state.is_final():
            assert time.monotonic() < deadline, f"the run is still {state and state.name}"
            time.sleep(1)
    assert state.is_completed(), state
    facts = json.loads(report.read_text())
    assert Path(facts["executable"]).resolve() == (ROOT / ".venv/bin/python").resolve()
    assert facts["argv"][:2] == ["-m", "prefect.engine"]
    assert not facts["supervised"]
    assert Path(facts["cwd"]).resolve() == ROOT.resolve()  # the pull step ran in the engine
