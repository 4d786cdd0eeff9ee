"""The window's claims by day of submission: counts by status, amounts, time to decision."""

from __future__ import annotations

from decimal import Decimal

from claims_askes.reporting import formatting as fmt
from claims_askes.reporting.blocks import GREEN, table
from claims_askes.reporting.charts import line_chart, stacked_bars
from claims_askes.reporting.model import STATUS_SERIES, Dashboard

CHARGED = "#1565c0"


def render(d: Dashboard) -> str:
    days = [r.day for r in d.days]
    claims = stacked_bars(
        "Claims submitted per day, by status",
        days,
        [
            (label, colour, [float(r.counts[column]) for r in d.days])
            for column, label, colour in STATUS_SERIES
        ],
    )
    amounts = line_chart(
        "Amounts per day of submission: charged and approved",
        days,
        [
            ("charged", CHARGED, [float(r.charged) for r in d.days]),
            ("approved", GREEN, [float(r.approved) for r in d.days]),
        ],
        label=lambda v: fmt.rupiah_words(Decimal(str(round(v)))),
    )
    rows = [
        [
            f"{r.day:%Y-%m-%d}",
            fmt.integer(r.total),
            *(fmt.integer(r.counts[c]) for c, _, _ in STATUS_SERIES),
            fmt.rupiah_words(r.charged),
            fmt.rupiah_words(r.approved),
            fmt.hours(r.processing_hours),
        ]
        for r in reversed(d.days)
    ]
    head = ["day", "claims", *(label for _, label, _ in STATUS_SERIES)]
    return f"<h2>Claims submitted in the last {d.window_days} hari</h2>{claims}{amounts}" + table(
        [*head, "charged", "approved", "to decision"], rows
    )
