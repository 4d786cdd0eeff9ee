"""Commands of the ops flows, registered on the main CLI by `register`.

`claims-askes run partition-maintenance | claim-archiving | database-backup |
database-restore | database-maintenance | database-monitoring`, and `claims-askes backup
list | verify ID`. Parameters are validated by the flows' pydantic models before anything
runs, so a bad value is one line naming the option (exit 2).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ValidationError
from rich.table import Table

AsOf = Annotated[datetime | None, typer.Option(
    "--as-of", formats=["%Y-%m-%d"], help="Business date (default: today in Jakarta).")]


def _validate(model: type[BaseModel], **values: Any) -> None:
    """Validate options with the flow's model; a bad one is one line (exit 2)."""
    from claims_askes.cli import parameters_error

    try:
        model(**values)
    except ValidationError as exc:
        raise parameters_error(exc) from None


@contextmanager
def _progress() -> Iterator[None]:
    """A rich progress bar fed by the flows' progress hook."""
    from claims_askes.cli import step_progress
    from claims_askes.ops import progress_to

    with step_progress() as advance, progress_to(advance):
        yield


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


def _size(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


def _rows(title: str, records: list[dict[str, object]]) -> Table:
    table = Table(*(records[0].keys() if records else ["-"]), title=title)
    for record in records:
        table.add_row(*(str(v) for v in record.values()))
    return table


def register(app: typer.Typer, run_app: typer.Typer) -> None:
    """Add this module's commands to `claims-askes` and `claims-askes run`."""
    from claims_askes.cli import console, user_errors

    backup_app = typer.Typer(help="Backups: list and verify.", no_args_is_help=True)
    app.add_typer(backup_app, name="backup")

    def command(typer_app: typer.Typer, name: str) -> Callable[[Any], Any]:
        def wrap(fn: Any) -> Any:
            return typer_app.command(name)(user_errors(fn))
        return wrap

    @command(run_app, "partition-maintenance")
    def run_partition_maintenance(
        premake: Annotated[int, typer.Option(help="Months to keep ready ahead.")] = 4,
        move_default_rows: Annotated[bool, typer.Option(
            "--move-default-rows", help="Move default-partition rows into their months.")]
        = False,
        lock_timeout: Annotated[float, typer.Option(help="Seconds to wait for a lock.")] = 5,
        as_of: AsOf = None,
    ) -> None:
        """Keep claim_partitioned covered through the current month plus --premake."""
        from flows.partition_maintenance import partition_maintenance
        from schemas.ops import PartitionParameters

        _validate(PartitionParameters, premake=premake, move_default_rows=move_default_rows,
                  lock_timeout_seconds=lock_timeout, as_of=_day(as_of))
        with console.status("maintaining partitions"):
            report = partition_maintenance(premake=premake, move_default_rows=move_default_rows,
                                           lock_timeout_seconds=lock_timeout, as_of=_day(as_of))
        console.print(f"covered {report.covered_from} to {report.covered_to}; created "
                      f"{', '.join(report.created) or 'nothing'}; "
                      f"{report.default_rows_moved} default rows moved")

    @command(run_app, "claim-archiving")
    def run_claim_archiving(
        older_than: Annotated[str, typer.Option(help="Nd, Nw, Nm or Ny, e.g. 2y.")] = "2y",
        batch_size: Annotated[int, typer.Option(help="Claims per transaction.")] = 5_000,
        max_batches: Annotated[int | None, typer.Option(help="Stop after N batches.")] = None,
        lock_timeout: Annotated[float, typer.Option(help="Seconds to wait for a lock.")] = 5,
        as_of: AsOf = None,
        json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]
        = False,
    ) -> None:
        """Archive claims older than --older-than, with their children, exactly once."""
        from flows.claim_archiving import claim_archiving
        from schemas.ops import ArchivingParameters

        _validate(ArchivingParameters, older_than=older_than, batch_size=batch_size,
                  max_batches=max_batches, lock_timeout_seconds=lock_timeout, as_of=_day(as_of))
        with _progress():
            report = claim_archiving(older_than=older_than, batch_size=batch_size,
                                     max_batches=max_batches,
                                     lock_timeout_seconds=lock_timeout, as_of=_day(as_of))
        if json_output:
            print(report.model_dump_json())
            return
        table = Table("table", "rows archived",
                      title=f"claim archiving: cutoff {report.cutoff}, {report.batches} "
                            f"batches, {report.seconds:.1f} s")
        for name, rows in report.rows_moved.items():
            table.add_row(name, f"{rows:,}")
        for part in report.partitions_moved:
            table.add_row(f"partition {part}", "whole month")
        console.print(table)
        console.print(f"{report.held_back:,} claims past the cutoff are not settled and stay")

    @command(run_app, "database-backup")
    def run_database_backup(
        scope: Annotated[str, typer.Option(help="full, or schema (with --schema).")] = "full",
        schema: Annotated[str | None, typer.Option(help="The schema of a schema backup.")]
        = None,
        drill: Annotated[str, typer.Option(help="Restore drill: auto (weekly), always, never.")]
        = "auto",
        keep_count: Annotated[int, typer.Option(help="Keep this many newest.")] = 7,
        keep_days: Annotated[float, typer.Option(help="Keep every backup this young.")] = 14,
        min_verified: Annotated[int, typer.Option(help="Never fewer verified backups.")] = 2,
        max_age_hours: Annotated[float, typer.Option(
            help="Fail when the newest verified backup is older.")] = 26,
    ) -> None:
        """pg_dump, verify, drill when due, apply retention."""
        from flows.database_backup import database_backup
        from schemas.ops import BackupParameters, RetentionPolicy

        _validate(BackupParameters, scope=scope, schema_name=schema, drill=drill,
                  retention=RetentionPolicy(keep_count=keep_count, keep_days=keep_days,
                                            min_verified=min_verified),
                  max_age_hours=max_age_hours)
        with _progress():
            report = database_backup(scope=scope, schema_name=schema,  # type: ignore[call-overload]
                                     drill=drill, keep_count=keep_count,
                                     keep_days=keep_days, min_verified=min_verified,
                                     max_age_hours=max_age_hours)
        v = report.verification
        console.print(f"backup [bold]{report.backup_id}[/] {_size(report.size_bytes)} in "
                      f"{report.seconds_dump:.1f} s; verified in {report.seconds_verify:.1f} s; "
                      f"drill: {'-' if v.drill_ok is None else v.drill_detail}; deleted: "
                      f"{', '.join(report.deleted) or 'none'}")
        for earlier in report.earlier_verified:
            console.print(f"left unverified by a killed run, verified now: {earlier.backup_id}: "
                          f"{'passed' if earlier.ok else 'FAILED ' + '; '.join(earlier.problems)}")
        if report.drills_dropped:
            console.print("drill databases of killed runs dropped: "
                          + ", ".join(report.drills_dropped))

    @command(run_app, "database-restore")
    def run_database_restore(
        backup_id: Annotated[str, typer.Argument(help="From `claims-askes backup list`.")],
        target_database: Annotated[str, typer.Option(help="Database to restore into.")],
        schema: Annotated[str | None, typer.Option(help="Restore only this schema.")] = None,
        clean: Annotated[bool, typer.Option("--clean", help="Drop restored objects first.")]
        = False,
        force: Annotated[bool, typer.Option("--force", help="Restore over existing data.")]
        = False,
    ) -> None:
        """Restore a backup (or one schema of it) into a named database, then check counts."""
        from flows.database_restore import database_restore
        from schemas.ops import RestoreParameters

        _validate(RestoreParameters, backup_id=backup_id, target_database=target_database,
                  schema_name=schema, clean=clean, force=force)
        with console.status(f"restoring {backup_id}"):
            report = database_restore(backup_id=backup_id, target_database=target_database,
                                      schema_name=schema, clean=clean, force=force)
        console.print(f"restored {backup_id} into {report.target_database}: "
                      f"{report.tables_checked} tables with the manifest's row counts "
                      f"({report.seconds:.1f} s)")

    @command(run_app, "database-maintenance")
    def run_database_maintenance(
        vacuum: Annotated[bool, typer.Option("--vacuum", help="VACUUM (ANALYZE).")] = False,
        no_analyze: Annotated[bool, typer.Option("--no-analyze", help="Skip ANALYZE.")] = False,
        reindex: Annotated[bool, typer.Option(
            "--reindex", help="REINDEX SCHEMA ... CONCURRENTLY.")] = False,
        schema: Annotated[list[str] | None, typer.Option(help="Only these schemas.")] = None,
        long_running_minutes: Annotated[float, typer.Option()] = 5,
        idle_minutes: Annotated[float, typer.Option()] = 30,
        terminate_idle: Annotated[bool, typer.Option(
            "--terminate-idle", help="Terminate the idle sessions found.")] = False,
    ) -> None:
        """ANALYZE / VACUUM, bloat, optional reindex; long queries, idle sessions, locks."""
        from flows.database_maintenance import database_maintenance
        from schemas.ops import MaintenanceParameters

        _validate(MaintenanceParameters, analyze=not no_analyze, vacuum=vacuum,
                  reindex=reindex, schemas=schema or [],
                  long_running_minutes=long_running_minutes, idle_minutes=idle_minutes,
                  terminate_idle=terminate_idle)
        with _progress():
            report = database_maintenance(
                analyze_tables=not no_analyze, vacuum=vacuum, reindex_schemas=reindex,
                schemas=schema, long_running_minutes=long_running_minutes,
                idle_minutes=idle_minutes, terminate_idle=terminate_idle)
        console.print(_rows(f"bloat ({report.bloat_source})", report.bloat[:10]))
        for title, rows in (("long-running statements", report.long_running),
                            ("idle sessions", report.idle), ("lock waits", report.lock_waits)):
            if rows:
                console.print(_rows(title, rows))
        console.print(f"{len(report.analyzed)} tables analyzed; "
                      f"{len(report.terminated)} idle sessions terminated")

    @command(run_app, "database-monitoring")
    def run_database_monitoring(
        slow_ms: Annotated[float, typer.Option(help="Slow statement threshold (mean ms).")]
        = 1000,
        backup_max_age_hours: Annotated[float, typer.Option()] = 26,
        min_runway_months: Annotated[int, typer.Option()] = 2,
        archive_older_than: Annotated[str, typer.Option()] = "2y",
        as_of: AsOf = None,
    ) -> None:
        """Sizes, connections, slow statements and health checks; fails on a critical one."""
        from flows.database_monitoring import database_monitoring
        from schemas.ops import MonitoringParameters

        _validate(MonitoringParameters, slow_ms=slow_ms,
                  backup_max_age_hours=backup_max_age_hours,
                  min_runway_months=min_runway_months, archive_older_than=archive_older_than,
                  as_of=_day(as_of))
        report = database_monitoring(slow_ms=slow_ms, backup_max_age_hours=backup_max_age_hours,
                                     min_runway_months=min_runway_months,
                                     archive_older_than=archive_older_than, as_of=_day(as_of))
        table = Table("check", "status", "details",
                      title=f"database {_size(report.database_size_bytes)}, connections "
                            f"{report.connections}/{report.max_connections}")
        for check in report.checks:
            table.add_row(check.check_name, check.status, check.details)
        console.print(table)

    @command(backup_app, "list")
    def backup_list() -> None:
        """Complete backups, newest first, with their verification."""
        from claims_askes.backup import list_backups

        table = Table("id", "scope", "started (UTC)", "size", "verified", "drill")
        for entry in list_backups():
            m, v = entry.manifest, entry.verification
            table.add_row(m.backup_id, m.scope_key, f"{m.started_at.astimezone(UTC):%F %T}",
                          _size(m.size_bytes),
                          "-" if v is None else ("yes" if v.ok else "FAILED"),
                          "-" if v is None or v.drill_ok is None
                          else ("passed" if v.drill_ok else "FAILED"))
        console.print(table)

    @command(backup_app, "verify")
    def backup_verify(
        backup_id: Annotated[str, typer.Argument(help="From `claims-askes backup list`.")],
        drill: Annotated[bool, typer.Option("--drill", help="Also restore into a scratch "
                                                            "database.")] = False,
    ) -> None:
        """Verify a backup: sha256, table of contents, a full read (and a restore drill)."""
        from claims_askes.backup import BackupError, verify_backup

        with console.status(f"verifying {backup_id}"):
            result = verify_backup(backup_id, drill=drill)
        if not result.ok:
            raise BackupError(f"backup {backup_id} failed verification: "
                              + "; ".join(result.problems))
        console.print(f"backup {backup_id} verified"
                      + (f"; drill: {result.drill_detail}" if drill else ""))


