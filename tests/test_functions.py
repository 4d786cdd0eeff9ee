"""The seed's functions, triggers and views, done right, on a real server."""

from __future__ import annotations

import re
import threading
import uuid
from datetime import date
from decimal import Decimal

import psycopg
import pytest

from tests.conftest import TestDatabase, run_in_threads
from tests.fixtures_sql import add_claim, add_coverage, add_member

CLAIM_NUMBER = re.compile(r"^CLM-\d{4}-\d{2}-\d{6,}$")


def test_generate_claim_number_is_unique_across_8_concurrent_connections(db: TestDatabase) -> None:
    per_worker, workers = 60, 8
    results: list[list[str]] = [[] for _ in range(workers)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(workers)

    def work(i: int) -> None:
        try:
            with db.as_role("claims_service_user", autocommit=False) as conn:
                barrier.wait()
                for n in range(per_worker):
                    row = conn.execute("SELECT claims_service.generate_claim_number()").fetchone()
                    assert row is not None
                    results[i].append(row[0])
                    # Half the callers commit each number, half hold several in one transaction.
                    if i % 2 == 0 or n % 10 == 9:
                        conn.commit()
                conn.commit()
        except BaseException as exc:
            errors.append(exc)

    run_in_threads(work, workers)
    assert errors == []
    numbers = [n for r in results for n in r]
    assert len(numbers) == per_worker * workers
    assert len(set(numbers)) == len(numbers)
    assert all(CLAIM_NUMBER.match(n) for n in numbers)
    sequences = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    assert sequences == list(range(1, len(numbers) + 1))  # no gaps either


def test_claim_number_widens_past_999999_instead_of_truncating(db: TestDatabase) -> None:
    with db.admin() as conn:
        period = conn.execute(
            "SELECT to_char(now() AT TIME ZONE 'Asia/Jakarta', 'YYYY-MM')"
        ).fetchone()[0]  # type: ignore[index]
        conn.execute(
            "INSERT INTO claims_service.claim_number_counter VALUES (%s, 999999)", (period,)
        )
        number = conn.execute("SELECT claims_service.generate_claim_number()").fetchone()[0]  # type: ignore[index]
    assert number == f"CLM-{period}-1000000"


def _eligibility(
    conn: psycopg.Connection, member_id: uuid.UUID, sd: date
) -> tuple[bool, str, dict[str, object] | None]:
    row = conn.execute(
        "SELECT * FROM member_service.check_eligibility(%s, %s)", (member_id, sd)
    ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


def test_check_eligibility_picks_the_coverage_that_covers_the_date(db: TestDatabase) -> None:
    """The seed took the newest coverage even when an older one covered the date."""
    with db.admin() as conn:
        m = add_member(conn)
        old = add_coverage(conn, m, date(2024, 1, 1), date(2025, 12, 31), status="terminated")
        add_coverage(conn, m, date(2026, 3, 1))
        ok, reason, details = _eligibility(conn, m, date(2025, 6, 1))
        assert (ok, reason) == (True, "ELIGIBLE")
        assert details is not None and details["coverage_id"] == str(old)
        # The gap between coverages: the first coverage started before, so terminated.
        assert _eligibility(conn, m, date(2026, 1, 15))[:2] == (False, "COVERAGE_TERMINATED")


def test_check_eligibility_latest_of_overlapping_coverages(db: TestDatabase) -> None:
    with db.admin() as conn:
        m = add_member(conn)
        add_coverage(conn, m, date(2024, 1, 1))
        newer = add_coverage(conn, m, date(2025, 1, 1))
        details = _eligibility(conn, m, date(2025, 6, 1))[2]
        assert details is not None and details["coverage_id"] == str(newer)


@pytest.mark.parametrize(
    ("member", "coverages", "sd", "expected"),
    [
        # R2: suspended on the date
        (
            {"status": "suspended"},
            [(date(2020, 1, 1), None, "active")],
            date(2025, 1, 1),
            (False, "MEMBER_NOT_ELIGIBLE"),
        ),
        # R2: before enrollment
        (
            {"enrollment": date(2025, 2, 1)},
            [(date(2020, 1, 1), None, "active")],
            date(2025, 1, 1),
            (False, "MEMBER_NOT_ELIGIBLE"),
        ),
        # R2: after termination of the member
        (
            {"status": "terminated", "termination": date(2024, 12, 31)},
            [(date(2020, 1, 1), None, "active")],
            date(2025, 1, 1),
            (False, "MEMBER_NOT_ELIGIBLE"),
        ),
        # R2: terminated later, service before: still eligible (a retro claim)
        (
            {"status": "terminated", "termination": date(2025, 12, 31)},
            [(date(2020, 1, 1), None, "active")],
            date(2025, 1, 1),
            (True, "ELIGIBLE"),
        ),
        # R3: first coverage starts after the date
        (
            {},
            [(date(2025, 3, 1), None, "active")],
            date(2025, 1, 1),
            (False, "COVERAGE_NOT_STARTED"),
        ),
        # R3: a cancelled coverage never covers
        (
            {},
            [(date(2020, 1, 1), None, "cancelled")],
            date(2025, 1, 1),
            (False, "COVERAGE_TERMINATED"),
        ),
        # R3: a terminated coverage still covers dates inside it; both ends inclusive
        (
            {},
            [(date(2020, 1, 1), date(2025, 1, 1), "terminated")],
            date(2025, 1, 1),
            (True, "ELIGIBLE"),
        ),
        (
            {},
            [(date(2020, 1, 1), date(2024, 12, 31), "terminated")],
            date(2025, 1, 1),
            (False, "COVERAGE_TERMINATED"),
        ),
        # no coverage at all
        ({}, [], date(2025, 1, 1), (False, "COVERAGE_TERMINATED")),
    ],
)
def test_check_eligibility_rules_r2_r3(
    db: TestDatabase,
    member: dict[str, object],
    coverages: list[tuple[date, date | None, str]],
    sd: date,
    expected: tuple[bool, str],
) -> None:
    with db.admin() as conn:
        m = add_member(conn, **member)  # type: ignore[arg-type]
        for eff, term, status in coverages:
            add_coverage(conn, m, eff, term, status)
        assert _eligibility(conn, m, sd)[:2] == expected


def test_check_eligibility_of_an_unknown_member(db: TestDatabase) -> None:
    with db.admin() as conn:
        assert _eligibility(conn, uuid.uuid4(), date(2025, 1, 1))[:2] == (
            False,
            "MEMBER_NOT_ELIGIBLE",
        )


def test_update_accumulator_adds_per_member_benefit_and_year(db: TestDatabase) -> None:
    m = uuid.uuid4()
    with db.as_role("benefit_service_user") as conn:
        call = "SELECT benefit_service.update_accumulator(%s, 'OP_GP', %s, %s, %s, %s, %s, %s)"
        conn.execute(
            call,
            (m, Decimal("100000.50"), date(2025, 3, 1), Decimal("50000"), Decimal("60000"), 1, 0),
        )
        conn.execute(call, (m, Decimal("20000.25"), date(2025, 11, 1), 0, Decimal("5000"), 1, 0))
        conn.execute(call, (m, Decimal("7"), date(2026, 1, 2), 0, 0, 1, 0))
        rows = conn.execute(
            "SELECT year, amount_used, deductible_used, oop_used, visits_used "
            "FROM benefit_service.accumulator WHERE member_id = %s ORDER BY year",
            (m,),
        ).fetchall()
    assert rows == [
        (2025, Decimal("120000.75"), Decimal("50000.00"), Decimal("65000.00"), 2),
        (2026, Decimal("7.00"), Decimal("0.00"), Decimal("0.00"), 1),
    ]


def test_updated_at_trigger_moves_on_update(db: TestDatabase) -> None:
    with db.admin(autocommit=False) as conn:
        claim = add_claim(conn, number="CLM-2026-01-000001")
        conn.execute(
            "UPDATE claims_service.claim SET updated_at = '2000-01-01' WHERE id = %s", (claim,)
        )
        conn.commit()
        conn.execute("UPDATE claims_service.claim SET status = 'cancelled' WHERE id = %s", (claim,))
        conn.commit()
        updated = conn.execute(
            "SELECT updated_at > now() - interval '1 minute' "
            "FROM claims_service.claim WHERE id = %s",
            (claim,),
        ).fetchone()
    assert updated == (True,)


def test_audit_log_records_each_change_with_the_user(db: TestDatabase) -> None:
    with db.as_role("claims_service_user") as conn:
        claim = add_claim(conn, number="CLM-2026-01-000002")
        conn.execute("UPDATE claims_service.claim SET status = 'rejected' WHERE id = %s", (claim,))
        conn.execute("DELETE FROM claims_service.claim WHERE id = %s", (claim,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM audit.audit_log")
    with db.admin() as conn:
        rows = conn.execute(
            "SELECT operation, user_name, old_data->>'status', new_data->>'status' "
            "FROM audit.audit_log WHERE row_id = %s ORDER BY id",
            (str(claim),),
        ).fetchall()
    assert rows == [
        ("INSERT", "claims_service_user", None, "submitted"),
        ("UPDATE", "claims_service_user", "submitted", "rejected"),
        ("DELETE", "claims_service_user", "rejected", None),
    ]


def test_mask_national_id(db: TestDatabase) -> None:
    assert db.scalar("SELECT common.mask_national_id('3174051506850001')") == "************0001"
    assert db.scalar("SELECT common.mask_national_id(NULL)") is None


def test_health_check_reports_the_seed_checks(db: TestDatabase) -> None:
    with db.admin() as conn:
        rows = conn.execute("SELECT check_name, status FROM common.health_check()").fetchall()
    assert {r[0] for r in rows} >= {"connection_count", "table_bloat"}
    assert all(r[1] in {"healthy", "warning", "critical"} for r in rows)


def test_monthly_partitions_are_created_idempotently_and_route_rows(db: TestDatabase) -> None:
    with db.admin() as conn:
        assert db.scalar("SELECT claims_service.create_monthly_partition('2026-03-15')") == (
            "claim_2026_03"
        )
        conn.execute("SELECT claims_service.create_monthly_partition('2026-03-01')")
        conn.execute(
            """
            INSERT INTO claims_service.claim_partitioned (id, claim_number, member_id,
                provider_id, policy_id, claim_type, service_type, service_date)
            VALUES (gen_random_uuid(), 'CLM-X-1', gen_random_uuid(), gen_random_uuid(),
                    gen_random_uuid(), 'cashless', 'outpatient', '2026-03-31'),
                   (gen_random_uuid(), 'CLM-X-2', gen_random_uuid(), gen_random_uuid(),
                    gen_random_uuid(), 'cashless', 'outpatient', '2031-01-01')
            """
        )
        placed: dict[str, str] = dict(
            conn.execute(
                "SELECT claim_number, tableoid::regclass::text "
                "FROM claims_service.claim_partitioned"
            ).fetchall()
        )
        default_index = conn.execute(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'claim_2026_03'"
        ).fetchone()
    assert placed == {
        "CLM-X-1": "claims_service.claim_2026_03",
        "CLM-X-2": "claims_service.claim_partitioned_default",
    }
    assert default_index is not None and default_index[0] >= 4  # the template's indexes


def test_member_eligibility_view_and_claims_dashboard(db: TestDatabase) -> None:
    with db.admin() as conn:
        m = add_member(conn)
        add_coverage(conn, m, date(2020, 1, 1))
        add_claim(conn, number="CLM-2026-01-000003")
        add_claim(conn, number="CLM-2026-01-000004", status="rejected")
        view = conn.execute(
            "SELECT eligibility_status, reason FROM "
            "member_service.v_member_eligibility WHERE id = %s",
            (m,),
        ).fetchone()
        dash = conn.execute(
            "SELECT total_claims, pending_claims, rejected_claims, total_charged "
            "FROM claims_service.v_claims_dashboard"
        ).fetchall()
    assert view == ("eligible", "ELIGIBLE")
    assert dash == [(2, 1, 1, Decimal("300000.00"))]
