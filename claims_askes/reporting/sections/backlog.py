"""Backlog and aging: the open claims by status and by the time since their submission."""

from __future__ import annotations

from decimal import Decimal

from claims_askes.reporting import formatting as fmt
from claims_askes.reporting.blocks import note, table
from claims_askes.reporting.model import OPEN_STATUSES, Dashboard


def _row(label: str, counts: list[int], charged: Decimal) -> list[str]:
    return [
        label,
        *(fmt.integer(n) for n in counts),
        fmt.integer(sum(counts)),
        fmt.rupiah_words(charged),
    ]


def render(d: Dashboard) -> str:
    labels = fmt.age_bands(d.age_bands_days)
    rows = []
    totals = [0] * len(labels)
    for status, label in OPEN_STATUSES:
        counts = d.backlog.get(status, [0] * len(labels))
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
        rows.append(_row(label, counts, d.backlog_charged.get(status, Decimal(0))))
    rows.append(_row("all open", totals, sum(d.backlog_charged.values(), Decimal(0))))
    return (
        "<h2>Backlog and aging</h2>"
        + note("Open claims by the time since their submission.")
        + table(["status", *labels, "total", "charged"], rows)
    )
