"""Tasks of database monitoring. Sizes of every schema, other sessions and
pg_stat_statements of every role need more than one service's rights: the admin connection
reads them (and only reads)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from claims_askes.core.services import ALL_SCHEMAS
from claims_askes.core.settings import get_settings
from claims_askes.db.connections import admin_connection
from claims_askes.db.sqlfiles import queries
from claims_askes.operations.common import set_lock_timeout
from schemas.ops import AuditGrowth, HealthCheck, MonitoringReport
from tasks.base import batch_task
from tasks.maintenance import REPORT_LOCK_TIMEOUT_SECONDS, records

Q = queries("common")
AUDIT = queries("audit")
NO_VERIFIED_BACKUP = "-infinity"


@batch_task(name="sizes and connections")
def sizes_and_connections(table_limit: int = 15) -> MonitoringReport:
    with admin_connection() as conn:
        set_lock_timeout(conn, REPORT_LOCK_TIMEOUT_SECONDS)
        row = conn.execute(Q.database_size).fetchone()
        assert row is not None
        tables = records(conn, Q.table_sizes, {"schemas": list(ALL_SCHEMAS), "limit": table_limit})
    return MonitoringReport(
        database_size_bytes=int(row[0]),
        connections=int(row[1]),
        max_connections=int(row[2]),
        tables=tables,
    )


@batch_task(name="slow statements")
def slow_statements(slow_ms: float) -> tuple[list[dict[str, object]], str | None]:
    """From pg_stat_statements when installed in this database (and preloaded)."""
    with admin_connection() as conn:
        row = conn.execute(Q.has_extension, {"name": "pg_stat_statements"}).fetchone()
        if not row or not row[0]:
            return [], "pg_stat_statements is not installed in this database"
        try:
            return records(conn, Q.slow_statements, {"slow_ms": slow_ms}), None
        except Exception as exc:  # e.g. not in shared_preload_libraries
            return [], f"pg_stat_statements unavailable: {str(exc).splitlines()[0]}"


@batch_task(name="health checks")
def health_checks(
    newest_backup: datetime | None,
    backup_max_age_hours: float,
    min_runway_months: int,
    archive_interval: str,
    today: date,
) -> list[HealthCheck]:
    """common.health_check() with the newest verified backup's time from the backup
    directory (the database cannot see files)."""
    with admin_connection() as conn:
        rows = conn.execute(
            Q.health_check,
            {
                "newest_backup": newest_backup or NO_VERIFIED_BACKUP,
                "backup_max_age": f"{backup_max_age_hours * 3600:.0f} seconds",
                "min_runway_months": min_runway_months,
                "archive_older_than": archive_interval,
                "today": today,
            },
        ).fetchall()
    return [HealthCheck(check_name=r[0], status=r[1], details=r[2]) for r in rows]


@batch_task(name="audit growth")
def audit_growth(today: date, days: int) -> list[AuditGrowth]:
    """Rows and bytes the audit log gained on each of the last `days` business days, by mode:
    how fast row audit and statement audit grow, so that retention and disks can be sized.
    The admin connection: no service role may read `audit`."""
    zone = get_settings().timezone
    first_day = today - timedelta(days=days - 1)
    since = datetime.combine(first_day, datetime.min.time(), tzinfo=ZoneInfo(zone))
    with admin_connection() as conn:
        set_lock_timeout(conn, REPORT_LOCK_TIMEOUT_SECONDS)
        rows = conn.execute(AUDIT.audit_growth, {"since": since, "timezone": zone}).fetchall()
    return [
        AuditGrowth(day=r[0], mode=r[1], log_rows=r[2], log_bytes=r[3], runs=r[4])
        for r in rows
        if r[0] <= today
    ]
