"""Draining the posting queue (outbox) into the benefit service's ledger and accumulators:
run by accumulator posting, adjudication (after each chunk and at start) and
re-adjudication."""

from __future__ import annotations

import uuid

from claims_askes.core.faults import crash_point
from claims_askes.core.runtime import Stopwatch
from schemas.reports import PostingSummary
from tasks.benefits import post_ledger_entries
from tasks.claims import mark_lines_posted, read_unposted_lines


def post_all_unposted(
    flow_run_id: uuid.UUID, batch_size: int = 200_000, claim_ids: list[str] | None = None
) -> PostingSummary:
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
        summary.lines_posted += posted.entries_inserted - posted.reversals
        summary.members.update(lines["member_id"].astype(str))
