"""The deployments for real: a `prefect server` on loopback (its own SQLite home, scheduler
off so that no schedule fires during the test), `claims-askes deploy --store-secrets`
against it, ad-hoc runs of `claim-adjudication` with parameters, and real process workers
running them against the test database, one worker and then two sharing one backlog.

Issue 18, on the same server: a worker whose environment has none of the database secrets
runs a deployment from the stored Secret blocks, with no secret in the run's logs, artifacts
or parameters; a failed store leaves the blocks as they were and a later plain deploy works;
and the server refuses bad parameters of every deployment, naming the field, before a run
exists.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.client.schemas.objects import FlowRun
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL, temporary_settings

from claims_askes.core.settings import (
    SECRET_BLOCKS_VARIABLE,
    read_secret_block,
    secret_block_name,
)
from claims_askes.core.settings import secret_variables as all_secret_variables
from claims_askes.db.localserver import free_port
from deployments.project import ROOT, WORK_POOL, read_project
from tests.conftest import TestDatabase
from tests.test_adjudication_runs import assert_exactly_once, build_world

pytestmark = [pytest.mark.slow, pytest.mark.embedded_only]

BIN = Path(sys.executable).parent
PREFECT, CLI = str(BIN / "prefect"), str(BIN / "claims-askes")
ADJUDICATION = "claim-adjudication/claim-adjudication"
RUN_TIMEOUT = 150.0


@dataclass
class PrefectServer:
    url: str  # .../api
    home: Path
    env: dict[str, str]  # for every process that talks to it

    def client(self) -> SyncPrefectClient:
        return SyncPrefectClient(self.url)


def stop(process: subprocess.Popen[Any], grace: float = 15.0) -> None:
    """SIGINT, then SIGKILL, to the process group this test started."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(grace)


