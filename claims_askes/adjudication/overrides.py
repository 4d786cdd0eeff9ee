"""A reviewer's manual decision on a line wins over the engine's, at every adjudication.

Applied to the engine's result before the decision checkpoint: an approved override pays
its amount, at most the line's allowed (allowed = paid, no cost sharing; the member owes
what the amount rules left to the member, less what the payment covers; the rest is the
reviewer's reduction, the provider's), a rejected one pays nothing with the reviewer's
reason; the claims' totals and statuses are then rolled up again from their lines by the
engine's own roll-up (docs/adjudication.md's claim results, I20).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

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
    """The result with every overridden line decided as the reviewer said.

    An approval pays the reviewer's amount, at most the line's contract allowed (the engine's
    A2 allowed when the engine priced the line, else its charge). The member owes what the
    amount rules left to the member (the engine's member responsibility), less what the
    reviewer's payment covers of it: never more. The rest, allowed − paid − member, is the
    reviewer's reduction (REVIEWER_REDUCTION, CARC 150/CO), which the provider writes off
    (docs/adjudication.md, overrides)."""
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
    priced = decided.loc[hit, "status"] == "approved"
    allowed = decided.loc[hit, "allowed_cents"].where(priced, charged[hit]).astype("int64")
    paid = amount.clip(upper=allowed).where(approve, 0)
    engine_member = decided.loc[hit, "member_responsibility_cents"].astype("int64")
    member = engine_member.clip(upper=(allowed - paid).clip(lower=0))
    decided.loc[hit, ZEROED] = 0
    decided.loc[hit, "status"] = approve.map({True: "approved", False: "rejected"})
    decided.loc[hit, "reason_code"] = reasons.where(~approve, None)
    decided.loc[hit, "allowed_cents"] = paid
    decided.loc[hit, "approved_cents"] = paid
    decided.loc[hit, "member_responsibility_cents"] = member.where(approve, charged[hit])
    return EngineResult(lines=decided, claims=roll_up_claims(result.claims, lines, decided))


#: The largest amount a DECIMAL(15,2) column holds.
LARGEST_AMOUNT = Decimal("9999999999999.99")
#: The largest line number (claim_item.line_number is an INTEGER).
LARGEST_LINE = 2**31 - 1
#: Room for the reviewer's display name (claim_item_override.overridden_by).
BY_LENGTH = 100


@dataclass(frozen=True)
class RecordedOverride:
    claim_status: str  # the claim's status when the decision was recorded
    by: str  # the reviewer's display name, as given
    login: str  # the database login that wrote it (session_user), set by the database


def printable(text: str) -> str:
    """Only printable text: every run of whitespace (a line break, a tab) becomes one space,
    any other character that is not printable (a control such as ESC, a bidirectional
    override, a zero-width character) is dropped."""
    kept = "".join(ch for ch in text if ch.isprintable() or ch.isspace())
    return " ".join(kept.split())


def parse_amount(text: str, option: str = "--approve") -> Decimal:
    """An amount in rupiah as typed (e.g. 125000.50): a finite number, at least 0, at most
    the largest amount a column holds, with at most 2 decimals; anything else is one line
    naming the option."""
    wanted = (
        f"{option}: {text!r} is not an amount in rupiah from 0 to {LARGEST_AMOUNT} with at "
        "most 2 decimals (e.g. 125000.50)"
    )
    try:
        amount = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        raise ClaimsAskesError(wanted) from None
    if not amount.is_finite() or not 0 <= amount <= LARGEST_AMOUNT:
        raise ClaimsAskesError(wanted)
    if amount != amount.quantize(Decimal("0.01")):  # safe: at most 16 digits here
        raise ClaimsAskesError(wanted)
    return amount


def record_override(
    claim_number: str,
    line_number: int,
    *,
    approve: Decimal | None,
    reject: str | None,
    note: str,
    by: str,
) -> RecordedOverride:
    """Validate and store a reviewer's decision on a line; returns the claim's status (the
    caller re-adjudicates a decided claim so the decision takes effect now), the display
    name and the login the database recorded (its session user, not anything we send)."""
    from claims_askes.db.connections import service_connection
    from claims_askes.db.sqlfiles import queries

    if (approve is None) == (reject is None):
        raise ClaimsAskesError("give exactly one of --approve AMOUNT or --reject REASON")
    if approve is not None:
        approve = parse_amount(str(approve))
    note = printable(note)
    if not note:
        raise ClaimsAskesError("--note: say why, in words (it goes on the claim's record)")
    by = printable(by)
    if not by or len(by) > BY_LENGTH:
        raise ClaimsAskesError(f"--by: a name of 1 to {BY_LENGTH} printable characters")
    if not 1 <= line_number <= LARGEST_LINE:
        raise ClaimsAskesError(f"no line {line_number} on claim {claim_number!r}")
    q = queries("claims_service")
    with service_connection("claims") as conn:
        row = conn.execute(
            q.line_for_override, {"claim_number": claim_number, "line_number": line_number}
        ).fetchone()
        if row is None:
            raise ClaimsAskesError(f"no line {line_number} on claim {claim_number!r}")
        line_id, charged, claim_status = row
        if approve is not None and approve > charged:
            raise ClaimsAskesError(f"--approve: {approve} is more than the line's charge {charged}")
        if (
            reject is not None
            and conn.execute(q.rejection_reason, {"code": reject}).fetchone() is None
        ):
            raise ClaimsAskesError(
                f"--reject: {reject!r} is not a rejection reason code "
                "(see common.reason_code, category 'rejection')"
            )
        # What the database recorded as the writer (claims_service 0008's trigger).
        recorded = conn.execute(
            q.upsert_override,
            {
                "line_id": line_id,
                "decision": "approve" if approve is not None else "reject",
                "approved_amount": approve,
                "reason_code": reject,
                "note": note,
                "overridden_by": by,
            },
        ).fetchone()
    assert recorded is not None
    return RecordedOverride(str(claim_status), str(recorded[0]), str(recorded[1]))
