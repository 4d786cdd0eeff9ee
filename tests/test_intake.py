"""The intake (claims_askes.adjudication.intake): well-formed claims are stored submitted,
numbered, with their lines and total, through the claims service's own connection; a claim
of the wrong shape is refused with an error naming the field, and nothing of it is stored,
while the rest of its batch is; content the rules judge (a discharge before the admission)
(a negative charge) is stored as sent and rejected by adjudication with INVALID_CLAIM and a
note."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from claims_askes.adjudication.intake import IntakeError, submit_claims, validated
from flows.claim_adjudication import claim_adjudication
from tests.conftest import TestDatabase
from tests.scenario import Scenario
from tests.test_bad_input import notes_of

SD = date(2026, 3, 10)


def claim(member: uuid.UUID, provider: uuid.UUID, *charges: str, **extra: Any) -> dict[str, Any]:
    return {
        "member_id": str(member),
        "provider_id": str(provider),
        "policy_id": str(uuid.uuid4()),
        "claim_type": "cashless",
        "service_type": "outpatient",
        "service_date": SD.isoformat(),
        "lines": [
            {"benefit_code": "OP_GP", "procedure_code": "89.01", "charged_amount": c}
            for c in charges
        ],
        **extra,
    }


def stored(conn: psycopg.Connection) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT c.claim_number, c.status, c.total_charged_amount, c.created_by, "
        "count(ci.id), sum(ci.charged_amount) FROM claims_service.claim c "
        "LEFT JOIN claims_service.claim_item ci ON ci.claim_id = c.id "
        "GROUP BY c.id ORDER BY c.claim_number"
    ).fetchall()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"member_id": "not-a-uuid"}, "member_id"),
        ({"claim_type": "cash"}, "claim_type"),
        ({"lines": []}, "lines"),
        ({"lines": [{"charged_amount": 1500.5}]}, "lines[0].charged_amount"),
        ({"lines": [{"charged_amount": "1e20"}]}, "lines[0].charged_amount"),
        ({"lines": [{"charged_amount": "1.005"}]}, "lines[0].charged_amount"),
        ({"service_date": "10/03/2026"}, "service_date"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_claim_of_the_wrong_shape_is_refused_naming_the_field(
    change: dict[str, Any], field: str
) -> None:
    raw = {**claim(uuid.uuid4(), uuid.uuid4(), "1000.00"), **change}
    with pytest.raises(IntakeError) as refused:
        validated(raw, 7)
    message = str(refused.value)
    assert message.startswith("claim 7 refused, nothing stored: ")
    assert f"{field}: " in message


def test_the_refusal_shows_a_hostile_value_escaped() -> None:
    raw = claim(uuid.uuid4(), uuid.uuid4(), "1000.00", claim_type="\x1b[31mcash")
    with pytest.raises(IntakeError) as refused:
        validated(raw)
    assert "\x1b" not in str(refused.value)
    assert "\\x1b[31mcash" in str(refused.value)


def test_a_batch_stores_the_good_claims_and_refuses_the_bad(db: TestDatabase) -> None:
    member, provider = uuid.uuid4(), uuid.uuid4()
    batch = [
        claim(member, provider, "150000.00", "25000.50"),
        claim(member, provider, "1000.00", claim_type="cash"),  # refused
        claim(member, provider, "99.99"),
    ]

    result = submit_claims(batch, submitted_by="test-intake")

    assert [a.position for a in result.accepted] == [0, 2]
    assert [str(e).split(" refused")[0] for e in result.refused] == ["claim 1"]
    assert result.lines == 3
    with db.admin() as conn:
        rows = stored(conn)
    numbers = [a.claim_number for a in result.accepted]
    assert [r[0] for r in rows] == numbers  # numbered in the batch's order
    assert all(n.startswith("CLM-") for n in numbers)
    assert rows == [
        (numbers[0], "submitted", Decimal("175000.50"), "test-intake", 2, Decimal("175000.50")),
        (numbers[1], "submitted", Decimal("99.99"), "test-intake", 1, Decimal("99.99")),
    ]


def test_a_failing_batch_stores_nothing(db: TestDatabase) -> None:
    """A claim the database refuses (a benefit code it has no room for) rolls the whole
    statement back: no claim of the batch is half there."""
    member, provider = uuid.uuid4(), uuid.uuid4()
    good = claim(member, provider, "1000.00")
    with db.admin(autocommit=False) as conn:
        conn.execute(
            "ALTER TABLE claims_service.claim_item ADD CONSTRAINT t_no_big "
            "CHECK (charged_amount < 5000)"
        )
        conn.commit()
    with pytest.raises(psycopg.errors.CheckViolation):
        submit_claims([good, claim(member, provider, "1000.00", "9000.00")])
    with db.admin() as conn:
        assert stored(conn) == []


def test_dates_in_the_wrong_order_are_stored_then_rejected_by_r1(
    db: TestDatabase, prefect_api: str
) -> None:
    with db.admin() as conn:
        s = Scenario(conn)
        plan = s.plan("PLAN-INTAKE")
        s.benefit(plan, "OP_GP")
        hospital = s.provider()
        member = s.member(plan)
    bad = claim(
        member,
        hospital,
        "157000.00",
        service_type="inpatient",
        admission_date=SD.isoformat(),
        discharge_date=date(2026, 3, 8).isoformat(),
    )
    good = claim(member, hospital, "157000.00")
    negative = claim(member, hospital, "-5000.00")  # stored (total 0), judged by R1

    result = submit_claims([bad, good, negative])
    assert result.refused == [] and len(result.accepted) == 3
    summary = claim_adjudication()

    assert summary.claims == 3
    bad_number, good_number, negative_number = (a.claim_number for a in result.accepted)
    with db.admin() as conn:
        s = Scenario(conn)
        assert s.claim_row(negative_number)["total_charged_amount"] == Decimal("0.00")
        charged = conn.execute(
            "SELECT ci.charged_amount FROM claims_service.claim_item ci JOIN "
            "claims_service.claim c ON c.id = ci.claim_id WHERE c.claim_number = %s",
            (negative_number,),
        ).fetchone()
        assert charged == (Decimal("-5000.00"),)
        assert s.line_row(negative_number)["reason_code"] == "INVALID_CLAIM"
        assert s.claim_row(bad_number)["status"] == "rejected"
        assert s.line_row(bad_number)["reason_code"] == "INVALID_CLAIM"
        (note,) = notes_of(conn, bad_number)
        assert "INVALID_CLAIM" in note
        assert s.claim_row(good_number)["status"] == "approved"
        assert s.line_row(good_number)["approved_amount"] == Decimal("157000.00")
