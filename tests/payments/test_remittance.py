"""Remittance advice: every claim and line a batch paid a payee, with its adjustments, in CSV
and HTML, totals equal to the payments; then the lines read from a real adjudicated claim."""

from __future__ import annotations

import csv
import io
import stat
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from claims_askes.payments.remittance import (
    ADVICE_COLUMNS,
    CSV_COLUMNS,
    RemittanceError,
    build_remittance,
    remittance_csv,
    remittance_html,
    totals,
)
from flows.claim_adjudication import claim_adjudication
from tasks.remittance import read_remittance_lines, write_remittance_advice
from tests.conftest import TestDatabase
from tests.scenario import Line, Scenario

PAID_AT = datetime(2026, 12, 7, 8, 15, tzinfo=UTC)
EVIL = "RS <script>alert('x')</script> & Co"


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows)


def plain(value: Any) -> Any:
    """A missing value (None, NaN, NA) as None, to compare rows as tuples."""
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def hand_made() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Provider P1: claim C1 (two lines, one rejected), a supplementary payment of the
    readjusted C2, and an overpayment of C3 offset against this batch; provider P2: claim C4,
    and an overpayment of C5 listed for recovery."""
    payments = frame(
        [
            pay("PAY-1", "C1", "P1", EVIL, "claim", 350_000_00),
            pay("PAY-2", "C2", "P1", EVIL, "supplementary", 25_000_00),
            pay("PAY-3", "C3", "P1", EVIL, "offset", -10_000_00),
            pay("PAY-4", "C4", "P2", "Klinik Pratama Sehat", "claim", 75_000_00),
            pay("PAY-5", "C5", "P2", "Klinik Pratama Sehat", "recovery", 5_000_00),
        ]
    )
    lines = frame(
        [
            # C1 line 1: 500 000 charged, 400 000 allowed (CO-45 100 000 above the fee
            # schedule), copay PR-3 50 000: pays 350 000. Line 2: rejected, PR-96 100 000.
            line("C1", 1, "X1", 500_000_00, 400_000_00, 350_000_00),
            line("C1", 2, "DENTAL", 100_000_00, None, 0),
            line("C2", 1, "X2", 200_000_00, 200_000_00, 200_000_00),
            line("C4", 1, "OP_GP", 80_000_00, 80_000_00, 75_000_00),
        ]
    )
    adjustments = frame(
        [
            adjust("C1", 1, "CO", "45", "FEE_SCHEDULE", 100_000_00),
            adjust("C1", 1, "PR", "3", "COPAY", 50_000_00),
            adjust("C1", 2, "PR", "96", "BENEFIT_NOT_COVERED", 100_000_00),
            adjust("C4", 1, "PR", "3", "COPAY", 5_000_00),
        ]
    )
    return payments, lines, adjustments


def pay(
    payment_id: str, claim: str, payee: str, name: str, kind: str, cents: int
) -> dict[str, Any]:
    return {
        "payment_id": payment_id,
        "claim_id": claim,
        "claim_number": f"CLM-2026-12-{claim}",
        "payee_id": payee,
        "payee_name": name,
        "kind": kind,
        "amount_cents": cents,
        "bank_reference": f"BR-{payment_id}" if kind != "recovery" else None,
        "paid_at": PAID_AT if kind != "recovery" else None,
    }


def line(
    claim: str, number: int, code: str, charged: int, allowed: int | None, paid: int
) -> dict[str, Any]:
    return {
        "claim_id": claim,
        "claim_number": f"CLM-2026-12-{claim}",
        "line_number": number,
        "service_code": code,
        "charged_cents": charged,
        "allowed_cents": allowed,
        "paid_cents": paid,
    }


def adjust(claim: str, number: int, group: str, carc: str, code: str, cents: int) -> dict[str, Any]:
    return {
        "claim_id": claim,
        "line_number": number,
        "group_code": group,
        "carc": carc,
        "reason_code": code,
        "amount_cents": cents,
    }


@pytest.mark.no_server
def test_the_advice_shows_every_claim_and_line_with_adjustments_and_what_was_paid() -> None:
    advice = build_remittance(*hand_made())
    assert tuple(advice.columns) == ADVICE_COLUMNS
    shown = [
        tuple(plain(v) for v in (r.payee_id, r.record, str(r.claim_number)[-2:], r.line_number))
        + (plain(r.adjustments), r.paid_cents)
        for r in advice.itertuples()
    ]
    assert shown == [
        ("P1", "claim", "C1", None, None, 350_000_00),
        ("P1", "line", "C1", 1, "CO-45 100000.00; PR-3 50000.00", 350_000_00),
        ("P1", "line", "C1", 2, "PR-96 100000.00", 0),
        ("P1", "supplementary", "C2", None, None, 25_000_00),
        ("P1", "line", "C2", 1, None, 200_000_00),
        ("P1", "offset", "C3", None, None, -10_000_00),
        ("P2", "claim", "C4", None, None, 75_000_00),
        ("P2", "line", "C4", 1, "PR-3 5000.00", 75_000_00),
        ("P2", "recovery", "C5", None, None, 5_000_00),
    ]
    c1 = advice[(advice["record"] == "claim") & advice["claim_number"].str.endswith("C1")]
    # the claim's totals are its lines': charged 600 000, allowed 400 000, adjusted 250 000
    assert c1[["charged_cents", "allowed_cents", "adjusted_cents"]].iloc[0].tolist() == [
        600_000_00,
        400_000_00,
        250_000_00,
    ]


@pytest.mark.no_server
def test_the_advice_totals_agree_with_the_payments() -> None:
    payments, lines, adjustments = hand_made()
    advice = build_remittance(payments, lines, adjustments)
    paid = advice[advice["record"] != "line"]
    assert sorted(paid["payment_id"]) == sorted(payments["payment_id"])
    assert paid["paid_cents"].sum() == payments["amount_cents"].sum()
    # P1: 350 000 + 25 000 - 10 000 = 365 000 transferred; P2: 75 000, and 5 000 to recover
    assert totals(advice[advice["payee_id"] == "P1"]) == {
        "transferred_cents": 365_000_00,
        "recovery_cents": 0,
    }
    assert totals(advice[advice["payee_id"] == "P2"]) == {
        "transferred_cents": 75_000_00,
        "recovery_cents": 5_000_00,
    }


@pytest.mark.no_server
def test_the_csv_has_exactly_the_advice_columns_with_rupiah_amounts() -> None:
    advice = build_remittance(*hand_made())
    table = list(csv.reader(io.StringIO(remittance_csv(advice).decode())))
    assert (
        tuple(table[0])
        == CSV_COLUMNS
        == (
            "payee_id",
            "payee_name",
            "record",
            "payment_id",
            "claim_number",
            "line_number",
            "service_code",
            "charged",
            "allowed",
            "adjustments",
            "adjusted",
            "paid",
            "bank_reference",
            "paid_at",
        )
    )
    assert len(table) == 1 + len(advice)
    first_line = dict(zip(CSV_COLUMNS, table[2], strict=True))
    assert first_line["charged"] == "500000.00"
    assert first_line["allowed"] == "400000.00"
    assert first_line["adjustments"] == "CO-45 100000.00; PR-3 50000.00"
    assert first_line["paid"] == "350000.00"
    offset = dict(zip(CSV_COLUMNS, table[6], strict=True))
    assert (offset["record"], offset["paid"]) == ("offset", "-10000.00")
    assert remittance_csv(advice) == remittance_csv(build_remittance(*hand_made()))


@pytest.mark.no_server
def test_the_html_page_escapes_the_data_and_shows_the_total() -> None:
    advice = build_remittance(*hand_made())
    page = remittance_html(advice[advice["payee_id"] == "P1"], EVIL, "PB-<1>")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; Co" in page
    assert "PB-&lt;1&gt;" in page
    assert "Rp 365.000,00 transferred" in page
    assert "CO-45 100000.00; PR-3 50000.00" in page
    assert "-Rp 10.000,00" in page  # the offset


@pytest.mark.no_server
def test_an_offset_above_zero_or_an_unknown_kind_is_refused() -> None:
    payments, lines, adjustments = hand_made()
    wrong = payments.assign(amount_cents=payments["amount_cents"].abs())
    with pytest.raises(RemittanceError, match="PAY-3"):
        build_remittance(wrong, lines, adjustments)
    with pytest.raises(RemittanceError, match="unknown payment kinds"):
        build_remittance(payments.assign(kind="gift"), lines, adjustments)


# -- read from a real adjudicated claim ---------------------------------------------------

FEE, COPAY = 400_000, 25_000


@pytest.fixture(scope="module")
def adjudicated(module_db: TestDatabase, prefect_api: str) -> Iterator[dict[str, Any]]:
    """One in-network claim adjudicated by the real flow: line 1 charged 500 000 against a
    fee schedule of 400 000 with a 25 000 copay (pays 375 000); line 2 a benefit the plan
    does not cover (rejected, 150 000)."""
    with module_db.admin() as conn:
        s = Scenario(conn)
        plan = s.plan("PLAN-REMIT")
        s.benefit(plan, "OP_GP", copay_amount=COPAY)
        provider = s.provider(fees={"X1": FEE})
        number = s.claim(
            s.member(plan),
            provider,
            date(2026, 1, 10),
            [Line("OP_GP", 500_000, procedure_code="X1"), Line("DENTAL", 150_000)],
        )
    claim_adjudication()
    with module_db.admin() as conn:
        payments = pd.DataFrame(
            conn.execute(
                "SELECT p.id::text AS payment_id, c.id::text AS claim_id, c.claim_number, "
                "p.payee_id::text AS payee_id, (p.amount * 100)::bigint AS amount_cents "
                "FROM claims_service.claim_payment p "
                "JOIN claims_service.claim c ON c.id = p.claim_id WHERE c.claim_number = %s",
                (number,),
            ).fetchall(),
            columns=["payment_id", "claim_id", "claim_number", "payee_id", "amount_cents"],
        )
    yield {"number": number, "payments": payments}


def test_the_lines_and_adjustments_of_a_paid_claim_are_read_from_the_claims_service(
    adjudicated: dict[str, Any], tmp_path: Path
) -> None:
    payments = adjudicated["payments"].assign(
        payee_name="RS Harapan Kita", kind="claim", bank_reference="BR-1", paid_at=PAID_AT
    )
    assert payments["amount_cents"].tolist() == [375_000_00]
    lines, adjustments = read_remittance_lines(payments["claim_id"].tolist())
    got = lines[["line_number", "charged_cents", "allowed_cents", "paid_cents"]]
    assert [tuple(plain(v) for v in r) for r in got.itertuples(index=False)] == [
        (1, 500_000_00, 400_000_00, 375_000_00),
        (2, 150_000_00, 0, 0),  # a rejected line allows nothing
    ]
    got = adjustments[["line_number", "group_code", "carc", "reason_code", "amount_cents"]]
    assert [tuple(r) for r in got.itertuples(index=False)] == [
        (1, "CO", "45", "FEE_SCHEDULE", 100_000_00),
        (1, "PR", "3", "COPAY", 25_000_00),
        (2, "PR", "96", "BENEFIT_NOT_COVERED", 150_000_00),
    ]

    paths = write_remittance_advice("PB-20261207-001", payments, lines, adjustments, tmp_path)
    assert [p.suffix for p in paths] == [".csv", ".html"]
    assert {stat.S_IMODE(p.stat().st_mode) for p in paths} == {0o600}
    table = list(csv.DictReader(io.StringIO(paths[0].read_text())))
    assert [(r["record"], r["line_number"], r["adjustments"], r["paid"]) for r in table] == [
        ("claim", "", "", "375000.00"),
        ("line", "1", "CO-45 100000.00; PR-3 25000.00", "375000.00"),
        ("line", "2", "PR-96 150000.00", "0.00"),
    ]
    again = write_remittance_advice("PB-20261207-001", payments, lines, adjustments, tmp_path)
    assert (
        again == paths
        and paths[0].read_text()
        == remittance_csv(build_remittance(payments, lines, adjustments)).decode()
    )
