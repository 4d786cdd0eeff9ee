"""Hand-computed examples of every rule, amount step and roll-up of docs/adjudication.md.

Each test builds a small batch with the factories (amounts in rupiah through ``rp``; Rp 150.000
is ``rp(150_000)``), works the expected amounts out by hand in its comments, and runs against
both the vectorised engine and the line-by-line reference. Where a test pins one of the
interpretations of ambiguous rules, it names it (I1…I25, listed in the docstring of
:mod:`claims_askes.adjudication.reference`).

The standard world (``Batch.standard()``): member M1 born 1990-06-15, enrolled since
2020-01-01, coverage COV1 on PLAN-A since 2020-01-01, provider P1 in network, and the benefit
OUTPATIENT with no limits, no cost sharing, 100 % in network and 80 % out of network.
Claims default to service date 2024-03-01.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest

from claims_askes.adjudication import (
    EngineInput,
    EngineResult,
    adjudicate,
    invalid_claim_details,
    money,
)
from claims_askes.adjudication import frames as F
from claims_askes.adjudication.reference import adjudicate_reference
from tests.engine_factories import Batch, line, rp

# Server-independent: not run again in the PostgreSQL 15 pass of dev.py test.
pytestmark = pytest.mark.no_server

Engine = Callable[..., EngineResult]  # (inp, *, timezone=...) -> result
Row = dict[str, Any]


@pytest.fixture(params=[adjudicate, adjudicate_reference], ids=["engine", "reference"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """Every test runs twice: on the vectorised engine and on the reference."""
    fn: Engine = request.param
    return fn


class Decided:
    """A batch's result, looked up by id."""

    def __init__(self, result: EngineResult) -> None:
        lines = cast(list[Row], result.lines.to_dict("records"))
        claims = cast(list[Row], result.claims.to_dict("records"))
        self.lines: dict[str, Row] = {r["line_id"]: r for r in lines}
        self.claims: dict[str, Row] = {r["claim_id"]: r for r in claims}

    def status(self, line_id: str) -> tuple[str, str | None]:
        """A line's (status, reason_code)."""
        row = self.lines[line_id]
        return row["status"], row["reason_code"]

    def claim(self, claim_id: str) -> tuple[str, str | None]:
        """A claim's (status, reason_code)."""
        row = self.claims[claim_id]
        return row["status"], row["reason_code"]

    def amounts(self, line_id: str) -> dict[str, int]:
        """A line's amounts in cents, by short name (allowed, deductible, …, oop)."""
        row = self.lines[line_id]
        return {c.removesuffix("_cents"): int(row[c]) for c in F.LINE_AMOUNT_COLUMNS}

    def approved(self, line_id: str) -> int:
        return int(self.lines[line_id]["approved_cents"])


def decide(engine: Engine, batch: Batch) -> Decided:
    return Decided(engine(batch.input()))


def paid_in_full(charged: int) -> dict[str, int]:
    """The amounts of an in-network line the plan pays whole (the standard benefit)."""
    return dict(
        allowed=charged,
        deductible=0,
        copay=0,
        coinsurance=0,
        network_reduction=0,
        limit=0,
        approved=charged,
        member_responsibility=0,
        oop=0,
    )


APPROVED = (F.APPROVED, None)


# --------------------------------------------------------------------------------------------
# R1 valid line and claim
# --------------------------------------------------------------------------------------------


def test_r1_negative_charge_zero_quantity_and_missing_benefit_are_invalid(engine: Engine) -> None:
    batch = Batch.standard().claim(
        "C1",
        line(rp(-1)),
        line(rp(100), quantity=0),
        line(rp(200), benefit_code=None),
        line(rp(300), benefit_code="  "),
        line(rp(100_000)),
    )
    d = decide(engine, batch)
    for n in (1, 2, 3, 4):
        assert d.status(f"C1-L{n}") == (F.REJECTED, F.INVALID_CLAIM)
    assert d.status("C1-L5") == APPROVED
    # I19: the member owes a rejected line's charge, unless the charge itself is malformed
    assert [d.amounts(f"C1-L{n}")["member_responsibility"] for n in (1, 2, 3, 4)] == [
        0,
        rp(100),
        rp(200),
        rp(300),
    ]
    assert d.claim("C1") == (F.PARTIALLY_APPROVED, F.INVALID_CLAIM)


#: The largest DECIMAL(15,2): Rp 9.999.999.999.999,99, 10**15 − 1 cents.
LARGEST = rp("9999999999999.99")


def test_r1_charge_beyond_decimal_15_2_is_invalid(engine: Engine) -> None:
    assert LARGEST == F.MAX_CENTS == 10**15 - 1
    batch = Batch.standard().member("M2").coverage("COV2", "M2", "PLAN-A")
    batch.claim("MAX", line(LARGEST))
    batch.claim("OVER", line(LARGEST + 1), member_id="M2")
    d = decide(engine, batch)
    assert d.status("MAX-L1") == APPROVED
    assert d.amounts("MAX-L1") == paid_in_full(LARGEST)
    assert d.status("OVER-L1") == (F.REJECTED, F.INVALID_CLAIM)
    assert d.amounts("OVER-L1")["member_responsibility"] == 0  # I19: owed by nobody
    assert d.claims["OVER"]["total_charged_cents"] == LARGEST  # I22: clamped to the column


def test_r1_claim_whose_charges_add_up_beyond_decimal_15_2_is_invalid_whole(engine: Engine) -> None:
    batch = Batch.standard()
    for m in ("M2", "M3"):
        batch.member(m).coverage(f"COV-{m}", m, "PLAN-A")
    # 5.000.000.000.000,00 + 4.999.999.999.999,99 is exactly the largest amount: it fits
    batch.claim(
        "FITS", line(rp(5_000_000_000_000)), line(rp("4999999999999.99"), procedure_code="X")
    )
    # one cent more does not: the claim's totals could not be stored (I22)
    batch.claim(
        "TOO_BIG",
        line(rp(5_000_000_000_000)),
        line(rp(5_000_000_000_000), procedure_code="X"),
        member_id="M2",
    )
    # a negative line does not hide a huge one: the charges count in absolute value
    batch.claim(
        "HIDDEN",
        line(rp(5_000_000_000_000)),
        line(rp(-5_000_000_000_000), procedure_code="X"),
        member_id="M3",
    )
    d = decide(engine, batch)
    assert d.claim("FITS") == APPROVED
    assert d.claims["FITS"]["total_approved_cents"] == LARGEST
    for claim in ("TOO_BIG", "HIDDEN"):
        assert d.status(f"{claim}-L1") == d.status(f"{claim}-L2") == (F.REJECTED, F.INVALID_CLAIM)
        assert d.claim(claim) == (F.REJECTED, F.INVALID_CLAIM)
        # I22: nobody owes any of it, and every total fits DECIMAL(15,2)
        assert d.claims[claim]["member_responsibility_cents"] == 0
        assert d.claims[claim]["total_approved_cents"] == 0
    assert d.claims["TOO_BIG"]["total_charged_cents"] == LARGEST  # 10**15 cents, clamped
    assert d.claims["HIDDEN"]["total_charged_cents"] == 0  # the raw sum, which fits


def test_r1_dates_after_the_submission_day_are_invalid(engine: Engine) -> None:
    """I21: the day of submission is the Jakarta calendar date of the instant (naive
    instants are UTC); a service, admission or discharge after it is not rendered yet."""
    batch = Batch.standard()  # M1: enrollment and coverage open-ended, so R2/R3 would pass
    batch.claim(
        "FAR_FUTURE",
        line(rp(10_000)),
        service_date="2090-01-01",
        submission_date="2024-03-10 12:00",
    )
    # 16:59:59 UTC on 29 Feb is 23:59:59 in Jakarta, still 29 Feb: the service is tomorrow
    batch.claim(
        "JKT_EVE",
        line(rp(11_000)),
        service_date="2024-03-01",
        submission_date="2024-02-29 16:59:59",
    )
    # 17:00 UTC on 29 Feb is midnight in Jakarta: 1 March, the day of the service
    batch.claim(
        "JKT_MIDNIGHT",
        line(rp(12_000)),
        service_date="2024-03-01",
        submission_date="2024-02-29 17:00:00",
    )
    batch.claim(
        "STAY_OPEN",
        line(rp(13_000)),
        service_date="2024-03-01",
        admission_date="2024-03-01",
        discharge_date="2024-03-06",
        submission_date="2024-03-05 12:00",
    )
    batch.claim(
        "STAY_DONE",
        line(rp(14_000)),
        service_date="2024-03-01",
        admission_date="2024-03-01",
        discharge_date="2024-03-05",
        submission_date="2024-03-05 12:00",
    )
    batch.claim(
        "ADMIT_LATER",
        line(rp(15_000)),
        line(rp(16_000)),
        service_date="2024-03-01",
        admission_date="2024-03-07",
        submission_date="2024-03-05 12:00",
    )
    inp = batch.input()
    tz_aware = inp.claims["submission_date"].dt.tz_localize("UTC")
    # 00:30 in Jakarta on 1 March is 17:30 UTC on 29 February: the same day in Jakarta
    tz_aware[inp.claims["claim_id"] == "JKT_MIDNIGHT"] = pd.Timestamp("2024-03-01 00:30+07:00")
    d = Decided(
        engine(dataclasses.replace(inp, claims=inp.claims.assign(submission_date=tz_aware)))
    )
    for claim in ("FAR_FUTURE", "JKT_EVE", "STAY_OPEN", "ADMIT_LATER"):
        assert d.claim(claim) == (F.REJECTED, F.INVALID_CLAIM), claim
    assert d.status("ADMIT_LATER-L2") == (F.REJECTED, F.INVALID_CLAIM)
    assert d.amounts("FAR_FUTURE-L1")["member_responsibility"] == rp(10_000)  # I19
    assert d.claim("JKT_MIDNIGHT") == d.claim("STAY_DONE") == APPROVED
    assert d.amounts("STAY_DONE-L1") == paid_in_full(rp(14_000))
    # in UTC, the day of submission of JKT_MIDNIGHT would be 29 February
    in_utc = Decided(
        engine(
            dataclasses.replace(inp, claims=inp.claims.assign(submission_date=tz_aware)),
            timezone="UTC",
        )
    )
    assert in_utc.claim("JKT_MIDNIGHT") == (F.REJECTED, F.INVALID_CLAIM)
    assert in_utc.claim("STAY_DONE") == APPROVED


