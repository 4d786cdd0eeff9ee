"""Reviewers' overrides applied to the engine's result (``apply_overrides``), and the claim
roll-up they share with the engine (``roll_up_claims``): pure functions, no database; then
the explanation of benefits of an override on a real database (the reviewer's reduction).

The roll-up after an override is the engine's own (docs/adjudication.md, claim results; I20): the
same frame as the engine's when nothing changed, and for lines decided otherwise the status,
reason and totals the engine would give lines decided that way.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, cast

import pandas as pd
import pandas.testing as pdt
import pytest
from typer.testing import CliRunner

from claims_askes.adjudication import EngineResult, adjudicate, roll_up_claims
from claims_askes.adjudication import frames as F
from claims_askes.adjudication.eob import read_eob
from claims_askes.adjudication.overrides import apply_overrides
from claims_askes.cli.app import app
from flows.claim_adjudication import claim_adjudication
from tests.conftest import TestDatabase
from tests.engine_factories import Batch, line, rp
from tests.scenario import Line, Scenario
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


def test_an_approval_below_the_rules_keeps_the_members_share_and_is_the_providers() -> None:
    """In network, allowed 100.000 with a 20.000 copay: the engine pays 80.000. A reviewer's
    50.000 leaves the member the copay (20.000, what the amount rules gave), never the
    reviewer's 30.000 on top; a reviewer's 90.000 covers half the copay; more than allowed
    pays allowed."""
    batch = Batch.standard().benefit("PLAN-A", "OUTPATIENT", copay_cents=rp(20_000))
    batch.claim("C1", line(rp(100_000)))
    inp = batch.input()
    result = adjudicate(inp)
    engine = claims_by_id(result)["C1"]
    share = engine["member_responsibility_cents"]
    allowed = int(result.lines.loc[result.lines["line_id"] == "C1-L1", "allowed_cents"].iloc[0])
    paid = engine["total_approved_cents"]
    assert share > 0 and paid + share == allowed
    for wanted, plan, member in (
        (paid - rp(10_000), paid - rp(10_000), share),  # less: the gap is not the member's
        (allowed, allowed, 0),  # equal to allowed: the plan pays it all
        (allowed + rp(1), allowed, 0),  # more than allowed: capped at allowed
    ):
        after = claims_by_id(
            apply_overrides(
                result,
                overrides({"line_id": "C1-L1", "decision": "approve", "approved_cents": wanted}),
                inp.lines,
            )
        )["C1"]
        assert (after["total_approved_cents"], after["member_responsibility_cents"]) == (
            plan,
            member,
        )


FEE = 400_000
COPAY = 25_000


@pytest.mark.parametrize(
    ("in_network", "charge", "approve", "plan", "member", "reviewer"),
    [
        # In network, fee schedule 400.000, copay 25.000: the engine pays 375.000 and the
        # member owes the copay. The case: 300.000 approved of an allowed 400.000.
        pytest.param(True, FEE, 300_000, 300_000, COPAY, 75_000, id="in-less"),
        pytest.param(True, FEE, FEE, FEE, 0, 0, id="in-equal"),
        # 450.000 of a 500.000 charge is more than the allowed 400.000: capped at it; the
        # 100.000 above the fee schedule is the provider's (the reviewer priced the line).
        pytest.param(True, 500_000, 450_000, FEE, 0, 100_000, id="in-more"),
        # Out of network (80 %): allowed is the charge, 400.000; copay 25.000, network
        # reduction 75.000: the engine pays 300.000 and the member owes 100.000.
        pytest.param(False, FEE, 200_000, 200_000, 100_000, 100_000, id="out-less"),
        pytest.param(False, FEE, FEE, FEE, 0, 0, id="out-equal"),
        # More than the rules pay (allowed is the charge: more than it is refused).
        pytest.param(False, FEE, 350_000, 350_000, 50_000, 0, id="out-more"),
    ],
)
def test_the_eob_of_an_override_agrees_with_the_totals_and_the_payment(
    db: TestDatabase,
    prefect_api: str,
    in_network: bool,
    charge: int,
    approve: int,
    plan: int,
    member: int,
    reviewer: int,
) -> None:
    """The reviewer's reduction is its own adjustment (REVIEWER_REDUCTION, CARC 150/CO),
    shown once, never as member responsibility; the EOB, the claim's totals and the payment
    agree: charged = plan pays + member pays + the provider's write-off."""
    with db.admin() as conn:
        s = Scenario(conn)
        benefit_plan = s.plan("PLAN-REVIEW")
        s.benefit(benefit_plan, "OP_GP", copay_amount=COPAY)
        provider = s.provider(in_network=in_network, fees={"X1": FEE} if in_network else None)
        number = s.claim(
            s.member(benefit_plan),
            provider,
            date(2026, 1, 10),
            [Line("OP_GP", charge, procedure_code="X1")],
        )
        done = CliRunner().invoke(
            app, ["override", number, "1", "--approve", str(approve), "--note", "level of care"]
        )
        assert done.exit_code == 0, done.output
        claim_adjudication()  # a waiting claim takes the override at its adjudication

        eob = read_eob(number)
        (row,) = eob.lines
        money = Decimal("0.01")
        assert row["status"] == "approved"
        assert (row["approved_amount"], row["member_responsibility"]) == (
            Decimal(plan).quantize(money),
            Decimal(member).quantize(money),
        )
        assert row["above_fee_schedule"] is None  # the gap is shown once, as the reviewer's
        assert row["reviewer_reduction"] == Decimal(reviewer).quantize(money)
        assert (
            row["approved_amount"] + row["member_responsibility"] + row["reviewer_reduction"]
            == row["charged_amount"]
        )
        assert eob.codes["REVIEWER_REDUCTION"] == "CARC 150/CO"
        claim = s.claim_row(number)
        assert (claim["total_approved_amount"], claim["member_responsibility"]) == (
            row["approved_amount"],
            row["member_responsibility"],
        )
        payments = conn.execute(
            "SELECT p.payee_type, p.amount FROM claims_service.claim_payment p JOIN "
            "claims_service.claim c ON c.id = p.claim_id WHERE c.claim_number = %s",
            (number,),
        ).fetchall()
        assert payments == [("provider", row["approved_amount"])]

        shown = CliRunner().invoke(app, ["eob", number], env={"COLUMNS": "250"})
        assert shown.exit_code == 0, shown.output
        assert "reviewer reduction" in shown.output and "CARC 150/CO" in shown.output
