"""A reviewer's manual decision on a line wins over the engine's, at every adjudication.

Applied to the engine's result before the decision checkpoint: an approved override pays
its amount (allowed = paid, no cost sharing; the member owes the rest of the charge), a
rejected one pays nothing with the reviewer's reason; the claims' totals and statuses are
then rolled up again from their lines by the engine's own roll-up (docs/adjudication.md's claim
results, I20).
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from claims_askes.adjudication import EngineResult, roll_up_claims
from claims_askes.core.errors import ClaimsAskesError

ZEROED = [
    "deductible_cents",
    "copay_cents",
    "coinsurance_cents",
    "network_reduction_cents",
    "limit_cents",
    "oop_cents",
]


def apply_overrides(
    result: EngineResult, overrides: pd.DataFrame, lines: pd.DataFrame
) -> EngineResult:
    """The result with every overridden line decided as the reviewer said."""
    if overrides.empty:
        return result
    decided = result.lines.copy()
    charged = decided["line_id"].map(lines.set_index("line_id")["charged_cents"])
    wanted = overrides.set_index("line_id")
    hit = decided["line_id"].isin(wanted.index)
    decision = decided.loc[hit, "line_id"].map(wanted["decision"])
    approve = decision == "approve"
    amount = decided.loc[hit, "line_id"].map(wanted["approved_cents"]).fillna(0).astype("int64")
    reasons = decided.loc[hit, "line_id"].map(wanted["reason_code"]).astype(object)
    paid = amount.where(approve, 0)
    decided.loc[hit, ZEROED] = 0
    decided.loc[hit, "status"] = approve.map({True: "approved", False: "rejected"})
    decided.loc[hit, "reason_code"] = reasons.where(~approve, None)
    decided.loc[hit, "allowed_cents"] = paid
    decided.loc[hit, "approved_cents"] = paid
    decided.loc[hit, "member_responsibility_cents"] = (charged[hit] - paid).clip(lower=0)
    return EngineResult(lines=decided, claims=roll_up_claims(result.claims, lines, decided))


def record_override(
    claim_number: str,
    line_number: int,
    *,
    approve: Decimal | None,
    reject: str | None,
    note: str,
    by: str,
) -> str:
    """Validate and store a reviewer's decision on a line; returns the claim's status (the
    caller re-adjudicates a decided claim so the decision takes effect now)."""
    from claims_askes.db.connections import service_connection
    from claims_askes.db.sqlfiles import queries

    if (approve is None) == (reject is None):
        raise ClaimsAskesError("give exactly one of --approve AMOUNT or --reject REASON")
    if not note.strip():
        raise ClaimsAskesError("--note: say why, in words (it goes on the claim's record)")
    q = queries("claims_service")
    with service_connection("claims") as conn:
        row = conn.execute(
            q.line_for_override, {"claim_number": claim_number, "line_number": line_number}
        ).fetchone()
        if row is None:
            raise ClaimsAskesError(f"no line {line_number} on claim {claim_number!r}")
        line_id, charged, claim_status = row
        if approve is not None:
            if approve < 0 or approve != approve.quantize(Decimal("0.01")):
                raise ClaimsAskesError(
                    f"--approve: {approve} is not an amount in rupiah with "
                    "at most 2 decimals, at least 0"
                )
            if approve > charged:
                raise ClaimsAskesError(
                    f"--approve: {approve} is more than the line's charge {charged}"
                )
        if (
            reject is not None
            and conn.execute(q.rejection_reason, {"code": reject}).fetchone() is None
        ):
            raise ClaimsAskesError(
                f"--reject: {reject!r} is not a rejection reason code "
                "(see common.reason_code, category 'rejection')"
            )
        conn.execute(
            q.upsert_override,
            {
                "line_id": line_id,
                "decision": "approve" if approve is not None else "reject",
                "approved_amount": approve,
                "reason_code": reject,
                "note": note.strip(),
                "overridden_by": by,
            },
        )
    return str(claim_status)
