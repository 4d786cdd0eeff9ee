"""Accumulator posting: every adjudicated, unposted claim line to the benefit service's
ledger and accumulators, exactly once, even across a crash between the two schemas.

Outbox style: claims_service keeps the queue (posting_outbox: one row per decided line
version, written with the decision); the ledger in benefit_service is keyed by (claim line,
adjudication version, post|reverse), so a replay of lines already posted inserts nothing and
adds nothing; the lines' outbox rows are deleted last.
"""

from __future__ import annotations

import time

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact

from claims_askes.adjudication.accumulators import reconciliation_frame
from claims_askes.core.parameters import takes
from claims_askes.core.runtime import current_flow_run_id
from flows.steps.posting import post_all_unposted
from schemas.parameters import PostingParameters
from schemas.reports import PostingSummary
from tasks.benefits import read_reconciliation
from tasks.claims import read_posted_line_totals
from tasks.quality import check_reconciliation


def reconcile(member_ids: list[str] | None) -> int:
    """Prove the accumulators of these members (all when None); returns the keys checked."""
    frame = reconciliation_frame(
        read_reconciliation(member_ids), read_posted_line_totals(member_ids)
    )
    check_reconciliation(frame)
    return len(frame)


@flow(name="accumulator-posting")
@takes(PostingParameters)
def accumulator_posting(params: PostingParameters) -> PostingSummary:
    """Post every adjudicated, unposted claim line to the accumulators (idempotent), then
    reconcile the members posted (every member with full_reconciliation)."""
    summary = post_all_unposted(current_flow_run_id(), params.batch_size)
    members = None if params.full_reconciliation else sorted(summary.members)
    if members is None or members:
        started = time.perf_counter()
        summary.keys_reconciled = reconcile(members)
        summary.step_seconds["reconcile"] = round(time.perf_counter() - started, 3)
    get_run_logger().info(
        "%s line versions through posting, %s approved lines posted (%s new ledger entries, "
        "%s reversals); %s accumulator keys reconciled",
        summary.lines_marked,
        summary.lines_posted,
        summary.entries_inserted,
        summary.reversals,
        summary.keys_reconciled,
    )
    publish_summary(summary)
    return summary


def publish_summary(summary: PostingSummary) -> None:
    """The run's figures as a Prefect table artifact (shown on the flow run in the UI)."""
    create_table_artifact(
        key="accumulator-posting-summary",
        table=[
            {"measure": "line versions posted", "value": summary.lines_marked},
            {"measure": "approved lines posted", "value": summary.lines_posted},
            {"measure": "ledger entries inserted", "value": summary.entries_inserted},
            {"measure": "reversals of earlier versions", "value": summary.reversals},
            {"measure": "members posted", "value": len(summary.members)},
            {"measure": "accumulator keys reconciled", "value": summary.keys_reconciled},
        ],
        description="Accumulator posting: what this run posted, reversed and reconciled",
    )
