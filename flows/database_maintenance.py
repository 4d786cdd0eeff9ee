"""Database maintenance, after the seed's daily/weekly/monthly tasks: ANALYZE (daily),
VACUUM (ANALYZE) (weekly), a bloat report, REINDEX ... CONCURRENTLY when asked, and the
sessions a DBA looks at: long-running statements, idle sessions (terminated only with
`terminate_idle`), lock waits. Nothing here moves data: rerunning is always safe. With
services on several servers (`OTHER_DATABASE_URLS`), every server is maintained.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from claims_askes.core.parameters import takes
from claims_askes.core.services import ALL_SCHEMAS
from claims_askes.db.connections import on_server, servers
from schemas.ops import MaintenanceParameters, MaintenanceReport
from tasks.maintenance import analyze, bloat_report, reindex, sessions, terminate


def publish(report: MaintenanceReport) -> None:
    if report.bloat:
        create_table_artifact(
            key="database-maintenance-bloat",
            table=report.bloat,
            description=f"Dead space per table ({report.bloat_source})",
        )
    create_markdown_artifact(
        key="database-maintenance",
        markdown=(
            f"# Database maintenance\n\nAnalyzed {len(report.analyzed)} tables"
            f"{' (with VACUUM)' if report.vacuumed else ''}; reindexed "
            f"{', '.join(report.reindexed) or 'nothing'}.\n\n"
            f"Long-running statements: {len(report.long_running)}; idle sessions: "
            f"{len(report.idle)} ({len(report.terminated)} terminated); lock waits: "
            f"{len(report.lock_waits)}.\n"
        ),
        description="Database maintenance summary",
    )


@flow(name="database-maintenance")
@takes(MaintenanceParameters)
def database_maintenance(params: MaintenanceParameters) -> MaintenanceReport:
    """Statistics, vacuum, bloat, optional reindex; reports sessions and locks. With
    services on several servers, each server in turn, for the schemas it holds."""
    report = MaintenanceReport()
    for server in servers():
        targets = [s for s in params.schemas or ALL_SCHEMAS if s in server.schemas]
        if targets:
            with on_server(server):
                maintain(params, targets, report)
    publish(report)
    return report


def maintain(params: MaintenanceParameters, targets: list[str], report: MaintenanceReport) -> None:
    """One server's maintenance, added to `report`."""
    logger = get_run_logger()
    if params.analyze_tables or params.vacuum:
        done = analyze(targets, params.vacuum)
        report.analyzed += done
        report.vacuumed += done if params.vacuum else []
    if params.reindex_schemas:
        report.reindexed += reindex(targets)
    report.bloat_source, bloat = bloat_report(targets)
    report.bloat += bloat
    long_running, idle, lock_waits = sessions(params.long_running_minutes, params.idle_minutes)
    report.long_running += long_running
    report.idle += idle
    report.lock_waits += lock_waits
    if params.terminate_idle and idle:
        pids = [int(str(s["pid"])) for s in idle]
        terminated = terminate(pids, params.idle_minutes)
        report.terminated += terminated
        logger.warning("terminated %s idle sessions", len(terminated))