def test_r1_a_provider_the_registry_does_not_know_is_invalid(engine: Engine) -> None:
    """I23: provider_known False rejects every line of the claim with INVALID_CLAIM (A1 alone
    would pay it out of network); without the column every provider is known."""
    batch = Batch.standard()
    batch.claim("KNOWN", line(rp(10_000)))
    batch.claim(
        "GHOST", line(rp(20_000)), line(rp(30_000), procedure_code="X"), service_date="2024-03-02"
    )
    inp = batch.input()
    assert engine(inp).claims.set_index("claim_id").loc["GHOST", "status"] == F.APPROVED
    d = Decided(
        engine(
            dataclasses.replace(
                inp, claims=inp.claims.assign(provider_known=inp.claims["claim_id"] != "GHOST")
            )
        )
    )
    assert d.claim("KNOWN") == APPROVED
    assert d.claim("GHOST") == (F.REJECTED, F.INVALID_CLAIM)
    assert d.status("GHOST-L2") == (F.REJECTED, F.INVALID_CLAIM)
    ghost = inp.claims.assign(provider_known=inp.claims["claim_id"] != "GHOST")
    details = invalid_claim_details(dataclasses.replace(inp, claims=ghost)).to_dict()
    provider = str(inp.claims.set_index("claim_id").loc["GHOST", "provider_id"])
    assert details == {
        f"GHOST-L{i}": f"the provider {provider} is not in the provider registry" for i in (1, 2)
    }


def test_r1_a_claim_submitted_after_the_batch_clock_is_invalid(engine: Engine) -> None:
    """I24: submitted_in_future True rejects every line (its dates agree with each other, so
    I21 alone would pass it); without the column no claim is."""
    batch = Batch.standard()
    batch.claim("NOW", line(rp(10_000)))
    batch.claim("LATER", line(rp(20_000)), service_date="2024-03-02")
    inp = batch.input()
    later = dataclasses.replace(
        inp, claims=inp.claims.assign(submitted_in_future=inp.claims["claim_id"] == "LATER")
    )
    assert Decided(engine(inp)).claim("LATER") == APPROVED
    d = Decided(engine(later))
    assert d.claim("NOW") == APPROVED
    assert d.claim("LATER") == (F.REJECTED, F.INVALID_CLAIM)
    assert list(invalid_claim_details(later).index) == ["LATER-L1"]
    assert (
        "is after the moment the batch read the claim" in (invalid_claim_details(later)["LATER-L1"])
    )


def test_invalid_claim_details_say_why_in_words() -> None:
    batch = Batch.standard().member("M2").coverage("COV2", "M2", "PLAN-A")
    batch.claim(
        "LINES",
        line(rp(-1)),
        line(rp(100), quantity=0),
        line(rp(200), benefit_code=" "),
        line(rp(300), quantity=2**31),
        line(rp(400)),
    )
    batch.claim(
        "FUTURE", line(rp(500)), service_date="2090-01-01", submission_date="2026-03-10 12:00"
    )
    batch.claim(
        "STAY",
        line(rp(600)),
        admission_date="2024-03-05",
        discharge_date="2024-03-01",
        submission_date="2024-03-01 08:00",
    )
    batch.claim("HUGE", line(LARGEST), line(1, procedure_code="X"), member_id="M2")  # + 1 cent
    details = invalid_claim_details(batch.input()).to_dict()
    assert details == {
        "LINES-L1": "the charge -1.00 is negative",
        "LINES-L2": "the quantity 0 is less than 1",
        "LINES-L3": "there is no benefit code",
        "LINES-L4": "the quantity 2,147,483,648 is more than 2,147,483,647",
        "FUTURE-L1": "the service date 2090-01-01 is after the submission date 2026-03-10",
        "STAY-L1": "the discharge date 2024-03-01 is before the admission date 2024-03-05; "
        "the admission date 2024-03-05 is after the submission date 2024-03-01",
        "HUGE-L1": "the claim's charges add up to 10,000,000,000,000.00 (in absolute value), "
        "more than the 9,999,999,999,999.99 a claim can hold",
        "HUGE-L2": "the claim's charges add up to 10,000,000,000,000.00 (in absolute value), "
        "more than the 9,999,999,999,999.99 a claim can hold",
    }
    # exactly the lines R1 rejects
    invalid = adjudicate(batch.input()).lines.query("reason_code == 'INVALID_CLAIM'")
    assert set(invalid["line_id"]) == set(details)


def test_invalid_claim_details_show_a_bad_code_escaped() -> None:
    """I25: the words name the field and show the bad code as an escaped literal, cut to 24
    characters: no control character of the input reaches a note or a terminal."""
    batch = Batch.standard().claim(
        "C1",
        line(rp(157_000), procedure_code=f"89.01{ESC}[31m"),
        line(rp(100), diagnosis_code=f"J06.9{ESC}[0m"),
        line(rp(200), procedure_code="A" * 30 + ESC, diagnosis_code="j06.9"),
        line(rp(300), procedure_code="89.01", diagnosis_code="J06.9"),
    )
    procedure = (
        "is not a procedure code (1 to 20 capital letters and digits, in groups joined by "
        "'.' or '-')"
    )
    icd10 = (
        "is not an ICD-10 code (a capital letter, two digits, then optionally '.' and 1 to 4 "
        "capital letters or digits)"
    )
    details = invalid_claim_details(batch.input()).to_dict()
    assert details == {
        "C1-L1": f"the procedure code '89.01\\x1b[31m' {procedure}",
        "C1-L2": f"the diagnosis code 'J06.9\\x1b[0m' {icd10}",
        "C1-L3": f"the procedure code '{'A' * 24}'... (31 characters) {procedure}; "
        f"the diagnosis code 'j06.9' {icd10}",
    }
    assert all(ch.isprintable() for words in details.values() for ch in words)
    invalid = adjudicate(batch.input()).lines.query("reason_code == 'INVALID_CLAIM'")
    assert set(invalid["line_id"]) == set(details)


def test_huge_amounts_and_quantities_are_exact(engine: Engine) -> None:
    """Nothing overflows int64 (I22): a fee of the largest amount times 2.000.000.000 units
    (2·10**24 cents, the product is never formed), percentages of the largest amount."""
    batch = Batch.standard().contract("OUT", network_status="out_of_network")
    batch.benefit("PLAN-A", "DENTAL", coinsurance_bp=3_333)
    batch.fee("P1", "HUGE-FEE", LARGEST).fee("P1", "SMALL-FEE", rp(4_000))
    for m in ("M2", "M3"):
        batch.member(m).coverage(f"COV-{m}", m, "PLAN-A")
    batch.claim("C1", line(LARGEST, quantity=2_000_000_000, procedure_code="HUGE-FEE"))
    batch.claim(
        "C2", line(LARGEST, quantity=2_000_000_000, procedure_code="SMALL-FEE"), member_id="M2"
    )
    batch.claim("C3", line(LARGEST, benefit_code="DENTAL"), member_id="M3", provider_id="OUT")
    d = decide(engine, batch)
    # fee × quantity is far above the charge: allowed is the charge
    assert d.amounts("C1-L1") == paid_in_full(LARGEST)
    assert d.lines["C1-L1"]["covered_days"] == 2_000_000_000
    # 4.000,00 × 2.000.000.000 = 8.000.000.000.000,00 allowed; the rest is above the fee
    assert d.amounts("C2-L1") == paid_in_full(rp(8_000_000_000_000))
    assert d.status("C2-L1") == (F.APPROVED, F.FEE_SCHEDULE)
    # out of network: coinsurance 33,33 % of 999.999.999.999.999 cents =
    # 333.299.999.999.999,6667 → 333.300.000.000.000; base 666.699.999.999.999;
    # the plan's 80 % = 533.359.999.999.999,2 → 533.359.999.999.999; reduction the rest
    assert d.amounts("C3-L1") == dict(
        allowed=LARGEST,
        deductible=0,
        copay=0,
        coinsurance=333_300_000_000_000,
        network_reduction=133_340_000_000_000,
        limit=0,
        approved=533_359_999_999_999,
        member_responsibility=LARGEST - 533_359_999_999_999,
        oop=333_300_000_000_000,
    )


