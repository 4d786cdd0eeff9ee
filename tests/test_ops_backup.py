"""Backups, restores and monitoring on a real server with real pg_dump and pg_restore: a
backup of the demo database verifies and its drill restores equal row counts; a flipped byte
or a truncation fails verification; retention never deletes the last verified backup; a
restore refuses a non-empty target without --force; monitoring turns critical when the
newest backup is stale. Runs killed with SIGKILL in their restore drill, or after their
manifest but before verification, are cleaned up by the next run: no drill database stays
on the server and no backup stays unverified; a concurrent run never drops a live drill."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from claims_askes.core.settings import reset_settings
from claims_askes.operations import backup as b
from claims_askes.operations.common import HealthCheckFailed
from flows.database_backup import database_backup
from flows.database_monitoring import database_monitoring
from flows.database_restore import RestoreRefused, database_restore
from flows.partition_maintenance import partition_maintenance
from schemas.ops import RetentionPolicy
from tests.conftest import TestDatabase, drop_database


def seed_demo(db: TestDatabase) -> None:
    from claims_askes.demo.seed import seed_demo_data

    seed_demo_data(members=40, claims=150, seed=7)


def counts(url: str, tables: list[str]) -> dict[str, int]:
    """Row counts by 'schema.table', through the backup module's own counting."""
    with psycopg.connect(url) as conn:
        found = b.count_rows(conn, [(t.split(".")[0], t.split(".")[1]) for t in tables])
    return {f"{c.schema_name}.{c.table}": c.rows for c in found}


def test_demo_backup_verifies_drills_and_restores_with_equal_counts(
    db: TestDatabase, backup_dir: Path, prefect_api: str
) -> None:
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
    live = counts(
        db.url, ["claims_service.claim", "claims_service.claim_item", "member_service.member"]
    )
    assert all(rows[t] == n for t, n in live.items()) and live["claims_service.claim"] == 150
    assert manifest["sha256"] == b.sha256_of(dump) and manifest["server_version"]

    target = f"{db.name}_restored"
    try:
        restored = database_restore(backup_id=report.backup_id, target_database=target)
        assert restored.mismatches == [] and restored.tables_checked == len(rows)
        assert counts(b.with_database(db.url, target), list(live)) == live
        with pytest.raises(RestoreRefused, match="has data"):
            database_restore(backup_id=report.backup_id, target_database=target)
        forced = database_restore(backup_id=report.backup_id, target_database=target, force=True)
        assert forced.mismatches == []
    finally:
        drop_database(db.cluster.admin_url, target)


def test_schema_restore_with_clean_refuses_data_without_force(
    db: TestDatabase, backup_dir: Path, prefect_api: str
) -> None:
    seed_demo(db)
    report = database_backup(scope="schema", schema_name="claims_service", drill="never")
    with db.admin() as conn:
        conn.execute("DELETE FROM claims_service.claim_note")
    with pytest.raises(RestoreRefused):
        database_restore(
            backup_id=report.backup_id,
            target_database=db.name,
            schema_name="claims_service",
            clean=True,
        )
    restored = database_restore(
        backup_id=report.backup_id,
        target_database=db.name,
        schema_name="claims_service",
        clean=True,
        force=True,
    )
    assert restored.mismatches == []
    assert db.scalar("SELECT count(*) FROM claims_service.claim_note") > 0  # type: ignore[operator]


def test_flipped_byte_or_truncation_fails_verification(
    db: TestDatabase, backup_dir: Path, prefect_api: str
) -> None:
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


def test_retention_never_deletes_the_last_verified_backup(
    db: TestDatabase, backup_dir: Path, prefect_api: str
) -> None:
    ids = []
    for _ in range(3):  # oldest first; a small schema keeps it quick
        ids.append(b.create_backup("schema", "policy_service").backup_id)
        time.sleep(1.1)  # distinct start times
    b.verify_backup(ids[0])
    policy = RetentionPolicy(keep_count=1, keep_days=0, min_verified=1)
    assert b.apply_retention(policy) == []  # no backup has a newer verified one
    assert {e.manifest.backup_id for e in b.list_backups()} == set(ids)
    b.verify_backup(ids[2])
    assert b.apply_retention(RetentionPolicy(keep_count=1, keep_days=0, min_verified=2)) == [
        ids[1]
    ]  # the old verified one is the 2nd verified: kept
    assert b.apply_retention(policy) == [ids[0]]
    remaining = b.list_backups()
    assert [e.manifest.backup_id for e in remaining] == [ids[2]] and remaining[0].verified
    assert not any(backup_dir.glob(f"{ids[0]}*")) and not any(backup_dir.glob(f"{ids[1]}*"))