def demo_operations() -> None:
    """The operations part of the main job (`claims-askes demo`), on the demo database:
    partitions, archiving (with its count and checksum checkpoint per batch), VACUUM
    (ANALYZE), a backup with verification and a restore drill (its row-count checkpoint),
    then monitoring, which fails the demo on any critical check."""
    from claims_askes.cli import console
    from flows.claim_archiving import claim_archiving
    from flows.database_backup import database_backup
    from flows.database_maintenance import database_maintenance
    from flows.database_monitoring import database_monitoring
    from flows.partition_maintenance import partition_maintenance

    with console.status("partition maintenance"):
        parts = partition_maintenance(premake=4, move_default_rows=True)
    console.print(f"partitions: {len(parts.created)} created, covered {parts.covered_from} "
                  f"to {parts.covered_to}")
    with _progress():
        archived = claim_archiving(older_than="2y")
    console.print(f"archiving: {archived.claims_moved:,} claims before {archived.cutoff} "
                  f"archived in {archived.batches} batches ({archived.held_back:,} held back)")
    with _progress():
        maintained = database_maintenance(vacuum=True)
    console.print(f"maintenance: {len(maintained.vacuumed)} tables vacuumed and analyzed")
    with _progress():
        backup = database_backup(drill="always")
    console.print(f"backup: {backup.backup_id} ({_size(backup.size_bytes)}) verified; drill: "
                  f"{backup.verification.drill_detail}")
    report = database_monitoring()
    table = Table("check", "status", "details", title="health")
    for check in report.checks:
        table.add_row(check.check_name, check.status, check.details)
    console.print(table)
