"""The claims operations dashboard as one self-contained HTML file: inline SVG and CSS bars,
no script, no network, so it opens from disk, attaches to an e-mail and prints.

`build_dashboard` combines what `sources` read per schema through the read-only reporting
connection (`reporting_user`) with the failed flow runs the Prefect API knows;
`render_html` writes the page. Every number, amount, duration and date on the page goes
through `formatting` (one locale: Indonesian).

Sections: the backlog by status and age band; the pended claims with the reason they wait
and since when; the decision time (and, once claims are paid, the payment time) against
the configured service levels; the providers with the most rejected lines by reason; the
flow runs that failed in the last day; the window's claims by day.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from claims_askes.core.settings import Settings, get_settings
from claims_askes.reporting import formatting as fmt
from claims_askes.reporting.sources import (
    ClaimsFacts,
    read_claims,
    read_decided_at,
    read_payments,
    read_providers,
)

STATUS_SERIES: tuple[tuple[str, str, str], ...] = (
    # (column, label, colour)
    ("approved_claims", "approved", "#2e7d32"),
    ("partially_approved_claims", "partially approved", "#9ccc65"),
    ("rejected_claims", "rejected", "#c62828"),
    ("pended_claims", "pended", "#f9a825"),
    ("pending_claims", "submitted / in review", "#90a4ae"),
)
OPEN_STATUSES: tuple[tuple[str, str], ...] = (
    ("submitted", "submitted"),
    ("in_review", "in review"),
    ("pended", "pended"),
)
# Decision-time bands (hours) of the distribution; the service level is added as a bound.
DECISION_BANDS_HOURS: tuple[float, ...] = (4, 24, 48, 72, 120, 168, 336)
PAYMENT_BANDS_DAYS: tuple[float, ...] = (1, 3, 7, 14, 30)
GREEN, RED, GREY = "#2e7d32", "#c62828", "#90a4ae"
NOT_READ = (
    "Not read: this page was written without a flow run (`claims-askes report`); the "
    "claims-dashboard flow lists the failed runs from the Prefect API."
)


@dataclass(frozen=True)
class DayRow:
    """One day of submissions in the window."""

    day: date
    counts: dict[str, int]
    charged: Decimal
    approved: Decimal
    processing_hours: Decimal | None

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class ReasonRow:
    code: str
    description: str
    carc: str
    group_code: str
    lines: int
    claims: int
    charged: Decimal


@dataclass(frozen=True)
class PendedClaim:
    claim_number: str
    provider: str
    reason_code: str
    reason: str
    since: datetime
    submitted: datetime
    charged: Decimal


@dataclass(frozen=True)
class DecisionDay:
    day: date
    decided: int
    within_sla: int
    p50_hours: Decimal | None
    p90_hours: Decimal | None


@dataclass(frozen=True)
class TimeSummary:
    """A time distribution against its service level (hours)."""

    count: int
    within_sla: int
    p50_hours: Decimal | None
    p90_hours: Decimal | None
    band_bounds_hours: list[float]
    band_counts: list[int]


@dataclass(frozen=True)
class ProviderRejections:
    provider: str
    lines: int
    claims: int
    reasons: list[tuple[str, int]]


@dataclass(frozen=True)
class FailedRun:
    flow: str
    name: str
    run_id: str
    state: str
    when: datetime | None
    message: str
    url: str | None


@dataclass
class Dashboard:
    generated_at: datetime
    timezone: str
    window_days: int = 30
    decision_sla_hours: float = 72
    payment_sla_days: float = 14
    age_bands_days: list[int] = field(default_factory=lambda: [1, 3, 7, 14, 30])
    days: list[DayRow] = field(default_factory=list)
    reasons: list[ReasonRow] = field(default_factory=list)
    backlog: dict[str, list[int]] = field(default_factory=dict)
    backlog_charged: dict[str, Decimal] = field(default_factory=dict)
    pended: list[PendedClaim] = field(default_factory=list)
    pended_total: int = 0
    decision_days: list[DecisionDay] = field(default_factory=list)
    decision: TimeSummary | None = None
    payment: TimeSummary | None = None  # None: no claim paid in the window yet
    providers: list[ProviderRejections] = field(default_factory=list)
    failed_runs: list[FailedRun] | None = field(default_factory=list)  # None: not read
    runs_note: str = ""
    failed_runs_hours: int = 24

    @property
    def claims(self) -> int:
        return sum(d.total for d in self.days)

    def count(self, column: str) -> int:
        return sum(d.counts[column] for d in self.days)

    @property
    def charged(self) -> Decimal:
        return sum((d.charged for d in self.days), Decimal(0))

    @property
    def approved(self) -> Decimal:
        return sum((d.approved for d in self.days), Decimal(0))

    @property
    def open_claims(self) -> int:
        return sum(sum(v) for v in self.backlog.values())


# --- building ---------------------------------------------------------------------------


def decision_bands(sla_hours: float) -> list[float]:
    """The decision-time bands (hours), the service level always one of the bounds."""
    return sorted({*DECISION_BANDS_HOURS, float(sla_hours)})


def payment_bands(sla_days: float) -> list[float]:
    return sorted({*(d * 24 for d in PAYMENT_BANDS_DAYS), float(sla_days) * 24})


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def payment_times(
    payments: list[dict[str, Any]], decided_at: dict[str, datetime], sla_days: float
) -> TimeSummary | None:
    """Hours from a claim's decision to its first payment, against `sla_days`; None when no
    claim was paid in the window (payments may not exist yet)."""
    if not payments:
        return None
    paid = pd.DataFrame(payments)
    paid["decided_at"] = paid["claim_id"].map(decided_at)
    paid = paid.dropna(subset=["decided_at", "paid_at"])
    if paid.empty:
        return None
    seconds = (
        pd.to_datetime(paid["paid_at"], utc=True) - pd.to_datetime(paid["decided_at"], utc=True)
    ).dt.total_seconds()
    hours = np.maximum(seconds.to_numpy(dtype=np.float64), 0.0) / 3600
    bounds = payment_bands(sla_days)
    counts = np.bincount(np.searchsorted(bounds, hours, side="right"), minlength=len(bounds) + 1)
    return TimeSummary(
        count=len(hours),
        within_sla=int((hours <= sla_days * 24).sum()),
        p50_hours=Decimal(f"{np.percentile(hours, 50):.2f}"),
        p90_hours=Decimal(f"{np.percentile(hours, 90):.2f}"),
        band_bounds_hours=bounds,
        band_counts=[int(c) for c in counts],
    )


def build_dashboard(
    facts: ClaimsFacts,
    *,
    providers: dict[str, dict[str, str]],
    payment: TimeSummary | None,
    failed_runs: list[FailedRun] | None,
    runs_note: str,
    window_days: int,
    decision_sla_hours: float,
    payment_sla_days: float,
    age_bands_days: list[int],
    failed_runs_hours: int = 24,
    timezone: str = "Asia/Jakarta",
    generated_at: datetime | None = None,
) -> Dashboard:
    """The dashboard from its parts (each read from one schema)."""

    def provider(pid: Any) -> str:
        p = providers.get(str(pid))
        return f"{p['name']} ({p['code']})" if p else f"unknown provider {pid}"

    bands = len(age_bands_days) + 1
    backlog = {status: [0] * bands for status, _ in OPEN_STATUSES}
    charged = {status: Decimal(0) for status, _ in OPEN_STATUSES}
    for r in facts.backlog:
        status = r["status"]
        backlog.setdefault(status, [0] * bands)[int(r["band"])] += int(r["claims"])
        charged[status] = charged.get(status, Decimal(0)) + Decimal(r["charged"])

    by_provider: dict[str, ProviderRejections] = {}
    for r in facts.provider_rejections:
        key = str(r["provider_id"])
        if key not in by_provider:
            by_provider[key] = ProviderRejections(
                provider(key), int(r["provider_lines"]), int(r["provider_claims"]), []
            )
        by_provider[key].reasons.append((r["reason_code"], int(r["lines"])))

    s = facts.decision_summary
    bounds = decision_bands(decision_sla_hours)
    band_counts = [int((s.get("bands") or {}).get(str(i), 0)) for i in range(len(bounds) + 1)]
    decision = (
        TimeSummary(
            count=int(s["decided"]),
            within_sla=int(s["within_sla"]),
            p50_hours=_dec(s["p50_hours"]),
            p90_hours=_dec(s["p90_hours"]),
            band_bounds_hours=bounds,
            band_counts=band_counts,
        )
        if s and s.get("decided")
        else None
    )
    return Dashboard(
        generated_at=generated_at or datetime.now(ZoneInfo(timezone)),
        timezone=timezone,
        window_days=window_days,
        decision_sla_hours=decision_sla_hours,
        payment_sla_days=payment_sla_days,
        age_bands_days=list(age_bands_days),
        days=[
            DayRow(
                day=r["day"],
                counts={c: int(r[c] or 0) for c, _, _ in STATUS_SERIES},
                charged=Decimal(r["total_charged"]),
                approved=Decimal(r["total_approved"]),
                processing_hours=r["avg_processing_hours"],
            )
            for r in facts.daily
        ],
        reasons=[
            ReasonRow(
                code=r["reason_code"],
                description=r["description"],
                carc=r["carc"],
                group_code=r["group_code"],
                lines=int(r["lines"]),
                claims=int(r["claims"]),
                charged=Decimal(r["charged"]),
            )
            for r in facts.reasons
        ],
        backlog=backlog,
        backlog_charged=charged,
        pended=[
            PendedClaim(
                claim_number=r["claim_number"],
                provider=provider(r["provider_id"]),
                reason_code=r["reason_code"],
                reason=r["reason"],
                since=r["pended_since"],
                submitted=r["submission_date"],
                charged=Decimal(r["charged"]),
            )
            for r in facts.pended
        ],
        pended_total=int(facts.pended[0]["total"]) if facts.pended else 0,
        decision_days=[
            DecisionDay(
                day=r["day"],
                decided=int(r["decided"]),
                within_sla=int(r["within_sla"]),
                p50_hours=_dec(r["p50_hours"]),
                p90_hours=_dec(r["p90_hours"]),
            )
            for r in facts.decisions
        ],
        decision=decision,
        payment=payment,
        providers=list(by_provider.values()),
        failed_runs=failed_runs,
        runs_note=runs_note,
        failed_runs_hours=failed_runs_hours,
    )


def provider_ids(facts: ClaimsFacts) -> list[str]:
    """The providers the dashboard names (pended claims and rejections)."""
    ids = {str(r["provider_id"]) for r in facts.pended}
    ids |= {str(r["provider_id"]) for r in facts.provider_rejections}
    return sorted(ids)


# --- charts (inline SVG) ----------------------------------------------------------------

WIDTH, HEIGHT = 960, 260
LEFT, RIGHT, TOP, BOTTOM = 110, 10, 10, 40


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def nice_ceiling(value: float) -> float:
    """The smallest 1/2/2.5/5 x 10^n at or above value (a readable axis maximum)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def _count_label(v: float) -> str:
    return fmt.decimal(Decimal(str(v)), 0) if v == int(v) else fmt.decimal(Decimal(str(v)))


