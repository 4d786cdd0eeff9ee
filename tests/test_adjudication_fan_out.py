"""Issue 17, part 1: adding a worker adds throughput. A `claim-adjudication` run with
`fan_out` starts one `claim-adjudication-shard` child run per member hash bucket, on a real
`prefect server` with real process workers, waits for them and reports their sum; a worker
lost mid-shard loses nothing, and the next run completes every claim exactly once.

The server, `claims-askes deploy --store-secrets` and the helpers are those of
tests/test_deployments_e2e.py (its module fixtures, a server of this module's own).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterKey,
    DeploymentFilter,
    DeploymentFilterName,
    FlowRunFilter,
    FlowRunFilterId,
)
from prefect.client.schemas.objects import FlowRun

from deployments.project import WORK_POOL
from flows.steps.fan_out import (
    SHARD_FLOW,
    SUMMARY_KEY,
    ShardReport,
    add_reports,
    shard_budgets,
)
from schemas.parameters import AdjudicationParameters
from schemas.reports import AdjudicationSummary, StatusTotal
from tests.conftest import TestDatabase
from tests.test_adjudication_runs import assert_exactly_once, build_world
from tests.test_deployments_e2e import (  # noqa: F401  (module fixtures used here)
    ADJUDICATION,
    PREFECT,
    RUN_TIMEOUT,
    PrefectServer,
    claims_by_run,
    deployed,
    prefect_server,
    stop,
    wait_for_workers,
)

pytestmark = [pytest.mark.slow, pytest.mark.embedded_only]

LEASE_SECONDS = 5  # the shortest the parameters allow: a lost shard's claims come back soon


class Workers:
    """`prefect worker start --pool claims-askes --type process --limit 1` processes with the
    test's database, each logging to a file."""

    def __init__(self, server: PrefectServer) -> None:
        self.server = server
        self.dir = Path(tempfile.mkdtemp(prefix="claims-askes-fan-out-"))
        self.processes: dict[str, subprocess.Popen[Any]] = {}

    def start(self, *names: str) -> None:
        env = dict(self.server.env, DATABASE_URL=os.environ["DATABASE_URL"])
        for name in names:
            with (self.dir / f"{name}.log").open("w") as out:
                self.processes[name] = subprocess.Popen(
                    [PREFECT, "worker", "start", "--pool", WORK_POOL, "--type", "process"]
                    + ["--name", name, "--limit", "1"],
                    env=env,
                    cwd=self.dir,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        wait_for_workers(self.server, set(names))

    def log(self, name: str) -> str:
        return (self.dir / f"{name}.log").read_text()

    def ran(self, run_id: uuid.UUID) -> str | None:
        """The worker that runs the run: the one whose name the server gave the run's labels.
        Its log alone cannot say: a worker that loses the race for a run logs "submitting
        flow run" for it too, before the server refuses it (CI once took a loser for the
        winner)."""
        with self.server.client() as client:
            labels = client.read_flow_run(run_id).labels
        name = labels.get("prefect.worker.name")
        return str(name) if name in self.processes else None

    def logs(self) -> str:
        return "\n".join(f"--- {n}\n{self.log(n)[-3000:]}" for n in self.processes)

    def stop_all(self) -> None:
        for process in self.processes.values():
            stop(process)


@pytest.fixture
def pool(deployed: PrefectServer) -> Iterator[Workers]:  # noqa: F811
    workers = Workers(deployed)
    try:
        yield workers
    finally:
        workers.stop_all()


def wait_until(what: str, check: Any, logs: Any, timeout: float = RUN_TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"{what}: not after {timeout} s\n{logs()}")


def final(server: PrefectServer, run_id: uuid.UUID, logs: Any) -> FlowRun:
    def ended() -> FlowRun | None:
        with server.client() as client:
            run = client.read_flow_run(run_id)
        return run if run.state is not None and run.state.is_final() else None

    run: FlowRun = wait_until(f"run {run_id} final", ended, logs, timeout=2 * RUN_TIMEOUT)
    return run


def children(server: PrefectServer, parent: uuid.UUID) -> list[FlowRun]:
    """The shard runs the parent started (linked to it as subflows), by bucket."""
    with server.client() as client:
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[SHARD_FLOW]))
        )
        mine = [
            r
            for r in runs
            if r.parent_task_run_id is not None
            and client.read_task_run(r.parent_task_run_id).flow_run_id == parent
        ]
    return sorted(mine, key=lambda r: int(r.parameters["shard"]))


