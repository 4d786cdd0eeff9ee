"""The rejection reasons of the window: what each means, its CARC code, and how often."""

from __future__ import annotations

from claims_askes.reporting import formatting as fmt
from claims_askes.reporting.blocks import RED, bar, empty, esc, table
from claims_askes.reporting.model import Dashboard

HEADING = "<h2>Rejection reasons</h2>"


def render(d: Dashboard) -> str:
    if not d.reasons:
        return HEADING + empty("no rejected lines in the window")
    top = max(r.lines for r in d.reasons)
    rows = [
        [
            esc(r.code),
            esc(r.description),
            esc(f"{r.carc}/{r.group_code}"),
            esc(fmt.integer(r.lines)),
            esc(fmt.integer(r.claims)),
            esc(fmt.rupiah_words(r.charged)),
            bar(r.lines, top, RED),
        ]
        for r in d.reasons
    ]
    return HEADING + table(
        ["reason", "meaning", "CARC", "lines", "claims", "charged", ""],
        rows,
        text_columns=3,
        raw=True,
    )
