"""Service levels: decision and payment times against the configured service levels."""

from __future__ import annotations

from claims_askes.reporting import formatting as fmt
from claims_askes.reporting.blocks import GREEN, RED, bar, empty, esc, note, table
from claims_askes.reporting.charts import stacked_bars
from claims_askes.reporting.model import Dashboard, TimeSummary


def _band_label(lo: float | None, hi: float | None) -> str:
    if lo is None:
        return f"≤ {fmt.hours(hi)}"
    if hi is None:
        return f"> {fmt.hours(lo)}"
    return f"{fmt.hours(lo)} – {fmt.hours(hi)}"


def distribution(summary: TimeSummary, sla_hours: float) -> str:
    """The bands of a time distribution as bars: green within the service level, red
    beyond it."""
    b = summary.band_bounds_hours
    edges: list[tuple[float | None, float | None]] = [
        (None, b[0]),
        *zip(b, b[1:], strict=False),
        (b[-1], None),
    ]
    top = max(summary.band_counts) or 1
    rows = []
    for (lo, hi), n in zip(edges, summary.band_counts, strict=True):
        within = hi is not None and hi <= sla_hours
        rows.append(
            [
                esc(_band_label(lo, hi)),
                esc(fmt.integer(n)),
                esc(fmt.percent(n, summary.count)),
                bar(n, top, GREEN if within else RED),
            ]
        )
    return table(["time", "claims", "share", ""], rows, raw=True)


def _times(
    title: str, summary: TimeSummary | None, sla_hours: float, what: str, span: str, nothing: str
) -> str:
    """One time distribution under its heading: `what` the claims had done, measured over
    `span`; `nothing` when there is no claim to measure."""
    heading = f"<h3>{esc(title)}</h3>"
    if summary is None:
        return heading + empty(nothing)
    s = summary
    return (
        heading
        + note(
            f"{fmt.integer(s.count)} claims {what}: {fmt.percent(s.within_sla, s.count)} "
            f"within the service level; median {fmt.hours(s.p50_hours)}, 90th percentile "
            f"{fmt.hours(s.p90_hours)} ({span})."
        )
        + distribution(s, sla_hours)
    )


def render(d: Dashboard) -> str:
    decision = _times(
        f"Decision time against the service level of {fmt.hours(d.decision_sla_hours)}",
        d.decision,
        d.decision_sla_hours,
        what=f"decided in the last {d.window_days} hari",
        span="submission to decision",
        nothing="no claim decided in the window",
    )
    payment = _times(
        f"Payment time against the service level of {fmt.days(d.payment_sla_days)}",
        d.payment,
        d.payment_sla_days * 24,
        what="paid",
        span="decision to first payment",
        nothing="no payments yet: no claim was paid in the window",
    )
    daily = stacked_bars(
        "Decisions per day: within and beyond the service level",
        [r.day for r in d.decision_days],
        [
            ("within the service level", GREEN, [float(r.within_sla) for r in d.decision_days]),
            ("beyond it", RED, [float(r.decided - r.within_sla) for r in d.decision_days]),
        ],
        nothing="no claim decided in the window",
    )
    return (
        "<h2>Service levels</h2>"
        f'<div class="grid"><div>{decision}</div><div>{payment}</div></div>{daily}'
    )
