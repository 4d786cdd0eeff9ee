"""Tasks of backups and restores. pg_dump of every schema, restores and scratch databases
need the owner's rights (no service role may read another's schema or create a database),
so these use the admin URL; see claims_askes.operations.backup for the mechanics."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

from claims_askes.core.services import known_schema
from claims_askes.db.connections import admin_url, database_of, with_database
from claims_askes.db.migrate import grant_database_access
from claims_askes.operations import backup as b
from claims_askes.operations import pitr
from claims_askes.operations.common import progress
from schemas.ops import (
    BackupManifest,
    HealthCheck,
    PitrBackupReport,
    RecoveryReport,
    RecoveryTarget,
    RetentionPolicy,
    VerifyResult,
)
from tasks.base import batch_task


@batch_task(name="dump database")
def dump_database(scope: str, schema: str | None) -> BackupManifest:
    """pg_dump into the backup directory; the manifest is written last."""
    return b.create_backup(scope, schema, progress=progress)


@batch_task(name="verify backup")
def verify(backup_id: str, drill: bool) -> VerifyResult:
    """sha256, table of contents, full read; with `drill`, a restore into a scratch database
    whose row counts must equal the manifest's (a data-quality checkpoint)."""
    return b.verify_backup(backup_id, drill=drill)


@batch_task(name="verify backups left unverified")
def verify_unverified() -> list[VerifyResult]:
    """Verify (without a drill) each backup an earlier run wrote the manifest of but was
    killed before verifying; otherwise it stays listed, uncounted and unverified forever.
    Only those: a backup verified once is not verified again here."""
    return [b.verify_backup(backup_id) for backup_id in b.unverified_backups(b.list_backups())]


@batch_task(name="drop abandoned drill databases")
def drop_abandoned_drills() -> list[str]:
    """Drop the restore-drill databases killed runs left on the server (never a live
    run's: see claims_askes.operations.backup.drill_database)."""
    return b.drop_abandoned_drills()


@batch_task(name="apply retention")
def prune(policy: RetentionPolicy) -> list[str]:
    return b.apply_retention(policy, datetime.now(UTC))


def database_has_data(database: str, schema: str | None) -> list[str]:
    """Tables (of `schema`, or of any non-system schema) holding at least one row."""
    with psycopg.connect(with_database(admin_url(), database)) as conn:
        tables = b.dumped_tables(conn, schema)
        if not tables:
            return []
        # One statement: an EXISTS per table (cheap whatever the size), the non-empty ones.
        stmt = sql.SQL(" UNION ALL ").join(
            sql.SQL("SELECT {} WHERE EXISTS (SELECT 1 FROM {})").format(
                sql.Literal(f"{schema_name}.{table}"), sql.Identifier(schema_name, table)
            )
            for schema_name, table in tables
        )
        return [str(row[0]) for row in conn.execute(stmt).fetchall()]


def database_exists(database: str) -> bool:
    with psycopg.connect(admin_url()) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
    return row is not None


def is_template_database(database: str) -> bool:
    """Whether `database` is marked as a template on the server (template0, template1 or
    any other database a DBA made one)."""
    with psycopg.connect(admin_url()) as conn:
        row = conn.execute(
            "SELECT datistemplate FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
    return bool(row and row[0])


def configured_database() -> str:
    """The database the flows use (DATABASE_URL's, or the local server's
    CLAIMS_ASKES_DATABASE)."""
    return database_of(admin_url())


def schema_exists(database: str, schema: str) -> bool:
    with psycopg.connect(with_database(admin_url(), database)) as conn:
        row = conn.execute(
            "SELECT 1 FROM pg_namespace WHERE nspname = %s", (known_schema(schema),)
        ).fetchone()
    return row is not None


def _maintenance_url(database: str) -> str:
    """Where to run DROP/ALTER DATABASE of `database`: another database of the server."""
    other = "postgres" if database != "postgres" else "template1"
    return with_database(admin_url(), other)


def _dump_of(manifest: BackupManifest) -> Path:
    return b.paths(b.backup_directory(), manifest.backup_id)[0]


@batch_task(name="restore whole database")
def restore_database(manifest: BackupManifest, database: str, replace: bool) -> list[str]:
    """Restore into `database`; when it exists (`replace`), into a staging database first,
    checked, then swapped in, so a failed restore leaves the target as it was. Returns the
    row-count mismatches (empty: the restore is in place)."""
    bin_dir = b.bin_dir_for_restore()
    staging = f"{database[:40]}_restoring_{secrets.token_hex(3)}" if replace else database
    if replace or not database_exists(database):
        b.create_database(staging)
    try:
        b.pg_restore(bin_dir, _dump_of(manifest), staging)
        mismatches = b.check_restored_counts(
            "restore-row-counts", b.restored_counts(staging, manifest.tables)
        )
    except BaseException:
        if replace:
            b.drop_database(staging)
        raise
    if mismatches:
        if replace:
            b.drop_database(staging)
        return mismatches
    with psycopg.connect(with_database(admin_url(), staging), autocommit=True) as conn:
        grant_database_access(conn)  # database-level grants are not in a dump
    if replace:
        with psycopg.connect(_maintenance_url(database), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database)))
            conn.execute(
                sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(staging), sql.Identifier(database)
                )
            )
    return []


