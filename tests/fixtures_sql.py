"""Small builders of rows for database tests (as the owner: tests set the scene)."""

from __future__ import annotations

import uuid
from datetime import date

import psycopg


def add_member(
    conn: psycopg.Connection,
    *,
    status: str = "active",
    enrollment: date = date(2020, 1, 1),
    termination: date | None = None,
    dob: date = date(1985, 6, 15),
    national_id: str | None = None,
) -> uuid.UUID:
    member_id = uuid.uuid4()
    conn.execute(
        """
        INSERT INTO member_service.member (id, member_number, first_name, last_name, date_of_birth,
            gender, national_id, status, enrollment_date, termination_date)
        VALUES (%s, %s, 'Budi', 'Santoso', %s, 'M', %s, %s, %s, %s)
        """,
        (
            member_id,
            f"M-{member_id.hex[:10]}",
            dob,
            national_id or str(uuid.uuid4().int)[:16],
            status,
            enrollment,
            termination,
        ),
    )
    return member_id


def add_coverage(
    conn: psycopg.Connection,
    member_id: uuid.UUID,
    effective: date,
    termination: date | None = None,
    status: str = "active",
    plan_id: uuid.UUID | None = None,
) -> uuid.UUID:
    coverage_id = uuid.uuid4()
    conn.execute(
        """
        INSERT INTO member_service.member_coverage (id, member_id, policy_id, plan_id,
            coverage_level, effective_date, termination_date, status)
        VALUES (%s, %s, %s, %s, 'individual', %s, %s, %s)
        """,
        (
            coverage_id,
            member_id,
            uuid.uuid4(),
            plan_id or uuid.uuid4(),
            effective,
            termination,
            status,
        ),
    )
    return coverage_id


def add_claim(
    conn: psycopg.Connection,
    *,
    number: str,
    service_date: date = date(2026, 1, 10),
    status: str = "submitted",
) -> uuid.UUID:
    claim_id = uuid.uuid4()
    conn.execute(
        """
        INSERT INTO claims_service.claim (id, claim_number, member_id, provider_id, policy_id,
            claim_type, service_type, service_date, total_charged_amount, status)
        VALUES (%s, %s, %s, %s, %s, 'cashless', 'outpatient', %s, 150000.00, %s)
        """,
        (claim_id, number, uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), service_date, status),
    )
    return claim_id
