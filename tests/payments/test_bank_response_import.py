"""The bank's answers on a real database: the simulated bank's pain.002 and camt.054 mark
payments paid, failed or returned; claim payments become paid through the claims service;
a file imported twice changes nothing; failed payments go into a later batch, then to the
exception list; bad entries are rejected by name while the good ones apply."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from claims_askes.payments.bank_simulator import simulate_bank_response
from flows.bank_response_import import bank_response_import
from flows.payment_run import payment_run
from tests.conftest import TestDatabase
from tests.payments.helpers import build_world, connect, use_key

AT = datetime(2026, 4, 1, 9, 30, tzinfo=UTC)


def statuses(conn: Any, table: str) -> dict[str, int]:
    return dict(conn.execute(f"SELECT status, count(*) FROM {table} GROUP BY status").fetchall())  # noqa: S608


@pytest.fixture(scope="module")
def imported(
    module_db: TestDatabase, prefect_api: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    use_key()
    outbox = tmp_path_factory.mktemp("outbox")
    inbox = tmp_path_factory.mktemp("inbox")
    with module_db.admin() as conn:
        build_world(conn)
    payment_run(outbox=str(outbox), value_date="2026-04-01")
    answers: dict[str, bytes] = {}
    for xml in sorted(outbox.glob("*.pain001.xml")):
        # seed 1: one payment of each batch of three fails (draws 0.51, 0.95, 0.14)
        answers.update(
            simulate_bank_response(
                xml.read_bytes(), seed=1, failed_share=0.5, returned_share=0.0, at=AT
            )
        )
    for name, data in answers.items():
        (inbox / name).write_bytes(data)
    first = bank_response_import(inbox=str(inbox))
    second = bank_response_import(inbox=str(inbox))
    yield {"db": module_db, "first": first, "second": second, "outbox": outbox, "inbox": inbox}


def test_paid_payments_make_their_claim_payments_paid(imported: dict[str, Any]) -> None:
    db, first = imported["db"], imported["first"]
    with connect(db) as conn:
        payments = statuses(conn, "payment_service.payment")
        claims = statuses(conn, "claims_service.claim_payment")
        unpaid_reference = conn.execute(
            "SELECT count(*) FROM claims_service.claim_payment "
            "WHERE status = 'paid' AND (reference_number IS NULL OR paid_at IS NULL "
            "OR payment_date IS NULL)"
        ).fetchone()[0]
    assert first.paid == payments.get("paid", 0) == claims["paid"] > 0
    assert claims["paid"] + claims["scheduled"] == 7
    assert unpaid_reference == 0


def test_importing_the_same_files_again_changes_nothing(imported: dict[str, Any]) -> None:
    second = imported["second"]
    assert {f.outcome for f in second.files} == {"already imported"}
    assert (second.paid, second.retried, second.exceptions) == (0, 0, 0)
    with connect(imported["db"]) as conn:
        files = conn.execute("SELECT count(*) FROM payment_service.bank_response_file").fetchone()
        events = conn.execute(
            "SELECT count(*), count(DISTINCT (payment_id, attempt, status)) "
            "FROM payment_service.payment_event WHERE source = 'bank'"
        ).fetchone()
    assert files[0] == len(imported["first"].files)
    assert events[0] == events[1]


def test_failed_payments_wait_for_a_later_batch_with_the_attempt_counted(
    imported: dict[str, Any],
) -> None:
    first = imported["first"]
    with connect(imported["db"]) as conn:
        retried = conn.execute(
            "SELECT count(*) FROM payment_service.payment "
            "WHERE status = 'pending' AND attempt = 2 AND batch_id IS NULL "
            "AND end_to_end_id IS NULL"
        ).fetchone()[0]
        failed_events = conn.execute(
            "SELECT count(*) FROM payment_service.payment_event "
            "WHERE status = 'failed' AND bank_reference IS NOT NULL AND attempt = 1"
        ).fetchone()[0]
    assert first.retried == retried == failed_events > 0


def test_a_batch_whose_payments_are_all_final_is_completed(imported: dict[str, Any]) -> None:
    with connect(imported["db"]) as conn:
        batches = statuses(conn, "payment_service.payment_batch")
    assert batches == {"completed": 2}
    assert imported["first"].batches_completed == 2


def test_a_failed_payment_is_paid_in_the_next_run_or_listed_after_its_last_attempt(
    imported: dict[str, Any],
) -> None:
    outbox: Path = imported["outbox"]
    inbox: Path = imported["inbox"]
    again = payment_run(outbox=str(outbox), value_date="2026-04-02")
    assert again.payments_created == 0 and again.files_written
    for xml in sorted(outbox.glob("PAY-20260402-*.pain001.xml")):
        for name, data in simulate_bank_response(
            xml.read_bytes(), seed=1, failed_share=1.0, returned_share=0.0, at=AT
        ).items():
            (inbox / name).write_bytes(data)
    report = bank_response_import(inbox=str(inbox), max_attempts=2)
    assert report.exceptions == imported["first"].retried and report.retried == 0
    with connect(imported["db"]) as conn:
        listed = conn.execute(
            "SELECT count(*) FROM payment_service.payment WHERE status = 'exception' "
            "AND attempt = 2"
        ).fetchone()[0]
        scheduled = statuses(conn, "claims_service.claim_payment").get("scheduled", 0)
    assert listed == report.exceptions
    # held (no bank details) and on the exception list: not paid, so not settled
    assert scheduled == listed + 1


def test_bad_entries_are_rejected_by_name_and_the_good_ones_apply(
    db: TestDatabase, prefect_api: str, tmp_path: Path
) -> None:
    use_key()
    with connect(db) as conn:
        build_world(conn)
    payment_run(outbox=str(tmp_path), value_date="2026-04-01")
    with connect(db) as conn:
        rows = conn.execute(
            "SELECT end_to_end_id, amount FROM payment_service.payment "
            "WHERE status = 'sent' ORDER BY end_to_end_id LIMIT 3"
        ).fetchall()
    (good, good_amount), (other, other_amount), (third, third_amount) = rows
    lines = [
        "end_to_end_id,status,bank_reference,status_time,amount,currency,reason_code",
        f"{good},paid,REF1,2026-04-01T10:00:00+07:00,{good_amount},IDR,",
        "ENOTOURS-1,paid,REF2,2026-04-01T10:00:00+07:00,1.00,IDR,",
        f"{other},paid,REF3,2026-04-01T10:00:00+07:00,{other_amount + 1},IDR,",
        f"{third},paid,REF4,2026-04-01T10:00:00+07:00,{third_amount},USD,",
    ]
    bad = tmp_path / "answers.csv"
    bad.write_text("\n".join(lines) + "\n")
    truncated = tmp_path / "truncated.xml"
    truncated.write_bytes(b"<?xml version='1.0'?><Document><CstmrPmtStsRpt><GrpHdr>")
    report = bank_response_import(files=[str(bad), str(truncated)])
    by_name = {f.file_name: f for f in report.files}
    assert by_name["answers.csv"].applied == 1 and by_name["answers.csv"].rejected == 3
    assert all("answers.csv" in e for e in by_name["answers.csv"].errors)
    assert by_name["truncated.xml"].outcome == "unreadable"
    assert "truncated.xml" in by_name["truncated.xml"].errors[0]
    with connect(db) as conn:
        paid = conn.execute(
            "SELECT end_to_end_id FROM payment_service.payment WHERE status = 'paid'"
        ).fetchall()
        recorded = conn.execute(
            "SELECT count(*) FROM payment_service.bank_response_error"
        ).fetchone()[0]
    assert paid == [(good,)] and recorded == 3
