"""A small world of approved claims for the payment tests: providers and members with and
without bank details, claims adjudicated for real."""

from __future__ import annotations

import base64
import os
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd
import psycopg

from claims_askes.payments.bank_details import BankKey
from tests.scenario import Line, Scenario

KEY = BankKey(b"k" * 32)
KEY_TEXT = base64.b64encode(KEY.key).decode()
ACCOUNTS = {  # plaintext account numbers the tests look for where they must never be
    "provider_paid": "5123456789012",
    "member_paid": "4987654321",
}


@dataclass
class World:
    hospital: uuid.UUID
    clinic_without_details: uuid.UUID
    member: uuid.UUID
    cashless: list[str] = field(default_factory=list)
    reimbursement: list[str] = field(default_factory=list)
    held_claims: list[str] = field(default_factory=list)
    scenario: Scenario | None = None


def connect(db: Any, role: str | None = None) -> Any:
    """The test database as its owner (or `role`), rows untyped for the assertions."""
    return db.as_role(role) if role else db.admin()


def use_key() -> None:
    os.environ["CLAIMS_ASKES_BANK_KEY"] = KEY_TEXT


def build_world(conn: psycopg.Connection) -> World:
    """Three providers' worth of approved claims: the hospital's and the member's are paid,
    the clinic has no bank details and its claims are held."""
    from flows.claim_adjudication import claim_adjudication
    from tasks.payments import store_bank_details

    s = Scenario(conn)
    plan = s.plan("PLAN-PAY")
    s.benefit(plan, "OP_GP", copay_amount=25_000)
    hospital = s.provider()
    clinic = s.provider()
    member = s.member(plan)
    world = World(hospital, clinic, member, scenario=s)
    for day in (date(2026, 1, 10), date(2026, 2, 10), date(2026, 3, 10)):
        world.cashless.append(s.claim(member, hospital, day, [Line("OP_GP", 150_000)]))
        world.reimbursement.append(
            s.claim(member, hospital, day, [Line("OP_GP", 120_000)], claim_type="reimbursement")
        )
    world.held_claims.append(s.claim(member, clinic, date(2026, 1, 12), [Line("OP_GP", 90_000)]))
    claim_adjudication()
    store_bank_details.fn(
        "provider",
        pd.DataFrame(
            {
                "payee_id": [str(hospital)],
                "bank_bic": ["CENAIDJA"],
                "bank_name": ["Bank Central Asia"],
                "account_holder": ["RS Harapan Kita"],
                "account_number": [ACCOUNTS["provider_paid"]],
            }
        ),
        KEY,
    )
    store_bank_details.fn(
        "member",
        pd.DataFrame(
            {
                "payee_id": [str(member)],
                "bank_bic": ["BMRIIDJA"],
                "bank_name": ["Bank Mandiri"],
                "account_holder": ["Siti Rahayu"],
                "account_number": [ACCOUNTS["member_paid"]],
            }
        ),
        KEY,
    )
    return world