def test_running_totals_stay_within_the_accumulator_columns(engine: Engine) -> None:
    """I22: what posting adds to amount_used, oop_used (DECIMAL(15,2)) and days_used
    (INTEGER) never takes them beyond what they hold, even without a limit of the plan."""
    batch = (
        Batch.standard().benefit("PLAN-A", "ROOM").benefit("PLAN-A", "COINS", coinsurance_bp=5_000)
    )
    for m in ("M2", "M3"):
        batch.member(m).coverage(f"COV-{m}", m, "PLAN-A")
    # M1: Rp 30.000 left before amount_used is full: the plan pays that, the rest is a limit
    batch.accumulator("M1", "OUTPATIENT", 2024, amount_used_cents=LARGEST - rp(30_000))
    batch.claim("ANNUAL", line(rp(100_000)), line(rp(50_000), procedure_code="X"))
    # M2: 2 days left before days_used is full: 2 of 5 days covered, 50.000 × 2/5 paid
    batch.accumulator("M2", "ROOM", 2024, days_used=F.MAX_QUANTITY - 2)
    batch.claim("DAYS", line(rp(50_000), quantity=5, benefit_code="ROOM"), member_id="M2")
    # M3: Rp 10.000 left before oop_used is full (over every benefit of the year): the
    # coinsurance of 50.000 keeps 10.000, the 40.000 removed moves to the plan
    batch.accumulator("M3", "OUTPATIENT", 2024, oop_used_cents=LARGEST - rp(10_000))
    batch.claim("OOP", line(rp(100_000), benefit_code="COINS"), member_id="M3")
    d = decide(engine, batch)
    assert d.amounts("ANNUAL-L1") == dict(
        allowed=rp(100_000),
        deductible=0,
        copay=0,
        coinsurance=0,
        network_reduction=0,
        limit=rp(70_000),
        approved=rp(30_000),
        member_responsibility=rp(70_000),
        oop=0,
    )
    assert d.status("ANNUAL-L1") == (F.APPROVED, F.LIMIT_REACHED)
    assert d.approved("ANNUAL-L2") == 0 and d.status("ANNUAL-L2") == (  # I17: still approved
        F.APPROVED,
        F.LIMIT_REACHED,
    )
    assert d.lines["DAYS-L1"]["covered_days"] == 2
    assert d.amounts("DAYS-L1") == dict(
        allowed=rp(50_000),
        deductible=0,
        copay=0,
        coinsurance=0,
        network_reduction=0,
        limit=rp(30_000),
        approved=rp(20_000),
        member_responsibility=rp(30_000),
        oop=0,
    )
    assert d.amounts("OOP-L1") == dict(
        allowed=rp(100_000),
        deductible=0,
        copay=0,
        coinsurance=rp(10_000),
        network_reduction=0,
        limit=0,
        approved=rp(90_000),
        member_responsibility=rp(10_000),
        oop=rp(10_000),
    )


def test_r1_discharge_before_admission_rejects_every_line(engine: Engine) -> None:
    batch = Batch.standard().claim(
        "C1",
        line(rp(100_000)),
        line(rp(50_000)),
        admission_date="2024-03-05",
        discharge_date="2024-03-01",
    )
    d = decide(engine, batch)
    assert d.status("C1-L1") == d.status("C1-L2") == (F.REJECTED, F.INVALID_CLAIM)
    assert d.claim("C1") == (F.REJECTED, F.INVALID_CLAIM)


def test_r1_claim_without_lines_is_rejected(engine: Engine) -> None:
    d = decide(engine, Batch.standard().claim("C1"))
    assert d.claim("C1") == (F.REJECTED, F.INVALID_CLAIM)
    assert d.claims["C1"]["total_charged_cents"] == 0


ESC = "\x1b"
#: Procedure codes R1 rejects (I25), each with why.
BAD_PROCEDURE_CODES = [
    f"89.01{ESC}[31m",  # issue 15, item 14: paid Rp 157.000 before R1 checked the shape
    f"{ESC}]0;pwned\x07",  # an escape sequence that sets the terminal's title
    "89.01\x9b31m",  # the one-byte CSI of C1
    "KMR-VIP\n",  # a newline
    "89.01 ",  # a space at the end
    "lab-dl",  # lower case
    "",  # empty: not a null
    "A" * 21,  # longer than VARCHAR(20)
    "KMR--VIP",  # two separators in a row
    "-KMR",  # a separator at the start
    "89.",  # a separator at the end
    "SMALL_FEE",  # an underscore
    "\uff18\uff19.01",  # full-width digits: not ASCII
    "89.01\u200b",  # a zero-width space
]


def test_r1_a_procedure_code_with_control_characters_is_invalid(engine: Engine) -> None:
    """I25: a procedure code present but not of the pattern rejects its line (not its claim).
    Line 1 is the attack of issue 15 (item 14): Rp 157.000 with an escape sequence in the
    code. Each rejected line is owed by the member (I19); the clean line is paid whole."""
    batch = Batch.standard().claim(
        "C1",
        *[line(rp(157_000), procedure_code=code) for code in BAD_PROCEDURE_CODES],
        line(rp(10_000), procedure_code="89.01"),
    )
    d = decide(engine, batch)
    bad = range(1, len(BAD_PROCEDURE_CODES) + 1)
    for n in bad:
        assert d.status(f"C1-L{n}") == (F.REJECTED, F.INVALID_CLAIM), BAD_PROCEDURE_CODES[n - 1]
        assert d.approved(f"C1-L{n}") == 0
        assert d.amounts(f"C1-L{n}")["member_responsibility"] == rp(157_000)
    clean = f"C1-L{len(BAD_PROCEDURE_CODES) + 1}"
    assert d.status(clean) == APPROVED
    assert d.amounts(clean) == paid_in_full(rp(10_000))
    assert d.claim("C1") == (F.PARTIALLY_APPROVED, F.INVALID_CLAIM)
    # approved: the clean line's Rp 10.000 only
    assert d.claims["C1"]["total_approved_cents"] == rp(10_000)


def test_r1_a_diagnosis_code_that_is_not_icd10_is_invalid(engine: Engine) -> None:
    """I25: a diagnosis code must be ICD-10 in its dotted form: a capital letter, two digits,
    optionally '.' and 1 to 4 capital letters or digits."""
    bad = [
        f"J06.9{ESC}[0m",  # an escape sequence
        "j06.9",  # lower case (R6 compares exactly: it would slip past an exclusion of J06)
        "J6.9",  # one digit
        "J069",  # no dot: the same code spelt another way would slip past a prefix J06.9
        "J06.",  # a dot with nothing after it
        "J06.12345",  # five characters after the dot
        "J06.9 ",  # a space at the end
        "C",  # a letter alone
        "A0",  # shorter than three characters
        "106.9",  # no letter
        "\u00d612.3",  # not ASCII
    ]
    batch = Batch.standard().claim(
        "C1",
        *[line(rp(1_000 + n), diagnosis_code=code) for n, code in enumerate(bad)],
        line(rp(50_000), diagnosis_code="J06.9"),
    )
    d = decide(engine, batch)
    for n, code in enumerate(bad, start=1):
        assert d.status(f"C1-L{n}") == (F.REJECTED, F.INVALID_CLAIM), code
    assert d.status(f"C1-L{len(bad) + 1}") == APPROVED
    assert d.claims["C1"]["total_approved_cents"] == rp(50_000)


def test_r1_well_formed_and_null_codes_are_valid(engine: Engine) -> None:
    """I25: the shapes of the demo data and of real claims pass, and a null code is allowed:
    ICD-9-CM procedures, CPT, hospital tariff codes, 20 characters; ICD-10 with 0 to 4
    characters after the dot."""
    procedures = [None, "89.01", "74.1", "99213", "KMR-VIP", "IGD-TRM", "V-DU", "A1" * 10]
    diagnoses = [None, "A09", "J06.9", "K29.7", "Z41.1", "S72.001A", "U07.1", "O80"]
    batch = Batch.standard().claim(
        "C1",
        *[
            line(rp(10_000 * (n + 1)), procedure_code=p, diagnosis_code=dx)
            for n, (p, dx) in enumerate(zip(procedures, diagnoses, strict=True))
        ],
    )
    d = decide(engine, batch)
    for n in range(1, len(procedures) + 1):
        assert d.status(f"C1-L{n}") == APPROVED
    # Rp 10.000 + 20.000 + … + 80.000 = Rp 360.000, all paid
    assert d.claims["C1"]["total_approved_cents"] == rp(360_000)


# --------------------------------------------------------------------------------------------
# R2 member eligible
# --------------------------------------------------------------------------------------------


def test_r2_suspended_member_is_not_eligible(engine: Engine) -> None:
    batch = Batch().member("M1", status="suspended").coverage("COV1", "M1", "PLAN-A")
    batch.contract("P1").benefit("PLAN-A", "OUTPATIENT").claim("C1", line(rp(100_000)))
    d = decide(engine, batch)
    assert d.status("C1-L1") == (F.REJECTED, F.MEMBER_NOT_ELIGIBLE)
    assert d.claim("C1") == (F.REJECTED, F.MEMBER_NOT_ELIGIBLE)
    assert d.claims["C1"]["member_responsibility_cents"] == rp(100_000)


