"""Issue 15, item 8: `run database-restore ID --target-database postgres` dropped the
server's maintenance database and put every NIK and the audit log there, without --force.

Each attack is a real restore (the flow, and the command line once) of a real backup on
the test server. The maintenance database and the templates are refused even with
--force; the configured database and any other existing database are refused without it;
and a refused restore leaves the target as it was: same database (its oid), same tables,
same schema (its oid). Without --force nothing is ever dropped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from claims_askes.operations import backup as b
from flows.database_restore import RestoreRefused, database_restore
from tests.conftest import TestDatabase, drop_database

SYSTEM_TARGETS = ["postgres", "template1", "template0"]


@pytest.fixture
def full_backup(db: TestDatabase, backup_dir: Path) -> str:
    return b.create_backup("full", None).backup_id


def identity(db: TestDatabase, name: str) -> tuple[object, ...] | None:
    """What identifies database `name` on the server (None: there is none)."""
    with db.admin() as conn:
        row = conn.execute(
            "SELECT oid, datistemplate, datallowconn FROM pg_database WHERE datname = %s",
            (name,),
        ).fetchone()
    return tuple(row) if row else None


def tables_of(db: TestDatabase, name: str) -> list[tuple[str, str]]:
    with psycopg.connect(b.with_database(db.url, name)) as conn:
        return b.dumped_tables(conn, None)


def namespace_oid(db: TestDatabase, schema: str) -> object:
    return db.scalar("SELECT oid FROM pg_namespace WHERE nspname = %s", (schema,))


@pytest.mark.parametrize("target", SYSTEM_TARGETS)
def test_the_maintenance_and_template_databases_are_refused_even_with_force(
    db: TestDatabase, full_backup: str, prefect_api: str, target: str
) -> None:
    before = identity(db, target)
    assert before is not None
    tables = tables_of(db, target) if target != "template0" else None
    for force in (False, True):
        with pytest.raises(RestoreRefused, match="never a restore target, even with --force"):
            database_restore(backup_id=full_backup, target_database=target, force=force)
        assert identity(db, target) == before
        if tables is not None:
            assert tables_of(db, target) == tables  # nothing restored into it


def test_a_template_named_database_is_refused_and_not_created(
    db: TestDatabase, full_backup: str, prefect_api: str
) -> None:
    with pytest.raises(RestoreRefused, match="template database"):
        database_restore(backup_id=full_backup, target_database="template_claims")
    assert identity(db, "template_claims") is None


def test_an_existing_empty_database_is_refused_without_force(
    db: TestDatabase, full_backup: str, prefect_api: str
) -> None:
    """An existing database without a row (the old check only looked for rows) is neither
    replaced nor written into without --force."""
    target = f"{db.name}_existing"
    b.create_database(target)
    try:
        with psycopg.connect(b.with_database(db.url, target), autocommit=True) as conn:
            conn.execute("CREATE TABLE public.kept (id int)")
        before = identity(db, target)
        with pytest.raises(RestoreRefused, match=f"database {target} exists; pass --force"):
            database_restore(backup_id=full_backup, target_database=target)
        with pytest.raises(RestoreRefused, match="pass --force to restore schema"):
            database_restore(
                backup_id=full_backup,
                target_database=target,
                schema_name="policy_service",
                clean=True,
            )
        assert identity(db, target) == before
        assert tables_of(db, target) == [("public", "kept")]
    finally:
        drop_database(db.cluster.admin_url, target)


def test_the_configured_database_is_refused_without_force(
    db: TestDatabase, backup_dir: Path, prefect_api: str
) -> None:
    """Neither replaced whole nor one of its schemas without --force, whatever it holds
    (the old check refused it only for its rows: an empty database was replaced, see
    above), and for being the configured database."""
    schema = "policy_service"
    backup_id = b.create_backup("schema", schema).backup_id
    before, schema_before = identity(db, db.name), namespace_oid(db, schema)
    with pytest.raises(RestoreRefused, match="configured database"):
        database_restore(backup_id=backup_id, target_database=db.name)
    with pytest.raises(RestoreRefused, match="configured database"):
        database_restore(
            backup_id=backup_id, target_database=db.name, schema_name=schema, clean=True
        )
    assert identity(db, db.name) == before
    assert namespace_oid(db, schema) == schema_before
    # With --force the operator's restore of the configured database still works.
    forced = database_restore(
        backup_id=backup_id, target_database=db.name, schema_name=schema, force=True
    )
    assert forced.mismatches == []


def test_the_command_line_refuses_postgres_in_one_line(
    db: TestDatabase, full_backup: str, backup_dir: Path, prefect_api: str
) -> None:
    before = identity(db, "postgres")
    env = dict(os.environ, PREFECT_API_URL=prefect_api, COLUMNS="250")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "claims_askes.cli",
            "run",
            "database-restore",
            full_backup,
            "--target-database",
            "postgres",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "maintenance database" in errors[0], result.stderr
    assert identity(db, "postgres") == before
