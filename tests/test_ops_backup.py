"""Backups, restores and monitoring on a real server with real pg_dump and pg_restore: a
backup of the demo database verifies and its drill restores equal row counts; a flipped byte
or a truncation fails verification; retention never deletes the last verified backup; a
restore refuses a non-empty target without --force; monitoring turns critical when the
newest backup is stale."""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from claims_askes import backup as b
from claims_askes.ops import HealthCheckFailed
from claims_askes.settings import reset_settings
from flows.database_backup import database_backup
from flows.database_monitoring import database_monitoring
from flows.database_restore import RestoreRefused, database_restore
from flows.partition_maintenance import partition_maintenance
from schemas.ops import RetentionPolicy
from tests.conftest import TestDatabase, drop_database


@pytest.fixture
def backup_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    directory = tmp_path / "backups"
    monkeypatch.setenv("CLAIMS_ASKES_BACKUP_DIR", str(directory))
    reset_settings()
    yield directory
    monkeypatch.delenv("CLAIMS_ASKES_BACKUP_DIR")
    reset_settings()


def seed_demo(db: TestDatabase) -> None:
    from claims_askes.seed import seed_demo_data

    seed_demo_data(members=40, claims=150, seed=7)


def counts(url: str, tables: list[str]) -> dict[str, int]:
    """Row counts by 'schema.table', through the backup module's own counting."""
    with psycopg.connect(url) as conn:
        found = b.count_rows(conn, [(t.split(".")[0], t.split(".")[1]) for t in tables])
    return {f"{c.schema_name}.{c.table}": c.rows for c in found}


def test_demo_backup_verifies_drills_and_restores_with_equal_counts(
        db: TestDatabase, backup_dir: Path, prefect_api: str) -> None:
    seed_demo(db)
    report = database_backup(drill="always")
    v = report.verification
    assert v.ok and v.drill_ok, v.problems
    dump, manifest_path, verify_path = b.paths(backup_dir, report.backup_id)
    assert stat.S_IMODE(backup_dir.stat().st_mode) == 0o700
    for path in (dump, manifest_path, verify_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(backup_dir.glob("*.partial"))
    manifest = json.loads(manifest_path.read_text())
    rows = {f"{t['schema_name']}.{t['table']}": t["rows"] for t in manifest["tables"]}
    live = counts(db.url, ["claims_service.claim", "claims_service.claim_item",
                           "member_service.member"])
    assert all(rows[t] == n for t, n in live.items()) and live["claims_service.claim"] == 150
    assert manifest["sha256"] == b.sha256_of(dump) and manifest["server_version"]

    target = f"{db.name}_restored"
    try:
        restored = database_restore(backup_id=report.backup_id, target_database=target)
        assert restored.mismatches == [] and restored.tables_checked == len(rows)
        assert counts(b.with_database(db.url, target), list(live)) == live
        with pytest.raises(RestoreRefused, match="has data"):
            database_restore(backup_id=report.backup_id, target_database=target)
        forced = database_restore(backup_id=report.backup_id, target_database=target,
                                  force=True)
        assert forced.mismatches == []
    finally:
        drop_database(db.cluster.admin_url, target)


def test_schema_restore_with_clean_refuses_data_without_force(
        db: TestDatabase, backup_dir: Path, prefect_api: str) -> None:
    seed_demo(db)
    report = database_backup(scope="schema", schema_name="claims_service", drill="never")
    with db.admin() as conn:
        conn.execute("DELETE FROM claims_service.claim_note")
    with pytest.raises(RestoreRefused):
        database_restore(backup_id=report.backup_id, target_database=db.name,
                         schema_name="claims_service", clean=True)
    restored = database_restore(backup_id=report.backup_id, target_database=db.name,
                                schema_name="claims_service", clean=True, force=True)
    assert restored.mismatches == []
    assert db.scalar("SELECT count(*) FROM claims_service.claim_note") > 0  # type: ignore[operator]


def test_flipped_byte_or_truncation_fails_verification(db: TestDatabase, backup_dir: Path,
                                                       prefect_api: str) -> None:
    seed_demo(db)
    manifest = b.create_backup("full", None)
    assert b.verify_backup(manifest.backup_id).ok
    dump, manifest_path, _ = b.paths(backup_dir, manifest.backup_id)
    original = dump.read_bytes()

    flipped = bytearray(original)
    flipped[len(flipped) // 2] ^= 0x01
    dump.write_bytes(bytes(flipped))
    result = b.verify_backup(manifest.backup_id)
    assert not result.ok and any("sha256" in p for p in result.problems)

    # Truncated, with a manifest "fixed" to match: the full read still catches it.
    dump.write_bytes(original[: len(original) * 2 // 3])
    forged = json.loads(manifest_path.read_text())
    forged.update(sha256=b.sha256_of(dump), size_bytes=dump.stat().st_size)
    manifest_path.write_text(json.dumps(forged))
    result = b.verify_backup(manifest.backup_id)
    assert not result.ok
    assert any("pg_restore" in p or "missing" in p for p in result.problems), result.problems
    assert b.newest_verified(b.list_backups()) is None


def test_retention_never_deletes_the_last_verified_backup(db: TestDatabase, backup_dir: Path,
                                                          prefect_api: str) -> None:
    ids = []
    for _ in range(3):  # oldest first; a small schema keeps it quick
        ids.append(b.create_backup("schema", "policy_service").backup_id)
        time.sleep(1.1)  # distinct start times
    b.verify_backup(ids[0])
    policy = RetentionPolicy(keep_count=1, keep_days=0, min_verified=1)
    assert b.apply_retention(policy) == []  # no backup has a newer verified one
    assert {e.manifest.backup_id for e in b.list_backups()} == set(ids)
    b.verify_backup(ids[2])
    assert b.apply_retention(RetentionPolicy(keep_count=1, keep_days=0, min_verified=2)
                             ) == [ids[1]]  # the old verified one is the 2nd verified: kept
    assert b.apply_retention(policy) == [ids[0]]
    remaining = b.list_backups()
    assert [e.manifest.backup_id for e in remaining] == [ids[2]] and remaining[0].verified
    assert not any(backup_dir.glob(f"{ids[0]}*")) and not any(backup_dir.glob(f"{ids[1]}*"))


def test_monitoring_is_critical_without_a_fresh_verified_backup(
        db: TestDatabase, backup_dir: Path, prefect_api: str) -> None:
    today = datetime.now(UTC).date()
    partition_maintenance(premake=3, as_of=today)
    with pytest.raises(HealthCheckFailed, match="backup_freshness"):
        database_monitoring(as_of=today, slow_ms=0)
    manifest = b.create_backup("full", None)
    assert b.verify_backup(manifest.backup_id).ok
    report = database_monitoring(as_of=today, slow_ms=0)
    status = {c.check_name: c.status for c in report.checks}
    assert status["backup_freshness"] == "healthy"
    assert status["partition_runway"] == "healthy"
    assert status["default_partition_rows"] == "healthy"
    assert report.database_size_bytes > 0 and report.max_connections > 0
    assert report.tables
    time.sleep(2)
    with pytest.raises(HealthCheckFailed, match="backup_freshness.*older|backup_freshness"):
        database_monitoring(as_of=today, backup_max_age_hours=1 / 3600)
