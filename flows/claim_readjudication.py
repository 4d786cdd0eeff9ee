"""Re-adjudication of decided claims: after a retroactive eligibility change, a corrected
rule, or a reviewer's override.

The named claims are leased like any chunk and go through the same steps as adjudication,
with three differences that make it safe to decide a claim again: the engine sees the
accumulators without the claim's own earlier posting; the line's earlier decision is kept
(`claim_item_decision`) and its posting reversed by the ledger when the new version is
posted; a claim approved before gets a readjustment (overpayment or underpayment) for
payment follow-up instead of a second payment. Reviewers' overrides always win.
"""

from __future__ import annotations

import time
import uuid

from prefect import flow, get_run_logger

from claims_askes.runtime import Stopwatch, current_flow_run_id
from flows.accumulator_posting import post_all_unposted
from flows.claim_adjudication import adjudicate_chunk
from schemas.parameters import ReadjudicationParameters
from schemas.reports import ReadjudicationSummary
from tasks.claims import lease_for_readjudication, read_claim_statuses, read_reason_codes


@flow(name="claim-readjudication")
def claim_readjudication(claim_numbers: list[str] | None = None,
                         reason: str = "re-adjudication", lease_seconds: int = 900
                         ) -> ReadjudicationSummary:
    """Adjudicate the named decided claims again with today's data; returns a summary."""
    params = ReadjudicationParameters(claim_numbers=claim_numbers or [], reason=reason,
                                      lease_seconds=lease_seconds)
    logger = get_run_logger()
    started = time.monotonic()
    flow_run_id = current_flow_run_id()
    summary = ReadjudicationSummary(flow_run_id=str(flow_run_id),
                                    requested=len(params.claim_numbers))
    if not params.claim_numbers:
        return summary
    # Every earlier decision must be through posting first (its reversal depends on it).
    summary.lines_posted += post_all_unposted(flow_run_id).lines_marked
    run_id = uuid.uuid4()
    lease = lease_for_readjudication(run_id, params.claim_numbers, params.lease_seconds)
    if lease.claims:
        outcome = adjudicate_chunk(run_id, flow_run_id, read_reason_codes(), Stopwatch(),
                                   reason=params.reason)
        summary.claims = outcome.written.claims
        summary.lines = outcome.written.lines
        summary.readjustments = outcome.written.readjustments
        summary.payments = outcome.written.payments
        posted = post_all_unposted(flow_run_id)
        summary.lines_posted += posted.lines_marked
        summary.reversals = posted.reversals
    statuses = read_claim_statuses(params.claim_numbers)
    summary.not_found = sorted(set(params.claim_numbers) - set(statuses))
    summary.statuses = {n: statuses[n] for n in params.claim_numbers if n in statuses}
    summary.seconds = round(time.monotonic() - started, 3)
    logger.info("re-adjudicated %s of %s claims (%s reversals, %s readjustments)",
                summary.claims, summary.requested, summary.reversals, summary.readjustments)
    return summary
