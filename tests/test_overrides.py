"""Reviewers' overrides applied to the engine's result (``apply_overrides``), and the claim
roll-up they share with the engine (``roll_up_claims``): pure functions, no database.

The roll-up after an override is the engine's own (docs/adjudication.md, claim results; I20): the
same frame as the engine's when nothing changed, and for lines decided otherwise the status,
reason and totals the engine would give lines decided that way.
"""

from __future__ import annotations

from typing import Any, cast

import pandas as pd
import pandas.testing as pdt

from claims_askes.adjudication import EngineResult, adjudicate, roll_up_claims
from claims_askes.adjudication import frames as F
from claims_askes.adjudication.overrides import apply_overrides
from tests.engine_factories import Batch, line, rp
from tests.test_engine_rules import _inpatient


def mixed_batch() -> Batch:
    """C1 approved (2 lines); C2 partially approved, its lines given out of line_number order
    (line 3 invalid, line 2 excluded: I20 takes line 2's reason); C3 rejected; C4 pended."""
    batch = _inpatient(Batch.standard()).exclusion("PLAN-A", procedure_code="15780")
    batch.authorization("M1", "INPATIENT", status="pending")
    batch.claim("C1", line(rp(100_000)), line(rp(50_000)))
    batch.claim(
        "C2",
        line(rp(100_000)),
        line(rp(30_000), line_number=3, quantity=0),
        line(rp(50_000), procedure_code="15780", line_number=2),
        service_date="2024-03-02",
    )  # another day: not a duplicate of C1's lines
    batch.claim("C3", line(rp(10_000), benefit_code="DENTAL"), line(rp(20_000), quantity=0))
    batch.claim(
        "C4", line(rp(10_000), benefit_code="DENTAL"), line(rp(20_000), benefit_code="INPATIENT")
    )
    return batch


def overrides(*rows: dict[str, Any]) -> pd.DataFrame:
    """Rows of leased_overrides: line_id, decision, approved_cents, reason_code."""
    return pd.DataFrame(
        [{"approved_cents": None, "reason_code": None, **r} for r in rows],
        columns=["line_id", "decision", "approved_cents", "reason_code"],
    )


def claims_by_id(result: EngineResult) -> dict[str, dict[str, Any]]:
    rows = cast(list[dict[str, Any]], result.claims.to_dict("records"))
    return {r["claim_id"]: r for r in rows}


def test_roll_up_of_unchanged_lines_is_the_engines_own() -> None:
    inp = mixed_batch().input()
    result = adjudicate(inp)
    assert set(result.claims["status"]) == {F.APPROVED, F.PARTIALLY_APPROVED, F.REJECTED, F.PENDED}
    pdt.assert_frame_equal(roll_up_claims(result.claims, inp.lines, result.lines), result.claims)


def test_approving_the_only_rejected_line_approves_the_claim() -> None:
    batch = Batch.standard().exclusion("PLAN-A", procedure_code="15780")
    batch.claim("C1", line(rp(100_000)), line(rp(50_000), procedure_code="15780"))
    inp = batch.input()
    result = adjudicate(inp)
    assert claims_by_id(result)["C1"]["status"] == F.PARTIALLY_APPROVED
    after = claims_by_id(
        apply_overrides(
            result,
            overrides({"line_id": "C1-L2", "decision": "approve", "approved_cents": rp(40_000)}),
            inp.lines,
        )
    )
    # line 1 paid in full (100.000), line 2 the reviewer's 40.000, the member owes the other
    # 10.000 of its charge
    assert after["C1"] == dict(
        claim_id="C1",
        status=F.APPROVED,
        reason_code=None,
        total_charged_cents=rp(150_000),
        total_approved_cents=rp(140_000),
        member_responsibility_cents=rp(10_000),
    )


def test_rejecting_every_line_rejects_the_claim_with_its_first_lines_reason() -> None:
    inp = mixed_batch().input()
    result = adjudicate(inp)
    after = claims_by_id(
        apply_overrides(
            result,
            overrides(
                {"line_id": "C1-L2", "decision": "reject", "reason_code": F.DUPLICATE},
                {"line_id": "C1-L1", "decision": "reject", "reason_code": F.EXCLUDED},
                {"line_id": "C2-L1", "decision": "reject", "reason_code": F.DUPLICATE},
            ),
            inp.lines,
        )
    )
    assert after["C1"] == dict(
        claim_id="C1",
        status=F.REJECTED,
        reason_code=F.EXCLUDED,
        total_charged_cents=rp(150_000),
        total_approved_cents=0,
        member_responsibility_cents=rp(150_000),
    )
    # C2: line 1 rejected by the reviewer now comes first (I20: by line_number)
    assert (after["C2"]["status"], after["C2"]["reason_code"]) == (F.REJECTED, F.DUPLICATE)
    assert after["C2"]["total_approved_cents"] == 0


def test_an_override_leaves_a_pended_claim_pended_and_other_claims_alone() -> None:
    inp = mixed_batch().input()
    result = adjudicate(inp)
    before = claims_by_id(result)
    after = claims_by_id(
        apply_overrides(
            result,
            overrides({"line_id": "C4-L1", "decision": "approve", "approved_cents": rp(10_000)}),
            inp.lines,
        )
    )
    assert (after["C4"]["status"], after["C4"]["reason_code"]) == (F.PENDED, F.PREAUTH_PENDING)
    assert after["C4"]["total_approved_cents"] == rp(10_000)
    assert {k: after[k] for k in ("C1", "C2", "C3")} == {k: before[k] for k in ("C1", "C2", "C3")}
