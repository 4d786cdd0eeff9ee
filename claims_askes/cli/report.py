"""`claims-askes report`: the claims dashboard as one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from claims_askes.cli.common import console, shown, user_errors

DEFAULT_REPORT = Path("reports/claims-dashboard.html")


def print_dashboard_summary(path: Path, dashboard: Any) -> None:
    """The dashboard's headline in the terminal, and where the HTML is."""
    from claims_askes.reporting.dashboard import STATUS_SERIES, rupiah

    table = Table("status", "claims", title=f"claims of the last 30 days: {dashboard.claims:,}")
    for column, label, _ in STATUS_SERIES:
        table.add_row(label, f"{dashboard.count(column):,}")
    console.print(table)
    console.print(f"charged {rupiah(dashboard.charged)}, approved {rupiah(dashboard.approved)}")
    if dashboard.reasons:
        top = dashboard.reasons[0]
        console.print(f"most frequent rejection: {shown(top.code)} ({top.lines:,} lines)")
    console.print(
        f"dashboard: [bold]{shown(path)}[/] (open it in a browser: {shown(path.as_uri())})"
    )


@user_errors
def report(
    output: Annotated[Path, typer.Option(help="Where to write the HTML.")] = DEFAULT_REPORT,
) -> None:
    """The claims dashboard (last 30 days) as one self-contained HTML file with charts."""
    from claims_askes.reporting.dashboard import write_report

    with console.status("reading the claims dashboard"):
        path, dashboard = write_report(output)
    print_dashboard_summary(path, dashboard)
