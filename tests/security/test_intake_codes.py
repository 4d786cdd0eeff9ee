"""Issue 15, item 14: codes are validated at intake. A procedure code holding a terminal escape
sequence was paid Rp 157.000. Now R1 checks the shape of every procedure and diagnosis code
(I25): a malformed one makes its line INVALID_CLAIM, the note says which field and shows the
code escaped, and no escape byte reaches the note.

The attack is performed as an intake that stores whatever it is sent would: the claim is
written to the database with the hostile code, then the real adjudication flow runs on it with
the services' own connections."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import psycopg

from flows.claim_adjudication import claim_adjudication
from tests.conftest import TestDatabase
from tests.scenario import Line, Scenario
from tests.test_bad_input import notes_of

ESC = "\x1b"
SD = date(2026, 3, 10)
SUBMITTED = datetime(2026, 3, 11, 2, 0, tzinfo=UTC)  # 09:00 the next morning in Jakarta
CHARGE = Decimal("157000.00")


def payments_of(conn: psycopg.Connection, number: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM claims_service.claim_payment p JOIN claims_service.claim c "
        "ON c.id = p.claim_id WHERE c.claim_number = %s",
        (number,),
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_a_procedure_code_holding_an_escape_sequence_is_rejected_not_paid(
    db: TestDatabase, prefect_api: str
) -> None:
    with db.admin() as conn:
        s = Scenario(conn)
        plan = s.plan("PLAN-INTAKE")
        s.benefit(plan, "OP_GP")  # no cost sharing: a valid line is paid whole
        hospital = s.provider()
        attacker, victim, diagnosed, honest = (s.member(plan) for _ in range(4))
        # the attack of the issue: Rp 157.000 with "\x1b[31m" in the procedure code
        attack = s.claim(
            attacker,
            hospital,
            SD,
            [Line("OP_GP", CHARGE, procedure_code=f"89.01{ESC}[31m")],
            submitted=SUBMITTED,
        )
        # an escape sequence that would set the reader's terminal title, beside a clean line
        mixed = s.claim(
            victim,
            hospital,
            SD,
            [
                Line("OP_GP", CHARGE, procedure_code=f"{ESC}]0;pwned\x07"),
                Line("OP_GP", Decimal("50000.00"), procedure_code="89.03"),
            ],
            submitted=SUBMITTED,
        )
        # the diagnosis code is checked too (ICD-10)
        diagnosis = s.claim(
            diagnosed,
            hospital,
            SD,
            [Line("OP_GP", CHARGE, procedure_code="89.01", diagnosis_code=f"J06.9{ESC}[0m")],
            submitted=SUBMITTED,
        )
        # the same service with clean codes: paid, as before
        clean = s.claim(
            honest,
            hospital,
            SD,
            [Line("OP_GP", CHARGE, procedure_code="89.01", diagnosis_code="J06.9")],
            submitted=SUBMITTED,
        )
        stored = conn.execute(
            "SELECT ci.procedure_code FROM claims_service.claim_item ci JOIN "
            "claims_service.claim c ON c.id = ci.claim_id WHERE c.claim_number = %s",
            (attack,),
        ).fetchone()
        assert stored is not None and ESC in stored[0]  # the hostile code is in the database

        summary = claim_adjudication()

        assert summary.claims == 4
        # the attack: rejected under R1, nothing paid, nothing posted
        claim = s.claim_row(attack)
        assert (claim["status"], claim["total_approved_amount"]) == ("rejected", 0)
        line = s.line_row(attack)
        assert (line["status"], line["reason_code"]) == ("rejected", "INVALID_CLAIM")
        assert line["approved_amount"] == 0
        assert payments_of(conn, attack) == 0
        assert s.accumulator_row(attacker, "OP_GP", SD.year) is None
        (note,) = notes_of(conn, attack)
        assert ESC not in note and all(ch.isprintable() for ch in note), note
        assert "INVALID_CLAIM" in note
        assert "the procedure code '89.01\\x1b[31m' is not a procedure code" in note

        # the mixed claim: the bad line rejected, the clean line paid
        assert s.claim_row(mixed)["status"] == "partially_approved"
        assert s.line_row(mixed, 1)["reason_code"] == "INVALID_CLAIM"
        assert s.line_row(mixed, 1)["approved_amount"] == 0
        assert s.line_row(mixed, 2)["approved_amount"] == Decimal("50000.00")
        assert s.claim_row(mixed)["total_approved_amount"] == Decimal("50000.00")
        (note,) = notes_of(conn, mixed)
        assert ESC not in note and "\x07" not in note, note
        assert all(ch.isprintable() for ch in note), note
        assert "the procedure code '\\x1b]0;pwned\\x07' is not a procedure code" in note

        # the bad diagnosis code
        assert s.line_row(diagnosis)["reason_code"] == "INVALID_CLAIM"
        assert s.claim_row(diagnosis)["total_approved_amount"] == 0
        (note,) = notes_of(conn, diagnosis)
        assert ESC not in note and all(ch.isprintable() for ch in note), note
        assert "the diagnosis code 'J06.9\\x1b[0m' is not an ICD-10 code" in note

        # the control: the same service with clean codes is paid Rp 157.000, no note
        assert s.claim_row(clean)["status"] == "approved"
        assert s.line_row(clean)["approved_amount"] == CHARGE
        assert notes_of(conn, clean) == []


def test_a_benefit_code_holding_an_escape_sequence_is_shown_escaped_in_the_note(
    db: TestDatabase, prefect_api: str
) -> None:
    """The note names each rejected line's benefit code: a code the plan does not cover
    (R5) that holds an escape sequence appears escaped, never as itself."""
    with db.admin() as conn:
        s = Scenario(conn)
        plan = s.plan("PLAN-NOTE")
        s.benefit(plan, "OP_GP")
        member = s.member(plan)
        number = s.claim(
            member,
            s.provider(),
            SD,
            [Line(f"OP{ESC}[2J", CHARGE, procedure_code="89.01")],
            submitted=SUBMITTED,
        )
        claim_adjudication()
        assert s.line_row(number)["reason_code"] == "BENEFIT_NOT_COVERED"
        (note,) = notes_of(conn, number)
        assert ESC not in note and all(ch.isprintable() for ch in note), note
        assert "line 1 ('OP\\x1b[2J')" in note
