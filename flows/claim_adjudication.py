"""Claim adjudication batch: every `submitted` and `pended` claim, by the rules of
docs/adjudication.md, in chunks of whole members.

Per chunk: lease the claims (claims_service), read what the rules need from each service
through its own connection, check the input, adjudicate (a pure vectorised function), check
the decisions, write them in one claims_service transaction, then post the accumulators
through the ledger. A run killed anywhere leaves either nothing written for the chunk (its
lease expires and the next run takes the claims again) or the whole chunk written, with its
unposted lines posted by the next run before it adjudicates anything.

A run's member hash buckets (`shards`) are threads of its process, or with `fan_out` child
runs of the `claim-adjudication-shard` deployment (flows/adjudication_shard.py), which every
worker of the pool takes (flows/steps/fan_out.py).
"""

from __future__ import annotations

import time
from datetime import timedelta
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from claims_askes.adjudication.budget import Budget
from claims_askes.adjudication.summary import merge, note_pended, pended_in_words
from claims_askes.core.parameters import takes
from claims_askes.core.runtime import current_flow_run_id
from flows.steps.adjudication import adjudicate_shard, select_pended
from flows.steps.fan_out import add_reports, shard_reports, start_shards, wait_for_shards
from flows.steps.posting import post_all_unposted
from schemas.parameters import AdjudicationParameters
from schemas.reports import AdjudicationSummary
from tasks.claims import read_queue_clock, read_reason_codes


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
            f"{pended_in_words(summary)}\n\n"
            f"| reason | lines |\n|---|---|\n{reasons}\n"
        ),
        description="Top reasons (rejections and adjustments)",
    )


MAX_PARALLEL_SHARDS = 8


def fan_out(params: AdjudicationParameters, summary: AdjudicationSummary, run: UUID) -> None:
    """The shards as child runs of the shard deployment, on any worker of the pool; their
    counts summed into the summary. A child that did not complete fails the run, naming its
    bucket, once every child has ended (the others' claims stay decided)."""
    children = start_shards(params, run, str(flow_run.name or run))
    reports = shard_reports(wait_for_shards(children, params.lease_seconds))
    add_reports(summary, reports)
    get_run_logger().info(
        "%s shard runs: %s claims, %s lines", len(children), summary.claims, summary.lines
    )


@flow(name="claim-adjudication", task_runner=ThreadPoolTaskRunner(max_workers=MAX_PARALLEL_SHARDS))  # type: ignore[arg-type]
@takes(AdjudicationParameters)
def claim_adjudication(params: AdjudicationParameters) -> AdjudicationSummary:
    """Adjudicate every submitted and pended claim; returns a summary of the run. With
    `fan_out`, its shards are child runs on the pool's workers, else threads of this run."""
    logger = get_run_logger()
    started = time.monotonic()
    flow_run_id = current_flow_run_id()
    summary = AdjudicationSummary(flow_run_id=str(flow_run_id))
    # A batch never starts while adjudicated lines are unposted (a crash after a write).
    recovered = post_all_unposted(flow_run_id)
    if recovered.lines_marked:
        logger.info(
            "posted %s line versions left unposted by an earlier run", recovered.lines_marked
        )
    summary.lines_posted += recovered.lines_posted
    reasons = read_reason_codes()
    run_started = read_queue_clock()
    # A pended claim is taken again only when something it waits for changed, or after the
    # review age; every other one is left alone (docs/adjudication.md, Pends).
    pended = select_pended(run_started, timedelta(hours=params.pended_review_hours))
    note_pended(summary, pended.due, pended.waiting)
    if params.fan_out:
        fan_out(params, summary, flow_run_id)
        summary.seconds = round(time.monotonic() - started, 3)
        publish_artifacts(summary)
        return summary
    budget = Budget(params.max_claims)
    shard_list = range(params.shards) if params.shard is None else [params.shard]
    # Shards of one run adjudicated at once, in threads (the work is I/O and numpy, which
    # releases the GIL); more shards than MAX_PARALLEL_SHARDS queue for a thread.
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
            pended.due,
        )
        for s in shard_list
    ]
    results = [f.result() for f in futures]
    watch = merge(summary, results)
    summary.seconds = round(time.monotonic() - started, 3)
    summary.step_seconds = {k: round(v, 3) for k, v in watch.seconds.items()}
    if summary.pended_reviewed:
        logger.info(
            "%s pended claims taken again after the review age (%s h)",
            summary.pended_reviewed,
            params.pended_review_hours,
        )
    publish_artifacts(summary)
    return summary