def test_r2_enrollment_period_is_inclusive(engine: Engine) -> None:
    batch = Batch().member("M1", status="terminated", termination_date="2024-03-01")
    batch.coverage("COV1", "M1", "PLAN-A").contract("P1").benefit("PLAN-A", "OUTPATIENT")
    batch.claim("ON", line(rp(10_000)), service_date="2024-03-01")
    batch.claim("AFTER", line(rp(10_000)), service_date="2024-03-02")
    batch.claim("BEFORE", line(rp(10_000)), service_date="2019-12-31")
    d = decide(engine, batch)
    assert d.status("ON-L1") == APPROVED  # I4: status terminated, but the dates decide
    assert d.status("AFTER-L1") == (F.REJECTED, F.MEMBER_NOT_ELIGIBLE)
    assert d.status("BEFORE-L1") == (F.REJECTED, F.MEMBER_NOT_ELIGIBLE)


def test_r2_unknown_member_is_not_eligible(engine: Engine) -> None:
    d = decide(engine, Batch.standard().claim("C1", line(rp(10_000)), member_id="M404"))
    assert d.status("C1-L1") == (F.REJECTED, F.MEMBER_NOT_ELIGIBLE)


# --------------------------------------------------------------------------------------------
# R3 coverage
# --------------------------------------------------------------------------------------------


def test_r3_coverage_not_started_and_terminated(engine: Engine) -> None:
    batch = Batch().member("M1").contract("P1").benefit("PLAN-A", "OUTPATIENT")
    batch.coverage(
        "COV1",
        "M1",
        "PLAN-A",
        effective_date="2024-01-01",
        termination_date="2024-06-30",
        status="terminated",
    )
    batch.claim("EARLY", line(rp(10_000)), service_date="2023-12-31")
    batch.claim("DURING", line(rp(10_000)), service_date="2024-06-30")
    batch.claim("LATE", line(rp(10_000)), service_date="2024-07-01")
    d = decide(engine, batch)
    assert d.status("EARLY-L1") == (F.REJECTED, F.COVERAGE_NOT_STARTED)
    assert d.status("DURING-L1") == APPROVED
    assert d.status("LATE-L1") == (F.REJECTED, F.COVERAGE_TERMINATED)


def test_r3_cancelled_coverage_never_covers(engine: Engine) -> None:
    batch = Batch().member("M1").contract("P1").benefit("PLAN-A", "OUTPATIENT")
    batch.coverage("COV1", "M1", "PLAN-A", status="cancelled")
    batch.coverage("COV2", "M1", "PLAN-A", effective_date="2025-01-01")
    batch.claim("C1", line(rp(10_000)))
    d = decide(engine, batch)
    # I5: the cancelled coverage is not the "first coverage", so the first starts after sd
    assert d.status("C1-L1") == (F.REJECTED, F.COVERAGE_NOT_STARTED)
    assert d.lines["C1-L1"]["coverage_id"] is None


def test_r3_member_without_coverage_is_terminated(engine: Engine) -> None:
    batch = Batch().member("M1").contract("P1").benefit("PLAN-A", "OUTPATIENT")
    d = decide(engine, batch.claim("C1", line(rp(10_000))))
    assert d.status("C1-L1") == (F.REJECTED, F.COVERAGE_TERMINATED)


def test_r3_latest_covering_coverage_decides_the_plan(engine: Engine) -> None:
    batch = Batch.standard().coverage("COV2", "M1", "PLAN-B", effective_date="2024-01-01")
    batch.benefit("PLAN-B", "OUTPATIENT", copay_cents=rp(10_000))
    batch.claim("NEW", line(rp(100_000)), service_date="2024-03-01")
    batch.claim("OLD", line(rp(100_000)), service_date="2023-06-01")
    d = decide(engine, batch)
    assert (d.lines["NEW-L1"]["coverage_id"], d.lines["NEW-L1"]["plan_id"]) == ("COV2", "PLAN-B")
    assert d.amounts("NEW-L1")["copay"] == rp(10_000)
    assert (d.lines["OLD-L1"]["coverage_id"], d.lines["OLD-L1"]["plan_id"]) == ("COV1", "PLAN-A")
    assert d.amounts("OLD-L1")["copay"] == 0


# --------------------------------------------------------------------------------------------
# R4 duplicates
# --------------------------------------------------------------------------------------------


def test_r4_second_identical_line_of_a_claim_is_a_duplicate(engine: Engine) -> None:
    batch = Batch.standard().claim(
        "C1",
        line(rp(75_000), procedure_code="99213"),
        line(rp(75_000), procedure_code="99213"),
        line(rp(75_001), procedure_code="99213"),  # another charge: another service
    )
    d = decide(engine, batch)
    assert d.status("C1-L1") == APPROVED
    assert d.status("C1-L2") == (F.REJECTED, F.DUPLICATE)
    assert d.status("C1-L3") == APPROVED


def test_r4_the_later_claim_in_batch_order_is_the_duplicate(engine: Engine) -> None:
    batch = Batch.standard()
    batch.claim("C1", line(rp(75_000)), submission_date="2024-03-01 12:00")
    batch.claim("C2", line(rp(75_000)), submission_date="2024-03-01 09:00")  # submitted first
    d = decide(engine, batch)
    assert d.status("C2-L1") == APPROVED
    assert d.status("C1-L1") == (F.REJECTED, F.DUPLICATE)


def test_r4_a_line_rejected_after_r3_still_makes_duplicates(engine: Engine) -> None:
    batch = Batch.standard().claim(
        "C1", line(rp(75_000), benefit_code="DENTAL"), line(rp(75_000), benefit_code="DENTAL")
    )
    d = decide(engine, batch)
    assert d.status("C1-L1") == (F.REJECTED, F.BENEFIT_NOT_COVERED)
    assert d.status("C1-L2") == (F.REJECTED, F.DUPLICATE)  # I6


def test_r4_a_line_rejected_before_r3_makes_no_duplicate(engine: Engine) -> None:
    batch = Batch.standard()
    batch.claim(
        "BAD",
        line(rp(75_000)),
        admission_date="2024-03-02",
        discharge_date="2024-03-01",
        submission_date="2024-03-01 08:00",
    )
    batch.claim("GOOD", line(rp(75_000)), submission_date="2024-03-01 09:00")
    d = decide(engine, batch)
    assert d.status("BAD-L1") == (F.REJECTED, F.INVALID_CLAIM)
    assert d.status("GOOD-L1") == APPROVED


def test_r4_line_of_an_earlier_batch(engine: Engine) -> None:
    batch = Batch.standard().prior_line("M1", "P1", "2024-03-01", "OUTPATIENT", rp(75_000))
    batch.claim("C1", line(rp(75_000)), line(rp(75_000), procedure_code="99213"))
    d = decide(engine, batch)
    assert d.status("C1-L1") == (F.REJECTED, F.DUPLICATE)
    assert d.status("C1-L2") == APPROVED  # the prior line had no procedure code


# --------------------------------------------------------------------------------------------
# R5 benefit covered, R6 exclusions, R7 waiting period, R8 age
# --------------------------------------------------------------------------------------------


def test_r5_benefit_missing_inactive_or_expired(engine: Engine) -> None:
    batch = Batch.standard().benefit("PLAN-A", "DENTAL", is_active=False)
    batch.benefit("PLAN-A", "OPTICAL", expiration_date="2024-02-29")
    batch.benefit("PLAN-A", "LAB", effective_date="2024-03-02")
    batch.claim(
        "C1",
        *[
            line(rp(10_000), benefit_code=code)
            for code in ("OUTPATIENT", "DENTAL", "OPTICAL", "LAB", "RADIOLOGY")
        ],
    )
    d = decide(engine, batch)
    assert d.status("C1-L1") == APPROVED
    for n in (2, 3, 4, 5):
        assert d.status(f"C1-L{n}") == (F.REJECTED, F.BENEFIT_NOT_COVERED)


def test_r6_exclusion_by_diagnosis_prefix_or_procedure(engine: Engine) -> None:
    batch = Batch.standard()
    batch.exclusion("PLAN-A", diagnosis_code_prefix="Z41")  # every benefit
    batch.exclusion("PLAN-A", benefit_code="OUTPATIENT", procedure_code="15780")
    batch.exclusion("PLAN-A", diagnosis_code_prefix="K29.70")
    batch.claim(
        "C1",
        line(rp(10_000), diagnosis_code="Z41.1"),
        line(rp(20_000), procedure_code="15780"),
        line(rp(30_000), diagnosis_code="K29.7"),  # shorter than the prefix K29.70
        line(rp(40_000), diagnosis_code="J06.9", procedure_code="99213"),
    )
    d = decide(engine, batch)
    assert d.status("C1-L1") == (F.REJECTED, F.EXCLUDED)
    assert d.status("C1-L2") == (F.REJECTED, F.EXCLUDED)
    assert d.status("C1-L3") == APPROVED
    assert d.status("C1-L4") == APPROVED


