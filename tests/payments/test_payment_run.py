"""The payment run on a real database: every pending claim payment becomes one payment, in
batches whose totals are their payments', a payee without bank details is held, approved
batches become bank files in the outbox, and a second run changes nothing."""

from __future__ import annotations

import hashlib
import stat

from tests.payments.conftest import Paid
from tests.payments.helpers import ACCOUNTS, connect


def test_every_pending_claim_payment_becomes_one_payment(paid: Paid) -> None:
    db, world, _, first, second = paid
    assert first.claim_payments_read == 7 and first.payments_created == 7
    assert second.payments_created == 0
    with connect(db) as conn:
        rows = conn.execute(
            "SELECT count(*), count(DISTINCT claim_payment_id) FROM payment_service.payment"
        ).fetchone()
        assert rows == (7, 7)
        statuses = dict(
            conn.execute(
                "SELECT status, count(*) FROM claims_service.claim_payment GROUP BY status"
            ).fetchall()
        )
    assert statuses == {"scheduled": 7}


def test_payments_and_batch_totals_equal_the_approved_claim_amounts(paid: Paid) -> None:
    db, *_ = paid
    with connect(db) as conn:
        approved = conn.execute("SELECT sum(amount) FROM claims_service.claim_payment").fetchone()[
            0
        ]
        paid_total = conn.execute("SELECT sum(amount) FROM payment_service.payment").fetchone()[0]
        batched = conn.execute(
            "SELECT sum(total_amount), sum(payment_count) FROM payment_service.payment_batch"
        ).fetchone()
        held = conn.execute(
            "SELECT sum(amount) FROM payment_service.payment WHERE status = 'held'"
        ).fetchone()[0]
    assert paid_total == approved
    assert batched[0] + held == approved and batched[1] == 6


def test_batches_are_grouped_by_payee_type_and_value_date(paid: Paid) -> None:
    db, *_ = paid
    with connect(db) as conn:
        batches = conn.execute(
            "SELECT batch_number, payee_type, value_date::text, status "
            "FROM payment_service.payment_batch ORDER BY batch_number"
        ).fetchall()
    assert batches == [
        ("PAY-20260401-M-001", "member", "2026-04-01", "sent"),
        ("PAY-20260401-P-001", "provider", "2026-04-01", "sent"),
    ]


def test_a_payee_without_bank_details_is_held_with_the_reason(paid: Paid) -> None:
    db, world, _, first, _ = paid
    assert first.held == 1
    with connect(db) as conn:
        row = conn.execute(
            "SELECT p.status, p.hold_reason, p.batch_id FROM payment_service.payment AS p "
            "WHERE p.payee_id = %s",
            (world.clinic_without_details,),
        ).fetchone()
    assert row == ("held", "no verified bank details", None)


def test_approved_batches_are_files_in_the_outbox_private_and_hashed(paid: Paid) -> None:
    db, _, outbox, first, second = paid
    files = sorted(p.name for p in outbox.iterdir() if p.is_file())
    assert files == [
        "PAY-20260401-M-001.csv",
        "PAY-20260401-M-001.pain001.xml",
        "PAY-20260401-P-001.csv",
        "PAY-20260401-P-001.pain001.xml",
    ]
    assert second.files_written == []
    with connect(db) as conn:
        recorded = dict(
            conn.execute(
                "SELECT f.file_name, f.sha256 FROM payment_service.bank_file AS f"
            ).fetchall()
        )
    for path in (p for p in outbox.iterdir() if p.is_file()):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert recorded[path.name] == hashlib.sha256(path.read_bytes()).hexdigest()
    xml = (outbox / "PAY-20260401-P-001.pain001.xml").read_bytes()
    assert ACCOUNTS["provider_paid"].encode() in xml  # the bank needs the number
    assert b"<CtrlSum>" in xml


def test_auto_approval_under_the_threshold_is_recorded(paid: Paid) -> None:
    db, *_ = paid
    with connect(db) as conn:
        rows = conn.execute(
            "SELECT decision, source FROM payment_service.batch_approval"
        ).fetchall()
    assert sorted(rows) == [("approve", "auto"), ("approve", "auto")]


def test_rewriting_a_batch_gives_the_same_bytes(paid: Paid) -> None:
    from flows.steps.payments import batch_files
    from tasks.payments import read_batches_to_send

    db, _, outbox, *_ = paid
    with connect(db) as conn:
        batch = conn.execute(
            "SELECT id::text AS batch_id, batch_number, message_id, payee_type, value_date, "
            "created_at FROM payment_service.payment_batch WHERE payee_type = 'provider'"
        ).fetchone()
    import pandas as pd

    series = pd.Series(
        dict(
            zip(
                [
                    "batch_id",
                    "batch_number",
                    "message_id",
                    "payee_type",
                    "value_date",
                    "created_at",
                ],
                batch,
                strict=True,
            )
        )
    )
    assert read_batches_to_send.fn().empty
    again = batch_files(series)
    assert again["pain.001"] == (outbox / "PAY-20260401-P-001.pain001.xml").read_bytes()
    assert again["csv"] == (outbox / "PAY-20260401-P-001.csv").read_bytes()


def test_each_provider_of_a_batch_gets_its_remittance_advice(paid: Paid) -> None:
    _, world, outbox, *_ = paid
    advice = sorted(p.name for p in (outbox / "remittance").iterdir())
    assert advice == [
        f"PAY-20260401-P-001_{world.hospital}.csv",
        f"PAY-20260401-P-001_{world.hospital}.html",
    ]
    csv = (outbox / "remittance" / advice[0]).read_text()
    for number in world.cashless:
        assert number in csv
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in (outbox / "remittance").iterdir())
