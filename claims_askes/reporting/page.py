"""The whole page from its sections, and writing it so that a reader never sees half of it."""

from __future__ import annotations

from pathlib import Path

from claims_askes.reporting import formatting as fmt
from claims_askes.reporting.blocks import esc
from claims_askes.reporting.model import Dashboard
from claims_askes.reporting.sections import (
    backlog,
    failed_runs,
    headline,
    pended,
    providers,
    reasons,
    service_levels,
    submissions,
)
from claims_askes.reporting.style import STYLE

# The sections, top to bottom.
SECTIONS = (
    headline,
    backlog,
    pended,
    service_levels,
    providers,
    failed_runs,
    reasons,
    submissions,
)


def render_html(d: Dashboard) -> str:
    """The whole page."""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Claims operations dashboard</title><style>{STYLE}</style></head><body><main>"
        "<h1>Claims operations dashboard</h1>"
        f'<p class="sub">Generated {esc(fmt.moment(d.generated_at))} ({esc(d.timezone)}), '
        f"read-only as reporting_user. Window: the last {d.window_days} hari; decision service "
        f"level {esc(fmt.hours(d.decision_sla_hours))}, payment service level "
        f"{esc(fmt.days(d.payment_sla_days))}.</p>"
        + "".join(section.render(d) for section in SECTIONS)
        + "</main></body></html>\n"
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
