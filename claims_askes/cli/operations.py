"""Commands of the ops flows, registered on the main CLI by `register`.

`claims-askes run partition-maintenance | claim-archiving | database-backup |
database-restore | database-maintenance | database-monitoring`, `claims-askes backup
list | verify ID`, and `claims-askes db wal-stream`. Parameters are validated by the flows'
pydantic models before anything runs, so a bad value is one line naming the option (exit 2).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from claims_askes.cli.common import (
    console,
    err_console,
    error_line,
    flow_progress,
    option,
    parameters,
    shown,
    user_errors,
)
from schemas.ops import (
    ArchivingParameters,
    BackupParameters,
    MaintenanceParameters,
    MonitoringParameters,
    PartitionParameters,
    RestoreParameters,
)

AsOf = Annotated[
    datetime | None,
    typer.Option(
        "--as-of", formats=["%Y-%m-%d"], help=PartitionParameters.model_fields["as_of"].description
    ),
]


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


def _size(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


def _rows(title: str, records: list[dict[str, object]]) -> Table:
    table = Table(*(shown(k) for k in (records[0].keys() if records else ["-"])), title=title)
    for record in records:  # statements and sessions of others: data, shown as text
        table.add_row(*(shown(v) for v in record.values()))
    return table


def register(app: typer.Typer, run_app: typer.Typer) -> None:
    """Add this module's commands to `claims-askes` and `claims-askes run`."""
    backup_app = typer.Typer(help="Backups: list and verify.", no_args_is_help=True)
    app.add_typer(backup_app, name="backup")

    def command(typer_app: typer.Typer, name: str) -> Callable[[Any], Any]:
        def wrap(fn: Any) -> Any:
            return typer_app.command(name)(user_errors(fn))

        return wrap

    @command(run_app, "partition-maintenance")
    def run_partition_maintenance(
        premake: int = option(PartitionParameters, "premake"),
        move_default_rows: bool = option(
            PartitionParameters, "move_default_rows", "--move-default-rows"
        ),
        lock_timeout: float = option(PartitionParameters, "lock_timeout_seconds", "--lock-timeout"),
        as_of: AsOf = None,
    ) -> None:
        """Keep claim_partitioned covered through the current month plus --premake."""
        from flows.partition_maintenance import partition_maintenance

        parameters(
            PartitionParameters,
            premake=premake,
            move_default_rows=move_default_rows,
            lock_timeout_seconds=lock_timeout,
            as_of=_day(as_of),
        )
        with console.status("maintaining partitions"):
            report = partition_maintenance(
                premake=premake,
                move_default_rows=move_default_rows,
                lock_timeout_seconds=lock_timeout,
                as_of=_day(as_of),
            )
        console.print(
            f"covered {report.covered_from} to {report.covered_to}; created "
            f"{shown(', '.join(report.created) or 'nothing')}; "
            f"{report.default_rows_moved} default rows moved"
        )

    @command(run_app, "claim-archiving")
    def run_claim_archiving(
        older_than: str = option(ArchivingParameters, "older_than"),
        batch_size: int = option(ArchivingParameters, "batch_size"),
        max_batches: int | None = option(ArchivingParameters, "max_batches"),
        lock_timeout: float = option(ArchivingParameters, "lock_timeout_seconds", "--lock-timeout"),
        as_of: AsOf = None,
        json_output: Annotated[
            bool, typer.Option("--json", help="Print the report as JSON.")
        ] = False,
    ) -> None:
        """Archive claims older than --older-than, with their children, exactly once."""
        from flows.claim_archiving import claim_archiving

        parameters(
            ArchivingParameters,
            older_than=older_than,
            batch_size=batch_size,
            max_batches=max_batches,
            lock_timeout_seconds=lock_timeout,
            as_of=_day(as_of),
        )
        with flow_progress():
            report = claim_archiving(
                older_than=older_than,
                batch_size=batch_size,
                max_batches=max_batches,
                lock_timeout_seconds=lock_timeout,
                as_of=_day(as_of),
            )
        if json_output:
            print(report.model_dump_json())
            return
        table = Table(
            "table",
            "rows archived",
            title=f"claim archiving: cutoff {report.cutoff}, {report.batches} "
            f"batches, {report.seconds:.1f} s",
        )
        for name, rows in report.rows_moved.items():
            table.add_row(shown(name), f"{rows:,}")
        for part in report.partitions_moved:
            table.add_row(f"partition {shown(part)}", "whole month")
        console.print(table)
        console.print(f"{report.held_back:,} claims past the cutoff are not settled and stay")

    @command(run_app, "database-backup")
    def run_database_backup(
        scope: str = option(BackupParameters, "scope"),
        schema: str | None = option(BackupParameters, "schema_name", "--schema"),
        drill: str = option(BackupParameters, "drill"),
        keep_count: int = option(BackupParameters, "keep_count"),
        keep_days: float = option(BackupParameters, "keep_days"),
        min_verified: int = option(BackupParameters, "min_verified"),
        max_age_hours: float = option(BackupParameters, "max_age_hours"),
        base_backup: str = option(BackupParameters, "base_backup"),
        full_every_days: float = option(BackupParameters, "full_every_days"),
        keep_full: int = option(BackupParameters, "keep_full"),
        keep_incremental: int = option(BackupParameters, "keep_incremental"),
        min_redundancy: int = option(BackupParameters, "min_redundancy"),
    ) -> None:
        """pg_dump, verify, drill when due, apply retention; and, when the server archives
        WAL, a physical base backup for point-in-time recovery, verified and pruned."""
        from flows.database_backup import database_backup

        params = parameters(
            BackupParameters,
            scope=scope,
            schema_name=schema,
            drill=drill,
            keep_count=keep_count,
            keep_days=keep_days,
            min_verified=min_verified,
            max_age_hours=max_age_hours,
            base_backup=base_backup,
            full_every_days=full_every_days,
            keep_full=keep_full,
            keep_incremental=keep_incremental,
            min_redundancy=min_redundancy,
        )
        with flow_progress():
            report = database_backup(**params.model_dump())
        v = report.verification
        console.print(
            f"backup [bold]{shown(report.backup_id)}[/] {_size(report.size_bytes)} in "
            f"{report.seconds_dump:.1f} s; verified in {report.seconds_verify:.1f} s; "
            f"drill: {'-' if v.drill_ok is None else shown(v.drill_detail)}; deleted: "
            f"{shown(', '.join(report.deleted) or 'none')}"
        )
        for earlier in report.earlier_verified:
            console.print(
                f"left unverified by a killed run, verified now: {shown(earlier.backup_id)}: "
                f"{'passed' if earlier.ok else 'FAILED ' + shown('; '.join(earlier.problems))}"
            )
        if report.drills_dropped:
            console.print(
                "drill databases of killed runs dropped: " + shown(", ".join(report.drills_dropped))
            )
        pitr = report.pitr
        if pitr is not None and pitr.backup is not None:
            console.print(
                f"base backup [bold]{shown(pitr.backup.backup_id)}[/] ({pitr.backup.kind}) "
                f"{_size(pitr.backup.size_bytes)} in {pitr.seconds:.1f} s, verified; deleted: "
                f"{shown(', '.join(pitr.deleted_backups) or 'none')}, {pitr.deleted_wal} WAL "
                f"files; point-in-time drill: {shown(pitr.drill or '-')}"
            )
        elif pitr is not None:
            console.print(f"no base backup: {shown(pitr.skipped)}")

    @command(run_app, "database-restore")
    def run_database_restore(
        backup_id: Annotated[
            str | None,
            typer.Argument(help=RestoreParameters.model_fields["backup_id"].description),
        ] = None,
        target_database: Annotated[
            str | None,
            typer.Option(help=RestoreParameters.model_fields["target_database"].description),
        ] = None,
        schema: str | None = option(RestoreParameters, "schema_name", "--schema"),
        clean: bool = option(RestoreParameters, "clean", "--clean"),
        force: bool = option(RestoreParameters, "force", "--force"),
        to_time: str | None = option(RestoreParameters, "to_time", "--to-time"),
        to_lsn: str | None = option(RestoreParameters, "to_lsn", "--to-lsn"),
        latest: bool = option(RestoreParameters, "latest", "--latest"),
        data_directory: str | None = option(
            RestoreParameters, "data_directory", "--data-directory"
        ),
        keep: bool = option(RestoreParameters, "keep", "--keep"),
        recovery_timeout_seconds: float = option(RestoreParameters, "recovery_timeout_seconds"),
    ) -> None:
        """Restore a backup (or one schema of it) into a named database, then check counts;
        or recover to a moment (--to-time, --to-lsn, --latest) into a new data directory,
        started apart and checked."""
        from flows.database_restore import database_restore

        values = {
            "backup_id": backup_id,
            "target_database": target_database,
            "schema_name": schema,
            "clean": clean,
            "force": force,
            "to_time": to_time,
            "to_lsn": to_lsn,
            "latest": latest,
            "data_directory": data_directory,
            "keep": keep,
            "recovery_timeout_seconds": recovery_timeout_seconds,
        }
        checked = parameters(RestoreParameters, **values)
        if checked.given:
            from pathlib import Path

            from claims_askes.operations.pitr import preflight

            preflight(
                checked,
                Path(checked.data_directory) if checked.data_directory else None,
                checked.force,
            )
            with console.status(f"recovering to {shown(checked.describe())}"):
                report = database_restore(**checked.model_dump())
            recovery = report.recovery
            assert recovery is not None
            console.print(
                f"recovered to {shown(recovery.target)} from "
                f"{shown(', '.join(recovery.base_backups))} in {recovery.seconds:.1f} s: "
                f"{sum(t.rows for t in recovery.tables):,} rows in {len(recovery.tables)} "
                "tables, health_check() answered; "
                + (
                    f"kept in {shown(recovery.data_directory)}"
                    if recovery.kept
                    else "the checked copy was removed (--keep keeps it)"
                )
            )
            return
        with console.status(f"restoring {shown(backup_id)}"):
            report = database_restore(**checked.model_dump())
        console.print(
            f"restored {shown(backup_id)} into {shown(report.target_database)}: "
            f"{report.tables_checked} tables with the manifest's row counts "
            f"({report.seconds:.1f} s)"
        )

    @command(run_app, "database-maintenance")
    def run_database_maintenance(
        vacuum: bool = option(MaintenanceParameters, "vacuum", "--vacuum"),
        analyze: bool = option(MaintenanceParameters, "analyze_tables", "--analyze/--no-analyze"),
        reindex: bool = option(MaintenanceParameters, "reindex_schemas", "--reindex"),
        schema: Annotated[
            list[str] | None,
            typer.Option(help=MaintenanceParameters.model_fields["schemas"].description),
        ] = None,
        long_running_minutes: float = option(MaintenanceParameters, "long_running_minutes"),
        idle_minutes: float = option(MaintenanceParameters, "idle_minutes"),
        terminate_idle: bool = option(MaintenanceParameters, "terminate_idle", "--terminate-idle"),
    ) -> None:
        """ANALYZE / VACUUM, bloat, optional reindex; long queries, idle sessions, locks."""
        from flows.database_maintenance import database_maintenance

        params = parameters(
            MaintenanceParameters,
            analyze_tables=analyze,
            vacuum=vacuum,
            reindex_schemas=reindex,
            schemas=schema or [],
            long_running_minutes=long_running_minutes,
            idle_minutes=idle_minutes,
            terminate_idle=terminate_idle,
        )
        with flow_progress():
            report = database_maintenance(**params.model_dump())
        console.print(_rows(f"bloat ({report.bloat_source})", report.bloat[:10]))
        for title, rows in (
            ("long-running statements", report.long_running),
            ("idle sessions", report.idle),
            ("lock waits", report.lock_waits),
        ):
            if rows:
                console.print(_rows(title, rows))
        console.print(
            f"{len(report.analyzed)} tables analyzed; "
            f"{len(report.terminated)} idle sessions terminated"
        )

    @command(run_app, "database-monitoring")
    def run_database_monitoring(
        slow_ms: float = option(MonitoringParameters, "slow_ms"),
        backup_max_age_hours: float = option(MonitoringParameters, "backup_max_age_hours"),
        min_runway_months: int = option(MonitoringParameters, "min_runway_months"),
        archive_older_than: str = option(MonitoringParameters, "archive_older_than"),
        as_of: AsOf = None,
        audit_days: int = option(MonitoringParameters, "audit_days"),
    ) -> None:
        """Sizes, connections, slow statements, health checks and the audit log's growth;
        fails on a critical check."""
        from flows.database_monitoring import database_monitoring

        given = dict(
            slow_ms=slow_ms,
            backup_max_age_hours=backup_max_age_hours,
            min_runway_months=min_runway_months,
            archive_older_than=archive_older_than,
            as_of=_day(as_of),
            audit_days=audit_days,
        )
        parameters(MonitoringParameters, **given)
        report = database_monitoring(**given)
        table = Table(
            "check",
            "status",
            "details",
            title=f"database {_size(report.database_size_bytes)}, connections "
            f"{report.connections}/{report.max_connections}",
        )
        for check in report.checks:
            table.add_row(shown(check.check_name), shown(check.status), shown(check.details))
        console.print(table)
        growth = Table("day", "mode", "entries", "size", "batch runs", title="audit log growth")
        for g in report.audit_growth:
            mode = f"{g.mode} ({g.server})" if g.server else g.mode
            growth.add_row(str(g.day), mode, f"{g.log_rows:,}", _size(g.log_bytes), f"{g.runs:,}")
        if report.audit_growth:
            console.print(growth)

    db_app = next(g.typer_instance for g in app.registered_groups if g.name == "db")
    assert db_app is not None

    @command(db_app, "wal-stream")
    def db_wal_stream(
        synchronous: Annotated[
            bool,
            typer.Option(
                "--synchronous/--no-synchronous",
                help="Flush each WAL write to disk and tell the server at once "
                "(pg_receivewal --synchronous).",
            ),
        ] = True,
    ) -> None:
        """Stream WAL into the recovery repository with pg_receivewal, through a replication
        slot, until stopped (Ctrl-C, SIGTERM); prints only errors. See docs/operations.md."""
        import signal
        import threading

        from claims_askes.operations.walstream import receive

        stop = threading.Event()
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, lambda *_: stop.set())

        def report(message: str) -> None:
            err_console.print(error_line(message), highlight=False)

        receive(stop, report, synchronous=synchronous)

    @command(backup_app, "list")
    def backup_list() -> None:
        """Complete backups, newest first, with their verification (on several servers:
        every server's, each naming the server it came from)."""
        from claims_askes.db.connections import is_split
        from claims_askes.operations.backup import every_servers_backups

        split = is_split()
        server = ["server"] if split else []
        table = Table("id", *server, "scope", "started (UTC)", "size", "verified", "drill")
        for entry in every_servers_backups():
            m, v = entry.manifest, entry.verification
            table.add_row(
                shown(m.backup_id),
                *([shown(m.server or "?")] if split else []),
                shown(m.scope_key),
                f"{m.started_at.astimezone(UTC):%F %T}",
                _size(m.size_bytes),
                "-" if v is None else ("yes" if v.ok else "FAILED"),
                "-" if v is None or v.drill_ok is None else ("passed" if v.drill_ok else "FAILED"),
            )
        console.print(table)

    @command(backup_app, "verify")
    def backup_verify(
        backup_id: Annotated[str, typer.Argument(help="From `claims-askes backup list`.")],
        drill: Annotated[
            bool, typer.Option("--drill", help="Also restore into a scratch database.")
        ] = False,
    ) -> None:
        """Verify a backup: sha256, table of contents, a full read (and a restore drill)."""
        from claims_askes.operations.backup import BackupError, verify_backup

        with console.status(f"verifying {shown(backup_id)}"):
            result = verify_backup(backup_id, drill=drill)
        if not result.ok:
            raise BackupError(
                f"backup {backup_id} failed verification: " + "; ".join(result.problems)
            )
        console.print(
            f"backup {shown(backup_id)} verified"
            + (f"; drill: {shown(result.drill_detail)}" if drill else "")
        )
