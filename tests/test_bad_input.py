"""Malformed and hostile claims through the real flow (hypothesis): each malformed claim is
rejected with its reason code and a note in words saying why, nothing crashes, and the good
claims of the same batch come out exactly as they would alone. Hostile but well-formed claims
(fractional cents, the largest amounts and quantities the columns hold) are paid to the
cent; a claim from a provider the registry does not know is invalid (I23).

The choices the contract leaves (I21, I22 in ``claims_askes.adjudication.reference``):

* a service, admission or discharge date after the day the claim was submitted (Jakarta) is
  a service not rendered yet: R1, INVALID_CLAIM;
* a claim whose charges add up beyond DECIMAL(15,2) could not be stored: R1, INVALID_CLAIM,
  its total clamped to the largest amount, nobody owing anything;
* a provider that exists nowhere has no contract, so by A1 it is out of network: the claim is
  paid at the out-of-network rate (it is not malformed in the contract's sense), with the
  line's largest adjustment as its reason code and no note (notes are for rejections).
* a procedure or diagnosis code that is not of its pattern (I25) is malformed: R1,
  INVALID_CLAIM, its note showing the code escaped (the hostile text is in the note only as
  printable characters).
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from hypothesis.vendor.pretty import pretty

from flows.claim_adjudication import claim_adjudication
from tests.conftest import TestDatabase
from tests.scenario import LARGEST, Line, Scenario, rp

SD = date(2026, 3, 10)
#: every claim of these tests is submitted the next morning in Jakarta (09:00, 02:00 UTC)
SUBMITTED = datetime(2026, 3, 11, 2, 0, tzinfo=UTC)
COPAY = Decimal("20000.00")
EXAMPLES = itertools.count(1)  # each example's claim numbers start at its own hundred


@dataclass(frozen=True)
class Kind:
    """What the flow must make of a claim of this kind: rejected with ``reason`` on its first
    line and a note containing ``words``, or (``reason`` None) approved to the cent."""

    reason: str | None
    words: str = ""


KINDS = {
    "negative charge": Kind("INVALID_CLAIM", "is negative"),
    "negative fractional cent": Kind("INVALID_CLAIM", "the charge -0.01 is negative"),
    "no quantity": Kind("INVALID_CLAIM", "the quantity 0 is less than 1"),
    "no benefit code": Kind("INVALID_CLAIM", "there is no benefit code"),
    "discharge before admission": Kind(
        "INVALID_CLAIM", "the discharge date 2026-03-01 is before the admission date 2026-03-10"
    ),
    "far-future service date": Kind(
        "INVALID_CLAIM", "the service date 2090-01-01 is after the submission date 2026-03-11"
    ),
    "discharged after submission": Kind(
        "INVALID_CLAIM", "the discharge date 2026-04-09 is after the submission date 2026-03-11"
    ),
    "claim total beyond DECIMAL(15,2)": Kind(
        "INVALID_CLAIM", "the claim's charges add up to 19,999,999,999,999.98"
    ),
    "no lines": Kind("INVALID_CLAIM", "the claim has no lines"),
    "unknown member": Kind("MEMBER_NOT_ELIGIBLE"),
    "unknown benefit code": Kind("BENEFIT_NOT_COVERED"),
    "unknown provider": Kind("INVALID_CLAIM", "is not in the provider registry"),
    "malformed procedure code": Kind("INVALID_CLAIM", "is not a procedure code"),
    "malformed diagnosis code": Kind("INVALID_CLAIM", "is not an ICD-10 code"),
    "submitted in the far future": Kind(
        "INVALID_CLAIM", "is after the moment the batch read the claim"
    ),
    "fractional cents": Kind(None),
    "largest charge": Kind(None),
    "huge quantity": Kind(None),
}
#: text that must travel as data: quotes, SQL, Unicode, control characters, escape sequences
nasty_text = st.sampled_from(
    [
        "'; DROP TABLE claims_service.claim; --",
        "Ö😀\u200b",
        "%(run_id)s",
        "\t",
        "ROBERT'); --",
        "日本語",
        "a" * 50,
        "\x1b[31m\x1b]0;pwned\x07",
    ]
)
#: the kinds whose note quotes the hostile text: it must be there only as printable characters
QUOTES_THE_TEXT = ("malformed procedure code", "malformed diagnosis code")


class Database:
    """The test's database as the hypothesis test sees it. Hypothesis prints a failing
    example's arguments, fixtures included, and prints a dataclass field by field, ignoring
    ``repr=False``: ``TestDatabase`` itself would print its URL with the server's password."""

    def __init__(self, db: TestDatabase) -> None:
        self._db = db

    def __repr__(self) -> str:
        return f"<test database {self._db.name}>"

    def admin(self) -> psycopg.Connection:
        return self._db.admin()


