"""The deployments for real: a `prefect server` on loopback (its own SQLite home, scheduler
off so that no schedule fires during the test), `claims-askes deploy` against it, ad-hoc
runs of `claim-adjudication` with parameters, and real process workers running them
against the test database, one worker and then two sharing one backlog.
"""

from __future__ import annotations

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
from prefect.client.schemas.objects import FlowRun

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


@pytest.fixture(scope="module")
def deployed(prefect_server: PrefectServer) -> PrefectServer:
    """`claims-askes deploy` against the server, as a user runs it."""
    env = {k: v for k, v in prefect_server.env.items() if k != "DATABASE_URL"}
    done = subprocess.run(
        [CLI, "deploy"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
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
