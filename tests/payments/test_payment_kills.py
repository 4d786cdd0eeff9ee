"""SIGKILL at every crash point of the payment run and the bank-response import: nothing is
paid twice, nothing is lost, and the next run completes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from claims_askes.payments.bank_simulator import simulate_bank_response
from flows.bank_response_import import bank_response_import
from flows.payment_run import payment_run
from tests.conftest import Cluster, TestDatabase, drop_database, fresh_database
from tests.payments.helpers import KEY_TEXT, build_world, connect, use_key

CLI = str(Path(sys.executable).parent / "claims-askes")
AT = datetime(2026, 4, 1, 9, 30, tzinfo=UTC)
PAYMENT_POINTS = [
    "payment-after-insert",
    "payment-batch-before-commit",
    "payment-after-file",
    "payment-sync-before-mark",
]
IMPORT_POINTS = ["import-before-commit", "import-after-apply"]


@pytest.fixture(scope="module")
def world_template(cluster: Cluster, template_db: str, prefect_api: str) -> Iterator[str]:
    """A database with the world's claims adjudicated and bank details stored, to copy."""
    use_key()
    with fresh_database(cluster, template_db) as database:
        with database.admin() as conn:
            build_world(conn)
        name = f"{database.name}_world"
        with psycopg.connect(cluster.admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{database.name}"')
    yield name
    drop_database(cluster.admin_url, name)


@pytest.fixture
def world_db(cluster: Cluster, world_template: str) -> Iterator[TestDatabase]:
    with fresh_database(cluster, world_template) as database:
        yield database


def run_cli(api_url: str, crash_at: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PREFECT_API_URL=api_url, CLAIMS_ASKES_BANK_KEY=KEY_TEXT)
    env["CLAIMS_ASKES_CRASH_AT"] = crash_at
    return subprocess.run(
        [CLI, "run", *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def assert_paid_once(conn: psycopg.Connection) -> None:
    """Every claim payment is one payment; every batch's total is what its payments were
    batched at (a failed payment leaves its batch for a later one); the claims service sees
    what the payment service knows."""
    counts = conn.execute(
        "SELECT (SELECT count(*) FROM claims_service.claim_payment), "
        "(SELECT count(*) FROM payment_service.payment), "
        "(SELECT count(DISTINCT claim_payment_id) FROM payment_service.payment), "
        "(SELECT sum(amount) FROM claims_service.claim_payment), "
        "(SELECT sum(amount) FROM payment_service.payment)"
    ).fetchone()
    assert counts is not None
    assert counts[0] == counts[1] == counts[2] == 7 and counts[3] == counts[4]
    mismatched = conn.execute(
        "SELECT count(*) FROM payment_service.payment_batch AS b "
        "WHERE b.total_amount <> (SELECT coalesce(sum(e.amount), 0) "
        "FROM payment_service.payment_event AS e "
        "WHERE e.batch_id = b.id AND e.status = 'batched')"
    ).fetchone()
    assert mismatched == (0,)
    unsynced = conn.execute(
        "SELECT status, attempt, updated_at, claim_synced_at FROM payment_service.payment "
        "WHERE claim_synced_at IS NULL"
    ).fetchall()
    assert unsynced == []


@pytest.mark.slow
@pytest.mark.parametrize("point", PAYMENT_POINTS)
def test_a_killed_payment_run_then_rerun_pays_each_claim_once(
    world_db: TestDatabase, prefect_api: str, tmp_path: Path, point: str
) -> None:
    args = ["payment-run", "--outbox", str(tmp_path), "--value-date", "2026-04-01"]
    killed = run_cli(prefect_api, point, *args)
    assert killed.returncode == -9, killed.stderr[-2000:]
    payment_run(outbox=str(tmp_path), value_date="2026-04-01")  # the rerun
    with connect(world_db) as conn:
        assert_paid_once(conn)
        batches = conn.execute(
            "SELECT batch_number, status FROM payment_service.payment_batch ORDER BY 1"
        ).fetchall()
        files = conn.execute("SELECT count(*) FROM payment_service.bank_file").fetchone()
    assert batches == [("PAY-20260401-M-001", "sent"), ("PAY-20260401-P-001", "sent")]
    assert files == (4,) and len(list(tmp_path.glob("PAY-*"))) == 4


@pytest.mark.slow
@pytest.mark.parametrize("point", IMPORT_POINTS)
def test_a_killed_import_then_rerun_applies_each_answer_once(
    world_db: TestDatabase, prefect_api: str, tmp_path: Path, point: str
) -> None:
    outbox, inbox = tmp_path / "outbox", tmp_path / "inbox"
    inbox.mkdir()
    payment_run(outbox=str(outbox), value_date="2026-04-01")
    for xml in sorted(outbox.glob("*.pain001.xml")):
        for name, data in simulate_bank_response(
            xml.read_bytes(), seed=1, failed_share=0.5, returned_share=0.0, at=AT
        ).items():
            (inbox / name).write_bytes(data)
    killed = run_cli(prefect_api, point, "bank-response-import", "--inbox", str(inbox))
    assert killed.returncode == -9, killed.stderr[-2000:]
    bank_response_import(inbox=str(inbox))  # the rerun
    with connect(world_db) as conn:
        assert_paid_once(conn)
        paid = conn.execute(
            "SELECT (SELECT count(*) FROM payment_service.payment WHERE status = 'paid'), "
            "(SELECT count(*) FROM claims_service.claim_payment WHERE status = 'paid'), "
            "(SELECT count(*) FROM payment_service.payment_event WHERE source = 'bank'), "
            "(SELECT count(*) FROM payment_service.payment WHERE attempt = 2)"
        ).fetchone()
        completed = conn.execute(
            "SELECT count(*) FROM payment_service.payment_batch WHERE status = 'completed'"
        ).fetchone()
    assert paid is not None and paid[0] == paid[1] == 4  # 6 sent, 2 failed (seed 1)
    assert paid[2] == 6 and paid[3] == 2  # one answer per payment; failed once, retried once
    assert completed == (2,)
