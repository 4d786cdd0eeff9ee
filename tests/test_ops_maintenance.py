"""Database maintenance on a real server: ANALYZE and VACUUM reach the tables, REINDEX runs
concurrently, idle sessions are reported and terminated only with the explicit flag, lock
waits are reported with the sessions blocking them."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from flows.database_maintenance import database_maintenance
from tests.conftest import TestDatabase


def reltuples(db: TestDatabase, table: str) -> float:
    value = db.scalar("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", (table,))
    return float(value)  # type: ignore[arg-type]


def test_vacuum_analyze_reindex_and_bloat(db: TestDatabase, prefect_api: str) -> None:
    assert reltuples(db, "claims_service.claim_note") == -1  # never analyzed
    report = database_maintenance(vacuum=True, reindex_schemas=True, schemas=["claims_service"])
    assert "claims_service.claim_note" in report.vacuumed
    assert reltuples(db, "claims_service.claim_note") == 0
    assert report.reindexed == ["claims_service"]
    assert report.bloat_source in {"statistics", "pgstattuple"}
    with pytest.raises(ValueError, match="unknown schema"):
        database_maintenance(schemas=["pg_catalog"])


def test_idle_sessions_terminated_only_when_asked_and_lock_waits(
    db: TestDatabase, prefect_api: str
) -> None:
    idle = db.as_role("claims_service_user")
    pid = idle.info.backend_pid
    time.sleep(0.2)
    seen = database_maintenance(analyze_tables=False, idle_minutes=0.001)
    assert pid in {s["pid"] for s in seen.idle} and seen.terminated == []
    assert idle.execute("SELECT 1").fetchone() == (1,)
    time.sleep(0.2)
    ended = database_maintenance(analyze_tables=False, idle_minutes=0.001, terminate_idle=True)
    assert pid in ended.terminated
    with pytest.raises(psycopg.OperationalError):
        idle.execute("SELECT 1")

    holder = db.admin(autocommit=False)
    holder.execute("LOCK TABLE claims_service.claim_note IN ACCESS EXCLUSIVE MODE")
    waiter = db.admin()
    waiter.execute("SET lock_timeout = '20s'")
    blocked = threading.Thread(target=lambda: _read_quietly(waiter))
    blocked.start()
    try:
        for _ in range(50):
            if db.scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid = %s",
                (waiter.info.backend_pid,),
            ):
                break
            time.sleep(0.1)
        report = database_maintenance(analyze_tables=False, schemas=["policy_service"])
        waits = {w["pid"]: w["blocked_by"] for w in report.lock_waits}
        assert waiter.info.backend_pid in waits
        assert str(holder.info.backend_pid) in str(waits[waiter.info.backend_pid])
    finally:
        holder.rollback()
        blocked.join()
        holder.close()
        waiter.close()


def _read_quietly(conn: psycopg.Connection) -> None:
    try:
        conn.execute("SELECT count(*) FROM claims_service.claim_note")
    except psycopg.Error:
        pass
