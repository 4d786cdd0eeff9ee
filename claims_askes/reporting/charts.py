"""Charts as inline SVG, no script nor network: the page opens from disk and prints."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from claims_askes.reporting import formatting as fmt
from claims_askes.reporting.blocks import empty, esc

WIDTH, HEIGHT = 960, 260
LEFT, RIGHT, TOP, BOTTOM = 110, 10, 10, 40
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM

Label = Callable[[float], str]


def nice_ceiling(value: float) -> float:
    """The smallest 1/2/2.5/5 x 10^n at or above value (a readable axis maximum)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def count_label(v: float) -> str:
    return fmt.decimal(Decimal(str(v)), 0) if v == int(v) else fmt.decimal(Decimal(str(v)))


def _frame(max_value: float, label: Label, ticks: int = 4) -> list[str]:
    """Horizontal grid lines with their labels."""
    parts = []
    for i in range(ticks + 1):
        y = TOP + PLOT_HEIGHT - PLOT_HEIGHT * i / ticks
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


def _figure(
    title: str, days: list[date], slot: float, body: list[str], legend: list[tuple[str, str]]
) -> str:
    """The chart: its plot `body`, the day labels under it and the legend."""
    keys = "".join(
        f'<span class="key"><i style="background:{colour}"></i>{esc(name)}</span>'
        for name, colour in legend
    )
    plot = "".join(body + _day_labels(days, slot))
    return (
        f"<figure><figcaption>{esc(title)}</figcaption>"
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{esc(title)}" '
        f'xmlns="http://www.w3.org/2000/svg">{plot}</svg>'
        f'<div class="legend">{keys}</div></figure>'
    )


def empty_figure(title: str, why: str) -> str:
    return f"<figure><figcaption>{esc(title)}</figcaption>{empty(why)}</figure>"


def stacked_bars(
    title: str,
    days: list[date],
    series: list[tuple[str, str, list[float]]],
    label: Label = count_label,
    nothing: str = "no claims in the window",
) -> str:
    """One bar per day, stacked by series; `nothing` says why when there is no day."""
    if not days:
        return empty_figure(title, nothing)
    top = nice_ceiling(max(sum(s[2][i] for s in series) for i in range(len(days))))
    slot = (WIDTH - LEFT - RIGHT) / len(days)
    body = _frame(top, label)
    for i, day in enumerate(days):
        y = float(TOP + PLOT_HEIGHT)
        for name, colour, values in series:
            h = PLOT_HEIGHT * values[i] / top
            if h <= 0:
                continue
            y -= h
            body.append(
                f'<rect x="{LEFT + slot * i + slot * 0.15:.1f}" y="{y:.1f}" '
                f'width="{slot * 0.7:.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{day:%Y-%m-%d} {esc(name)}: {esc(label(values[i]))}</title></rect>"
            )
    return _figure(title, days, slot, body, [(name, colour) for name, colour, _ in series])


def line_chart(
    title: str, days: list[date], series: list[tuple[str, str, list[float | None]]], label: Label
) -> str:
    """One line per series, a dot per day (a gap where a day has no value)."""
    values = [v for _, _, vs in series for v in vs if v is not None]
    if not days or not values:
        return empty_figure(title, "no claims in the window")
    top = nice_ceiling(max(values))
    slot = (WIDTH - LEFT - RIGHT) / len(days)
    body = _frame(top, label)
    for name, colour, vs in series:
        points = [
            (LEFT + slot * (i + 0.5), TOP + PLOT_HEIGHT - PLOT_HEIGHT * v / top, days[i], v)
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
    return _figure(title, days, slot, body, [(name, colour) for name, colour, _ in series])
