"""Re-adjudicating named decided claims: the body of `claim-readjudication`, also run by the
eligibility sweep for the approved claims a retroactive change left uncovered."""

from __future__ import annotations

import time
import uuid

from prefect import get_run_logger

from claims_askes.core.runtime import Stopwatch
from flows.steps.adjudication import adjudicate_chunk
from flows.steps.posting import post_all_unposted
from schemas.parameters import ReadjudicationParameters
from schemas.reports import ReadjudicationSummary
from tasks.claims import lease_for_readjudication, read_claim_statuses, read_reason_codes


def readjudicate_claims(
    params: ReadjudicationParameters, flow_run_id: uuid.UUID
) -> ReadjudicationSummary:
    """Adjudicate the named decided claims again with today's data; returns a summary."""
    logger = get_run_logger()
    started = time.monotonic()
    summary = ReadjudicationSummary(
        flow_run_id=str(flow_run_id), requested=len(params.claim_numbers)
    )
    if not params.claim_numbers:
        return summary
    # Every earlier decision must be through posting first (its reversal depends on it).
    summary.lines_posted += post_all_unposted(flow_run_id).lines_posted
    run_id = uuid.uuid4()
    lease, taken = lease_for_readjudication(run_id, params.claim_numbers, params.lease_seconds)
    if lease.claims:
        outcome = adjudicate_chunk(
            run_id, flow_run_id, read_reason_codes(), Stopwatch(), reason=params.reason
        )
        summary.claims = outcome.written.claims
        summary.lines = outcome.written.lines
        summary.readjustments = outcome.written.readjustments
        summary.payments = outcome.written.payments
        posted = post_all_unposted(flow_run_id)
        summary.lines_posted += posted.lines_posted
        summary.reversals = posted.reversals
    statuses = read_claim_statuses(params.claim_numbers)
    summary.not_found = sorted(set(params.claim_numbers) - set(statuses))
    summary.not_taken = sorted(set(statuses) - set(taken))
    summary.statuses = {n: statuses[n] for n in params.claim_numbers if n in statuses}
    summary.seconds = round(time.monotonic() - started, 3)
    logger.info(
        "re-adjudicated %s of %s claims (%s reversals, %s readjustments)",
        summary.claims,
        summary.requested,
        summary.reversals,
        summary.readjustments,
    )
    return summary
