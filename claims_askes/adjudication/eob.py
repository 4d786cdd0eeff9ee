"""Explanation of benefits of one claim, read from the claims service alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from claims_askes.core.errors import ClaimsAskesError
from claims_askes.db.connections import service_connection
from claims_askes.db.sqlfiles import queries

#: (reason code, column title, line amount) of each adjustment an EOB shows, in the order
#: they are taken off the charge
ADJUSTMENTS = (
    ("FEE_SCHEDULE", "above fee schedule", "above_fee_schedule"),
    ("DEDUCTIBLE", "deductible", "deductible_amount"),
    ("COPAY", "copay", "copay_amount"),
    ("COINSURANCE", "coinsurance", "coinsurance_amount"),
    ("NETWORK_REDUCTION", "network reduction", "network_reduction_amount"),
    ("LIMIT_REACHED", "limits", "limit_amount"),
    ("REVIEWER_REDUCTION", "reviewer reduction", "reviewer_reduction"),
)


#: The adjustment of a reviewer's reduction, which no engine line carries as its reason (the
#: EOB derives it from the override): X12 CARC 150, "payer deems the information submitted
#: does not support this level of service", group CO, the provider's (docs/adjudication.md,
#: overrides).
REVIEWER_REDUCTION = ("REVIEWER_REDUCTION", "150", "CO")


@dataclass(frozen=True)
class Eob:
    claim: dict[str, Any]
    lines: list[dict[str, Any]]
    codes: dict[str, str]  # adjustment reason code -> 'CARC 45/CO'
    #: reviewers' decisions on lines: line_number, decision, approved_amount, reason_code,
    #: note, overridden_by (the name given), overridden_login (the database login that
    #: wrote it; None before claims_service 0008), overridden_at
    overrides: list[dict[str, Any]] = field(default_factory=list)


def read_eob(claim_number: str) -> Eob:
    """The claim, its lines with amounts and reasons, and the adjustments' CARC codes."""
    q = queries("claims_service")
    with service_connection("claims") as conn:
        cur = conn.execute(q.eob_claim, {"claim_number": claim_number})
        row = cur.fetchone()
        if row is None:
            raise ClaimsAskesError(f"no claim {claim_number!r}")
        claim = dict(zip([d.name for d in cur.description or []], row, strict=True))
        cur = conn.execute(q.eob_lines, {"claim_id": claim["id"]})
        names = [d.name for d in cur.description or []]
        lines = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        cur = conn.execute(q.eob_overrides, {"claim_id": claim["id"]})
        names = [d.name for d in cur.description or []]
        overrides = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        codes = {
            code: f"CARC {carc}/{group}"
            for code, carc, group in [
                *conn.execute(q.eob_adjustment_codes).fetchall(),
                REVIEWER_REDUCTION,
            ]
        }
    approved_by_reviewer = {o["line_number"] for o in overrides if o["decision"] == "approve"}
    for line in lines:
        reviewed = line["line_number"] in approved_by_reviewer and line["status"] == "approved"
        line["above_fee_schedule"] = None if reviewed else above_fee_schedule(line)
        line["reviewer_reduction"] = reviewer_reduction(line) if reviewed else None
    return Eob(claim, lines, codes, overrides)


def above_fee_schedule(line: dict[str, Any]) -> Decimal | None:
    """The contractual write-off (CO-45): what the provider charged above the allowed amount
    of a decided line."""
    if line["allowed_amount"] is None or line["status"] not in ("approved", "pended"):
        return None
    return max(line["charged_amount"] - line["allowed_amount"], Decimal("0"))


def reviewer_reduction(line: dict[str, Any]) -> Decimal:
    """The provider's write-off on a line a reviewer approved (REVIEWER_REDUCTION, CO-150):
    the charge less what the plan pays and what the member owes, so that charged = plan +
    member + this, once (it includes any charge above the fee schedule: the reviewer priced
    the line)."""
    rest = line["charged_amount"] - line["approved_amount"] - line["member_responsibility"]
    return max(rest, Decimal("0"))