def test_monitoring_is_critical_without_a_fresh_verified_backup(
    db: TestDatabase, backup_dir: Path, prefect_api: str
) -> None:
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


# --- runs killed midway --------------------------------------------------------------------

CLI = str(Path(sys.executable).parent / "claims-askes")


def start_cli(api_url: str, *args: str, crash_at: str | None = None) -> subprocess.Popen[str]:
    """`claims-askes run database-backup ARGS` in a process of its own (the environment's
    DATABASE_URL and CLAIMS_ASKES_BACKUP_DIR), killed at `crash_at` if given."""
    env = dict(os.environ, PREFECT_API_URL=api_url)
    env.pop("CLAIMS_ASKES_CRASH_AT", None)
    if crash_at:
        env["CLAIMS_ASKES_CRASH_AT"] = crash_at
    return subprocess.Popen(
        [CLI, "run", "database-backup", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_killed(api_url: str, *args: str, crash_at: str) -> None:
    process = start_cli(api_url, *args, crash_at=crash_at)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == -signal.SIGKILL, stderr[-3000:]


def drill_databases(db: TestDatabase) -> list[str]:
    """The drill databases of the test's database on the server."""
    with db.admin() as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s) ORDER BY 1",
            (f"{db.name[:40]}_drill_",),
        ).fetchall()
    return [str(r[0]) for r in rows]


def use_backup_dir(directory: Path) -> None:
    """Back up into `directory` from now on (another machine's directory, for a run
    concurrent with one holding the first directory's lock)."""
    os.environ["CLAIMS_ASKES_BACKUP_DIR"] = str(directory)
    reset_settings()


@pytest.mark.slow
def test_drill_database_of_a_killed_run_is_dropped_by_the_next_run(
    db: TestDatabase, backup_dir: Path, prefect_api: str
) -> None:
    seed_demo(db)
    run_killed(prefect_api, "--drill", "always", crash_at="backup-drill-restored")
    left = drill_databases(db)
    assert len(left) == 1 and b.is_drill_of(left[0], db.name), left
    # The command, with no drill of its own, still cleans up, and says so.
    cleanup = start_cli(prefect_api, "--drill", "never")
    stdout, stderr = cleanup.communicate(timeout=300)
    assert cleanup.returncode == 0, stderr[-3000:]
    said = " ".join(stdout.split())
    assert f"drill databases of killed runs dropped: {left[0]}" in said, said
    assert drill_databases(db) == []


@pytest.mark.slow
def test_backup_killed_before_verification_is_verified_by_the_next_run(
    db: TestDatabase, backup_dir: Path, prefect_api: str
) -> None:
    seed_demo(db)
    run_killed(prefect_api, "--drill", "never", crash_at="backup-after-manifest")
    [entry] = b.list_backups()
    killed_id = entry.manifest.backup_id
    _, _, verify_path = b.paths(backup_dir, killed_id)
    assert entry.verification is None and not verify_path.exists()
    assert b.newest_verified(b.list_backups()) is None  # unverified: not counted

    report = database_backup(drill="never")
    assert [(v.backup_id, v.ok) for v in report.earlier_verified] == [(killed_id, True)]
    assert report.verification.ok and report.backup_id != killed_id
    result = json.loads(verify_path.read_text())
    assert result["ok"] is True and result["backup_id"] == killed_id
    entries = {e.manifest.backup_id: e for e in b.list_backups()}
    assert set(entries) == {killed_id, report.backup_id}
    assert all(e.verified for e in entries.values())

    # Once verified, a backup is not verified again by every later run.
    verified_at = result["verified_at"]
    again = database_backup(drill="never")
    assert again.earlier_verified == []
    assert json.loads(verify_path.read_text())["verified_at"] == verified_at
    assert all(e.verified for e in b.list_backups())