def test_r6_exclusion_of_another_benefit_or_period_does_not_apply(engine: Engine) -> None:
    batch = Batch.standard()
    batch.exclusion("PLAN-A", benefit_code="DENTAL", diagnosis_code_prefix="K02")
    batch.exclusion("PLAN-A", diagnosis_code_prefix="J", expiration_date="2024-02-29")
    batch.exclusion("PLAN-B", diagnosis_code_prefix="J")
    batch.claim(
        "C1", line(rp(10_000), diagnosis_code="K02.1"), line(rp(20_000), diagnosis_code="J06.9")
    )
    d = decide(engine, batch)
    assert d.status("C1-L1") == d.status("C1-L2") == APPROVED


def test_r7_waiting_period_counts_days_from_the_coverage_start(engine: Engine) -> None:
    batch = Batch().member("M1").contract("P1")
    batch.coverage("COV1", "M1", "PLAN-A", effective_date="2024-01-01")
    batch.benefit("PLAN-A", "OUTPATIENT", waiting_period_days=90)
    # 2024-01-01 + 90 days = 2024-03-31 (31 days of January, 29 of February, 30 of March)
    batch.claim("DAY89", line(rp(10_000)), service_date="2024-03-30")
    batch.claim("DAY90", line(rp(10_000)), service_date="2024-03-31")
    d = decide(engine, batch)
    assert d.status("DAY89-L1") == (F.REJECTED, F.WAITING_PERIOD)
    assert d.status("DAY90-L1") == APPROVED


def test_r8_age_in_whole_years_on_the_service_date(engine: Engine) -> None:
    batch = Batch().member("M1", date_of_birth="2006-03-02").coverage("COV1", "M1", "PLAN-A")
    batch.contract("P1").benefit("PLAN-A", "OUTPATIENT", age_limit_max=17)
    batch.claim("AGED17", line(rp(10_000)), service_date="2024-03-01")
    batch.claim("AGED18", line(rp(10_000)), service_date="2024-03-02")
    d = decide(engine, batch)
    assert d.status("AGED17-L1") == APPROVED
    assert d.status("AGED18-L1") == (F.REJECTED, F.AGE_LIMIT)


def test_r8_leap_day_birthday_is_reached_on_1_march(engine: Engine) -> None:
    batch = Batch().member("M1", date_of_birth="2004-02-29").coverage("COV1", "M1", "PLAN-A")
    batch.contract("P1").benefit("PLAN-A", "OUTPATIENT", age_limit_min=18)
    batch.claim("FEB28", line(rp(10_000)), service_date="2022-02-28")
    batch.claim("MAR01", line(rp(10_000)), service_date="2022-03-01")
    d = decide(engine, batch)
    assert d.status("FEB28-L1") == (F.REJECTED, F.AGE_LIMIT)  # I8: still 17
    assert d.status("MAR01-L1") == APPROVED


def test_r8_unknown_birth_date_fails_an_age_bound(engine: Engine) -> None:
    batch = Batch().member("M1", date_of_birth=None).coverage("COV1", "M1", "PLAN-A")
    batch.contract("P1").benefit("PLAN-A", "OUTPATIENT", age_limit_max=60)
    batch.benefit("PLAN-A", "DENTAL")
    batch.claim("C1", line(rp(10_000)), line(rp(10_000), benefit_code="DENTAL"))
    d = decide(engine, batch)
    assert d.status("C1-L1") == (F.REJECTED, F.AGE_LIMIT)  # I8
    assert d.status("C1-L2") == APPROVED


# --------------------------------------------------------------------------------------------
# R9 pre-authorization
# --------------------------------------------------------------------------------------------


def _inpatient(batch: Batch) -> Batch:
    return batch.benefit("PLAN-A", "INPATIENT", requires_preauth=True)


def test_r9_approved_authorization_passes(engine: Engine) -> None:
    batch = _inpatient(Batch.standard()).authorization(
        "M1", "INPATIENT", provider_id="P1", valid_from="2024-02-01", valid_to="2024-03-01"
    )
    d = decide(engine, batch.claim("C1", line(rp(500_000), benefit_code="INPATIENT")))
    assert d.status("C1-L1") == APPROVED


def test_r9_missing_denied_expired_or_elsewhere_authorization_rejects(engine: Engine) -> None:
    batch = _inpatient(Batch.standard()).contract("P2")
    batch.authorization("M1", "INPATIENT", status="denied")
    batch.authorization("M1", "INPATIENT", valid_to="2024-02-29")
    batch.authorization("M1", "INPATIENT", provider_id="P2")
    batch.authorization("M1", "OUTPATIENT")
    d = decide(engine, batch.claim("C1", line(rp(500_000), benefit_code="INPATIENT")))
    assert d.status("C1-L1") == (F.REJECTED, F.PREAUTH_MISSING)
    assert d.claim("C1") == (F.REJECTED, F.PREAUTH_MISSING)


def test_r9_pending_authorization_pends_the_whole_claim(engine: Engine) -> None:
    batch = _inpatient(Batch.standard()).authorization("M1", "INPATIENT", status="pending")
    batch.benefit("PLAN-A", "OUTPATIENT", deductible_cents=rp(50_000))
    batch.claim(
        "C1",
        line(rp(500_000), benefit_code="INPATIENT"),
        line(rp(80_000)),
        line(rp(10_000), quantity=0),
    )
    batch.claim("C2", line(rp(80_000)), service_date="2024-03-02")
    d = decide(engine, batch)
    for n in (1, 2, 3):  # I9: also the approved and the invalid line
        assert d.status(f"C1-L{n}") == (F.PENDED, F.PREAUTH_PENDING)
        assert set(d.amounts(f"C1-L{n}").values()) == {0}
    assert d.claim("C1") == (F.PENDED, F.PREAUTH_PENDING)
    assert d.claims["C1"]["total_charged_cents"] == rp(590_000)
    assert d.claims["C1"]["total_approved_cents"] == 0
    # the pended claim took nothing of the deductible: the later claim pays it whole
    assert d.amounts("C2-L1")["deductible"] == rp(50_000)


def test_r9_approved_authorization_wins_over_a_pending_one(engine: Engine) -> None:
    batch = _inpatient(Batch.standard())
    batch.authorization("M1", "INPATIENT", status="pending")
    batch.authorization("M1", "INPATIENT", status="approved")
    d = decide(engine, batch.claim("C1", line(rp(500_000), benefit_code="INPATIENT")))
    assert d.claim("C1") == APPROVED


# --------------------------------------------------------------------------------------------
# R10 visits, R11 days
# --------------------------------------------------------------------------------------------


def test_r10_visit_limit_counts_claims_per_benefit_and_year(engine: Engine) -> None:
    batch = Batch.standard().benefit("PLAN-A", "OUTPATIENT", visit_limit=2)
    batch.accumulator("M1", "OUTPATIENT", 2024, visits_used=1)
    batch.claim("C1", line(rp(10_000)), line(rp(20_000)), service_date="2024-03-01")
    batch.claim("C2", line(rp(10_000)), service_date="2024-03-05")
    batch.claim("C3", line(rp(10_000)), service_date="2025-01-10")
    d = decide(engine, batch)
    # C1 is visit 1 + 1 = 2 ≤ 2 (its two lines are one visit); C2 would be visit 3
    assert d.status("C1-L1") == d.status("C1-L2") == APPROVED
    assert d.status("C2-L1") == (F.REJECTED, F.VISIT_LIMIT_EXCEEDED)
    assert d.status("C3-L1") == APPROVED  # a new year starts from no visits


def test_r11_day_limit_prorates_then_rejects(engine: Engine) -> None:
    batch = Batch.standard().benefit("PLAN-A", "INPATIENT", day_limit=5)
    batch.accumulator("M1", "INPATIENT", 2024, days_used=2)
    room = {"benefit_code": "INPATIENT"}
    batch.claim("C1", line(rp(1_000_000), quantity=2, **room), service_date="2024-03-01")
    batch.claim("C2", line(rp(1_500_000), quantity=3, **room), service_date="2024-03-10")
    batch.claim("C3", line(rp(500_000), quantity=1, **room), service_date="2024-03-20")
    d = decide(engine, batch)
    # 5 − 2 = 3 days left: C1 takes 2, C2 gets 1 of its 3, C3 none
    assert d.lines["C1-L1"]["covered_days"] == 2
    assert d.approved("C1-L1") == rp(1_000_000)
    assert d.lines["C2-L1"]["covered_days"] == 1
    # A2: the covered part is Rp 1.500.000 × 1 / 3 = Rp 500.000, the rest is a limit
    assert d.amounts("C2-L1") == dict(
        allowed=rp(1_500_000),
        deductible=0,
        copay=0,
        coinsurance=0,
        network_reduction=0,
        limit=rp(1_000_000),
        approved=rp(500_000),
        member_responsibility=rp(1_000_000),
        oop=0,
    )
    assert d.status("C2-L1") == (F.APPROVED, F.LIMIT_REACHED)
    assert d.status("C3-L1") == (F.REJECTED, F.DAY_LIMIT_EXCEEDED)
    assert d.lines["C3-L1"]["covered_days"] == 0


def test_r11_prorated_part_rounds_half_up(engine: Engine) -> None:
    batch = Batch.standard().benefit("PLAN-A", "INPATIENT", day_limit=1)
    d = decide(engine, batch.claim("C1", line(15, quantity=2, benefit_code="INPATIENT")))
    # 15 cents × 1 / 2 = 7.5 cents → 8
    assert (d.approved("C1-L1"), d.amounts("C1-L1")["limit"]) == (8, 7)