@pytest.fixture
def database(db: TestDatabase) -> Database:
    return Database(db)


def test_a_failing_example_prints_no_password(db: TestDatabase, database: Database) -> None:
    assert db.url not in pretty(database) and "postgresql" not in pretty(database)


def paid(charged: Decimal, *, allowed: Decimal | None = None) -> tuple[Decimal, Decimal, Decimal]:
    """(allowed, approved, member responsibility) of an in-network OP_GP line: copay
    Rp 20.000, no coinsurance, 100 % in network (A2–A6)."""
    allowed = charged if allowed is None else allowed
    plan = allowed - min(COPAY, allowed)
    return allowed, plan, allowed - plan


def notes_of(conn: psycopg.Connection, number: str) -> list[str]:
    rows = conn.execute(
        "SELECT n.note_text FROM claims_service.claim_note n JOIN "
        "claims_service.claim c ON c.id = n.claim_id WHERE c.claim_number = %s",
        (number,),
    ).fetchall()
    return [row[0] for row in rows]


def file_claim(
    s: Scenario, kind: str, plan: uuid.UUID, hospital: uuid.UUID, text: str, charge: int
) -> tuple[str, tuple[Decimal, Decimal, Decimal] | None]:
    """A claim of the kind, with its own member; returns its number and, for a kind that is
    approved, its expected (allowed, approved, member responsibility)."""
    member = s.member(plan)
    cents = Decimal(charge) / 100
    # the hostile text goes where R1 reads it as a code only in the kinds about codes (I25)
    line = Line("OP_GP", cents, procedure_code="89.01")
    expected = None
    provider = hospital
    lines: list[Line]
    dates: dict[str, date] = {}
    service = SD
    if kind == "negative charge":
        line = Line("OP_GP", -cents, procedure_code=text[:20])
    elif kind == "negative fractional cent":
        line = Line("OP_GP", "-0.005")  # stored as -0.01 by the column
    elif kind == "no quantity":
        line = Line("OP_GP", cents, quantity=0)
    elif kind == "no benefit code":
        line = Line(None, cents, diagnosis_code=text[:10])
    elif kind == "unknown benefit code":
        line = Line(f"B-{text}"[:50], cents)  # not blank: a blank code is R1's (I3)
    elif kind == "discharge before admission":
        dates = {"admission": SD, "discharge": date(2026, 3, 1)}
    elif kind == "far-future service date":
        service = date(2090, 1, 1)  # the member's enrollment and coverage are open-ended
    elif kind == "discharged after submission":
        dates = {"admission": SD, "discharge": SD + timedelta(days=30)}
    elif kind == "malformed procedure code":
        line = Line("OP_GP", cents, procedure_code=text[:20])
    elif kind == "malformed diagnosis code":
        line = Line("OP_GP", cents, diagnosis_code=text[:10])
    elif kind == "unknown provider":
        provider = uuid.uuid4()  # in no table of any service (I23)
    elif kind == "fractional cents":
        line = Line("OP_GP", cents + Decimal("0.005"), procedure_code="89.01")
        expected = paid(rp(cents + Decimal("0.005")))  # half away from zero: one cent more
    elif kind == "largest charge":
        line = Line("OP_GP", LARGEST, procedure_code="KMR-VIP")
        expected = paid(LARGEST)
    elif kind == "huge quantity":
        # Rp 4.000 a unit × 2.000.000.000 units = Rp 8.000.000.000.000 allowed
        line = Line("OP_GP", LARGEST, quantity=2_000_000_000, procedure_code="BULK")
        expected = paid(LARGEST, allowed=Decimal("8000000000000.00"))
    lines = [line]
    if kind == "claim total beyond DECIMAL(15,2)":
        lines = [Line("OP_GP", LARGEST), Line("OP_GP", LARGEST, procedure_code="X")]
    elif kind == "no lines":
        lines = []
    owner = uuid.uuid4() if kind == "unknown member" else member
    submitted = SUBMITTED
    if kind == "submitted in the far future":  # I21 alone would pass it: the dates agree
        service, submitted = date(2090, 1, 1), datetime(2090, 1, 2, 9, 0, tzinfo=UTC)
    number = s.claim(
        owner,
        provider,
        service,
        lines,
        submitted=submitted,
        service_type="inpatient" if dates else "outpatient",
        admission=dates.get("admission"),
        discharge=dates.get("discharge"),
    )
    return number, expected


