"""Claim adjudication batch: every `submitted` and `pended` claim, by the rules of
docs/adjudication.md, in chunks of whole members.

Per chunk: lease the claims (claims_service), read what the rules need from each service
through its own connection, check the input, adjudicate (a pure vectorised function), check
the decisions, write them in one claims_service transaction, then post the accumulators
through the ledger. A run killed anywhere leaves either nothing written for the chunk (its
lease expires and the next run takes the claims again) or the whole chunk written, with its
unposted lines posted by the next run before it adjudicates anything.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.task_runners import ThreadPoolTaskRunner

from claims_askes.adjudication.budget import Budget
from claims_askes.adjudication.summary import Tally
from claims_askes.core.faults import crash_point
from claims_askes.core.parameters import takes
from claims_askes.core.runtime import Stopwatch, current_flow_run_id
from flows.steps.adjudication import adjudicate_chunk
from flows.steps.posting import post_all_unposted
from schemas.parameters import AdjudicationParameters
from schemas.reports import AdjudicationSummary
from tasks.base import batch_task
from tasks.claims import Lease, lease_claims, read_queue_clock, read_reason_codes


def publish_artifacts(summary: AdjudicationSummary) -> None:
    create_table_artifact(
        key="claim-adjudication-by-status",
        table=[
            {
                "status": s.status,
                "claims": s.claims,
                "charged (Rp)": f"{s.charged:,.2f}",
                "approved (Rp)": f"{s.approved:,.2f}",
            }
            for s in summary.by_status
        ],
        description="Claims adjudicated by this run, by status, with charged and approved rupiah",
    )
    reasons = "\n".join(f"| {r.reason_code} | {r.lines:,} |" for r in summary.top_reasons)
    create_markdown_artifact(
        key="claim-adjudication-reasons",
        markdown=(
            f"# Claim adjudication\n\n{summary.claims:,} claims, {summary.lines:,} lines "
            f"in {summary.chunks} chunks, {summary.seconds:.1f} s; "
            f"{summary.lines_posted:,} lines posted to the accumulators.\n\n"
            f"| reason | lines |\n|---|---|\n{reasons}\n"
        ),
        description="Top reasons (rejections and adjustments)",
    )


# Shards of one run adjudicated at once (threads: the work is I/O and numpy, which releases
# the GIL). More shards than this queue for a thread.
MAX_PARALLEL_SHARDS = 8


@dataclass
class ShardResult:
    """What one shard did (summed into the run's summary by the flow)."""

    tally: Tally = field(default_factory=Tally)
    watch: Stopwatch = field(default_factory=Stopwatch)
    chunks: int = 0
    claims: int = 0
    lines: int = 0
    history_rows: int = 0
    notes: int = 0
    payments: int = 0
    lines_posted: int = 0


@batch_task(name="adjudicate shard", task_run_name="shard {shard} of {shards}")
def adjudicate_shard(
    shard: int,
    shards: int,
    chunk_size: int,
    lease_seconds: int,
    run_started: datetime,
    flow_run_id: uuid.UUID,
    reasons: pd.DataFrame,
    budget: Budget,
) -> ShardResult:
    """Lease, adjudicate, write and post chunks of one member hash bucket until the bucket
    (or the run's budget) is empty. Other shards, runs and workers lease other members:
    the leases keep every claim to one of them."""
    logger = get_run_logger()
    result = ShardResult()
    while (budget_claims := budget.reserve(chunk_size)) > 0:
        run_id = uuid.uuid4()
        lease: Lease = lease_claims(
            run_id, run_started, budget_claims, lease_seconds, shard, shards
        )
        if lease.claims == 0:
            budget.settle(budget_claims, 0)
            break
        crash_point("after-lease")
        try:
            outcome = adjudicate_chunk(run_id, flow_run_id, reasons, result.watch)
        except BaseException:
            budget.settle(budget_claims, 0)
            raise
        crash_point("after-write")
        budget.settle(budget_claims, outcome.written.claims)
        result.tally.add(outcome.result)
        result.chunks += 1
        result.claims += outcome.written.claims
        result.lines += outcome.written.lines
        result.history_rows += outcome.written.history_rows
        result.notes += outcome.written.notes
        result.payments += outcome.written.payments
        with result.watch.step("post"):
            chunk_claims = outcome.result.claims["claim_id"].astype(str).tolist()
            result.lines_posted += post_all_unposted(
                flow_run_id, claim_ids=chunk_claims
            ).lines_marked
        logger.info(
            "shard %s/%s chunk %s: %s claims of %s members adjudicated",
            shard,
            shards,
            result.chunks,
            outcome.written.claims,
            lease.members,
        )
    return result


def merge(summary: AdjudicationSummary, results: list[ShardResult]) -> Stopwatch:
    """The shards' counts into the run's summary; their step times summed."""
    watch = Stopwatch()
    tally = Tally()
    for r in results:
        summary.chunks += r.chunks
        summary.claims += r.claims
        summary.lines += r.lines
        summary.status_history_rows += r.history_rows
        summary.notes += r.notes
        summary.payments += r.payments
        summary.lines_posted += r.lines_posted
        watch.merge(r.watch)
        tally.merge(r.tally)
    tally.into(summary)
    return watch


@flow(name="claim-adjudication", task_runner=ThreadPoolTaskRunner(max_workers=MAX_PARALLEL_SHARDS))  # type: ignore[arg-type]
@takes(AdjudicationParameters)
def claim_adjudication(params: AdjudicationParameters) -> AdjudicationSummary:
    """Adjudicate every submitted and pended claim; returns a summary of the run.

    The constraints in the signature are those of AdjudicationParameters: Prefect puts them
    in the deployment's parameter schema, so the UI's form and the server refuse a bad value
    before a run exists; the model then checks what spans parameters (shard < shards)."""
    logger = get_run_logger()
    started = time.monotonic()
    flow_run_id = current_flow_run_id()
    summary = AdjudicationSummary(flow_run_id=str(flow_run_id))
    # A batch never starts while adjudicated lines are unposted (a crash after a write).
    recovered = post_all_unposted(flow_run_id)
    if recovered.lines_marked:
        logger.info("posted %s lines left unposted by an earlier run", recovered.lines_marked)
    summary.lines_posted += recovered.lines_marked
    reasons = read_reason_codes()
    run_started = read_queue_clock()
    budget = Budget(params.max_claims)
    shard_list = range(params.shards) if params.shard is None else [params.shard]
    futures = [
        adjudicate_shard.submit(
            s,
            params.shards,
            params.chunk_size,
            params.lease_seconds,
            run_started,
            flow_run_id,
            reasons,
            budget,
        )
        for s in shard_list
    ]
    results = [f.result() for f in futures]
    watch = merge(summary, results)
    summary.seconds = round(time.monotonic() - started, 3)
    summary.step_seconds = {k: round(v, 3) for k, v in watch.seconds.items()}
    publish_artifacts(summary)
    return summary