# --------------------------------------------------------------------------------------------
# A1 network, A2 allowed
# --------------------------------------------------------------------------------------------


def test_a1_out_of_network_provider_gets_the_out_of_network_share(engine: Engine) -> None:
    batch = Batch.standard().contract("P2", network_status="out_of_network")
    batch.contract("P3", status="terminated").contract("P4", termination_date="2024-02-29")
    # P5 is known nowhere: no contract covers sd, so it is out of network like the others
    for provider in ("P2", "P3", "P4", "P5"):
        batch.claim(provider, line(rp(100_000)), provider_id=provider)
    d = decide(engine, batch)
    for provider in ("P2", "P3", "P4", "P5"):
        assert not d.lines[f"{provider}-L1"]["in_network"]
        # 80 % of Rp 100.000 is Rp 80.000; the member owes charged − approved = Rp 20.000
        assert d.amounts(f"{provider}-L1") == dict(
            allowed=rp(100_000),
            deductible=0,
            copay=0,
            coinsurance=0,
            network_reduction=rp(20_000),
            limit=0,
            approved=rp(80_000),
            member_responsibility=rp(20_000),
            oop=0,
        )
        assert d.status(f"{provider}-L1") == (F.APPROVED, F.NETWORK_REDUCTION)


def test_a1_in_network_is_reported_on_rejected_lines_too(engine: Engine) -> None:
    batch = Batch.standard().claim("C1", line(rp(10_000), quantity=0))
    d = decide(engine, batch)
    assert d.lines["C1-L1"]["in_network"]  # I12


def test_a2_fee_schedule_caps_the_charge_in_network(engine: Engine) -> None:
    batch = Batch.standard().fee("P1", "99213", rp(120_000))
    batch.claim(
        "C1",
        line(rp(150_000), procedure_code="99213"),
        line(rp(200_000), procedure_code="99213", quantity=2),
        line(rp(150_000), procedure_code="99214"),
    )
    d = decide(engine, batch)
    # min(150.000, 120.000 × 1): the provider writes Rp 30.000 off, the member owes nothing
    assert d.amounts("C1-L1") == paid_in_full(rp(120_000))
    assert d.status("C1-L1") == (F.APPROVED, F.FEE_SCHEDULE)
    # min(200.000, 120.000 × 2) = 200.000
    assert d.amounts("C1-L2") == paid_in_full(rp(200_000))
    assert d.status("C1-L2") == APPROVED
    assert d.amounts("C1-L3") == paid_in_full(rp(150_000))  # no fee row for 99214


def test_a2_latest_fee_row_active_on_the_service_date(engine: Engine) -> None:
    batch = Batch.standard().fee("P1", "99213", rp(120_000))
    batch.fee("P1", "99213", rp(110_000), effective_date="2024-01-01")
    batch.fee("P1", "99213", rp(90_000), effective_date="2024-03-02")
    d = decide(engine, batch.claim("C1", line(rp(150_000), procedure_code="99213")))
    assert d.amounts("C1-L1")["allowed"] == rp(110_000)


def test_a2_no_fee_schedule_out_of_network(engine: Engine) -> None:
    batch = Batch.standard().contract("P2", network_status="out_of_network")
    batch.fee("P2", "99213", rp(120_000))
    d = decide(
        engine, batch.claim("C1", line(rp(150_000), procedure_code="99213"), provider_id="P2")
    )
    # allowed = charged; 80 % of it
    assert d.amounts("C1-L1")["allowed"] == rp(150_000)
    assert d.approved("C1-L1") == rp(120_000)


# --------------------------------------------------------------------------------------------
# A3–A6: deductible, copay, coinsurance, network share
# --------------------------------------------------------------------------------------------


def _issue_benefit(batch: Batch, **overrides: Any) -> Batch:
    """Deductible Rp 100.000 of which Rp 50.000 used, copay Rp 20.000, coinsurance 20 %, and
    a fee of Rp 120.000 for procedure 99213 at P1."""
    batch.benefit(
        "PLAN-A",
        "OUTPATIENT",
        deductible_cents=rp(100_000),
        copay_cents=rp(20_000),
        coinsurance_bp=2_000,
        **overrides,
    )
    return batch.accumulator("M1", "OUTPATIENT", 2024, deductible_used_cents=rp(50_000)).fee(
        "P1", "99213", rp(120_000)
    )


def test_a2_to_a6_the_worked_example(engine: Engine) -> None:
    batch = _issue_benefit(Batch.standard())
    d = decide(engine, batch.claim("C1", line(rp(150_000), procedure_code="99213")))
    # allowed     = min(150.000, 120.000)                = 120.000
    # deductible  = min(120.000, 100.000 − 50.000)        =  50.000
    # copay       = min(20.000, 120.000 − 50.000)         =  20.000
    # coinsurance = (120.000 − 50.000 − 20.000) × 20 %    =  10.000
    # plan        = (120.000 − 50.000 − 20.000 − 10.000) × 100 % = 40.000
    assert d.amounts("C1-L1") == dict(
        allowed=rp(120_000),
        deductible=rp(50_000),
        copay=rp(20_000),
        coinsurance=rp(10_000),
        network_reduction=0,
        limit=0,
        approved=rp(40_000),
        member_responsibility=rp(80_000),
        oop=rp(80_000),
    )
    # the largest adjustment: deductible 50.000 > fee schedule 30.000 > copay > coinsurance
    assert d.status("C1-L1") == (F.APPROVED, F.DEDUCTIBLE)


def test_a3_deductible_is_a_running_total_per_benefit_and_year(engine: Engine) -> None:
    batch = Batch.standard().benefit("PLAN-A", "OUTPATIENT", deductible_cents=rp(100_000))
    batch.benefit("PLAN-A", "DENTAL", deductible_cents=rp(100_000))
    batch.accumulator("M1", "OUTPATIENT", 2024, deductible_used_cents=rp(50_000))
    batch.claim("C1", line(rp(30_000)), service_date="2024-03-01")
    batch.claim(
        "C2", line(rp(120_000)), line(rp(10_000), benefit_code="DENTAL"), service_date="2024-03-02"
    )
    batch.claim("C3", line(rp(40_000)), service_date="2024-03-03")
    batch.claim("C4", line(rp(40_000)), service_date="2025-01-02")
    d = decide(engine, batch)
    # Rp 50.000 left: C1 takes 30.000, C2 the last 20.000, C3 none; DENTAL and 2025 are apart
    assert [d.amounts(x)["deductible"] for x in ("C1-L1", "C2-L1", "C3-L1")] == [
        rp(30_000),
        rp(20_000),
        0,
    ]
    assert d.approved("C2-L1") == rp(100_000)
    assert d.amounts("C2-L2")["deductible"] == rp(10_000)
    assert d.amounts("C4-L1")["deductible"] == rp(40_000)


def test_a4_copay_is_at_most_what_the_deductible_leaves(engine: Engine) -> None:
    batch = Batch.standard().benefit("PLAN-A", "OUTPATIENT", copay_cents=rp(20_000))
    d = decide(engine, batch.claim("C1", line(rp(15_000)), line(rp(50_000))))
    assert d.amounts("C1-L1")["copay"] == rp(15_000)
    assert d.approved("C1-L1") == 0
    assert d.status("C1-L1") == (F.APPROVED, F.COPAY)  # I17: approved, paying nothing
    # I15: the copay applies to every line
    assert (d.amounts("C1-L2")["copay"], d.approved("C1-L2")) == (rp(20_000), rp(30_000))


def test_a5_coinsurance_rounds_half_up_to_the_cent(engine: Engine) -> None:
    batch = Batch.standard().benefit("PLAN-A", "OUTPATIENT", coinsurance_bp=1_000)
    d = decide(engine, batch.claim("C1", line(15), line(14)))
    # 10 % of 15 cents = 1.5 → 2 cents; 10 % of 14 cents = 1.4 → 1 cent
    assert (d.amounts("C1-L1")["coinsurance"], d.approved("C1-L1")) == (2, 13)
    assert (d.amounts("C1-L2")["coinsurance"], d.approved("C1-L2")) == (1, 13)
    assert d.status("C1-L1") == (F.APPROVED, F.COINSURANCE)


def test_a6_network_share_below_100_percent_in_network(engine: Engine) -> None:
    batch = Batch.standard().benefit("PLAN-A", "OUTPATIENT", in_network_bp=9_000)
    d = decide(engine, batch.claim("C1", line(rp(100_000)), line(5)))
    assert (d.approved("C1-L1"), d.amounts("C1-L1")["network_reduction"]) == (
        rp(90_000),
        rp(10_000),
    )
    assert d.amounts("C1-L1")["member_responsibility"] == rp(10_000)
    assert d.status("C1-L1") == (F.APPROVED, F.NETWORK_REDUCTION)
    # 90 % of 5 cents = 4.5 → the plan pays 5 cents, nothing is reduced
    assert (d.approved("C1-L2"), d.amounts("C1-L2")["network_reduction"]) == (5, 0)


# --------------------------------------------------------------------------------------------
# A7 out-of-pocket maximum
# --------------------------------------------------------------------------------------------


