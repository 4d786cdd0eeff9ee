"""Readjustments settle through payments: a re-adjudication that changed nothing is settled at
once; an underpayment is a supplementary payment in the next run; an overpayment is taken
from the payee's next payments, or listed for recovery when nothing is due to the payee.
Every step is recorded and leaves the readjustment settled."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from typer.testing import CliRunner

from claims_askes.cli.app import app
from claims_askes.payments.bank_simulator import simulate_bank_response
from flows.bank_response_import import bank_response_import
from flows.claim_adjudication import claim_adjudication
from flows.claim_readjudication import claim_readjudication
from flows.payment_run import payment_run
from tests.conftest import TestDatabase
from tests.payments.helpers import build_world, connect, use_key
from tests.scenario import Line

AT = datetime(2026, 4, 1, 9, 30, tzinfo=UTC)


def pay_everything(outbox: Path, inbox: Path, day: str) -> None:
    payment_run(outbox=str(outbox), value_date=day)
    for xml in sorted(outbox.glob(f"PAY-{day.replace('-', '')}-*.pain001.xml")):
        for name, data in simulate_bank_response(
            xml.read_bytes(), seed=3, failed_share=0.0, returned_share=0.0, at=AT
        ).items():
            (inbox / name).write_bytes(data)
    bank_response_import(inbox=str(inbox))


def test_readjustments_settle_through_the_next_payment_run(
    db: TestDatabase, prefect_api: str, tmp_path: Path
) -> None:
    use_key()
    outbox, inbox = tmp_path / "outbox", tmp_path / "inbox"
    inbox.mkdir()
    with connect(db) as conn:
        world = build_world(conn)
    pay_everything(outbox, inbox, "2026-04-01")
    runner = CliRunner()
    over, under, same = world.cashless
    member_over = world.reimbursement[0]
    for number, amount in ((over, "100000"), (under, "140000"), (member_over, "50000")):
        result = runner.invoke(
            app, ["override", number, "1", "--approve", amount, "--note", "audit", "--by", "QA"]
        )
        assert result.exit_code == 0, result.output
    claim_readjudication(claim_numbers=[same], reason="re-check, nothing changed")
    with connect(db) as conn:
        kinds = dict(
            conn.execute(
                "SELECT c.claim_number, r.kind || ':' || r.status FROM "
                "claims_service.claim_readjustment AS r JOIN claims_service.claim AS c "
                "ON c.id = r.claim_id"
            ).fetchall()
        )
        assert kinds == {
            over: "overpayment:open",
            under: "underpayment:open",
            same: "no_change:settled",  # settled at once
            member_over: "overpayment:open",
        }
        # a new claim of the hospital: the next payment its overpayment is taken from
        assert world.scenario is not None
        world.scenario.conn = conn
        new_claim = world.scenario.claim(
            world.member, world.hospital, date(2026, 3, 20), [Line("OP_GP", 200_000)]
        )
    claim_adjudication()
    report = payment_run(outbox=str(outbox), value_date="2026-04-02")
    assert report.supplementary_payments == 1 and report.offsets_recorded == 2
    with connect(db) as conn:
        readjustments = {
            number: (status, settlement, difference)
            for number, status, settlement, difference in conn.execute(
                "SELECT c.claim_number, r.status, r.settlement, r.difference FROM "
                "claims_service.claim_readjustment AS r JOIN claims_service.claim AS c "
                "ON c.id = r.claim_id"
            ).fetchall()
        }
        offsets = conn.execute(
            "SELECT o.payee_type, o.amount, o.applied_amount, o.status "
            "FROM payment_service.payee_offset AS o ORDER BY o.payee_type"
        ).fetchall()
        supplementary = conn.execute(
            "SELECT cp.amount, cp.status FROM claims_service.claim_payment AS cp "
            "WHERE cp.readjustment_id IS NOT NULL"
        ).fetchone()
        batch = conn.execute(
            "SELECT gross_amount, offset_amount, total_amount FROM payment_service.payment_batch "
            "WHERE value_date = '2026-04-02' AND payee_type = 'provider'"
        ).fetchone()
        taken = conn.execute("SELECT sum(amount) FROM payment_service.payment_offset").fetchone()
        new_payment = conn.execute(
            "SELECT p.amount, p.offset_amount FROM payment_service.payment AS p "
            "JOIN claims_service.claim AS c ON c.id = p.claim_id WHERE c.claim_number = %s",
            (new_claim,),
        ).fetchone()
    assert all(status == "settled" for status, _, _ in readjustments.values())
    assert readjustments[under][1] == "supplementary_payment"
    assert readjustments[over][1] == "offset"
    assert readjustments[member_over][1] == "recovery"  # nothing due to the member
    assert readjustments[same][1] == "no_change"
    overpaid = -readjustments[over][2]
    underpaid = readjustments[under][2]
    assert supplementary[0] == underpaid
    # the hospital's overpayment is taken whole from its next payments
    assert offsets[1] == ("provider", overpaid, overpaid, "applied")
    assert offsets[0][0] == "member" and offsets[0][3] == "recovery" and offsets[0][2] == 0
    assert taken[0] == overpaid
    gross, offset, net = batch
    assert offset == overpaid and net == gross - offset
    assert gross == underpaid + new_payment[0]
    assert new_payment[1] <= new_payment[0]