# Each example is a flow run of a few seconds: no shrinking (minutes on a failure); the
# failing example is printed whole, with a blob to reproduce it. Run with per-service
# passwords and with DATABASE_URL alone (every service then takes its role on the owner's
# login): bad input is refused the same way in both.
@pytest.mark.usefixtures("service_configuration")
@settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    print_blob=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kinds=st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=6),
    text=nasty_text,
    charge=st.integers(1, 10**12),
)
@example(kinds=sorted(KINDS), text="'; DROP TABLE claims_service.claim; --", charge=12_345_678)
def test_malformed_claims_are_rejected_with_a_reason_and_a_note(
    database: Database, prefect_api: str, kinds: list[str], text: str, charge: int
) -> None:
    with database.admin() as conn:
        s = Scenario(conn, _numbers=itertools.count(next(EXAMPLES) * 100 + 1))
        plan = s.plan(f"PLAN-{uuid.uuid4().hex[:8]}")
        s.benefit(plan, "OP_GP", copay_amount=COPAY)
        hospital = s.provider(fees={"BULK": 4_000})
        good = s.claim(
            s.member(plan),
            hospital,
            SD,
            [Line("OP_GP", 100_000, diagnosis_code="J06.9")],
            submitted=SUBMITTED,
        )
        filed = {
            f"{i}:{kind}": file_claim(s, kind, plan, hospital, text, charge)
            for i, kind in enumerate(kinds)
        }

        summary = claim_adjudication()

        assert summary.claims == len(kinds) + 1
        assert s.claim_row(good)["status"] == "approved"
        assert s.amounts(good)[6] == Decimal("80000.00")
        assert notes_of(conn, good) == []
        for key, (number, expected) in filed.items():
            kind = KINDS[key.split(":", 1)[1]]
            claim = s.claim_row(number)
            notes = notes_of(conn, number)
            if kind.reason is None:
                assert claim["status"] == "approved", (key, claim)
                line = s.amounts(number)
                assert (line[0], line[6], line[7]) == expected, (key, line)
                assert claim["total_approved_amount"] == expected[1]
                assert notes == [], (key, notes)
                continue
            assert claim["status"] == "rejected", (key, claim)
            assert claim["total_approved_amount"] == 0
            if not key.endswith("no lines"):
                assert s.line_row(number)["reason_code"] == kind.reason, key
            assert len(notes) == 1 and kind.reason in notes[0], (key, notes)
            assert kind.words in notes[0], (key, notes)
            if key.endswith(QUOTES_THE_TEXT):
                assert all(ch.isprintable() for ch in notes[0]), (key, notes)


def test_fractional_cents_are_rounded_by_the_database_then_adjudicated_exactly(
    db: TestDatabase, prefect_api: str
) -> None:
    """DECIMAL(15,2) rounds a third decimal half away from zero on insert; the engine then
    reads exact cents ((amount × 100)::bigint) and works in integers: no float anywhere."""
    with db.admin() as conn:
        s = Scenario(conn)
        plan = s.plan("PLAN-CENTS")
        s.benefit(plan, "LAB", coinsurance_percentage=Decimal("10"))
        lab = s.provider()
        member = s.member(plan)
        number = s.claim(
            member,
            lab,
            SD,
            [
                Line("LAB", "100.005", procedure_code="L1"),  # stored 100.01
                Line("LAB", "100.004", procedure_code="L2"),  # stored 100.00
                Line("LAB", "100.055", procedure_code="L3"),  # stored 100.06
            ],
        )
        negative = s.claim(member, lab, SD + timedelta(days=1), [Line("LAB", "-0.005")])
        stored = conn.execute(
            "SELECT ci.charged_amount FROM claims_service.claim_item ci JOIN "
            "claims_service.claim c ON c.id = ci.claim_id WHERE c.claim_number = %s "
            "ORDER BY ci.line_number",
            (number,),
        ).fetchall()
        assert [row[0] for row in stored] == [
            Decimal("100.01"),
            Decimal("100.00"),
            Decimal("100.06"),
        ]
        assert all(isinstance(row[0], Decimal) for row in stored)

        claim_adjudication()

        # coinsurance 10 %: 10.001 → 10.00; 10.000; 10.006 → 10.01 (half-up to the cent)
        for line_number, (allowed, coinsurance, approved) in enumerate(
            [
                ("100.01", "10.00", "90.01"),
                ("100.00", "10.00", "90.00"),
                ("100.06", "10.01", "90.05"),
            ],
            start=1,
        ):
            got = s.amounts(number, line_number)
            assert (got[0], got[3], got[6], got[7]) == (
                rp(allowed),
                rp(coinsurance),
                rp(approved),
                rp(coinsurance),
            ), line_number
        assert s.claim_row(number)["total_approved_amount"] == Decimal("270.06")
        assert s.claim_row(negative)["status"] == "rejected"
        assert s.line_row(negative)["reason_code"] == "INVALID_CLAIM"
        assert "the charge -0.01 is negative" in notes_of(conn, negative)[0]


