"""Database backup: pg_dump --format=custom, verified, drilled, pruned, watched.

The dump is written under a temporary name and renamed when complete; its manifest (sha256,
size, versions, scope, per-table row counts from the dump's own snapshot, start and end) is
written last. Verification checks the sha256, that `pg_restore --list` holds every table
and that the whole archive reads. A restore drill into a scratch database compares row
counts with the manifest, weekly by default. Retention deletes by count and age, only
backups with a newer verified one, never below the minimum of verified backups. The run
fails when verification fails or the newest verified backup is older than the threshold.

What runs killed midway left is finished here: a backup with a manifest but no verification
is verified first (once: only those without a result), and restore-drill databases no live
run holds are dropped; both are in the report.

Beside the dump, for point-in-time recovery (claims_askes.operations.pitr): a physical base
backup (full, or incremental on PostgreSQL 17+), verified with pg_verifybackup, retention
of base backups and of the WAL they need, and with the restore drill a recovery of the
newest base backup and its WAL to a restore point, compared with the live database there.

With services on several servers (`OTHER_DATABASE_URLS`), every server is backed up the same
way, one after the other, each dump's manifest naming its server; a failure on one does not
stop the others, and the run fails naming each. Base backups are the first server's only.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from claims_askes.core.parameters import takes
from claims_askes.db.connections import Server, on_server, server_of, servers
from claims_askes.operations import backup as b
from claims_askes.operations.backup import drill_due
from claims_askes.operations.common import HealthCheckFailed
from schemas.ops import BackupParameters, BackupReport, PitrBackupReport
from tasks.backups import (
    base_backup,
    drop_abandoned_drills,
    dump_database,
    pitr_drill,
    prune,
    prune_base_backups,
    verify,
    verify_unverified,
)


def publish(report: BackupReport, tables: list[dict[str, object]], key: str) -> None:
    create_table_artifact(
        key=f"{key}-tables",
        table=tables,
        description=f"Row counts in backup {report.backup_id}",
    )
    v = report.verification
    earlier = [
        f"{e.backup_id} ({'passed' if e.ok else 'FAILED: ' + '; '.join(e.problems)})"
        for e in report.earlier_verified
    ]
    drill = (
        "not run"
        if v.drill_ok is None
        else f"{'passed' if v.drill_ok else 'FAILED'} at {v.drill_at}: {v.drill_detail}"
    )
    title = f"{report.backup_id} of {report.server}" if report.server else report.backup_id
    create_markdown_artifact(
        key=key,
        markdown=(
            f"# Backup {title}\n\n{report.size_bytes:,} bytes; dump "
            f"{report.seconds_dump:.1f} s, verification {report.seconds_verify:.1f} s.\n\n"
            f"Verification: {'passed' if v.ok else 'FAILED: ' + '; '.join(v.problems)}\n\n"
            f"Restore drill: {drill}\n\nDeleted by retention: "
            f"{', '.join(report.deleted) or 'none'}\n\n"
            f"Left unverified by earlier runs, verified now: "
            f"{', '.join(earlier) or 'none'}\n\nDrill databases of killed runs "
            f"dropped: {', '.join(report.drills_dropped) or 'none'}\n"
        ),
        description=f"Backup {report.backup_id}: verification and restore drill",
    )


def physical_backup(params: BackupParameters, do_drill: bool) -> PitrBackupReport:
    """Base backup, its retention and (with the drill) a point-in-time recovery drill."""
    logger = get_run_logger()
    pitr = base_backup(params.base_backup, params.full_every_days)
    if pitr.backup is None:
        logger.info("no base backup: %s", pitr.skipped)
        return pitr
    backup = pitr.backup
    logger.info(
        "base backup %s (%s, %s bytes): %s",
        backup.backup_id,
        backup.kind,
        backup.size_bytes,
        "verified" if backup.verified else "FAILED " + "; ".join(backup.problems),
    )
    if not backup.verified:
        return pitr
    pitr.deleted_backups, pitr.deleted_wal = prune_base_backups(
        params.keep_full, params.keep_incremental, params.min_redundancy
    )
    if do_drill:
        recovery, found = pitr_drill()
        pitr.drill = (
            f"{recovery.target} recovered in {recovery.seconds:.1f} s from "
            f"{', '.join(recovery.base_backups)}: "
            + ("equal to the live database" if not found else "DIFFERS: " + "; ".join(found))
        )
        logger.info("point-in-time recovery drill: %s", pitr.drill)
    return pitr


def pitr_failures(pitr: PitrBackupReport) -> None:
    """Fail the run on a base backup that did not verify or a drill that differed."""
    if pitr.backup is not None and not pitr.backup.verified:
        raise HealthCheckFailed(
            f"base backup {pitr.backup.backup_id} failed pg_verifybackup: "
            + "; ".join(pitr.backup.problems)
        )
    if pitr.drill is not None and "DIFFERS" in pitr.drill:
        raise HealthCheckFailed(f"point-in-time recovery drill: {pitr.drill}")


@flow(name="database-backup")
@takes(BackupParameters)
def database_backup(params: BackupParameters) -> BackupReport:
    """Back up every server in use (one schema: its server only); the first server's report,
    with each further server's in `other_servers`. Fails naming every server that failed."""
    every = servers()
    targets = [server_of(params.schema_name)] if params.schema_name else every
    reports: list[BackupReport] = []
    failures: list[str] = []
    for number, server in enumerate(targets):
        key = "database-backup" if number == 0 else f"database-backup-server-{number + 1}"
        with on_server(server):
            try:
                reports.append(back_up(params, server, key, physical=server == every[0]))
            except HealthCheckFailed as exc:
                failures.append(f"{server.name}: {exc}" if len(targets) > 1 else str(exc))
    if failures:
        raise HealthCheckFailed("; ".join(failures))
    first, *others = reports
    first.other_servers = others
    return first