def wait_healthy(url: str, server: subprocess.Popen[Any], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"prefect server exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"prefect server not healthy after {timeout} s: {log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def prefect_server(test_env: dict[str, str]) -> Iterator[PrefectServer]:
    home = Path(tempfile.mkdtemp(prefix="claims-askes-prefect-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = dict(
        os.environ,
        PREFECT_HOME=str(home),
        PREFECT_API_URL=url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_UI_ENABLED="false",
        PREFECT_SERVER_UI_ENABLED="false",
        # Schedules are deployed active, as in production; the server's scheduler is
        # off so that none of them fires while the test runs.
        PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="false",
        PREFECT_WORKER_QUERY_SECONDS="1",
        PREFECT_WORKER_HEARTBEAT_SECONDS="5",
    )
    log = home / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=home,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_healthy(url, server, log)
        yield PrefectServer(url=url, home=home, env=env)
    finally:
        stop(server)


def secrets_here() -> dict[str, str]:
    """The database secrets set in this test's environment (DATABASE_URL, the passwords)."""
    return {v: os.environ[v] for v in all_secret_variables() if os.environ.get(v)}


@pytest.fixture(scope="module")
def deployed(prefect_server: PrefectServer, module_db: TestDatabase) -> PrefectServer:
    """`claims-askes deploy --store-secrets` against the server, as a user runs it, with
    DATABASE_URL of the module's database and the service passwords in the shell. Workers
    that set these variables themselves keep their own values."""
    env = dict(prefect_server.env, **secrets_here())
    assert env["DATABASE_URL"] == module_db.url
    done = subprocess.run(
        [CLI, "deploy", "--store-secrets"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "claims-askes-database-url" in output  # the blocks are named, never shown
    for name, value in secrets_here().items():
        assert value not in output, f"deploy printed {name}"
    return prefect_server


@pytest.fixture
def workers(deployed: PrefectServer) -> Iterator[Any]:
    """Starts `prefect worker start --pool claims-askes --type process` processes with this
    test's environment (DATABASE_URL of its database, the service passwords), in a
    directory that is not the checkout (the deployment's pull step finds the code)."""
    started: list[tuple[subprocess.Popen[Any], Path]] = []
    workdir = Path(tempfile.mkdtemp(prefix="claims-askes-worker-"))

    def start(name: str) -> None:
        env = dict(deployed.env, DATABASE_URL=os.environ["DATABASE_URL"])
        log = workdir / f"{name}.log"
        with log.open("w") as out:
            started.append(
                (
                    subprocess.Popen(
                        [
                            PREFECT,
                            "worker",
                            "start",
                            "--pool",
                            WORK_POOL,
                            "--type",
                            "process",
                            "--name",
                            name,
                            "--limit",
                            "1",
                        ],
                        env=env,
                        cwd=workdir,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    ),
                    log,
                )
            )

    def logs() -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()[-4000:]}" for _, log in started)

    start.logs = logs  # type: ignore[attr-defined]
    try:
        yield start
    finally:
        for process, _ in started:
            stop(process)


def wait_for_workers(server: PrefectServer, names: set[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with server.client() as client:
        while time.monotonic() < deadline:
            online = {
                w.name
                for w in client.read_workers_for_work_pool(WORK_POOL)
                if w.status.value == "ONLINE"
            }
            if names <= online:
                return
            time.sleep(0.5)
    pytest.fail(f"workers {names} not online after {timeout} s")


def wait_for_runs(server: PrefectServer, run_ids: list[uuid.UUID], logs: Any) -> list[FlowRun]:
    deadline = time.monotonic() + RUN_TIMEOUT
    with server.client() as client:
        while True:
            runs = [client.read_flow_run(run_id) for run_id in run_ids]
            if all(r.state is not None and r.state.is_final() for r in runs):
                break
            if time.monotonic() > deadline:
                pytest.fail(
                    f"runs not finished after {RUN_TIMEOUT} s: "
                    f"{[r.state_name for r in runs]}\n{logs()}"
                )
            time.sleep(1)
    for run in runs:
        assert run.state is not None and run.state.is_completed(), (
            f"{run.name}: {run.state_name} {run.state and run.state.message}\n{logs()}"
        )
    return runs


def claims_by_run(conn: psycopg.Connection) -> dict[str, int]:
    rows = conn.execute(
        "SELECT adjudication_run_id::text, count(*) FROM claims_service.claim GROUP BY 1"
    ).fetchall()
    return {str(run): int(n) for run, n in rows}


def test_deploy_schedule_and_run_ad_hoc_on_a_worker(
    deployed: PrefectServer, db: TestDatabase, workers: Any
) -> None:
    entries = {e.name: e for e in read_project() if e.code_exists}
    with deployed.client() as client:
        deployments = {d.name: d for d in client.read_deployments()}
        assert set(entries) <= set(deployments)
        for name, entry in entries.items():
            deployment = deployments[name]
            assert deployment.work_pool_name == WORK_POOL
            assert deployment.work_queue_name == entry.work_queue
            schedules = sorted(
                (s.schedule.cron, s.schedule.timezone, s.active, s.parameters)  # type: ignore[union-attr]
                for s in deployment.schedules
            )
            assert schedules == sorted(
                (s["cron"], "Asia/Jakarta", True, s.get("parameters", {})) for s in entry.schedules
            ), name
            limit = deployment.global_concurrency_limit
            assert (limit.limit if limit else None) == entry.concurrency_limit, name
        adjudication = deployments["claim-adjudication"]
        schema = adjudication.parameter_openapi_schema or {}
        assert {"max_claims", "chunk_size", "lease_seconds", "shards", "shard"} <= set(
            schema["properties"]
        )
        assert client.read_flow_runs() == []  # no schedule fired
        queue = client.read_work_queue_by_name("backup-restore", work_pool_name=WORK_POOL)
        assert queue.concurrency_limit == 1
        code_dir = client.read_variable_by_name("claims_askes_code_dir")
        assert code_dir is not None and code_dir.value == str(ROOT)
        # The server validates parameters against the flow's signature.
        with pytest.raises(Exception, match="(?i)validation|parameters"):
            client.create_flow_run_from_deployment(
                adjudication.id, parameters={"chunk_size": "many"}
            )

    with db.admin() as conn:
        build_world(conn, members=6)
        total = conn.execute("SELECT count(*) FROM claims_service.claim").fetchone()
        # Ad hoc, with parameters, as from the UI's "Custom run" or `prefect deployment run`.
        run = subprocess.run(
            [
                PREFECT,
                "deployment",
                "run",
                ADJUDICATION,
                "--param",
                "chunk_size=3",
                "--param",
                "lease_seconds=120",
            ],
            env=deployed.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        with deployed.client() as client:
            (flow_run,) = client.read_flow_runs()
        assert flow_run.parameters["chunk_size"] == 3
        workers("worker-1")
        (finished,) = wait_for_runs(deployed, [flow_run.id], workers.logs)
        assert_exactly_once(conn)
        assert total is not None and claims_by_run(conn) == {str(finished.id): total[0]}


def test_two_workers_drain_one_backlog_exactly_once(
    deployed: PrefectServer, db: TestDatabase, workers: Any
) -> None:
    with db.admin() as conn:
        build_world(conn, members=16)
        total = conn.execute("SELECT count(*) FROM claims_service.claim").fetchone()
        workers("worker-a")
        workers("worker-b")
        wait_for_workers(deployed, {"worker-a", "worker-b"})
        with deployed.client() as client:
            deployment = client.read_deployment_by_name(ADJUDICATION)
            # One run over two member hash buckets, one over all members: either way the
            # leases give each claim to exactly one of them.
            runs = [
                client.create_flow_run_from_deployment(
                    deployment.id, parameters={"chunk_size": 3, "lease_seconds": 120, **extra}
                )
                for extra in ({"shards": 2}, {})
            ]
        finished = wait_for_runs(deployed, [r.id for r in runs], workers.logs)
        assert_exactly_once(conn)
        by_run = claims_by_run(conn)
        assert total is not None and sum(by_run.values()) == total[0]
        # Each worker takes one run at a time (--limit 1), so both runs ran at once on the
        # two workers, and both got part of the backlog through the leases.
        assert set(by_run) == {str(r.id) for r in finished}, by_run
        assert all(n > 0 for n in by_run.values()), by_run


# Issue 18, part 2: each value ran 25-60 s on a worker before failing; the server refuses it.
BAD_PARAMETERS: list[tuple[str, dict[str, Any], str]] = [
    ("eligibility-sweep", {"batch_size": -5}, "batch_size"),
    ("eligibility-sweep", {"as_of": "notadate"}, "as_of"),
    ("database-monitoring", {"slow_ms": -1}, "slow_ms"),
    ("claim-archiving", {"older_than": "banana"}, "older_than"),
    ("claim-adjudication", {"shards": 2, "shard": 7}, "shard"),
    ("claim-adjudication", {"shard": 1}, "shard"),  # shards left at its default, 1
    ("claim-readjudication", {"claim_numbers": [""]}, "claim_numbers"),
    ("database-maintenance", {"schemas": ["claims_service; DROP"]}, "schemas"),
    ("database-backup", {"schema_name": "claims_service"}, "schema_name"),  # scope: full
]
GOOD_PARAMETERS: dict[str, dict[str, Any]] = {
    "eligibility-sweep": {"batch_size": 5, "as_of": "2026-01-31"},
    "database-monitoring": {"slow_ms": 0.5},
    "claim-archiving": {"older_than": "18m"},
    "claim-adjudication": {"shards": 2, "shard": 1},
}


def test_the_server_refuses_bad_parameters_of_every_deployment_naming_the_field(
    deployed: PrefectServer,
) -> None:
    server = deployed
    entries = [e for e in read_project() if e.code_exists]
    with server.client() as client:
        runs_before = {r.id for r in client.read_flow_runs()}
        deployments = {d.name: d for d in client.read_deployments()}
        # Every parameter of every deployment carries its description and its type.
        for entry in entries:
            schema = deployments[entry.name].parameter_openapi_schema or {}
            assert deployments[entry.name].enforce_parameter_schema, entry.name
            for name, field in schema["properties"].items():
                assert field.get("description"), f"{entry.name}.{name}"
                assert {"type", "anyOf", "enum"} & set(field), f"{entry.name}.{name}"
        for name, parameters, field in BAD_PARAMETERS:
            with pytest.raises(Exception, match=rf"field '{field}(\[\d+\])?'") as refused:
                client.create_flow_run_from_deployment(deployments[name].id, parameters=parameters)
            assert "Validation failed" in str(refused.value), (name, parameters)
        accepted = [
            client.create_flow_run_from_deployment(deployments[name].id, parameters=parameters)
            for name, parameters in GOOD_PARAMETERS.items()
        ]
        assert [r.parameters for r in accepted] == list(GOOD_PARAMETERS.values())
        for run in accepted:  # never run: no worker is polling now
            client.delete_flow_run(run.id)
        assert {r.id for r in client.read_flow_runs()} == runs_before
    # The command line shows the server's refusal, field named, and creates nothing.
    cli = subprocess.run(
        [PREFECT, "deployment", "run", "database-monitoring/database-monitoring"]
        + ["--param", "slow_ms=-1"],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert cli.returncode != 0 and "slow_ms" in cli.stdout + cli.stderr, cli.stdout + cli.stderr
    with server.client() as client:
        assert {r.id for r in client.read_flow_runs()} == runs_before


def test_a_worker_without_database_secrets_runs_on_the_stored_blocks_and_shows_none(
    deployed: PrefectServer, module_db: TestDatabase
) -> None:
    server = deployed
    secrets = secrets_here()
    assert "DATABASE_URL" in secrets and len(secrets) >= 10  # the admin URL and the passwords
    with server.client() as client:
        pool = client.read_work_pool(WORK_POOL)
        env = pool.base_job_template["job_configuration"]["env"]
        assert env[SECRET_BLOCKS_VARIABLE].split(",") == sorted(secrets)
        assert "{{" not in json.dumps(env)
        deployment = client.read_deployment_by_name(ADJUDICATION)

    with module_db.admin() as conn:
        build_world(conn, members=4)
        total = conn.execute("SELECT count(*) FROM claims_service.claim").fetchone()
        workdir = Path(tempfile.mkdtemp(prefix="claims-askes-worker-"))
        worker_env = {k: v for k, v in server.env.items() if k not in all_secret_variables()}
        log = workdir / "worker.log"
        with log.open("w") as out:
            worker = subprocess.Popen(
                [PREFECT, "worker", "start", "--pool", WORK_POOL, "--type", "process"]
                + ["--name", "no-secrets", "--limit", "1"],
                env=worker_env,
                cwd=workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            with server.client() as client:
                run = client.create_flow_run_from_deployment(
                    deployment.id, parameters={"chunk_size": 3, "lease_seconds": 120}
                )
            (finished,) = wait_for_runs(server, [run.id], lambda: log.read_text()[-4000:])
        finally:
            stop(worker)
        # The run worked on the module's database, through the service roles.
        assert_exactly_once(conn)
        assert total is not None and claims_by_run(conn) == {str(finished.id): total[0]}

    with server.client() as client:
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[finished.id]))
        )
        artifacts = client.read_artifacts(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[finished.id]))
        )
    assert logs and artifacts, "the run logged and published its summary"
    shown = "\n".join(
        [
            *(entry.message for entry in logs),
            *(json.dumps(a.model_dump(mode="json")) for a in artifacts),
            json.dumps(finished.parameters),
            json.dumps(finished.job_variables or {}),
            log.read_text(),
        ]
    )
    for name, value in secrets.items():
        assert value not in shown, f"{name} shown by the run"


def test_a_failed_store_puts_the_blocks_back_and_a_later_plain_deploy_works(
    deployed: PrefectServer,
) -> None:
    from prefect.client.orchestration import get_client

    from deployments.setup import set_up_server, store_secret_blocks

    database_url = secret_block_name("DATABASE_URL")
    with (
        temporary_settings({PREFECT_API_URL: deployed.url}),
        get_client(sync_client=True) as client,
    ):
        before = read_secret_block(database_url)
        # MEMBER_DATABASE_URL is not set: storing it fails after DATABASE_URL's was replaced.
        with pytest.raises(KeyError):
            store_secret_blocks(
                client,
                ["DATABASE_URL", "MEMBER_DATABASE_URL"],
                environ={"DATABASE_URL": "postgresql://changed@nowhere/x"},
            )
        assert read_secret_block(database_url) == before
        with pytest.raises(ObjectNotFound):
            client.read_block_document_by_name(
                secret_block_name("MEMBER_DATABASE_URL"), "secret", include_secrets=False
            )
        # What failed before issue 18's fix: updating the pool once blocks exist.
        report = set_up_server(code_dir=ROOT)
        assert report.work_pool == f"{WORK_POOL} (updated)" and report.secrets == []
        env = client.read_work_pool(WORK_POOL).base_job_template["job_configuration"]["env"]
    assert env[SECRET_BLOCKS_VARIABLE].split(",") == sorted(secrets_here())
