"""Partition maintenance on a real server: months created over a range with gaps, twice
(the second run creates nothing), the template's indexes and grants on every new month,
rows in the default partition reported as a failure and moved on request."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from claims_askes.operations.common import HealthCheckFailed
from flows.partition_maintenance import partition_maintenance
from tests.conftest import TestDatabase

AS_OF = date(2024, 6, 15)


def add_partitioned_claim(conn: psycopg.Connection, number: str, service_date: date) -> None:
    conn.execute(
        "INSERT INTO claims_service.claim_partitioned (id, claim_number, member_id, provider_id,"
        " policy_id, claim_type, service_type, service_date, total_charged_amount) VALUES "
        "(gen_random_uuid(), %s, gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), "
        "'cashless', 'outpatient', %s, 125000.50)",
        (number, service_date),
    )


def partitions(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'claims_service.claim_partitioned'::regclass ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def placed(conn: psycopg.Connection) -> dict[str, str]:
    rows = conn.execute(
        "SELECT claim_number, tableoid::regclass::text FROM claims_service.claim_partitioned"
    ).fetchall()
    return {str(r[0]): str(r[1]) for r in rows}


def test_gaps_filled_through_premake_idempotently_with_template_indexes(
    db: TestDatabase, prefect_api: str
) -> None:
    with db.admin() as conn:
        conn.execute("DROP TABLE claims_service.claim_2024_02")  # a gap after the oldest data
        add_partitioned_claim(conn, "CLM-P-1", date(2024, 1, 20))
        first = partition_maintenance(premake=2, as_of=AS_OF)
        assert first.created == [f"claim_2024_{m:02d}" for m in (2, 3, 4, 5, 6, 7, 8)]
        assert (first.covered_from, first.covered_to) == (date(2024, 1, 1), date(2024, 9, 1))
        second = partition_maintenance(premake=2, as_of=AS_OF)
        assert second.created == [] and second.default_rows == 0
        assert partitions(conn) == [
            *(f"claim_2024_{m:02d}" for m in range(1, 9)),
            "claim_partitioned_default",
        ]
        parent_indexes = conn.execute(
            "SELECT count(*) FROM pg_index WHERE indrelid = "
            "'claims_service.claim_partitioned'::regclass"
        ).fetchone()
        child_indexes = conn.execute(
            "SELECT count(*) FROM pg_index x JOIN pg_inherits i ON i.inhrelid = x.indexrelid "
            "WHERE x.indrelid = 'claims_service.claim_2024_05'::regclass"
        ).fetchone()
        assert parent_indexes == child_indexes and parent_indexes is not None
        assert parent_indexes[0] >= 5
        add_partitioned_claim(conn, "CLM-P-2", date(2024, 5, 31))
        assert placed(conn)["CLM-P-2"] == "claims_service.claim_2024_05"
    with db.as_role("claims_service_user") as svc:  # grants like the parent's
        assert svc.execute("SELECT count(*) FROM claims_service.claim_2024_05").fetchone() == (1,)
    with db.as_role("reporting_user") as rep:
        assert rep.execute("SELECT count(*) FROM claims_service.claim_2024_08").fetchone() == (0,)


def test_rows_in_default_fail_the_run_until_moved(db: TestDatabase, prefect_api: str) -> None:
    with db.admin() as conn:
        add_partitioned_claim(conn, "CLM-D-OLD", date(2023, 11, 5))  # before every month
        add_partitioned_claim(conn, "CLM-D-FAR", date(2031, 1, 1))  # far beyond premake
        add_partitioned_claim(conn, "CLM-JAN", date(2024, 1, 2))
        with pytest.raises(HealthCheckFailed, match="2 rows in the default partition"):
            partition_maintenance(premake=1, as_of=AS_OF)
        # The months in range without default rows were still created; 2023-11 is blocked.
        names = partitions(conn)
        assert "claim_2023_12" in names and "claim_2024_07" in names
        assert "claim_2023_11" not in names
        checks = {
            str(r[0]): str(r[1])
            for r in conn.execute("SELECT check_name, status FROM common.health_check()").fetchall()
        }
        assert checks["default_partition_rows"] == "critical"

        report = partition_maintenance(premake=1, as_of=AS_OF, move_default_rows=True)
        assert report.default_rows_moved == 2 and report.default_rows == 0
        assert set(report.created) == {"claim_2023_11", "claim_2031_01"}
        assert placed(conn) == {
            "CLM-D-OLD": "claims_service.claim_2023_11",
            "CLM-D-FAR": "claims_service.claim_2031_01",
            "CLM-JAN": "claims_service.claim_2024_01",
        }
        row = conn.execute(
            "SELECT total_charged_amount FROM claims_service.claim_partitioned "
            "WHERE claim_number = 'CLM-D-FAR'"
        ).fetchone()
        assert row is not None and str(row[0]) == "125000.50"
        assert partition_maintenance(premake=1, as_of=AS_OF).created == []


def test_a_second_run_waits_for_nobody(db: TestDatabase, prefect_api: str) -> None:
    """The advisory lock: a run while another holds it refuses at once."""
    from claims_askes.operations.common import OperationLocked, lock_key

    with db.admin() as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (lock_key("partition-maintenance"),))
        with pytest.raises(OperationLocked):
            partition_maintenance(premake=1, as_of=AS_OF)
