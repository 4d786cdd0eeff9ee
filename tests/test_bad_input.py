"""Malformed claims through the real flow (hypothesis): each is rejected with its reason
code and a note in words, nothing crashes, and the good claims of the same batch come out
exactly as they would alone."""

from __future__ import annotations

import itertools
import uuid
from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.claim_adjudication import claim_adjudication
from tests.conftest import TestDatabase
from tests.scenario import Line, Scenario

SD = date(2026, 3, 10)
EXAMPLES = itertools.count(1)  # each example's claim numbers start at its own hundred
#: what a malformed claim looks like, and the reason its first line must carry
KINDS = {
    "negative charge": "INVALID_CLAIM",
    "no quantity": "INVALID_CLAIM",
    "no benefit code": "INVALID_CLAIM",
    "discharge before admission": "INVALID_CLAIM",
    "no lines": "INVALID_CLAIM",
    "unknown member": "MEMBER_NOT_ELIGIBLE",
    "unknown benefit code": "BENEFIT_NOT_COVERED",
}
#: text that must travel as data: quotes, SQL, Unicode, control characters
nasty_text = st.sampled_from([
    "'; DROP TABLE claims_service.claim; --", "Ö😀\u200b", "%(run_id)s", "\t",
    "ROBERT'); --", "日本語", "a" * 50,
])


@settings(max_examples=6, deadline=None, derandomize=True, print_blob=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(kinds=st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=6),
       text=nasty_text, charge=st.integers(1, 10**12))
def test_malformed_claims_are_rejected_with_a_reason_and_a_note(
        db: TestDatabase, prefect_api: str, kinds: list[str], text: str, charge: int) -> None:
    with db.admin() as conn:
        s = Scenario(conn, _numbers=itertools.count(next(EXAMPLES) * 100 + 1))
        plan = s.plan(f"PLAN-{uuid.uuid4().hex[:8]}")
        s.benefit(plan, "OP_GP", copay_amount=20_000)
        hospital = s.provider()
        good = s.claim(s.member(plan), hospital, SD, [Line("OP_GP", 100_000,
                                                           diagnosis_code="J06.9")])
        bad: dict[str, str] = {}
        for i, kind in enumerate(kinds):
            member = s.member(plan)
            cents = Decimal(charge) / 100
            line = Line("OP_GP", cents, procedure_code=text[:20])
            if kind == "negative charge":
                line = Line("OP_GP", -cents, procedure_code=text[:20])
            elif kind == "no quantity":
                line = Line("OP_GP", cents, quantity=0)
            elif kind == "no benefit code":
                line = Line(None, cents, diagnosis_code=text[:10])
            elif kind == "unknown benefit code":
                line = Line(text[:50], cents)
            owner = uuid.uuid4() if kind == "unknown member" else member
            lines = [] if kind == "no lines" else [line]
            if kind == "discharge before admission":
                bad[f"{i}:{kind}"] = s.claim(owner, hospital, SD, lines,
                                             service_type="inpatient", admission=SD,
                                             discharge=date(2026, 3, 1))
            else:
                bad[f"{i}:{kind}"] = s.claim(owner, hospital, SD, lines)

        summary = claim_adjudication()

        assert summary.claims == len(kinds) + 1
        assert s.claim_row(good)["status"] == "approved"
        assert s.amounts(good)[6] == Decimal("80000.00")
        for key, number in bad.items():
            kind = key.split(":", 1)[1]
            claim = s.claim_row(number)
            assert claim["status"] == "rejected", (kind, claim)
            if kind != "no lines":
                assert s.line_row(number)["reason_code"] == KINDS[kind], kind
            notes = conn.execute(
                "SELECT n.note_text FROM claims_service.claim_note n JOIN "
                "claims_service.claim c ON c.id = n.claim_id WHERE c.claim_number = %s",
                (number,)).fetchall()
            assert len(notes) == 1 and KINDS[kind] in notes[0][0], (kind, notes)
