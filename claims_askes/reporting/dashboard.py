"""The claims operations dashboard without Prefect (`claims-askes report`): read every part
and write the page; the `claims-dashboard` flow does the same step by step, as tasks.

The dashboard is one self-contained HTML file: inline SVG and CSS bars, no script, no
network, so it opens from disk, attaches to an e-mail and prints. Its modules:

- `sources` reads each schema through the read-only reporting connection (`reporting_user`);
- `building` combines the parts into the records of `model`;
- `page` renders them, one module of `sections` per section, with `blocks` (tables, bars),
  `charts` (SVG) and `style` (CSS); every number, amount, duration and date goes through
  `formatting` (one locale: Indonesian).

Sections: the headline figures; the backlog by status and age band; the pended claims with
the reason they wait and since when; the decision time (and, once claims are paid, the
payment time) against the configured service levels; the providers with the most rejected
lines by reason; the flow runs that failed in the last day; the rejection reasons; the
window's claims by day.
"""

from __future__ import annotations

from pathlib import Path

from claims_askes.core.settings import Settings, get_settings
from claims_askes.reporting.building import build_dashboard, provider_ids
from claims_askes.reporting.model import Dashboard, FailedRun
from claims_askes.reporting.page import write_html
from claims_askes.reporting.sources import (
    read_claims,
    read_decided_at,
    read_payments,
    read_providers,
)
from schemas.dashboard import DashboardParameters

NOT_READ = (
    "Not read: this page was written without a flow run (`claims-askes report`); the "
    "claims-dashboard flow lists the failed runs from the Prefect API."
)


def read_dashboard(
    settings: Settings | None = None,
    params: DashboardParameters | None = None,
    *,
    failed_runs: list[FailedRun] | None = None,
    runs_note: str = NOT_READ,
) -> Dashboard:
    """Read every part and build the dashboard (the flow does the same step by step)."""
    settings = settings or get_settings()
    params = params or DashboardParameters()
    facts = read_claims(params, settings)
    payments = read_payments(params.window_days, settings)
    return build_dashboard(
        facts,
        params,
        providers=read_providers(provider_ids(facts), settings),
        payments=payments,
        decided_at=read_decided_at([p["claim_id"] for p in payments], settings),
        failed_runs=failed_runs,
        runs_note="" if failed_runs is not None else runs_note,
        timezone=settings.timezone,
    )


def write_report(path: Path, settings: Settings | None = None) -> tuple[Path, Dashboard]:
    """Read the dashboard and write it to `path`; returns both."""
    dashboard = read_dashboard(settings)
    return write_html(path, dashboard), dashboard
