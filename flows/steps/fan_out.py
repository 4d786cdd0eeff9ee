"""A `claim-adjudication` run fanned out over the work pool: one child run of the
`claim-adjudication-shard` deployment per member hash bucket, so that every worker of the
pool takes some; the parent waits for them and sums their summaries.

A child reports its summary, with the line count of every reason (its summary lists only the
top ten), as a JSON artifact (SUMMARY_KEY), which the parent reads once the child is
Completed: results are not persisted, and a worker's local result storage is not readable
from another machine. A child whose worker is lost with it (killed, powered off)
never reaches a final state by itself; the parent marks it Crashed once it shows no sign of
life for longer than a lease (its leases have expired by then, so the next run takes its
claims again), and fails naming the bucket.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import get_run_logger
from prefect.artifacts import Artifact
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterId,
)
from prefect.client.schemas.objects import FlowRun
from prefect.client.schemas.sorting import TaskRunSort
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.states import Crashed

from claims_askes.adjudication.summary import REVIEWED_LISTED
from claims_askes.core.errors import ClaimsAskesError
from schemas.parameters import AdjudicationParameters, AdjudicationShardParameters
from schemas.reports import AdjudicationSummary, ReasonCount, StatusTotal

SHARD_FLOW = "claim-adjudication-shard"
SHARD_DEPLOYMENT = f"{SHARD_FLOW}/{SHARD_FLOW}"
#: the artifact of a shard run holding its AdjudicationSummary as JSON
SUMMARY_KEY = "claim-adjudication-shard-summary"
#: how often the parent looks at its children
POLL_SECONDS = 2.0
#: a child silent this long past its lease is lost (task states reach the server late
#: under load; a healthy child changes a task's state several times per chunk)
LOST_GRACE_SECONDS = 30.0


class ShardRunsFailed(ClaimsAskesError):
    """A child run of a fanned-out adjudication did not complete."""


@dataclass
class ShardReport:
    """What a child tells its parent: its summary and the lines of every reason."""

    summary: AdjudicationSummary
    reasons: dict[str, int]

    def as_json(self) -> dict[str, Any]:
        return {"summary": self.summary.model_dump(mode="json"), "reasons": self.reasons}

    @classmethod
    def from_json(cls, data: Any) -> ShardReport:
        value = json.loads(data) if isinstance(data, str) else data
        return cls(AdjudicationSummary.model_validate(value["summary"]), dict(value["reasons"]))


def publish_report(report: ShardReport) -> None:
    """The child's report as its JSON artifact, for the parent (and shown in the UI)."""
    Artifact(
        type="json",
        key=SUMMARY_KEY,
        description="This shard's summary, summed by its claim-adjudication run",
        data=report.as_json(),
    ).create()


@dataclass(frozen=True)
class ShardRun:
    shard: int
    shards: int
    flow_run_id: uuid.UUID

    @property
    def label(self) -> str:
        return f"shard {self.shard} of {self.shards}"


def workers_online(client: SyncPrefectClient, deployment: str = SHARD_DEPLOYMENT) -> int:
    """The workers online in the shard deployment's pool (at least 1: a child waits for a
    worker to come online, it is not lost)."""
    pool = client.read_deployment_by_name(deployment).work_pool_name
    if pool is None:
        return 1
    workers = client.read_workers_for_work_pool(pool)
    return max(1, sum(1 for w in workers if w.status is not None and w.status.value == "ONLINE"))


def shard_budgets(max_claims: int | None, shards: int) -> list[int | None]:
    """Each bucket's share of the run's max_claims (the remainder to the first buckets);
    a bucket whose share is 0 is not started."""
    if max_claims is None:
        return [None] * shards
    share, rest = divmod(max_claims, shards)
    return [share + (1 if k < rest else 0) for k in range(shards)]


def start_shards(
    params: AdjudicationParameters, parent: uuid.UUID, parent_name: str
) -> list[ShardRun]:
    """One child run per bucket (shards 0: one per worker online), created and not waited
    for. The idempotency key makes a retried parent find its children instead of
    starting them again."""
    logger = get_run_logger()
    with get_client(sync_client=True) as client:
        try:
            client.read_deployment_by_name(SHARD_DEPLOYMENT)
            shards = params.shards or workers_online(client)
        except ObjectNotFound:
            raise ShardRunsFailed(
                f"fan_out needs the {SHARD_DEPLOYMENT} deployment on the Prefect server "
                "(claims-askes deploy)"
            ) from None
    runs = []
    for shard, budget in enumerate(shard_budgets(params.max_claims, shards)):
        if budget == 0:
            continue
        child = AdjudicationShardParameters(
            shard=shard,
            shards=shards,
            max_claims=budget,
            chunk_size=params.chunk_size,
            lease_seconds=params.lease_seconds,
            pended_review_hours=params.pended_review_hours,
        )
        flow_run: FlowRun = run_deployment(  # type: ignore[assignment]
            SHARD_DEPLOYMENT,
            parameters=child.model_dump(),
            timeout=0,
            flow_run_name=f"{parent_name}-shard-{shard}-of-{shards}",
            idempotency_key=f"{parent}:shard-{shard}-of-{shards}",
        )
        runs.append(ShardRun(shard, shards, flow_run.id))
    logger.info("fanned out %s shards as child runs of %s", len(runs), SHARD_DEPLOYMENT)
    return runs


