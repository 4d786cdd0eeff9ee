"""The providers with the most rejected lines, each with its rejections by reason."""

from __future__ import annotations

from claims_askes.reporting import formatting as fmt
from claims_askes.reporting.blocks import empty, esc, note, table
from claims_askes.reporting.model import Dashboard

HEADING = "<h2>Providers with the most rejections</h2>"


def _chips(reasons: list[tuple[str, int]]) -> str:
    return " ".join(
        f'<span class="chip">{esc(code)} {esc(fmt.integer(n))}</span>' for code, n in reasons
    )


def render(d: Dashboard) -> str:
    if not d.providers:
        return HEADING + empty("no rejected lines in the window")
    rows = [
        [esc(p.provider), esc(fmt.integer(p.lines)), esc(fmt.integer(p.claims)), _chips(p.reasons)]
        for p in d.providers
    ]
    return (
        HEADING
        + note(f"Rejected lines of claims submitted in the last {d.window_days} hari, by reason.")
        # the reasons are text: left, and wrapping
        + table(["provider", "rejected lines", "claims", "by reason"], rows, raw=True)
        .replace("<th>by reason</th>", '<th class="t">by reason</th>')
        .replace('<td><span class="chip">', '<td class="t"><span class="chip">')
    )