def test_the_largest_amounts_fit_every_column_they_reach(
    db: TestDatabase, prefect_api: str
) -> None:
    """Amounts and quantities at the columns' maxima through adjudication and posting: the
    engine's products and sums stay exact, nothing written leaves DECIMAL(15,2) or INTEGER,
    and the accumulators stop exactly at the largest amount and the largest day count (I22)."""
    with db.admin() as conn:
        s = Scenario(conn)
        plan = s.plan("PLAN-HUGE")
        s.benefit(plan, "OP_GP", copay_amount=COPAY)
        hospital = s.provider(fees={"BULK": 4_000})
        rich, busy, greedy = s.member(plan), s.member(plan), s.member(plan)
        # Two claims of the largest charge: the second fills amount_used to the brim.
        first = s.claim(rich, hospital, SD, [Line("OP_GP", LARGEST)])
        second = s.claim(
            rich, hospital, SD + timedelta(days=1), [Line("OP_GP", LARGEST, procedure_code="AGAIN")]
        )
        # 2.000.000.000 units at Rp 4.000, twice: the second fills days_used (INTEGER).
        bulk1 = s.claim(
            busy,
            hospital,
            SD,
            [Line("OP_GP", LARGEST, quantity=2_000_000_000, procedure_code="BULK")],
        )
        bulk2 = s.claim(
            busy,
            hospital,
            SD + timedelta(days=1),
            [Line("OP_GP", "9999999999999.98", quantity=2_000_000_000, procedure_code="BULK")],
        )
        # Two lines of the largest charge: the claim's total would not fit its column.
        too_big = s.claim(
            greedy,
            hospital,
            SD,
            [Line("OP_GP", LARGEST), Line("OP_GP", LARGEST, procedure_code="X")],
        )

        summary = claim_adjudication()

        assert summary.claims == 5
        # first: LARGEST − copay; second: what is left of amount_used, Rp 20.000
        assert s.amounts(first)[6] == LARGEST - COPAY
        second_line = s.amounts(second)
        assert (second_line[2], second_line[5], second_line[6]) == (
            COPAY,
            LARGEST - 2 * COPAY,
            COPAY,
        )
        assert s.line_row(second)["reason_code"] == "LIMIT_REACHED"
        assert s.accumulator_row(rich, "OP_GP", 2026) == (LARGEST, Decimal("0.00"), 2 * COPAY, 2, 2)
        # bulk1: Rp 8.000.000.000.000 allowed, the rest of the charge above the fee schedule
        assert s.amounts(bulk1)[:1] + s.amounts(bulk1)[6:] == (
            Decimal("8000000000000.00"),
            Decimal("7999999980000.00"),
            COPAY,
        )
        assert s.line_row(bulk1)["reason_code"] == "FEE_SCHEDULE"
        # bulk2: 2**31 − 1 − 2.000.000.000 = 147.483.647 days left of 2.000.000.000 asked:
        # 8.000.000.000.000,00 × 147.483.647 / 2.000.000.000 = 589.934.588.000,00 covered
        assert s.line_row(bulk2)["covered_days"] == 147_483_647
        assert s.amounts(bulk2)[6] == Decimal("589934588000.00") - COPAY
        assert s.accumulator_row(busy, "OP_GP", 2026) == (
            Decimal("7999999980000.00") + Decimal("589934568000.00"),
            Decimal("0.00"),
            2 * COPAY,
            2,
            2**31 - 1,
        )
        # too_big: rejected whole, its total clamped to the column, owed by nobody
        claim = s.claim_row(too_big)
        assert (
            claim["status"],
            claim["total_charged_amount"],
            claim["total_approved_amount"],
            claim["member_responsibility"],
        ) == ("rejected", LARGEST, 0, 0)
        assert "add up to 19,999,999,999,999.98" in notes_of(conn, too_big)[0]
