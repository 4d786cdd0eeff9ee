"""The pended claims: the reason each waits for and since when, the longest waiting first."""

from __future__ import annotations

from decimal import Decimal

from claims_askes.reporting import formatting as fmt
from claims_askes.reporting.blocks import empty, note, table
from claims_askes.reporting.model import Dashboard

HEADING = "<h2>Pended claims</h2>"


def render(d: Dashboard) -> str:
    if not d.pended:
        return HEADING + empty("no pended claims")
    now = d.generated_at
    rows = [
        [
            p.claim_number,
            p.provider,
            f"{p.reason_code}: {p.reason}" if p.reason_code else p.reason or "-",
            fmt.moment(p.since.astimezone(now.tzinfo)),
            fmt.hours(Decimal((now - p.since).total_seconds()) / 3600),
            fmt.day(p.submitted.astimezone(now.tzinfo)),
            fmt.rupiah_words(p.charged),
        ]
        for p in d.pended
    ]
    shown = (
        f"all {fmt.integer(d.pended_total)}"
        if d.pended_total <= len(d.pended)
        else f"the {fmt.integer(len(d.pended))} waiting longest of {fmt.integer(d.pended_total)}"
    )
    return (
        HEADING
        + note(f"Claims waiting, with the reason and since when: {shown}.")
        + table(
            ["claim", "provider", "reason", "pended since", "waiting", "submitted", "charged"],
            rows,
            text_columns=3,
        )
    )