def _frame(max_value: float, label: Any, ticks: int = 4) -> list[str]:
    """Horizontal grid lines with their labels."""
    parts = []
    plot_h = HEIGHT - TOP - BOTTOM
    for i in range(ticks + 1):
        y = TOP + plot_h - plot_h * i / ticks
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e0e0e0"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
            f'class="axis">{esc(label(max_value * i / ticks))}</text>'
        )
    return parts


def _day_labels(days: list[date], slot: float) -> list[str]:
    every = max(1, round(len(days) / 10))
    return [
        f'<text x="{LEFT + slot * (i + 0.5):.1f}" y="{HEIGHT - BOTTOM + 16}" '
        f'text-anchor="middle" class="axis">{d:%d/%m}</text>'
        for i, d in enumerate(days)
        if i % every == 0
    ]


def _svg(title: str, body: list[str], legend: list[tuple[str, str]]) -> str:
    keys = "".join(
        f'<span class="key"><i style="background:{colour}"></i>{esc(name)}</span>'
        for name, colour in legend
    )
    return (
        f"<figure><figcaption>{esc(title)}</figcaption>"
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{esc(title)}" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(body)}</svg>'
        f'<div class="legend">{keys}</div></figure>'
    )


def _empty(title: str, why: str) -> str:
    return f'<figure><figcaption>{esc(title)}</figcaption><p class="empty">{esc(why)}</p></figure>'