def test_a7_oop_cap_moves_the_excess_to_the_plan(engine: Engine) -> None:
    batch = _issue_benefit(Batch.standard()).oop_max("PLAN-A", rp(100_000))
    batch.accumulator("M1", "DENTAL", 2024, oop_used_cents=rp(70_000))  # any benefit counts
    batch.accumulator("M1", "DENTAL", 2023, oop_used_cents=rp(90_000))  # another year
    batch.claim("C1", line(rp(150_000), procedure_code="99213"), service_date="2024-03-01")
    batch.claim("C2", line(rp(150_000), procedure_code="99213"), service_date="2024-03-02")
    d = decide(engine, batch)
    # cost share 50.000 + 20.000 + 10.000 = 80.000, of which 100.000 − 70.000 = 30.000 is
    # kept; the 50.000 removed comes off coinsurance (10.000), copay (20.000), then
    # deductible (20.000 of 50.000), and the plan pays 40.000 + 50.000
    assert d.amounts("C1-L1") == dict(
        allowed=rp(120_000),
        deductible=rp(30_000),
        copay=0,
        coinsurance=0,
        network_reduction=0,
        limit=0,
        approved=rp(90_000),
        member_responsibility=rp(30_000),
        oop=rp(30_000),
    )
    # I18: deductible 30.000 ties with the fee schedule's 30.000: the first named wins
    assert d.status("C1-L1") == (F.APPROVED, F.DEDUCTIBLE)
    # C2: the deductible is met (I14: by the pre-A7 50.000); the cap is reached, the plan
    # pays all of allowed
    assert d.amounts("C2-L1") == paid_in_full(rp(120_000))
    assert d.status("C2-L1") == (F.APPROVED, F.FEE_SCHEDULE)


def test_a7_no_cost_sharing_row_means_no_cap(engine: Engine) -> None:
    batch = Batch.standard().benefit("PLAN-A", "OUTPATIENT", copay_cents=rp(20_000))
    batch.oop_max("PLAN-A", rp(10_000), expiration_date="2024-02-29")
    batch.oop_max("PLAN-A", None, effective_date="2024-03-01")
    d = decide(engine, batch.claim("C1", line(rp(50_000))))
    assert d.amounts("C1-L1")["copay"] == rp(20_000)


# --------------------------------------------------------------------------------------------
# A8–A10 limits
# --------------------------------------------------------------------------------------------


def test_a8_incident_limit_per_claim_and_benefit(engine: Engine) -> None:
    batch = Batch.standard().benefit("PLAN-A", "OUTPATIENT", incident_limit_cents=rp(100_000))
    batch.claim("C1", line(rp(80_000)), line(rp(60_000)), service_date="2024-03-01")
    batch.claim("C2", line(rp(60_000)), service_date="2024-03-02")
    d = decide(engine, batch)
    # C1: 80.000, then min(100.000, 140.000) − 80.000 = 20.000; C2 is a new incident
    assert d.approved("C1-L1") == rp(80_000)
    assert d.amounts("C1-L2") == dict(
        allowed=rp(60_000),
        deductible=0,
        copay=0,
        coinsurance=0,
        network_reduction=0,
        limit=rp(40_000),
        approved=rp(20_000),
        member_responsibility=rp(40_000),
        oop=0,
    )
    assert d.status("C1-L2") == (F.APPROVED, F.LIMIT_REACHED)
    assert d.approved("C2-L1") == rp(60_000)
    assert d.claims["C1"]["total_approved_cents"] == rp(100_000)


def test_a9_annual_limit_less_what_the_year_used(engine: Engine) -> None:
    batch = Batch.standard().benefit("PLAN-A", "OUTPATIENT", annual_limit_cents=rp(1_000_000))
    batch.accumulator("M1", "OUTPATIENT", 2024, amount_used_cents=rp(950_000))
    batch.claim("C1", line(rp(120_000)), service_date="2024-03-01")
    batch.claim("C2", line(rp(120_000)), service_date="2024-03-02")
    batch.claim("C3", line(rp(120_000)), service_date="2025-01-02")
    d = decide(engine, batch)
    assert (d.approved("C1-L1"), d.amounts("C1-L1")["limit"]) == (rp(50_000), rp(70_000))
    assert (d.approved("C2-L1"), d.amounts("C2-L1")["limit"]) == (0, rp(120_000))
    assert d.status("C2-L1") == (F.APPROVED, F.LIMIT_REACHED)  # I17
    assert d.approved("C3-L1") == rp(120_000)


def test_a10_lifetime_limit_over_every_year(engine: Engine) -> None:
    batch = Batch.standard().benefit("PLAN-A", "OUTPATIENT", lifetime_limit_cents=rp(2_000_000))
    batch.accumulator("M1", "OUTPATIENT", 2023, amount_used_cents=rp(1_500_000))
    batch.accumulator("M1", "OUTPATIENT", 2024, amount_used_cents=rp(400_000))
    batch.claim("C1", line(rp(80_000)), service_date="2024-03-01")
    batch.claim("C2", line(rp(80_000)), service_date="2025-01-02")
    d = decide(engine, batch)
    # 2.000.000 − 1.900.000 = 100.000 left over all years: 80.000, then 20.000
    assert d.approved("C1-L1") == rp(80_000)
    assert (d.approved("C2-L1"), d.amounts("C2-L1")["limit"]) == (rp(20_000), rp(60_000))


def test_a8_to_a10_limits_do_not_count_toward_the_oop_cap(engine: Engine) -> None:
    batch = Batch.standard().benefit(
        "PLAN-A", "OUTPATIENT", copay_cents=rp(10_000), annual_limit_cents=rp(30_000)
    )
    batch.oop_max("PLAN-A", rp(15_000))
    batch.claim("C1", line(rp(50_000)), service_date="2024-03-01")
    batch.claim("C2", line(rp(50_000)), service_date="2024-03-02")
    d = decide(engine, batch)
    # C1: copay 10.000, plan 40.000 capped at 30.000 (limit 10.000, not out of pocket)
    assert d.amounts("C1-L1") == dict(
        allowed=rp(50_000),
        deductible=0,
        copay=rp(10_000),
        coinsurance=0,
        network_reduction=0,
        limit=rp(10_000),
        approved=rp(30_000),
        member_responsibility=rp(20_000),
        oop=rp(10_000),
    )
    # C2: 5.000 of the cap left, so copay 5.000 and the other 5.000 to the plan, whose
    # annual limit is used up: limit 45.000
    assert d.amounts("C2-L1") == dict(
        allowed=rp(50_000),
        deductible=0,
        copay=rp(5_000),
        coinsurance=0,
        network_reduction=0,
        limit=rp(45_000),
        approved=0,
        member_responsibility=rp(50_000),
        oop=rp(5_000),
    )


# --------------------------------------------------------------------------------------------
# Batch order, claim roll-up and reasons
# --------------------------------------------------------------------------------------------


def test_batch_order_is_service_date_then_submission_then_claim_number(engine: Engine) -> None:
    batch = Batch.standard().benefit("PLAN-A", "OUTPATIENT", deductible_cents=rp(10_000))
    batch.claim("C1", line(rp(10_000)), service_date="2024-03-02")
    batch.claim(
        "C2",
        line(rp(12_000)),
        service_date="2024-03-01",
        submission_date="2024-03-05 12:00",
        claim_number="N1",
    )
    batch.claim(
        "C3",
        line(rp(14_000)),
        service_date="2024-03-01",
        submission_date="2024-03-05 08:00",
        claim_number="N2",
    )
    d = decide(engine, batch)
    # C3 was submitted first on the earliest service date: it meets the whole deductible
    assert [d.amounts(f"C{n}-L1")["deductible"] for n in (1, 2, 3)] == [0, 0, rp(10_000)]


def test_claim_number_breaks_a_submission_tie(engine: Engine) -> None:
    batch = Batch.standard().benefit("PLAN-A", "OUTPATIENT", deductible_cents=rp(10_000))
    batch.claim("C1", line(rp(10_000)), claim_number="N2")
    batch.claim("C2", line(rp(11_000)), claim_number="N1")
    d = decide(engine, batch)
    assert (d.amounts("C1-L1")["deductible"], d.amounts("C2-L1")["deductible"]) == (0, rp(10_000))


def test_claim_approved_when_every_line_passes(engine: Engine) -> None:
    batch = Batch.standard().benefit("PLAN-A", "OUTPATIENT", copay_cents=rp(5_000))
    d = decide(engine, batch.claim("C1", line(rp(100_000)), line(rp(50_000))))
    assert d.claim("C1") == APPROVED
    assert d.claims["C1"] == dict(
        claim_id="C1",
        status=F.APPROVED,
        reason_code=None,
        total_charged_cents=rp(150_000),
        total_approved_cents=rp(140_000),
        member_responsibility_cents=rp(10_000),
    )


def test_claim_partially_approved_takes_its_first_rejected_lines_reason(engine: Engine) -> None:
    batch = Batch.standard().exclusion("PLAN-A", procedure_code="15780")
    batch.claim(
        "C1",
        line(rp(100_000)),
        line(rp(30_000), line_number=3, quantity=0),
        line(rp(50_000), procedure_code="15780", line_number=2),
    )
    d = decide(engine, batch)
    assert d.claim("C1") == (F.PARTIALLY_APPROVED, F.EXCLUDED)  # I20: by line_number
    assert d.claims["C1"]["total_charged_cents"] == rp(180_000)
    assert d.claims["C1"]["total_approved_cents"] == rp(100_000)
    assert d.claims["C1"]["member_responsibility_cents"] == rp(80_000)  # I19


