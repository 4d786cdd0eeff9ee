"""Operators' handling of payments that were not sent: a payee held for missing or
unverified bank details is paid by a later run once they are verified; payments on the
exception list, or held by a rejected batch, go back for the next run only through
`claims-askes payments retry` (recorded, audited, harmless when repeated); `payments list
--status` shows them, accounts masked."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from typer.testing import CliRunner

from claims_askes.cli.app import app
from claims_askes.payments.bank_details import mask_account
from claims_askes.payments.bank_simulator import simulate_bank_response
from flows.bank_response_import import bank_response_import
from flows.payment_run import payment_run
from tests.conftest import TestDatabase
from tests.payments.helpers import ACCOUNTS, KEY, build_world, connect, use_key

AT = datetime(2026, 4, 1, 9, 30, tzinfo=UTC)
CLINIC_ACCOUNT = "7001002003004"


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def payment_of(conn: Any, claim_number: str) -> tuple[Any, ...]:
    return conn.execute(
        "SELECT p.status, p.hold_reason, b.batch_number, p.attempt, p.end_to_end_id "
        "FROM payment_service.payment AS p "
        "LEFT JOIN payment_service.payment_batch AS b ON b.id = p.batch_id "
        "WHERE p.claim_number = %s",
        (claim_number,),
    ).fetchone()


def test_a_payee_held_for_bank_details_is_sent_by_a_later_run_once_they_are_verified(
    db: TestDatabase, prefect_api: str, tmp_path: Path
) -> None:
    from tasks.payments import store_bank_details

    use_key()
    with connect(db) as conn:
        world = build_world(conn)
    (held_claim,) = world.held_claims
    store_bank_details.fn(
        "provider",
        pd.DataFrame(
            {
                "payee_id": [str(world.clinic_without_details)],
                "bank_bic": ["BNINIDJA"],
                "bank_name": ["Bank Negara Indonesia"],
                "account_holder": ["Klinik Sehat"],
                "account_number": [CLINIC_ACCOUNT],
            }
        ),
        KEY,
    )
    with connect(db) as conn:  # details given but not verified yet: not valid for a payment
        conn.execute(
            "UPDATE provider_service.provider_bank_account SET status = 'unverified' "
            "WHERE provider_id = %s",
            (world.clinic_without_details,),
        )
    first = payment_run(outbox=str(tmp_path), value_date="2026-04-01")
    assert first.held == 1
    with connect(db) as conn:
        assert payment_of(conn, held_claim)[:3] == ("held", "no verified bank details", None)
    listed = invoke("payments", "list", "--status", "held")
    assert listed.exit_code == 0, listed.output
    assert held_claim in listed.output and "no verified bank details" in listed.output
    assert CLINIC_ACCOUNT not in listed.output
    # A retry is no use here: the operator is told what is.
    with connect(db) as conn:
        held_id = conn.execute(
            "SELECT id::text FROM payment_service.payment WHERE claim_number = %s", (held_claim,)
        ).fetchone()[0]
    refused = invoke("payments", "retry", held_id, "--by", "Dewi", "--reason", "paid now")
    assert refused.exit_code == 2
    assert "store verified bank details" in refused.output

    # The same run again, nothing verified yet: still held, nothing sent for it.
    again = payment_run(outbox=str(tmp_path), value_date="2026-04-01")
    assert (again.released, again.files_written) == (0, [])
    with connect(db) as conn:
        conn.execute(
            "UPDATE provider_service.provider_bank_account SET status = 'verified' "
            "WHERE provider_id = %s",
            (world.clinic_without_details,),
        )
    later = payment_run(outbox=str(tmp_path), value_date="2026-04-02")
    assert later.released == 1 and later.payments_created == 0
    with connect(db) as conn:
        status, reason, batch, attempt, end_to_end = payment_of(conn, held_claim)
        masked = conn.execute(
            "SELECT bank_code, bank_account_masked FROM payment_service.payment "
            "WHERE claim_number = %s",
            (held_claim,),
        ).fetchone()
        claim_payment = conn.execute(
            "SELECT cp.status FROM claims_service.claim_payment AS cp "
            "JOIN claims_service.claim AS c ON c.id = cp.claim_id WHERE c.claim_number = %s",
            (held_claim,),
        ).fetchone()[0]
    assert (status, reason, batch, attempt) == ("sent", None, "PAY-20260402-P-001", 1)
    assert masked == ("BNINIDJA", mask_account(CLINIC_ACCOUNT))
    assert claim_payment == "scheduled"
    csv = (tmp_path / "PAY-20260402-P-001.csv").read_text()
    xml = (tmp_path / "PAY-20260402-P-001.pain001.xml").read_text()
    assert end_to_end in csv and CLINIC_ACCOUNT in csv  # the bank file has the number
    assert end_to_end in xml and held_claim in xml
    assert invoke("payments", "list", "--status", "held").output.count(held_claim) == 0


def test_the_exception_list_goes_back_for_the_next_run_only_by_a_recorded_retry(
    db: TestDatabase, prefect_api: str, tmp_path: Path
) -> None:
    use_key()
    outbox, inbox = tmp_path / "outbox", tmp_path / "inbox"
    with connect(db) as conn:
        build_world(conn)
    first = payment_run(outbox=str(outbox), value_date="2026-04-01")
    assert len(first.files_written) == 4  # a provider and a member batch, XML and CSV each
    for xml in sorted(outbox.glob("*.pain001.xml")):
        for name, data in simulate_bank_response(
            xml.read_bytes(), seed=3, failed_share=1.0, returned_share=0.0, at=AT
        ).items():
            inbox.mkdir(exist_ok=True)
            (inbox / name).write_bytes(data)
    imported = bank_response_import(inbox=str(inbox), max_attempts=1)
    assert imported.exceptions == 6 and imported.paid == 0
    listed = invoke("payments", "list", "--status", "exception")
    assert listed.exit_code == 0, listed.output
    assert "6 payments exception" in listed.output and "failed" in listed.output
    assert all(number not in listed.output for number in ACCOUNTS.values())
    assert mask_account(ACCOUNTS["provider_paid"]) in listed.output.replace("\n", "")
    # A run without a retry sends nothing of the exception list.
    idle = payment_run(outbox=str(outbox), value_date="2026-04-02")
    assert idle.files_written == []

    with connect(db) as conn:
        rows = conn.execute(
            "SELECT id::text, end_to_end_id, payee_type FROM payment_service.payment "
            "WHERE status = 'exception' ORDER BY payee_type, id"
        ).fetchall()
    providers = [r for r in rows if r[2] == "provider"]
    # one by payment id, one by the end-to-end id the bank answered about
    refs = [providers[0][0], providers[1][1]]
    done = invoke("payments", "retry", *refs, "--by", "Dewi Lestari", "--reason", "BCA fixed")
    assert done.exit_code == 0, done.output
    assert done.output.count("retried, back to pending for the next payment run (attempt 2)") == 2
    repeated = invoke("payments", "retry", *refs, "--by", "Dewi Lestari", "--reason", "again")
    assert repeated.exit_code == 0, repeated.output
    assert repeated.output.count("retried before by Dewi Lestari (attempt 2)") == 2
    unknown = invoke("payments", "retry", "E-NONE", "--by", "Dewi", "--reason", "x")
    assert unknown.exit_code == 2 and "E-NONE: not found" in unknown.output
    no_reason = invoke("payments", "retry", refs[0], "--by", "Dewi", "--reason", " ")
    assert no_reason.exit_code == 2

    with connect(db) as conn:
        retries = conn.execute(
            "SELECT payment_id::text, attempt, previous_status, previous_reason, retried_by, "
            "reason FROM payment_service.payment_retry ORDER BY payment_id"
        ).fetchall()
        audited = conn.execute(
            "SELECT count(*) FROM audit.audit_log "
            "WHERE table_name = 'payment_retry' AND operation = 'INSERT'"
        ).fetchone()[0]
        events = conn.execute(
            "SELECT count(*) FROM payment_service.payment_event "
            "WHERE source = 'operator' AND status = 'pending' AND attempt = 2"
        ).fetchone()[0]
    assert sorted(r[0] for r in retries) == sorted(p[0] for p in providers[:2])
    assert {r[1:3] for r in retries} == {(2, "exception")}
    assert all(r[3].startswith("failed") for r in retries)
    assert {r[4:] for r in retries} == {("Dewi Lestari", "BCA fixed")}
    assert audited == 2 and events == 2

    later = payment_run(outbox=str(outbox), value_date="2026-04-03")
    assert sorted(Path(p).name for p in later.files_written) == [
        "PAY-20260403-P-001.csv",
        "PAY-20260403-P-001.pain001.xml",
    ]
    with connect(db) as conn:
        after = conn.execute(
            "SELECT p.id::text, p.status, p.attempt, p.end_to_end_id, b.batch_number, "
            "b.total_amount, (SELECT sum(amount - offset_amount) FROM payment_service.payment "
            "                 WHERE batch_id = b.id) "
            "FROM payment_service.payment AS p "
            "JOIN payment_service.payment_batch AS b ON b.id = p.batch_id "
            "WHERE p.status <> 'exception' ORDER BY p.id"
        ).fetchall()
        still = conn.execute(
            "SELECT count(*) FROM payment_service.payment WHERE status = 'exception'"
        ).fetchone()[0]
    assert sorted(a[0] for a in after) == sorted(p[0] for p in providers[:2])
    assert {a[1:3] for a in after} == {("sent", 2)}
    assert {a[4] for a in after} == {"PAY-20260403-P-001"}
    assert all(a[3].endswith("-2") and a[3] not in refs for a in after)  # new end-to-end ids
    assert after[0][5] == after[0][6]  # the batch total is its payments'
    assert still == 4