def start_parent(server: PrefectServer, **parameters: Any) -> FlowRun:
    AdjudicationParameters(**parameters)  # the test's own values are valid ones
    with server.client() as client:
        deployment = client.read_deployment_by_name(ADJUDICATION)
        return client.create_flow_run_from_deployment(deployment.id, parameters=parameters)


def data_of(artifact: Any) -> Any:
    """An artifact's data (JSON kept as text by the server)."""
    return json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data


def claims_by_status(conn: psycopg.Connection) -> dict[str, tuple[int, Decimal]]:
    rows = conn.execute(
        "SELECT status, count(*), sum(total_approved_amount) FROM claims_service.claim "
        "GROUP BY status"
    ).fetchall()
    return {str(s): (int(n), Decimal(a or 0)) for s, n, a in rows}


def test_shard_budgets_share_max_claims() -> None:
    assert shard_budgets(None, 3) == [None, None, None]
    assert shard_budgets(10, 3) == [4, 3, 3]
    assert shard_budgets(2, 4) == [1, 1, 0, 0]  # buckets without a share are not started


def test_the_parent_sums_its_childrens_reports_with_every_reason() -> None:
    def part(claims: int, reasons: dict[str, int], approved: str) -> ShardReport:
        summary = AdjudicationSummary(
            flow_run_id=str(uuid.uuid4()),
            claims=claims,
            lines=2 * claims,
            chunks=1,
            lines_posted=claims,
            by_status=[
                StatusTotal(
                    status="approved",
                    claims=claims,
                    charged=Decimal(approved),
                    approved=Decimal(approved),
                )
            ],
            step_seconds={"write": 1.25},
        )
        return ShardReport.from_json(json.dumps(ShardReport(summary, reasons).as_json()))

    total = AdjudicationSummary(flow_run_id="parent", pended_waiting=7)
    # "R9" is below each child's top ten in a real run; summed, it counts in full.
    add_reports(total, [part(3, {"R1": 2, "R9": 1}, "100.50"), part(4, {"R9": 5}, "0.25")])
    assert (total.claims, total.lines, total.chunks, total.lines_posted) == (7, 14, 2, 7)
    assert total.pended_waiting == 7  # the parent's own reading, not summed
    assert [(s.status, s.claims, s.approved) for s in total.by_status] == [
        ("approved", 7, Decimal("100.75"))
    ]
    assert [(r.reason_code, r.lines) for r in total.top_reasons] == [("R9", 6), ("R1", 2)]
    assert total.step_seconds == {"write": 2.5}


def test_a_fanned_out_run_spreads_its_shards_over_the_workers_and_reports_their_sum(
    deployed: PrefectServer,  # noqa: F811
    db: TestDatabase,
    pool: Workers,
) -> None:
    server = deployed
    with db.admin() as conn:
        build_world(conn, members=24)
        total = conn.execute("SELECT count(*) FROM claims_service.claim").fetchone()
        assert total is not None
        # Three workers online: `shards: 0` makes one bucket each. The parent holds one
        # worker (--limit 1), the two others take the three children.
        pool.start("w-1", "w-2", "w-3")
        parent = start_parent(server, fan_out=True, shards=0, chunk_size=6, lease_seconds=120)
        finished = final(server, parent.id, pool.logs)
        assert finished.state is not None and finished.state.is_completed(), (
            f"{finished.state_name}: {finished.state and finished.state.message}\n{pool.logs()}"
        )
        assert_exactly_once(conn)
        shards = children(server, parent.id)
        # Three workers were online when the run fanned out: three buckets, one run each.
        assert [(r.parameters["shard"], r.parameters["shards"]) for r in shards] == [
            (0, 3),
            (1, 3),
            (2, 3),
        ]
        assert all(r.state is not None and r.state.is_completed() for r in shards)
        assert all(r.parameters["lease_seconds"] == 120 for r in shards)
        # Every claim was decided by one of the children, each child decided some, and the
        # children ran on the workers the parent did not hold.
        by_run = claims_by_run(conn)
        assert set(by_run) == {str(r.id) for r in shards}, by_run
        assert sum(by_run.values()) == total[0] and all(n > 0 for n in by_run.values())
        ran_on = {pool.ran(r.id) for r in shards}
        assert ran_on == {"w-1", "w-2", "w-3"} - {pool.ran(parent.id)}, ran_on
        # The parent's report is the sum of its children's.
        with server.client() as client:
            artifacts = client.read_artifacts(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[parent.id]))
            )
            reports = [
                data_of(a)
                for a in client.read_artifacts(
                    artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[SUMMARY_KEY])),
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[r.id for r in shards])),
                )
            ]
        assert len(reports) == 3
        assert [r["summary"]["claims"] for r in reports] == [
            by_run[r["summary"]["flow_run_id"]] for r in reports
        ]
        (table,) = [a for a in artifacts if a.key == "claim-adjudication-by-status"]
        rows = data_of(table)
        reported = {
            r["status"]: (r["claims"], Decimal(r["approved (Rp)"].replace(",", ""))) for r in rows
        }
        assert reported == claims_by_status(conn)
        (markdown,) = [a for a in artifacts if a.key == "claim-adjudication-reasons"]
        lines = sum(r["summary"]["lines"] for r in reports)
        assert f"{total[0]:,} claims, {lines:,} lines" in str(markdown.data)


