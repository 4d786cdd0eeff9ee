"""One claim whose line 1 is touched by every kind of write the trail must show, run through
the real flows: submission, a pend (pre-authorization pending) and its release, a
reviewer's override (re-adjudicated at once), a DBA's manual UPDATE, a re-adjudication
(posting reverses the old version), a payment paid by the bank, and archiving."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import psycopg

from tests.payments.helpers import KEY, use_key
from tests.scenario import Line, Scenario

SERVICE_DATE = date(2024, 3, 11)
ARCHIVE_AS_OF = date(2026, 6, 15)  # 2y: cutoff 2024-06-15, the claim is older
MANUAL_EDIT = "UPDATE claims_service.claim_item SET diagnosis_code = 'J20.9' WHERE id = %s"


@dataclass(frozen=True)
class Story:
    """What the scenario built: the claim, its member and the ids of its lines."""

    claim_number: str
    member: uuid.UUID
    provider: uuid.UUID
    lines: dict[int, uuid.UUID]


def build_story(conn: psycopg.Connection) -> Story:
    """The plan (line 1 needs a pre-authorization, only a pending one exists: the claim is
    pended), a provider with bank details, and the submitted claim."""
    from tasks.payments import store_bank_details

    s = Scenario(conn)
    plan = s.plan("PLAN-TRAIL")
    s.benefit(plan, "LAB", deductible_amount=50_000, coinsurance_percentage=20,
              annual_limit=5_000_000, requires_preauth=True)  # fmt: skip
    s.benefit(plan, "OP_GP", copay_amount=25_000)
    hospital = s.provider()
    member = s.member(plan)
    s.authorization(member, "LAB", "pending", date(2024, 1, 1), date(2024, 12, 31))
    number = s.claim(member, hospital, SERVICE_DATE, [Line("LAB", 400_000), Line("OP_GP", 150_000)])
    use_key()
    store_bank_details.fn(
        "provider",
        pd.DataFrame(
            {
                "payee_id": [str(hospital)],
                "bank_bic": ["CENAIDJA"],
                "bank_name": ["Bank Central Asia"],
                "account_holder": ["RS Harapan Kita"],
                "account_number": ["5123456789012"],
            }
        ),
        KEY,
    )
    lines = {
        int(r[0]): uuid.UUID(str(r[1]))
        for r in conn.execute(
            "SELECT i.line_number, i.id FROM claims_service.claim_item AS i "
            "JOIN claims_service.claim AS c ON c.id = i.claim_id WHERE c.claim_number = %s",
            (number,),
        ).fetchall()
    }
    return Story(number, member, hospital, lines)


def run_story(story: Story, files: Path) -> None:
    """Every kind of write but archiving, in order, through the real flows and the reviewer's
    own function (DATABASE_URL is the database the story runs in)."""
    from claims_askes.adjudication.overrides import record_override
    from claims_askes.payments.bank_simulator import simulate_bank_response
    from flows.bank_response_import import bank_response_import
    from flows.claim_adjudication import claim_adjudication
    from flows.claim_readjudication import claim_readjudication
    from flows.payment_run import payment_run

    use_key()
    claim_adjudication()  # pended: the pre-authorization is pending
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute(
            "UPDATE authorization_service.authorization SET status = 'approved' "
            "WHERE member_id = %s",
            (story.member,),
        )
    claim_adjudication()  # released: decided again
    record_override(
        story.claim_number, 1, approve=Decimal("300000"), reject=None,
        note="telaah medis", by="rina",
    )  # fmt: skip
    claim_readjudication(claim_numbers=[story.claim_number], reason="manual override of line 1")
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute(MANUAL_EDIT, (story.lines[1],))  # a DBA's hand
    claim_readjudication(claim_numbers=[story.claim_number], reason="diagnosis corrected")
    outbox, inbox = files / "outbox", files / "inbox"
    outbox.mkdir(exist_ok=True)
    inbox.mkdir(exist_ok=True)
    payment_run(outbox=str(outbox), value_date="2026-04-01")
    at = datetime(2026, 4, 1, 9, 30, tzinfo=UTC)
    for xml in sorted(outbox.glob("*.pain001.xml")):
        answers = simulate_bank_response(
            xml.read_bytes(), seed=1, failed_share=0.0, returned_share=0.0, at=at
        )
        for name, data in answers.items():
            (inbox / name).write_bytes(data)
    bank_response_import(inbox=str(inbox))


def archive_story() -> None:
    """The claim, settled and older than two years, moves to the archive."""
    from flows.claim_archiving import claim_archiving

    report = claim_archiving(older_than="2y", batch_size=10, as_of=ARCHIVE_AS_OF)
    assert report.claims_moved == 1