def test_claim_rejected_when_every_line_is(engine: Engine) -> None:
    batch = Batch.standard().claim(
        "C1", line(rp(10_000), benefit_code="DENTAL"), line(rp(20_000), quantity=0)
    )
    d = decide(engine, batch)
    assert d.claim("C1") == (F.REJECTED, F.BENEFIT_NOT_COVERED)
    assert d.claims["C1"]["total_approved_cents"] == 0


def test_claim_pended_wins_over_rejected_lines(engine: Engine) -> None:
    batch = _inpatient(Batch.standard()).authorization("M1", "INPATIENT", status="pending")
    batch.claim(
        "C1", line(rp(10_000), benefit_code="DENTAL"), line(rp(20_000), benefit_code="INPATIENT")
    )
    d = decide(engine, batch)
    assert d.claim("C1") == (F.PENDED, F.PREAUTH_PENDING)
    assert d.claims["C1"]["member_responsibility_cents"] == 0


def test_reason_is_none_without_adjustments(engine: Engine) -> None:
    d = decide(engine, Batch.standard().claim("C1", line(rp(100_000))))
    assert d.amounts("C1-L1") == paid_in_full(rp(100_000))
    assert d.status("C1-L1") == APPROVED


def test_reason_ties_go_to_the_first_named_adjustment(engine: Engine) -> None:
    batch = Batch.standard().benefit(
        "PLAN-A",
        "OUTPATIENT",
        deductible_cents=rp(20_000),
        copay_cents=rp(20_000),
        coinsurance_bp=5_000,
    )
    d = decide(engine, batch.claim("C1", line(rp(60_000))))
    # deductible 20.000, copay 20.000, coinsurance 50 % of 20.000 = 10.000: a tie of the
    # first two, DEDUCTIBLE is named first
    assert d.status("C1-L1") == (F.APPROVED, F.DEDUCTIBLE)
    batch2 = Batch.standard().benefit(
        "PLAN-A", "OUTPATIENT", copay_cents=rp(20_000), coinsurance_bp=5_000
    )
    d2 = decide(engine, batch2.claim("C1", line(rp(60_000))))
    # copay 20.000, coinsurance 50 % of 40.000 = 20.000: a tie, COPAY is named first
    assert d2.status("C1-L1") == (F.APPROVED, F.COPAY)


# --------------------------------------------------------------------------------------------
# Input contract, representation, and the exact arithmetic the engine is built on
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda i: {"lines": i.lines.drop(columns=["quantity"])},
            "lines: missing column 'quantity'",
        ),
        (
            lambda i: {"lines": i.lines.assign(line_id=[None, "C1-L2"])},
            "lines: column 'line_id' has null values",
        ),
        (
            lambda i: {"lines": i.lines.assign(line_id=["C1-L1", "C1-L1"])},
            "lines: duplicate rows for key ('line_id',)",
        ),
        (
            lambda i: {"lines": i.lines.assign(claim_id=["C1", "C9"])},
            "lines: column 'claim_id' names 1 claim(s) not in claims",
        ),
        (
            lambda i: {"plan_benefits": pd.concat([i.plan_benefits, i.plan_benefits])},
            "plan_benefits: duplicate rows for key ('plan_id', 'benefit_code')",
        ),
    ],
)
def test_input_contract_is_checked(
    engine: Engine, change: Callable[[EngineInput], Any], message: str
) -> None:
    inp = Batch.standard().claim("C1", line(rp(10_000)), line(rp(20_000))).input()
    with pytest.raises(ValueError) as raised:
        engine(dataclasses.replace(inp, **change(inp)))
    assert str(raised.value) == message


def test_empty_batch(engine: Engine) -> None:
    inp = EngineInput.from_frames()
    result = engine(inp)
    assert list(result.lines.columns) == list(F.LINE_RESULT_COLUMNS)
    assert list(result.claims.columns) == list(F.CLAIM_RESULT_COLUMNS)
    assert len(result.lines) == len(result.claims) == 0


def test_pandas_string_columns_decide_like_object_columns(engine: Engine) -> None:
    batch = Batch.standard().benefit("PLAN-A", "OUTPATIENT", deductible_cents=rp(10_000))
    batch.exclusion("PLAN-A", diagnosis_code_prefix="Z41")
    batch.claim(
        "C1",
        line(rp(30_000)),
        line(rp(20_000), diagnosis_code="Z41.1"),
        line(rp(25_000), benefit_code="DENTAL"),
    )
    inp = batch.input()

    def as_str(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.astype({c: "str" for c in frame.columns if frame[c].dtype == object})

    as_text = EngineInput(**{name: as_str(getattr(inp, name)) for name in F.INPUT_CONTRACT})
    expected, got = engine(inp), engine(as_text)
    pd.testing.assert_frame_equal(expected.lines, got.lines)
    pd.testing.assert_frame_equal(expected.claims, got.claims)


def test_submission_instants_compare_in_utc(engine: Engine) -> None:
    batch = Batch.standard().benefit("PLAN-A", "OUTPATIENT", deductible_cents=rp(10_000))
    batch.claim("JKT", line(rp(10_000)))
    batch.claim("UTC", line(rp(11_000)))
    inp = batch.input()
    submitted = pd.Series(
        pd.to_datetime(["2024-03-01 08:00+07:00", "2024-03-01 02:00+00:00"], utc=True)
    )
    d = Decided(
        engine(dataclasses.replace(inp, claims=inp.claims.assign(submission_date=submitted)))
    )
    # I1: 08:00 in Jakarta is 01:00 UTC, before 02:00 UTC: JKT meets the deductible
    assert (d.amounts("JKT-L1")["deductible"], d.amounts("UTC-L1")["deductible"]) == (rp(10_000), 0)


def test_group_codes_survive_a_hash_collision(monkeypatch: pytest.MonkeyPatch) -> None:
    wide = np.array([0, 10**13, 0, 10**13, 5], dtype=np.int64)  # too wide to pack with others
    member = np.array([1, 1, 2, 2, 1], dtype=np.int64)
    exact = money.group_codes(member, wide, member)
    monkeypatch.setattr(money, "_mix", lambda hashed, key: np.zeros_like(hashed))  # all collide
    assert money.group_codes(member, wide, member).tolist() == exact.tolist() == [0, 1, 2, 3, 4]


def test_running_totals_are_exact_even_when_all_groups_together_overflow() -> None:
    big = 2**62
    values = np.array([big, big, 1, big, 2], dtype=np.int64)
    groups = np.array([0, 1, 0, 2, 1], dtype=np.int64)
    assert money.running_total(values, groups).tolist() == [big, big, big + 1, big, big + 2]


def test_capped_running_is_exact_when_a_group_total_leaves_int64() -> None:
    # 10 000 maximal amounts in one group add up to ~10**19 cents, beyond int64 (9.2·10**18)
    values = np.full(10_000, F.MAX_CENTS, dtype=np.int64)
    cap = 5_000 * F.MAX_CENTS + 7
    kept = money.capped_running(values, cap, np.zeros(10_000, dtype=np.int64))
    assert kept[:5_000].tolist() == [F.MAX_CENTS] * 5_000
    assert kept[5_000] == 7 and not kept[5_001:].any()
    assert sum(int(k) for k in kept) == cap
    # 9 500 of them add up to 9.5·10**18 cents, beyond int64: clamped, from the exact sum
    sums = money.clamped_segment_sums(values, [0, 9_500], 0, 2_000 * F.MAX_CENTS)
    assert sums.tolist() == [2_000 * F.MAX_CENTS, 500 * F.MAX_CENTS]


def test_capped_running_keeps_each_row_between_nothing_and_all_of_it() -> None:
    # the cap drops from 100 to 30 inside the group (a plan change): I2's clip
    kept = money.capped_running([60, 30, 20], [100, 100, 30], np.zeros(3, dtype=np.int64))
    assert kept.tolist() == [60, 30, 0]
    assert money.capped_running([60, 30, 20], 100, [0, 0, 0]).tolist() == [60, 30, 10]


def test_every_reason_has_its_x12_codes() -> None:
    reasons = {
        F.INVALID_CLAIM,
        F.MEMBER_NOT_ELIGIBLE,
        F.COVERAGE_NOT_STARTED,
        F.COVERAGE_TERMINATED,
        F.DUPLICATE,
        F.BENEFIT_NOT_COVERED,
        F.EXCLUDED,
        F.WAITING_PERIOD,
        F.AGE_LIMIT,
        F.PREAUTH_MISSING,
        F.PREAUTH_PENDING,
        F.VISIT_LIMIT_EXCEEDED,
        F.DAY_LIMIT_EXCEEDED,
        *F.ADJUSTMENT_REASONS,
    }
    assert set(F.CARC_BY_REASON) == reasons
    assert F.CARC_BY_REASON[F.DUPLICATE] == ("18", "CO")
    assert F.CARC_BY_REASON[F.DEDUCTIBLE] == ("1", "PR")
