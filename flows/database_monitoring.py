"""Database monitoring, after the seed's key metrics and health checks: database and table
sizes, connections against max_connections, slow statements (pg_stat_statements), and
common.health_check() with partition runway, default-partition rows, backup freshness and
archive backlog, and WAL archiving (failing, lagging, its repository's disk filling up)
when the server archives; and the audit log's growth per business day by mode (row audit,
statement audit). Results are a table and a markdown artifact; a critical check fails the
run, naming it. With services on several servers (`OTHER_DATABASE_URLS`), every server is
measured and checked: sizes and connections are the sums, a further server's checks carry
its name.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from claims_askes.core.parameters import takes
from claims_askes.db.connections import on_server, servers
from claims_askes.operations import backup as b
from claims_askes.operations.common import HealthCheckFailed, business_today
from schemas.ops import MonitoringParameters, MonitoringReport, age_as_interval
from tasks.backups import wal_archive_checks
from tasks.monitoring import (
    audit_growth,
    health_checks,
    sizes_and_connections,
    slow_statements,
)


def measure(params: MonitoringParameters) -> MonitoringReport:
    """Sizes, connections, slow statements and health checks of the current server, its
    backup freshness from its own backups."""
    report = sizes_and_connections()
    report.slow_statements, report.slow_statements_note = slow_statements(params.slow_ms)
    newest = b.newest_verified(b.list_backups())
    report.checks = health_checks(
        newest.manifest.started_at if newest else None,
        params.backup_max_age_hours,
        params.min_runway_months,
        age_as_interval(params.archive_older_than),
        params.as_of or business_today(),
    )
    report.audit_growth = audit_growth(params.as_of or business_today(), params.audit_days)
    return report


def add_server(report: MonitoringReport, other: MonitoringReport, server: str) -> None:
    """A further server's figures added to the report: sizes and connections summed, its
    tables, statements and checks listed with its name."""
    report.database_size_bytes += other.database_size_bytes
    report.connections += other.connections
    report.max_connections += other.max_connections
    report.tables += [{**t, "server": server} for t in other.tables]
    report.slow_statements += [{**s, "server": server} for s in other.slow_statements]
    report.checks += [
        c.model_copy(update={"check_name": f"{c.check_name} ({server})"}) for c in other.checks
    ]
    report.audit_growth += [g.model_copy(update={"server": server}) for g in other.audit_growth]


def markdown(report: MonitoringReport) -> str:
    checks = "\n".join(f"| {c.check_name} | {c.status} | {c.details} |" for c in report.checks)
    slow = (
        "\n".join(
            f"| {s['mean_ms']} | {s['calls']} | `{str(s['query'])[:80]}` |"
            for s in report.slow_statements
        )
        or "| - | - | none |"
    )
    growth = (
        "\n".join(
            f"| {g.day} | {g.mode}{f' ({g.server})' if g.server else ''} | {g.log_rows:,} | "
            f"{g.log_bytes / 2**20:,.2f} | {g.runs:,} |"
            for g in report.audit_growth
        )
        or "| - | - | 0 | 0 | 0 |"
    )
    return (
        f"# Database monitoring\n\nSize {report.database_size_bytes / 2**20:,.1f} MiB; "
        f"connections {report.connections}/{report.max_connections}.\n\n"
        f"| check | status | details |\n|---|---|---|\n{checks}\n\n"
        f"## Slow statements\n\n{report.slow_statements_note or ''}\n\n"
        f"| mean ms | calls | query |\n|---|---|---|\n{slow}\n\n"
        f"## Audit log growth per day\n\nRow audit: one entry per changed row, with its "
        f"content. Statement audit: one entry per statement and table of a registered batch "
        f"run, whose content is in the versioned records.\n\n"
        f"| day | mode | entries | MiB | batch runs |\n|---|---|---|---|---|\n{growth}\n"
    )


def summary_line(report: MonitoringReport) -> str:
    """One line for the log: size, connections and every check's status."""
    checks = ", ".join(f"{c.check_name} {c.status}" for c in report.checks) or "none"
    return (
        f"database {report.database_size_bytes / 2**20:,.1f} MiB; connections "
        f"{report.connections}/{report.max_connections}; checks: {checks}"
    )


@flow(name="database-monitoring")
@takes(MonitoringParameters)
def database_monitoring(params: MonitoringParameters) -> MonitoringReport:
    """Measure and check the database (every server in use); fails when any check is
    critical."""
    first, *others = servers()
    with on_server(first):
        report = measure(params)
    report.checks += wal_archive_checks()
    for server in others:  # a split: each further server's sizes, sessions and checks too
        with on_server(server):
            add_server(report, measure(params), server.name)
    create_table_artifact(
        key="database-health",
        table=[c.model_dump() for c in report.checks],
        description="common.health_check()",
    )
    create_markdown_artifact(
        key="database-monitoring",
        markdown=markdown(report),
        description="Database size, connections, health checks and slow statements",
    )
    get_run_logger().info(summary_line(report))
    if report.critical:
        raise HealthCheckFailed(
            "critical: " + "; ".join(f"{c.check_name} ({c.details})" for c in report.critical)
        )
    return report