def back_up(params: BackupParameters, server: Server, key: str, physical: bool) -> BackupReport:
    """Verify what killed runs left unverified, back up, drop killed runs' drill databases,
    verify, drill when due, prune; fails on a bad backup or a stale newest one."""
    logger = get_run_logger()
    earlier = verify_unverified()
    for result in earlier:
        logger.info(
            "backup %s, left unverified by an earlier run: %s",
            result.backup_id,
            "verified" if result.ok else "FAILED " + "; ".join(result.problems),
        )
    started = time.monotonic()
    manifest = dump_database(params.scope, params.schema_name)
    dumped = time.monotonic()
    logger.info("backup %s written (%s bytes)", manifest.backup_id, manifest.size_bytes)
    # After the dump, so the sessions of a run killed just before this one have ended.
    dropped = drop_abandoned_drills()
    if dropped:
        logger.info("dropped drill databases of killed runs: %s", ", ".join(dropped))
    swept = time.monotonic()
    now = datetime.now(UTC)
    do_drill = params.drill == "always" or (
        params.drill == "auto"
        and drill_due(b.list_backups(), params.scope_key, params.drill_every_days, now)
    )
    verification = verify(manifest.backup_id, do_drill)
    verified = time.monotonic()
    report = BackupReport(
        backup_id=manifest.backup_id,
        size_bytes=manifest.size_bytes,
        seconds_dump=round(dumped - started, 3),
        seconds_verify=round(verified - swept, 3),
        verification=verification,
        earlier_verified=earlier,
        drills_dropped=dropped,
        server=server.name,
    )
    if verification.ok:
        report.deleted = prune(params.retention)
    if physical and params.base_backup != "never" and params.scope == "full":
        report.pitr = physical_backup(params, do_drill)
    newest = b.newest_verified(b.list_backups(), params.scope_key)
    report.newest_verified_at = newest.manifest.started_at if newest else None
    publish(report, [{"table": t.qualified, "rows": t.rows} for t in manifest.tables], key)
    if not verification.ok:
        raise HealthCheckFailed(
            f"backup {manifest.backup_id} failed verification: " + "; ".join(verification.problems)
        )
    if report.earlier_failed:
        raise HealthCheckFailed(
            "backups left unverified by earlier runs failed verification: "
            + "; ".join(f"{v.backup_id}: {'; '.join(v.problems)}" for v in report.earlier_failed)
        )
    if report.pitr is not None:
        pitr_failures(report.pitr)
    limit = timedelta(hours=params.max_age_hours)
    if newest is None or datetime.now(UTC) - newest.manifest.started_at > limit:
        raise HealthCheckFailed(
            f"no verified {params.scope_key} backup newer than {params.max_age_hours} hours"
        )
    return report
