"""The dashboard's one locale: Indonesian numbers and rupiah with units spelled out, exact
(Decimal, never float), monotonic, and readable back."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claims_askes.reporting import formatting as fmt

# Server-independent: not run again in the PostgreSQL 15 pass of dev.py test.
pytestmark = pytest.mark.no_server

AMOUNTS = st.decimals(
    min_value=0, max_value=Decimal("999999999999999.99"), places=2, allow_nan=False
)


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        (Decimal("12500"), "Rp 12.500"),
        (Decimal("250000"), "Rp 250.000"),
        (Decimal("999999.49"), "Rp 999.999"),
        (Decimal("999999.50"), "Rp 1 juta"),
        (Decimal("250000000"), "Rp 250 juta"),
        (Decimal("1500000000"), "Rp 1,5 miliar"),
        (Decimal("1234567890"), "Rp 1,2 miliar"),
        (Decimal("999950000"), "Rp 1 miliar"),
        (Decimal("3000000000000"), "Rp 3 triliun"),
        (Decimal("-2500000"), "-Rp 2,5 juta"),
        (0, "Rp 0"),
    ],
)
def test_rupiah_in_words_spells_the_unit_out(amount: Decimal, words: str) -> None:
    assert fmt.rupiah_words(amount) == words


def test_numbers_group_with_dots_and_decimals_with_commas() -> None:
    assert fmt.rupiah(Decimal("1234567.49")) == "Rp 1.234.567"
    assert fmt.rupiah(Decimal("0.5")) == "Rp 1"  # half up, not banker's rounding
    assert fmt.integer(20000) == "20.000"
    assert fmt.decimal(Decimal("1234.25")) == "1.234,3"
    assert fmt.decimal(0.1 + 0.2, 2) == "0,30"
    assert fmt.percent(934, 1000) == "93,4 %"
    assert fmt.percent(1, 0) == "-"
    assert fmt.hours(Decimal("36.5")) == "36,5 jam"
    assert fmt.hours(108) == "4,5 hari"
    assert fmt.hours(None) == "-"
    assert fmt.share(934, 1000) == "93,4 % of 1.000"
    assert fmt.days(14) == "14 hari" and fmt.days(2.5) == "3 hari"  # whole days, half up
    assert fmt.age_bands([1, 3, 7]) == ["< 1 hari", "1-3 hari", "3-7 hari", ">= 7 hari"]
    when = datetime(2026, 12, 4, 8, 5, tzinfo=ZoneInfo("Asia/Jakarta"))
    assert fmt.moment(when) == "2026-12-04 08:05 WIB"


@given(AMOUNTS)
def test_a_full_rupiah_reads_back_as_the_whole_amount(amount: Decimal) -> None:
    assert fmt.parse_rupiah(fmt.rupiah(amount)) == amount.quantize(Decimal(1), "ROUND_HALF_UP")


@given(AMOUNTS)
def test_rupiah_in_words_reads_back_within_half_a_tenth_of_its_unit(amount: Decimal) -> None:
    text = fmt.rupiah_words(amount)
    back = fmt.parse_rupiah(text)
    unit = next((scale for name, scale in fmt.UNITS if text.endswith(name)), 1)
    assert abs(back - amount) <= Decimal("0.05") * unit + Decimal("0.5")


@given(AMOUNTS, AMOUNTS)
def test_rupiah_in_words_never_reverses_an_order(a: Decimal, b: Decimal) -> None:
    low, high = sorted((a, b))
    assert fmt.parse_rupiah(fmt.rupiah_words(low)) <= fmt.parse_rupiah(fmt.rupiah_words(high))


def test_a_text_that_is_not_rupiah_is_refused() -> None:
    with pytest.raises(ValueError, match="not a rupiah amount"):
        fmt.parse_rupiah("IDR 1,500,000")


def test_failed_runs_link_to_the_prefect_ui_only_when_there_is_one() -> None:
    from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL, temporary_settings

    from claims_askes.reporting.model import Dashboard, FailedRun
    from claims_askes.reporting.page import render_html
    from tasks.reporting import EPHEMERAL_NOTE, ui_base_url

    with temporary_settings(restore_defaults={PREFECT_API_URL, PREFECT_UI_URL}):
        assert ui_base_url() is None  # the ephemeral API: no UI to link to
    with temporary_settings(
        updates={PREFECT_API_URL: "http://prefect.internal:4200/api"},
        restore_defaults={PREFECT_UI_URL},
    ):
        assert ui_base_url() == "http://prefect.internal:4200"
    with temporary_settings(
        updates={
            PREFECT_API_URL: "http://prefect.internal:4200/api",
            PREFECT_UI_URL: "https://prefect.example.co.id/",
        }
    ):
        assert ui_base_url() == "https://prefect.example.co.id"

    run = FailedRun("claim-adjudication", "brave-fox", "0d1f", "Failed", None, "boom", None)
    page = render_html(
        Dashboard(
            generated_at=datetime(2026, 12, 4, 8, tzinfo=ZoneInfo("Asia/Jakarta")),
            timezone="Asia/Jakarta",
            failed_runs=[run],
            runs_note=EPHEMERAL_NOTE,
        )
    )
    assert "0d1f" in page and "brave-fox" in page and "/runs/flow-run/" not in page
    assert "run ids only" in page
