"""Tasks of backups and restores. pg_dump of every schema, restores and scratch databases
need the owner's rights (no service role may read another's schema or create a database),
so these use the admin URL; see claims_askes.backup for the mechanics."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from prefect import task
from prefect.cache_policies import NO_CACHE
from psycopg import sql

from claims_askes import backup as b
from claims_askes.db import admin_url, with_database
from claims_askes.migrate import grant_database_access
from claims_askes.ops import progress
from claims_askes.services import known_schema
from schemas.ops import BackupEntry, BackupManifest, RetentionPolicy, VerifyResult


@task(name="dump database", cache_policy=NO_CACHE)
def dump_database(scope: str, schema: str | None) -> BackupManifest:
    """pg_dump into the backup directory; the manifest is written last."""
    return b.create_backup(scope, schema, progress=progress)


def drill_due(entries: list[BackupEntry], scope_key: str, every_days: float,
              now: datetime) -> bool:
    """Whether no backup of this scope had a successful restore drill in `every_days`."""
    drills = [e.verification.drill_at for e in entries
              if e.manifest.scope_key == scope_key and e.verification is not None
              and e.verification.drill_ok and e.verification.drill_at is not None]
    return not drills or now - max(drills) > timedelta(days=every_days)


@task(name="verify backup", cache_policy=NO_CACHE)
def verify(backup_id: str, drill: bool) -> VerifyResult:
    """sha256, table of contents, full read; with `drill`, a restore into a scratch database
    whose row counts must equal the manifest's (a data-quality checkpoint)."""
    return b.verify_backup(backup_id, drill=drill)


@task(name="verify backups left unverified", cache_policy=NO_CACHE)
def verify_unverified() -> list[VerifyResult]:
    """Verify (without a drill) each backup an earlier run wrote the manifest of but was
    killed before verifying; otherwise it stays listed, uncounted and unverified forever.
    Only those: a backup verified once is not verified again here."""
    return [b.verify_backup(backup_id) for backup_id in b.unverified_backups(b.list_backups())]


@task(name="drop abandoned drill databases", cache_policy=NO_CACHE)
def drop_abandoned_drills() -> list[str]:
    """Drop the restore-drill databases killed runs left on the server (never a live
    run's: see claims_askes.backup.drill_database)."""
    return b.drop_abandoned_drills()


@task(name="apply retention", cache_policy=NO_CACHE)
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
                sql.Literal(f"{schema_name}.{table}"), sql.Identifier(schema_name, table))
            for schema_name, table in tables)
        return [str(row[0]) for row in conn.execute(stmt).fetchall()]


def database_exists(database: str) -> bool:
    with psycopg.connect(admin_url()) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                           (database,)).fetchone()
    return row is not None


def schema_exists(database: str, schema: str) -> bool:
    with psycopg.connect(with_database(admin_url(), database)) as conn:
        row = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                           (known_schema(schema),)).fetchone()
    return row is not None


def _maintenance_url(database: str) -> str:
    """Where to run DROP/ALTER DATABASE of `database`: another database of the server."""
    other = "postgres" if database != "postgres" else "template1"
    return with_database(admin_url(), other)


def _dump_of(manifest: BackupManifest) -> Path:
    return b.paths(b.backup_directory(), manifest.backup_id)[0]


@task(name="restore whole database", cache_policy=NO_CACHE)
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
            "restore-row-counts", b.restored_counts(staging, manifest.tables))
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
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(
                sql.Identifier(database)))
            conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                sql.Identifier(staging), sql.Identifier(database)))
    return []


@task(name="restore one schema", cache_policy=NO_CACHE)
def restore_schema(manifest: BackupManifest, database: str, schema: str, replace: bool
                   ) -> list[str]:
    """Restore one schema; an existing one (`replace`) is renamed aside first and dropped
    only once the restored one has the manifest's row counts, else it is put back."""
    known_schema(schema)
    url = with_database(admin_url(), database)
    aside = f"{schema[:40]}_replaced_{secrets.token_hex(3)}"
    if replace:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                sql.Identifier(schema), sql.Identifier(aside)))
    tables = [t for t in manifest.tables if t.schema_name == schema]
    try:
        b.pg_restore(b.bin_dir_for_restore(), _dump_of(manifest), database, schema=schema)
        mismatches = b.check_restored_counts("restore-row-counts",
                                             b.restored_counts(database, tables))
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
            conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                sql.Identifier(aside), sql.Identifier(schema)))


