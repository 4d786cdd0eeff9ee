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

from prefect import flow

from claims_askes.core.parameters import takes
from claims_askes.core.runtime import current_flow_run_id
from flows.steps.readjudication import readjudicate_claims
from schemas.parameters import ReadjudicationParameters
from schemas.reports import ReadjudicationSummary


@flow(name="claim-readjudication")
@takes(ReadjudicationParameters)
def claim_readjudication(params: ReadjudicationParameters) -> ReadjudicationSummary:
    """Adjudicate the named decided claims again with today's data; returns a summary."""
    return readjudicate_claims(params, current_flow_run_id())