@batch_task(name="restore one schema")
def restore_schema(
    manifest: BackupManifest, database: str, schema: str, replace: bool
) -> list[str]:
    """Restore one schema; an existing one (`replace`) is renamed aside first and dropped
    only once the restored one has the manifest's row counts, else it is put back."""
    known_schema(schema)
    url = with_database(admin_url(), database)
    aside = f"{schema[:40]}_replaced_{secrets.token_hex(3)}"
    if replace:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                    sql.Identifier(schema), sql.Identifier(aside)
                )
            )
    tables = [t for t in manifest.tables if t.schema_name == schema]
    try:
        b.pg_restore(b.bin_dir_for_restore(), _dump_of(manifest), database, schema=schema)
        mismatches = b.check_restored_counts(
            "restore-row-counts", b.restored_counts(database, tables)
        )
    except BaseException:
        _put_back(url, schema, aside, replace)
        raise
    if mismatches:
        _put_back(url, schema, aside, replace)
    elif replace:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(aside)))
    return mismatches


def _put_back(url: str, schema: str, aside: str, replace: bool) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        if replace:
            conn.execute(
                sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                    sql.Identifier(aside), sql.Identifier(schema)
                )
            )


# --- point-in-time recovery (claims_askes.operations.pitr) ------------------------------


@batch_task(name="take base backup")
def base_backup(kind: str, full_every_days: float) -> PitrBackupReport:
    """pg_basebackup (full, or incremental on 17+) verified with pg_verifybackup. With `auto`
    on a server that does not archive WAL, none is taken and the report says why."""
    started = time.monotonic()
    if kind == "auto":
        with psycopg.connect(admin_url()) as conn:
            if not pitr.archiving_on(conn):
                return PitrBackupReport(
                    skipped="the server does not archive WAL (archive_mode off): no base backup"
                )
    backup = pitr.take_base_backup(kind, full_every_days)
    return PitrBackupReport(backup=backup, seconds=round(time.monotonic() - started, 3))


@batch_task(name="apply base backup retention")
def prune_base_backups(
    keep_full: int, keep_incremental: int, min_redundancy: int
) -> tuple[list[str], int]:
    """Delete base backups past retention and the WAL no kept one needs."""
    return pitr.apply_base_retention(keep_full, keep_incremental, min_redundancy)


@batch_task(name="point-in-time recovery drill")
def pitr_drill() -> tuple[RecoveryReport, list[str]]:
    """Recover the newest base backup with its WAL to a restore point made now; compare
    with the live database at that point (rows, claims and accumulator sums, last audit)."""
    return pitr.drill()


@batch_task(name="recover to a moment")
def recover_to(
    target: RecoveryTarget, data_directory: str | None, force: bool, keep: bool, timeout: float
) -> RecoveryReport:
    """Point-in-time recovery into a new data directory, started apart and checked."""
    return pitr.recover(
        target,
        Path(data_directory) if data_directory else None,
        force=force,
        keep=keep,
        timeout=timeout,
    )


@batch_task(name="WAL archiving checks")
def wal_archive_checks() -> list[HealthCheck]:
    """Archiving failing or lagging (pg_stat_archiver, .ready segments) and the repository's
    disk filling up; nothing when the server does not archive."""
    return pitr.archive_checks(pitr.archiving_status(), pitr.repository_disk())