def stacked_bars(
    title: str,
    days: list[date],
    series: list[tuple[str, str, list[float]]],
    label: Any = _count_label,
    empty: str = "no claims in the window",
) -> str:
    """One bar per day, stacked by series."""
    if not days:
        return _empty(title, empty)
    totals = [sum(s[2][i] for s in series) for i in range(len(days))]
    top = nice_ceiling(max(totals))
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / len(days)
    body = _frame(top, label)
    for i, day in enumerate(days):
        y = float(TOP + plot_h)
        for name, colour, values in series:
            h = plot_h * values[i] / top
            if h <= 0:
                continue
            y -= h
            body.append(
                f'<rect x="{LEFT + slot * i + slot * 0.15:.1f}" y="{y:.1f}" '
                f'width="{slot * 0.7:.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{day:%Y-%m-%d} {esc(name)}: {esc(label(values[i]))}</title></rect>"
            )
    body += _day_labels(days, slot)
    return _svg(title, body, [(name, colour) for name, colour, _ in series])


def line_chart(
    title: str, days: list[date], series: list[tuple[str, str, list[float | None]]], label: Any
) -> str:
    """One line per series, a dot per day (a gap where a day has no value)."""
    values = [v for _, _, vs in series for v in vs if v is not None]
    if not days or not values:
        return _empty(title, "no claims in the window")
    top = nice_ceiling(max(values))
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / len(days)
    body = _frame(top, label)
    for name, colour, vs in series:
        points = [
            (LEFT + slot * (i + 0.5), TOP + plot_h - plot_h * v / top, days[i], v)
            for i, v in enumerate(vs)
            if v is not None
        ]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points)
        body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        body += [
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
            f"<title>{d:%Y-%m-%d} {esc(name)}: {esc(label(v))}</title></circle>"
            for x, y, d, v in points
        ]
    body += _day_labels(days, slot)
    return _svg(title, body, [(name, colour) for name, colour, _ in series])