def test_a_worker_lost_mid_shard_loses_nothing_and_the_next_run_completes_every_claim(
    deployed: PrefectServer,  # noqa: F811
    db: TestDatabase,
    pool: Workers,
) -> None:
    server = deployed
    with db.admin() as conn:
        build_world(conn, members=12)
        pool.start("w-parent")
        parent = start_parent(
            server, fan_out=True, shards=2, chunk_size=3, lease_seconds=LEASE_SECONDS
        )
        wait_until("parent running", lambda: pool.ran(parent.id), pool.logs)
        pool.start("w-a", "w-b")

        def deciding() -> FlowRun | None:
            """A child that has decided some of its claims and is still at work."""
            by_run = claims_by_run(conn)
            for run in children(server, parent.id):
                if (
                    by_run.get(str(run.id), 0) > 0
                    and run.state is not None
                    and run.state.is_running()
                    and run.infrastructure_pid
                ):
                    return run
            return None

        victim = wait_until("a child deciding claims", deciding, pool.logs)
        worker = pool.ran(victim.id)
        assert worker in ("w-a", "w-b")
        # The machine is lost: the worker and the child's process die at once, and nobody
        # reports the child's end to the server.
        child = int(str(victim.infrastructure_pid).rpartition(":")[2])
        os.killpg(pool.processes[worker].pid, signal.SIGKILL)  # the child too, if in its group
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
        pool.processes[worker].wait(15)
        wait_until("the child gone", lambda: not Path(f"/proc/{child}").exists(), pool.logs)
        left = conn.execute(
            "SELECT count(*) FROM claims_service.claim WHERE status IN ('submitted', 'in_review')"
        ).fetchone()

        failed = final(server, parent.id, pool.logs)
        assert failed.state is not None and failed.state.is_failed(), failed.state_name
        shard = f"shard {victim.parameters['shard']} of 2"
        message = failed.state.message or ""
        assert shard in message and "lost" in message and "Crashed" in message, message
        with server.client() as client:
            lost = client.read_flow_run(victim.id)
        assert lost.state is not None and lost.state.is_crashed()
        assert left is not None and left[0] > 0  # the lost shard left claims undecided

        # The next run (its leases long expired) completes every claim, exactly once.
        again = start_parent(
            server, fan_out=True, shards=2, chunk_size=3, lease_seconds=LEASE_SECONDS
        )
        done = final(server, again.id, pool.logs)
        assert done.state is not None and done.state.is_completed(), (
            f"{done.state_name}: {done.state and done.state.message}\n{pool.logs()}"
        )
        assert_exactly_once(conn)
        by_run = claims_by_run(conn)
        total = conn.execute("SELECT count(*) FROM claims_service.claim").fetchone()
        assert total is not None and sum(by_run.values()) == total[0]
        assert by_run.get(str(victim.id), 0) > 0  # what the lost shard wrote stays, once
        assert {str(r.id) for r in children(server, again.id)} & set(by_run)
