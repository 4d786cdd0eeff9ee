"""Accumulator posting: every adjudicated, unposted claim line to the benefit service's
ledger and accumulators, exactly once, even across a crash between the two schemas.

Outbox style: claims_service keeps the queue (posting_outbox: one row per decided line
version, written with the decision); the ledger in benefit_service is keyed by (claim line,
adjudication version, post|reverse), so a replay of lines already posted inserts nothing and
adds nothing; the lines' outbox rows are deleted last.
"""

from __future__ import annotations

import time
import uuid

import pandas as pd
from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact

from claims_askes.faults import crash_point
from claims_askes.runtime import Stopwatch, current_flow_run_id
from schemas.parameters import PostingParameters
from schemas.reports import PostingSummary
from tasks.benefits import post_ledger_entries, read_reconciliation
from tasks.claims import mark_lines_posted, read_posted_line_totals, read_unposted_lines
from tasks.quality import check_reconciliation


def post_all_unposted(flow_run_id: uuid.UUID, batch_size: int = 200_000,
                      claim_ids: list[str] | None = None) -> PostingSummary:
    """Drain the posting queue, or the part of it of the given claims, in batches (each
    batch: ledger and accumulators in one transaction, then mark the lines posted)."""
    summary = PostingSummary()
    watch = Stopwatch()
    while True:
        with watch.step("read queue"):
            queue = read_unposted_lines(batch_size, claim_ids)
        lines = queue.frame
        if lines.empty:
            summary.step_seconds = {k: round(v, 3) for k, v in watch.seconds.items()}
            return summary
        with watch.step("ledger and accumulators"):
            # The queue's CSV is posting's input as it stands: the claims query names the
            # ledger input columns, and the benefit COPY checks its header (HEADER MATCH).
            posted = post_ledger_entries(queue.csv, flow_run_id)
        crash_point("after-ledger")
        with watch.step("mark posted"):
            marked = mark_lines_posted(lines[["claim_item_id", "adjudication_version"]])
        summary.lines_read += len(lines)
        summary.entries_inserted += posted.entries_inserted
        summary.reversals += posted.reversals
        summary.lines_marked += marked
        summary.members.update(lines["member_id"].astype(str))


MEASURES = ["amount_cents", "deductible_cents", "oop_cents", "visits", "days"]
KEY = ["member_id", "benefit_code", "year"]


def reconciliation_frame(benefit: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """Join the benefit side (accumulator, opening, ledger) and the claims side (posted
    lines) by key, with one boolean per proof; both frames come from their own service."""
    frame = benefit.merge(lines, on=KEY, how="outer")
    for column in frame.columns:
        if column.startswith(("accumulator_", "opening_", "ledger_", "lines_")):
            frame[column] = frame[column].fillna(0).astype("int64")
    accumulator_ok = pd.Series(True, index=frame.index)
    ledger_ok = pd.Series(True, index=frame.index)
    for measure in MEASURES:
        expected = frame[f"opening_{measure}"] + frame[f"ledger_{measure}"]
        accumulator_ok &= frame[f"accumulator_{measure}"] == expected
        ledger_ok &= frame[f"ledger_{measure}"] == frame[f"lines_{measure}"]
    return frame.assign(accumulator_equals_opening_plus_ledger=accumulator_ok,
                        ledger_equals_posted_lines=ledger_ok)


def reconcile(member_ids: list[str] | None) -> int:
    """Prove the accumulators of these members (all when None); returns the keys checked."""
    frame = reconciliation_frame(read_reconciliation(member_ids),
                                 read_posted_line_totals(member_ids))
    check_reconciliation(frame)
    return len(frame)


@flow(name="accumulator-posting")
def accumulator_posting(batch_size: int = 200_000, full_reconciliation: bool = False
                        ) -> PostingSummary:
    """Post every adjudicated, unposted claim line to the accumulators (idempotent), then
    reconcile the members posted (every member with full_reconciliation)."""
    params = PostingParameters(batch_size=batch_size, full_reconciliation=full_reconciliation)
    summary = post_all_unposted(current_flow_run_id(), params.batch_size)
    members = None if params.full_reconciliation else sorted(summary.members)
    if members is None or members:
        started = time.perf_counter()
        summary.keys_reconciled = reconcile(members)
        summary.step_seconds["reconcile"] = round(time.perf_counter() - started, 3)
    get_run_logger().info("posted %s lines (%s new ledger entries, %s reversals); %s "
                          "accumulator keys reconciled", summary.lines_marked,
                          summary.entries_inserted, summary.reversals, summary.keys_reconciled)
    publish_summary(summary)
    return summary


def publish_summary(summary: PostingSummary) -> None:
    """The run's figures as a Prefect table artifact (shown on the flow run in the UI)."""
    create_table_artifact(
        key="accumulator-posting-summary",
        table=[{"measure": "line versions posted", "value": summary.lines_marked},
               {"measure": "ledger entries inserted", "value": summary.entries_inserted},
               {"measure": "reversals of earlier versions", "value": summary.reversals},
               {"measure": "members posted", "value": len(summary.members)},
               {"measure": "accumulator keys reconciled", "value": summary.keys_reconciled}],
        description="Accumulator posting: what this run posted, reversed and reconciled")
