"""`claims-askes report` and `claims-askes run claims-dashboard`: the claims operations
dashboard as one self-contained HTML file (backlog and aging, pended claims, service levels,
rejections by provider, failed runs), read as reporting_user."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from claims_askes.cli.common import console, option, parameters, shown, user_errors
from schemas.dashboard import DashboardParameters

DEFAULT_REPORT = Path(DashboardParameters.model_fields["output"].get_default())


def print_dashboard_summary(path: Path, dashboard: Any) -> None:
    """The dashboard's headline in the terminal, and where the HTML is."""
    from claims_askes.reporting import formatting as fmt
    from claims_askes.reporting.model import STATUS_SERIES

    table = Table(
        "status",
        "claims",
        title=f"claims of the last {dashboard.window_days} days: {fmt.integer(dashboard.claims)}",
    )
    for column, label, _ in STATUS_SERIES:
        table.add_row(label, fmt.integer(dashboard.count(column)))
    console.print(table)
    console.print(
        f"charged {fmt.rupiah_words(dashboard.charged)}, "
        f"approved {fmt.rupiah_words(dashboard.approved)}"
    )
    if dashboard.decision:
        d = dashboard.decision
        console.print(
            f"decided within {fmt.hours(dashboard.decision_sla_hours)}: "
            f"{fmt.share(d.within_sla, d.count)}"
        )
    if dashboard.reasons:
        top = dashboard.reasons[0]
        console.print(
            f"most frequent rejection: {shown(top.code)} ({fmt.integer(top.lines)} lines)"
        )
    print_page(path)


def print_page(path: Path) -> None:
    """Where the page is, and how to open it."""
    console.print(
        f"dashboard: [bold]{shown(path)}[/] (open it in a browser: {shown(path.as_uri())})"
    )


def print_dashboard_outcome(outcome: Any) -> None:
    """Where a `claims-dashboard` run wrote the page."""
    print_page(Path(outcome.path))


@user_errors
def report(
    output: Annotated[Path, typer.Option(help="Where to write the HTML.")] = DEFAULT_REPORT,
) -> None:
    """The claims operations dashboard as one self-contained HTML file, without a flow run
    (`run claims-dashboard` is the scheduled flow, with the failed runs and an artifact)."""
    from claims_askes.reporting.dashboard import read_dashboard
    from claims_askes.reporting.page import write_html

    with console.status("reading the claims dashboard"):
        dashboard = read_dashboard()
        path = write_html(output, dashboard)
    print_dashboard_summary(path, dashboard)


@user_errors
def run_claims_dashboard(
    output: str = option(DashboardParameters, "output"),
    window_days: int = option(DashboardParameters, "window_days"),
    decision_sla_hours: float = option(DashboardParameters, "decision_sla_hours"),
    payment_sla_days: float = option(DashboardParameters, "payment_sla_days"),
    age_bands_days: list[int] = option(DashboardParameters, "age_bands_days"),
    top_providers: int = option(DashboardParameters, "top_providers"),
    pended_limit: int = option(DashboardParameters, "pended_limit"),
    failed_runs_hours: int = option(DashboardParameters, "failed_runs_hours"),
) -> None:
    """Refresh the claims operations dashboard and publish it as a Prefect artifact."""
    from flows.claims_dashboard import claims_dashboard

    values = parameters(
        DashboardParameters,
        output=output,
        window_days=window_days,
        decision_sla_hours=decision_sla_hours,
        payment_sla_days=payment_sla_days,
        age_bands_days=age_bands_days,
        top_providers=top_providers,
        pended_limit=pended_limit,
        failed_runs_hours=failed_runs_hours,
    )
    outcome = claims_dashboard(**values.model_dump())
    console.print(
        f"{outcome.open_claims:,} open claims, {outcome.pended_claims:,} pended, "
        f"{outcome.failed_runs} failed runs"
    )
    print_dashboard_outcome(outcome)


def register(run_app: typer.Typer) -> None:
    """Add `claims-askes run claims-dashboard`."""
    run_app.command("claims-dashboard")(run_claims_dashboard)
