"""The claims dashboard as one self-contained HTML file: inline SVG charts, no script, no
network, so it opens from disk, attaches to an e-mail and prints.

The data is `claims_service.v_claims_dashboard` (the last 30 days of submissions) and the
rejected lines of the same window by reason, read through the read-only reporting
connection (`reporting_user`): a report can never change a claim.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from psycopg.rows import dict_row

from claims_askes.core.settings import Settings, get_settings
from claims_askes.db.connections import connect_url, reporting_url
from claims_askes.db.sqlfiles import queries

STATUS_SERIES: tuple[tuple[str, str, str], ...] = (
    # (column, label, colour)
    ("approved_claims", "approved", "#2e7d32"),
    ("partially_approved_claims", "partially approved", "#9ccc65"),
    ("rejected_claims", "rejected", "#c62828"),
    ("pended_claims", "pended", "#f9a825"),
    ("pending_claims", "submitted / in review", "#90a4ae"),
)


@dataclass(frozen=True)
class DayRow:
    """One day of v_claims_dashboard."""

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


@dataclass
class Dashboard:
    generated_at: datetime
    timezone: str
    days: list[DayRow] = field(default_factory=list)
    reasons: list[ReasonRow] = field(default_factory=list)

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


def read_dashboard(settings: Settings | None = None, reasons: int = 10) -> Dashboard:
    """The dashboard's rows, in the business time zone's days."""
    settings = settings or get_settings()
    q = queries("claims_service")
    with connect_url(reporting_url(settings), application="report") as conn:
        conn.execute("SELECT set_config('TimeZone', %s, false)", (settings.timezone,))
        with conn.cursor(row_factory=dict_row) as cur:
            days = cur.execute(q.dashboard_daily).fetchall()
            top = cur.execute(q.dashboard_rejection_reasons, {"limit": reasons}).fetchall()
    return Dashboard(
        generated_at=datetime.now(ZoneInfo(settings.timezone)),
        timezone=settings.timezone,
        days=[
            DayRow(
                day=r["day"],
                counts={c: int(r[c] or 0) for c, _, _ in STATUS_SERIES},
                charged=Decimal(r["total_charged"]),
                approved=Decimal(r["total_approved"]),
                processing_hours=r["avg_processing_hours"],
            )
            for r in days
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
            for r in top
        ],
    )


# --- formatting -------------------------------------------------------------------------


def rupiah(value: Decimal | float | int) -> str:
    """Rp 1.234.567: Indonesian grouping, whole rupiah (the report's precision)."""
    return "Rp " + f"{round(value):,}".replace(",", ".")


def rupiah_short(value: float) -> str:
    """Axis labels: Rp 1,2 M (miliar), Rp 350 jt (juta), Rp 12 rb (ribu)."""
    for size, unit in ((1e12, "T"), (1e9, "M"), (1e6, "jt"), (1e3, "rb")):
        if abs(value) >= size:
            number = f"{value / size:.1f}".rstrip("0").rstrip(".").replace(".", ",")
            return f"Rp {number} {unit}"
    return f"Rp {value:.0f}"


def nice_ceiling(value: float) -> float:
    """The smallest 1/2/2.5/5 x 10^n at or above value (a readable axis maximum)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


# --- charts (inline SVG) ----------------------------------------------------------------

WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 70, 10, 10, 40


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


def stacked_bars(
    title: str,
    days: list[date],
    series: list[tuple[str, str, list[float]]],
    label: Any = lambda v: f"{v:,.0f}",
) -> str:
    """One bar per day, stacked by series."""
    if not days:
        return _empty(title)
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
                f"<title>{day:%Y-%m-%d} {esc(name)}: {label(values[i])}</title></rect>"
            )
    body += _day_labels(days, slot)
    return _svg(title, body, [(name, colour) for name, colour, _ in series])


def line_chart(
    title: str, days: list[date], series: list[tuple[str, str, list[float | None]]], label: Any
) -> str:
    """One line per series, a dot per day (a gap where a day has no value)."""
    values = [v for _, _, vs in series for v in vs if v is not None]
    if not days or not values:
        return _empty(title)
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


def horizontal_bars(title: str, rows: list[tuple[str, float, str]], colour: str) -> str:
    """One bar per row (label, value, value text), longest first as given."""
    if not rows:
        return _empty(title, "no rejected lines in the window")
    bar_h, label_w = 24, 300
    height = TOP + bar_h * len(rows) + 10
    top = max(v for _, v, _ in rows) or 1.0
    body = []
    for i, (name, value, text) in enumerate(rows):
        y = TOP + bar_h * i
        w = (WIDTH - label_w - 90) * value / top
        body.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" class="axis">'
            f"{esc(name[:48])}</text>"
        )
        body.append(
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{bar_h - 8}" '
            f'fill="{colour}"><title>{esc(name)}: {esc(text)}</title></rect>'
        )
        body.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 16}" class="axis">{esc(text)}</text>')
    return (
        f"<figure><figcaption>{esc(title)}</figcaption>"
        f'<svg viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{esc(title)}" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(body)}</svg></figure>'
    )


def _empty(title: str, why: str = "no claims submitted in the last 30 days") -> str:
    return f'<figure><figcaption>{esc(title)}</figcaption><p class="empty">{esc(why)}</p></figure>'


# --- the page ---------------------------------------------------------------------------

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:800px;color:#212121}
h1{font-size:22px;margin:0 0 4px} .sub{color:#616161;margin:0 0 16px}
.kpis{display:grid;grid-template-columns:repeat(4,1fr);gap:8px;margin:0 0 16px}
.kpi{background:#f5f5f5;border-radius:6px;padding:8px 10px}
.kpi b{display:block;font-size:18px} figure{margin:20px 0}
figcaption{font-weight:600;margin:0 0 6px} svg{width:100%;height:auto}
.axis{font-size:11px;fill:#616161} .legend{font-size:12px;color:#424242}
.key{margin-right:14px;white-space:nowrap} .key i{display:inline-block;width:10px;height:10px;
margin-right:4px;border-radius:2px} .empty{color:#9e9e9e}
table{border-collapse:collapse;width:100%;font-size:12px} td,th{padding:3px 6px;
border-bottom:1px solid #eee;text-align:right} td:first-child,th:first-child{text-align:left}
"""


def _kpis(d: Dashboard) -> str:
    decided = (
        d.count("approved_claims")
        + d.count("partially_approved_claims")
        + d.count("rejected_claims")
    )
    rate = f"{100 * (decided - d.count('rejected_claims')) / decided:.1f} %" if decided else "-"
    items = [
        ("claims (30 days)", f"{d.claims:,}".replace(",", ".")),
        ("approved, fully or in part", rate),
        ("charged", rupiah(d.charged)),
        ("approved", rupiah(d.approved)),
    ]
    return (
        '<div class="kpis">'
        + "".join(f'<div class="kpi">{esc(k)}<b>{esc(v)}</b></div>' for k, v in items)
        + "</div>"
    )


def _table(d: Dashboard) -> str:
    head = "".join(
        f"<th>{esc(h)}</th>"
        for h in (
            "day",
            "claims",
            *(label for _, label, _ in STATUS_SERIES),
            "charged",
            "approved",
            "hours",
        )
    )
    rows = []
    for day in reversed(d.days):
        hours = "-" if day.processing_hours is None else f"{day.processing_hours:.1f}"
        cells = [
            f"{day.day:%Y-%m-%d}",
            str(day.total),
            *(str(day.counts[c]) for c, _, _ in STATUS_SERIES),
            rupiah(day.charged),
            rupiah(day.approved),
            hours,
        ]
        rows.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>")
    return f"<h2>By day</h2><table><tr>{head}</tr>{''.join(rows)}</table>"


def render_html(d: Dashboard) -> str:
    """The whole page: KPIs, four charts, the daily table."""
    days = [r.day for r in d.days]
    claims = stacked_bars(
        "Daily claims by status",
        days,
        [
            (label, colour, [float(r.counts[column]) for r in d.days])
            for column, label, colour in STATUS_SERIES
        ],
    )
    amounts = line_chart(
        "Daily amounts: charged and approved",
        days,
        [
            ("charged", "#1565c0", [float(r.charged) for r in d.days]),
            ("approved", "#2e7d32", [float(r.approved) for r in d.days]),
        ],
        label=rupiah_short,
    )
    reasons = horizontal_bars(
        "Rejection reasons (rejected lines)",
        [
            (
                f"{r.code} (CARC {r.carc}/{r.group_code})",
                float(r.lines),
                f"{r.lines:,} lines, {r.claims:,} claims",
            )
            for r in d.reasons
        ],
        "#c62828",
    )
    hours = line_chart(
        "Average processing hours (submission to decision)",
        days,
        [
            (
                "hours",
                "#6a1b9a",
                [None if r.processing_hours is None else float(r.processing_hours) for r in d.days],
            )
        ],
        label=lambda v: f"{v:,.1f} h",
    )
    when = f"{d.generated_at:%Y-%m-%d %H:%M} ({d.timezone})"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Claims dashboard</title><style>{STYLE}</style></head><body>"
        "<h1>Claims dashboard</h1>"
        f'<p class="sub">Claims submitted in the last 30 days; generated {esc(when)}'
        " from claims_service.v_claims_dashboard.</p>"
        f"{_kpis(d)}{claims}{amounts}{reasons}{hours}{_table(d)}</body></html>\n"
    )


def write_report(path: Path, settings: Settings | None = None) -> tuple[Path, Dashboard]:
    """Read the dashboard and write it to `path` (directories created); returns both."""
    dashboard = read_dashboard(settings)
    path = path.expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(dashboard), encoding="utf-8")
    return path, dashboard
