"""The headline figures at the top of the page, what an operations lead reads first."""

from __future__ import annotations

from claims_askes.reporting import formatting as fmt
from claims_askes.reporting.blocks import esc
from claims_askes.reporting.model import Dashboard

GOOD_SHARE = 0.9  # decided within the service level: at or above is good, below is bad


def _items(d: Dashboard) -> list[tuple[str, str, str]]:
    """(label, value, class) of each figure."""
    items = [
        ("open claims", fmt.integer(d.open_claims), ""),
        ("pended", fmt.integer(sum(d.backlog.get("pended", []))), ""),
    ]
    if d.decision:
        share = d.decision.within_sla / d.decision.count
        items.append(
            (
                f"decided within {fmt.hours(d.decision_sla_hours)}",
                fmt.share(d.decision.within_sla, d.decision.count),
                "good" if share >= GOOD_SHARE else "bad",
            )
        )
        items.append(("decision time p90", fmt.hours(d.decision.p90_hours), ""))
    else:
        items.append(("decided in the window", "0", ""))
    if d.payment:
        items.append(
            (
                f"paid within {fmt.days(d.payment_sla_days)}",
                fmt.percent(d.payment.within_sla, d.payment.count),
                "",
            )
        )
    else:
        items.append(("payments", "no payments yet", ""))
    failed = len(d.failed_runs or [])
    items.append(
        (
            f"failed runs ({d.failed_runs_hours} jam)",
            fmt.integer(failed) if d.failed_runs is not None else "not read",
            "bad" if failed else "",
        )
    )
    items.append((f"charged ({d.window_days} hari)", fmt.rupiah_words(d.charged), ""))
    items.append((f"approved ({d.window_days} hari)", fmt.rupiah_words(d.approved), ""))
    return items


def render(d: Dashboard) -> str:
    return (
        '<div class="kpis">'
        + "".join(
            f'<div class="{f"kpi {c}" if c else "kpi"}">{esc(k)}<b>{esc(v)}</b></div>'
            for k, v, c in _items(d)
        )
        + "</div>"
    )