def connected_drills(db: TestDatabase) -> list[str]:
    """The drill databases with a session connected and idle: the run's connection to its
    drill is made (a process frozen in the middle of its handshake would be cut off by the
    server's authentication_timeout, 60 s, and fail when resumed: not what is tested)."""
    with db.admin() as conn:
        rows = conn.execute(
            "SELECT d.datname FROM pg_database AS d WHERE starts_with(d.datname, %s) "
            "AND EXISTS (SELECT 1 FROM pg_stat_activity AS a WHERE a.datid = d.oid "
            "            AND a.state = 'idle') ORDER BY 1",
            (f"{db.name[:40]}_drill_",),
        ).fetchall()
    return [str(r[0]) for r in rows]


def wait_for_drill(db: TestDatabase, process: subprocess.Popen[str], timeout: float = 240) -> str:
    """The drill database of `process` as soon as the process is connected to it (polled
    every 20 ms)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = connected_drills(db)
        if found:
            return found[0]
        assert process.poll() is None, "the run ended before its drill was seen"
        time.sleep(0.02)
    raise AssertionError("no drill database appeared")


@pytest.mark.slow
def test_a_concurrent_run_drops_a_killed_runs_drill_but_never_a_live_one(
    db: TestDatabase, backup_dir: Path, prefect_api: str, tmp_path: Path
) -> None:
    """Run P is frozen (SIGSTOP) inside its restore drill, holding its directory's lock; a
    run K with another directory (another machine) is killed inside its own drill; a third
    run R drops K's drill database and leaves P's; P, resumed, finishes its drill."""
    live = start_cli(prefect_api, "--drill", "always")
    try:
        live_drill = wait_for_drill(db, live)
        live.send_signal(signal.SIGSTOP)
        use_backup_dir(tmp_path / "machine-2")
        run_killed(prefect_api, "--drill", "always", crash_at="backup-drill-restored")
        [killed_drill] = [d for d in drill_databases(db) if d != live_drill]
        report = database_backup(drill="never")
        assert report.drills_dropped == [killed_drill]
        assert drill_databases(db) == [live_drill]
        assert b.drop_abandoned_drills() == [] and drill_databases(db) == [live_drill]
    finally:
        live.send_signal(signal.SIGCONT)
        _, stderr = live.communicate(timeout=300)
    assert live.returncode == 0, stderr[-3000:]
    assert drill_databases(db) == []
    use_backup_dir(backup_dir)
    [entry] = b.list_backups()
    assert entry.verified and entry.verification and entry.verification.drill_ok


def test_abandoned_drill_sweep_matches_names_strictly_and_spares_held_drills(
    db: TestDatabase,
) -> None:
    """Only `<db>_drill_<8 hex>` is ever dropped, and only with no session connected and its
    drill's advisory lock free (a live drill holds it from before its database exists)."""
    prefix = f"{db.name[:40]}_drill_"
    abandoned, connected, locked = f"{prefix}0badf00d", f"{prefix}00c0ffee", f"{prefix}1ced7ea5"
    decoys = [
        f"{prefix}copy",
        f"{prefix}0badf00d_x",
        f"{prefix}0BADF00D",
        f"x{db.name[:40]}_drill_0badf00d",
    ]
    names = [abandoned, connected, locked, *decoys]
    for name in names:
        b.create_database(name)
    try:
        with (
            b.drill_database(db.name) as live,
            psycopg.connect(b.with_database(db.url, connected)),
            db.admin() as holder,
        ):
            holder.execute("SELECT pg_advisory_lock(%s)", (b.drill_lock_key(locked),))
            assert b.drop_abandoned_drills() == [abandoned]
            with db.admin() as conn:
                present = {str(r[0]) for r in conn.execute("SELECT datname FROM pg_database")}
            assert abandoned not in present
            assert {live, connected, locked, *decoys} <= present
        assert live not in drill_databases(db)  # its own end dropped it
        assert b.drop_abandoned_drills() == sorted([connected, locked])
    finally:
        for name in names:
            b.drop_database(name)