# --- tables -----------------------------------------------------------------------------


def table(
    headers: list[str], rows: list[list[str]], text_columns: int = 1, raw: bool = False
) -> str:
    """A table across the page width; the first `text_columns` columns are text (left),
    the others numbers (right). Cells are escaped unless `raw` (already HTML)."""

    def cls(i: int) -> str:
        return ' class="t"' if i < text_columns else ""

    head = "".join(f"<th{cls(i)}>{esc(h)}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>"
        + "".join(f"<td{cls(i)}>{c if raw else esc(c)}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def bar(value: float, top: float, colour: str) -> str:
    """A CSS bar, `value` of `top` wide."""
    width = 0.0 if top <= 0 else 100 * value / top
    return f'<span class="bar"><i style="width:{width:.1f}%;background:{colour}"></i></span>'


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


# --- the page ---------------------------------------------------------------------------

STYLE = """
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
padding:16px 24px;color:#212121;background:#fff}
main{max-width:1600px;margin:0 auto}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;padding-bottom:4px;
border-bottom:1px solid #e0e0e0} h3{font-size:14px;margin:16px 0 6px}
.sub{color:#616161;margin:0 0 16px} .note{color:#616161;margin:4px 0 8px}
p,td,th,figcaption,.kpi,.legend,.chip{overflow-wrap:break-word} td.t{overflow-wrap:anywhere}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,180px),1fr));gap:8px;
margin:0 0 16px}
.kpi{background:#f5f5f5;border-radius:6px;padding:8px 10px;min-width:0}
.kpi b{display:block;font-size:18px} .kpi.bad{background:#ffebee} .kpi.good{background:#e8f5e9}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,560px),1fr));gap:8px 32px}
.grid>*{min-width:0}
figure{margin:16px 0} figcaption{font-weight:600;margin:0 0 6px}
svg{width:100%;height:auto;display:block}
.axis{font-size:12px;fill:#616161} .legend{font-size:12px;color:#424242}
.key{margin-right:14px;display:inline-block} .key i{display:inline-block;width:10px;height:10px;
margin-right:4px;border-radius:2px}
.empty{color:#757575;font-style:italic}
table{border-collapse:collapse;width:100%;font-size:13px;margin:4px 0 8px}
td,th{padding:4px 8px;border-bottom:1px solid #eee;text-align:right;vertical-align:top}
th{background:#fafafa;font-weight:600} .t{text-align:left}
td,th{white-space:nowrap} td.t,th.t{white-space:normal}
tbody tr:hover{background:#fafafa}
.bar{display:block;min-width:60px;height:12px;margin-top:3px;background:#f5f5f5;border-radius:2px}
.bar i{display:block;height:100%;border-radius:2px}
.chip{display:inline-block;background:#ffebee;border-radius:10px;padding:0 8px;margin:1px 4px 1px 0;
font-size:12px}
a{color:#1565c0}
@media (max-width:720px){body{padding:8px} td,th{padding:3px 4px;font-size:12px;
white-space:normal;overflow-wrap:anywhere}
h1{font-size:19px} .kpi b{font-size:16px}}
"""


def _kpis(d: Dashboard) -> str:
    pended = sum(d.backlog.get("pended", []))
    items: list[tuple[str, str, str]] = [
        ("open claims", fmt.integer(d.open_claims), ""),
        ("pended", fmt.integer(pended), ""),
    ]
    if d.decision:
        share = d.decision.within_sla / d.decision.count
        items.append(
            (
                f"decided within {fmt.hours(d.decision_sla_hours)}",
                f"{fmt.percent(d.decision.within_sla, d.decision.count)} of "
                f"{fmt.integer(d.decision.count)}",
                "good" if share >= 0.9 else "bad",
            )
        )
        items.append(("decision time p90", fmt.hours(d.decision.p90_hours), ""))
    else:
        items.append(("decided in the window", "0", ""))
    if d.payment:
        items.append(
            (
                f"paid within {fmt.decimal(Decimal(str(d.payment_sla_days)), 0)} hari",
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
    return (
        '<div class="kpis">'
        + "".join(
            f'<div class="kpi {c}">{esc(k)}<b>{esc(v)}</b></div>'.replace(' ">', '">')
            for k, v, c in items
        )
        + "</div>"
    )


def _backlog(d: Dashboard) -> str:
    labels = fmt.age_bands(d.age_bands_days)
    rows = []
    totals = [0] * len(labels)
    for status, label in OPEN_STATUSES:
        counts = d.backlog.get(status, [0] * len(labels))
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
        rows.append(
            [
                label,
                *(fmt.integer(n) for n in counts),
                fmt.integer(sum(counts)),
                fmt.rupiah_words(d.backlog_charged.get(status, Decimal(0))),
            ]
        )
    rows.append(
        [
            "all open",
            *(fmt.integer(n) for n in totals),
            fmt.integer(sum(totals)),
            fmt.rupiah_words(sum(d.backlog_charged.values(), Decimal(0))),
        ]
    )
    return (
        "<h2>Backlog and aging</h2>"
        '<p class="note">Open claims by the time since their submission.</p>'
        + table(["status", *labels, "total", "charged"], rows)
    )


def _pended(d: Dashboard) -> str:
    if not d.pended:
        return '<h2>Pended claims</h2><p class="empty">no pended claims</p>'
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
        "<h2>Pended claims</h2>"
        f'<p class="note">Claims waiting, with the reason and since when: {esc(shown)}.</p>'
        + table(
            ["claim", "provider", "reason", "pended since", "waiting", "submitted", "charged"],
            rows,
            text_columns=3,
        )
    )


def _sla(d: Dashboard) -> str:
    title = f"Decision time against the service level of {fmt.hours(d.decision_sla_hours)}"
    if d.decision is None:
        decision = f'<h3>{esc(title)}</h3><p class="empty">no claim decided in the window</p>'
    else:
        s = d.decision
        decision = (
            f"<h3>{esc(title)}</h3>"
            f'<p class="note">{esc(fmt.integer(s.count))} claims decided in the last '
            f"{d.window_days} hari: {esc(fmt.percent(s.within_sla, s.count))} within the "
            f"service level; median {esc(fmt.hours(s.p50_hours))}, 90th percentile "
            f"{esc(fmt.hours(s.p90_hours))} (submission to decision).</p>"
            + distribution(s, d.decision_sla_hours)
        )
    days = [r.day for r in d.decision_days]
    daily = stacked_bars(
        "Decisions per day: within and beyond the service level",
        days,
        [
            ("within the service level", GREEN, [float(r.within_sla) for r in d.decision_days]),
            (
                "beyond it",
                RED,
                [float(r.decided - r.within_sla) for r in d.decision_days],
            ),
        ],
        empty="no claim decided in the window",
    )
    sla_days = fmt.decimal(Decimal(str(d.payment_sla_days)), 0)
    ptitle = f"Payment time against the service level of {sla_days} hari"
    if d.payment is None:
        payment = (
            f"<h3>{esc(ptitle)}</h3>"
            '<p class="empty">no payments yet: no claim was paid in the window</p>'
        )
    else:
        p = d.payment
        payment = (
            f"<h3>{esc(ptitle)}</h3>"
            f'<p class="note">{esc(fmt.integer(p.count))} claims paid: '
            f"{esc(fmt.percent(p.within_sla, p.count))} within the service level; median "
            f"{esc(fmt.hours(p.p50_hours))}, 90th percentile {esc(fmt.hours(p.p90_hours))} "
            "(decision to first payment).</p>" + distribution(p, d.payment_sla_days * 24)
        )
    return (
        "<h2>Service levels</h2>"
        f'<div class="grid"><div>{decision}</div><div>{payment}</div></div>{daily}'
    )


def _providers(d: Dashboard) -> str:
    if not d.providers:
        return (
            "<h2>Providers with the most rejections</h2>"
            '<p class="empty">no rejected lines in the window</p>'
        )
    rows = [
        [
            esc(p.provider),
            esc(fmt.integer(p.lines)),
            esc(fmt.integer(p.claims)),
            " ".join(
                f'<span class="chip">{esc(code)} {esc(fmt.integer(n))}</span>'
                for code, n in p.reasons
            ),
        ]
        for p in d.providers
    ]
    return (
        "<h2>Providers with the most rejections</h2>"
        f'<p class="note">Rejected lines of claims submitted in the last {d.window_days} hari, '
        "by reason.</p>"
        + table(["provider", "rejected lines", "claims", "by reason"], rows, raw=True)
        .replace("<th>by reason</th>", '<th class="t">by reason</th>')
        .replace('<td><span class="chip">', '<td class="t"><span class="chip">')
    )


def _reasons(d: Dashboard) -> str:
    if not d.reasons:
        return '<h2>Rejection reasons</h2><p class="empty">no rejected lines in the window</p>'
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
    return "<h2>Rejection reasons</h2>" + table(
        ["reason", "meaning", "CARC", "lines", "claims", "charged", ""],
        rows,
        text_columns=3,
        raw=True,
    )


def _failed(d: Dashboard) -> str:
    title = f"<h2>Failed runs in the last {d.failed_runs_hours} jam</h2>"
    note = f'<p class="note">{esc(d.runs_note)}</p>' if d.runs_note else ""
    if d.failed_runs is None:
        return title + note
    if not d.failed_runs:
        return title + note + '<p class="empty">no failed runs</p>'
    tz = d.generated_at.tzinfo
    rows = [
        [
            esc(r.flow),
            (f'<a href="{esc(r.url)}">{esc(r.name)}</a>' if r.url else esc(r.name)),
            esc(r.run_id),
            esc(r.state),
            esc(fmt.moment(r.when.astimezone(tz)) if r.when else "-"),
            esc(r.message or "-"),
        ]
        for r in d.failed_runs
    ]
    return (
        title
        + note
        + table(
            ["flow", "run", "run id", "state", "when", "message"], rows, text_columns=6, raw=True
        )
    )


def _by_day(d: Dashboard) -> str:
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
            ("charged", "#1565c0", [float(r.charged) for r in d.days]),
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


def render_html(d: Dashboard) -> str:
    """The whole page."""
    when = fmt.moment(d.generated_at)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Claims operations dashboard</title><style>{STYLE}</style></head><body><main>"
        "<h1>Claims operations dashboard</h1>"
        f'<p class="sub">Generated {esc(when)} ({esc(d.timezone)}), read-only as '
        f"reporting_user. Window: the last {d.window_days} hari; decision service level "
        f"{esc(fmt.hours(d.decision_sla_hours))}, payment service level "
        f"{esc(fmt.decimal(Decimal(str(d.payment_sla_days)), 0))} hari.</p>"
        f"{_kpis(d)}{_backlog(d)}{_pended(d)}{_sla(d)}{_providers(d)}{_failed(d)}"
        f"{_reasons(d)}{_by_day(d)}</main></body></html>\n"
    )


# --- without Prefect (the `report` command) ---------------------------------------------


def read_dashboard(
    settings: Settings | None = None,
    *,
    window_days: int = 30,
    decision_sla_hours: float = 72,
    payment_sla_days: float = 14,
    age_bands_days: list[int] | None = None,
    top_providers: int = 10,
    pended_limit: int = 50,
    failed_runs: list[FailedRun] | None = None,
    runs_note: str = NOT_READ,
) -> Dashboard:
    """Read every part and build the dashboard (the flow does the same step by step)."""
    settings = settings or get_settings()
    bands = age_bands_days or [1, 3, 7, 14, 30]
    facts = read_claims(
        window_days=window_days,
        age_bands_days=bands,
        decision_sla_hours=decision_sla_hours,
        decision_bands_hours=decision_bands(decision_sla_hours),
        top_providers=top_providers,
        pended_limit=pended_limit,
        settings=settings,
    )
    payments = read_payments(window_days, settings)
    decided = read_decided_at([p["claim_id"] for p in payments], settings)
    return build_dashboard(
        facts,
        providers=read_providers(provider_ids(facts), settings),
        payment=payment_times(payments, decided, payment_sla_days),
        failed_runs=failed_runs,
        runs_note="" if failed_runs is not None else runs_note,
        window_days=window_days,
        decision_sla_hours=decision_sla_hours,
        payment_sla_days=payment_sla_days,
        age_bands_days=bands,
        timezone=settings.timezone,
    )


def write_html(path: Path, dashboard: Dashboard) -> Path:
    """Write the page to `path` (directories created) atomically: a reader never sees half
    a page."""
    path = path.expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(render_html(dashboard), encoding="utf-8")
    partial.replace(path)
    return path


def write_report(path: Path, settings: Settings | None = None) -> tuple[Path, Dashboard]:
    """Read the dashboard and write it to `path`; returns both."""
    dashboard = read_dashboard(settings)
    return write_html(path, dashboard), dashboard