def last_sign_of_life(client: SyncPrefectClient, run: FlowRun) -> datetime:
    """The latest state change of the run or of one of its task runs."""
    moments = [run.state.timestamp] if run.state is not None else []
    tasks = client.read_task_runs(
        flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])),
        sort=TaskRunSort.EXPECTED_START_TIME_DESC,
        limit=20,
    )
    moments += [t.state.timestamp for t in tasks if t.state is not None]
    return max(moments, default=datetime.now(UTC))


def _lost(client: SyncPrefectClient, run: FlowRun, silent_for: timedelta) -> bool:
    if run.state is None or not (run.state.is_running() or run.state.is_pending()):
        return False  # scheduled or late: waits for a worker, is not lost
    return datetime.now(UTC) - last_sign_of_life(client, run) > silent_for


def wait_for_shards(runs: list[ShardRun], lease_seconds: int) -> dict[ShardRun, FlowRun]:
    """Every child in a final state; one lost with its worker is marked Crashed."""
    logger = get_run_logger()
    silent_for = timedelta(seconds=lease_seconds + LOST_GRACE_SECONDS)
    finished: dict[ShardRun, FlowRun] = {}
    with get_client(sync_client=True) as client:
        while len(finished) < len(runs):
            for shard in runs:
                if shard in finished:
                    continue
                run = client.read_flow_run(shard.flow_run_id)
                if run.state is not None and run.state.is_final():
                    finished[shard] = run
                    logger.info("%s: %s", shard.label, run.state.name)
                elif _lost(client, run, silent_for):
                    message = (
                        f"lost: no sign of life for {silent_for.total_seconds():.0f} s "
                        "(its worker is gone?); its leases expire and the next run takes "
                        "its claims"
                    )
                    client.set_flow_run_state(run.id, Crashed(message=message), force=True)
                    finished[shard] = client.read_flow_run(run.id)
                    logger.warning("%s (%s): %s", shard.label, run.name, message)
            if len(finished) < len(runs):
                time.sleep(POLL_SECONDS)
    return finished


def shard_reports(finished: dict[ShardRun, FlowRun]) -> list[ShardReport]:
    """The report of every child, or ShardRunsFailed naming each bucket that failed."""
    failed = [
        f"{shard.label} ({run.name}): {run.state_name}"
        + (f" ({run.state.message})" if run.state and run.state.message else "")
        for shard, run in sorted(finished.items(), key=lambda item: item[0].shard)
        if run.state is None or not run.state.is_completed()
    ]
    if failed:
        raise ShardRunsFailed(
            f"{len(failed)} of {len(finished)} shard runs did not complete: " + "; ".join(failed)
        )
    with get_client(sync_client=True) as client:
        return [read_report(client, shard, run) for shard, run in finished.items()]


def read_report(client: SyncPrefectClient, shard: ShardRun, run: FlowRun) -> ShardReport:
    artifacts = client.read_artifacts(
        artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[SUMMARY_KEY])),
        flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])),
    )
    if not artifacts:
        raise ShardRunsFailed(f"{shard.label} ({run.name}) completed without its summary")
    return ShardReport.from_json(artifacts[0].data)


def add_reports(total: AdjudicationSummary, reports: list[ShardReport]) -> None:
    """The children's counts into the parent's summary (the pended claims left alone or due
    are the parent's own reading, not summed)."""
    by_status: dict[str, StatusTotal] = {s.status: s.model_copy() for s in total.by_status}
    reasons: dict[str, int] = {r.reason_code: r.lines for r in total.top_reasons}
    steps = dict(total.step_seconds)
    for report in reports:
        part = report.summary
        total.chunks += part.chunks
        total.claims += part.claims
        total.lines += part.lines
        total.lines_posted += part.lines_posted
        total.status_history_rows += part.status_history_rows
        total.notes += part.notes
        total.payments += part.payments
        total.pended_reviewed += part.pended_reviewed
        total.pended_reviewed_numbers += part.pended_reviewed_numbers
        for s in part.by_status:
            mine = by_status.setdefault(
                s.status, StatusTotal(status=s.status, claims=0, charged=0, approved=0)
            )
            mine.claims += s.claims
            mine.charged += s.charged
            mine.approved += s.approved
        for code, lines in report.reasons.items():
            reasons[code] = reasons.get(code, 0) + lines
        for step, seconds in part.step_seconds.items():
            steps[step] = round(steps.get(step, 0.0) + seconds, 3)
    total.by_status = sorted(by_status.values(), key=lambda s: s.status)
    top = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    total.top_reasons = [ReasonCount(reason_code=k, lines=v) for k, v in top]
    total.step_seconds = steps
    total.pended_reviewed_numbers = sorted(total.pended_reviewed_numbers)[:REVIEWED_LISTED]
