"""The claims operations dashboard: read each schema as reporting_user (read-only), read the
failed runs from the Prefect API, build the page, write it, and publish it as an artifact
(the headline and where the file is) on every run.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from claims_askes.core.parameters import takes
from claims_askes.core.settings import get_settings
from claims_askes.reporting import formatting as fmt
from claims_askes.reporting.building import build_dashboard, provider_ids
from claims_askes.reporting.model import Dashboard
from claims_askes.reporting.page import write_html
from schemas.dashboard import DashboardOutcome, DashboardParameters
from tasks.reporting import failed_runs, read_claims, read_decided_at, read_payments, read_providers


def markdown(d: Dashboard, path: Path) -> str:
    """The artifact: the headline numbers and the page's place."""
    decided = (
        f"{fmt.share(d.decision.within_sla, d.decision.count)} within "
        f"{fmt.hours(d.decision_sla_hours)}"
        if d.decision
        else "none in the window"
    )
    paid = (
        f"{fmt.share(d.payment.within_sla, d.payment.count)} within {fmt.days(d.payment_sla_days)}"
        if d.payment
        else "no payments yet"
    )
    return (
        f"# Claims dashboard\n\n[{path.name}]({path.as_uri()}) (`{path}`), generated "
        f"{fmt.moment(d.generated_at)}.\n\n"
        f"| measure | value |\n|---|---|\n"
        f"| open claims | {fmt.integer(d.open_claims)} |\n"
        f"| pended | {fmt.integer(d.pended_total)} |\n"
        f"| decisions | {decided} |\n"
        f"| payments | {paid} |\n"
        f"| failed runs ({d.failed_runs_hours} jam) | {fmt.integer(len(d.failed_runs or []))} |\n"
    )


@flow(name="claims-dashboard")
@takes(DashboardParameters)
def claims_dashboard(params: DashboardParameters) -> DashboardOutcome:
    """Refresh the claims operations dashboard (HTML) and publish it as an artifact."""
    facts = read_claims(params)
    providers = read_providers(provider_ids(facts))
    payments = read_payments(params.window_days)
    decided_at = read_decided_at([p["claim_id"] for p in payments])
    runs, runs_note = failed_runs(params.failed_runs_hours)
    dashboard = build_dashboard(
        facts,
        params,
        providers=providers,
        payments=payments,
        decided_at=decided_at,
        failed_runs=runs,
        runs_note=runs_note,
        timezone=get_settings().timezone,
    )
    path = write_html(Path(params.output), dashboard)
    create_markdown_artifact(
        key="claims-dashboard",
        markdown=markdown(dashboard, path),
        description="The claims operations dashboard: backlog, SLA, rejections, failed runs",
    )
    outcome = DashboardOutcome(
        path=str(path),
        open_claims=dashboard.open_claims,
        pended_claims=dashboard.pended_total,
        decided=dashboard.decision.count if dashboard.decision else 0,
        within_decision_sla=dashboard.decision.within_sla if dashboard.decision else 0,
        paid=dashboard.payment.count if dashboard.payment else 0,
        failed_runs=len(dashboard.failed_runs or []),
    )
    get_run_logger().info(
        f"dashboard {path}: {outcome.open_claims:,} open, {outcome.pended_claims:,} pended, "
        f"{outcome.failed_runs} failed runs"
    )
    return outcome
