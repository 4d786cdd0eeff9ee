"""Accumulator posting on a real database: exactly once across crashes between the claims and
benefit schemas, reconciliation that catches a wrong accumulator, and the year boundary."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from claims_askes.quality.checkpoints import DataQualityError
from flows.accumulator_posting import accumulator_posting
from flows.claim_adjudication import claim_adjudication
from tests.conftest import TestDatabase
from tests.scenario import Line, Scenario
from tests.test_adjudication_runs import (
    CLI,
    assert_exactly_once,
    build_world,
    clean_outcome,  # noqa: F401  (module fixture: the world adjudicated undisturbed)
    outcome,
    run_cli,
)


def unposted(db: TestDatabase) -> int:
    return int(
        str(
            db.scalar(
                "SELECT count(*) FROM claims_service.claim_item AS ci "
                "JOIN claims_service.posting_outbox AS o "
                "ON o.claim_item_id = ci.id WHERE ci.status = 'approved'"
            )
        )
    )


def latest_posting_artifact() -> dict[str, int]:
    """The newest posting summary artifact on the Prefect API, as measure -> value."""
    import asyncio
    import json

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    async def read() -> Any:
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    key=ArtifactFilterKey(any_=["accumulator-posting-summary"])
                ),
                sort=ArtifactSort.CREATED_DESC,
                limit=1,
            )
            return found[0].data

    data = asyncio.run(read())
    rows = json.loads(data) if isinstance(data, str) else data
    return {row["measure"]: int(row["value"]) for row in rows}


def queued(db: TestDatabase) -> int:
    """Decided line versions waiting for posting, whatever their status."""
    return int(str(db.scalar("SELECT count(*) FROM claims_service.posting_outbox")))


def adjudicate_without_posting(db: TestDatabase, api_url: str) -> None:
    """A real adjudication run killed right after its first write: lines decided, unposted."""
    killed = run_cli(api_url, "--chunk-size", "100", crash_at="after-write")
    killed.communicate(timeout=300)
    assert killed.returncode == -9 and unposted(db) > 0


def test_posting_twice_posts_once(
    db: TestDatabase,
    prefect_api: str,
    clean_outcome: dict[str, Any],  # noqa: F811 - the fixture, imported from its module
) -> None:
    with db.admin() as conn:
        build_world(conn, members=8)
        adjudicate_without_posting(db, prefect_api)
        approved, waiting = unposted(db), queued(db)
        first = accumulator_posting()
        artifact = latest_posting_artifact()
        assert artifact["line versions posted"] == waiting
        assert artifact["approved lines posted"] == first.lines_posted == approved
        second = accumulator_posting(full_reconciliation=True)
        assert (first.lines_marked, first.entries_inserted, first.reversals) == (
            waiting,
            approved,
            0,
        )
        assert (second.lines_marked, second.entries_inserted) == (0, 0)
        assert second.keys_reconciled >= first.keys_reconciled > 0
        assert_exactly_once(conn)
        assert outcome(conn) == clean_outcome


@pytest.mark.slow  # a process kill: once, on the default server
def test_crash_between_ledger_and_mark_then_rerun(
    db: TestDatabase,
    prefect_api: str,
    clean_outcome: dict[str, Any],  # noqa: F811
) -> None:
    import os
    import subprocess

    with db.admin() as conn:
        build_world(conn, members=8)
        adjudicate_without_posting(db, prefect_api)
        waiting, decided = unposted(db), queued(db)
        env = dict(os.environ, PREFECT_API_URL=prefect_api, CLAIMS_ASKES_CRASH_AT="after-ledger")
        killed = subprocess.run(
            [CLI, "run", "accumulator-posting"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert killed.returncode == -9
        # The ledger holds every line; the claims side still shows them unposted.
        assert db.scalar("SELECT count(*) FROM benefit_service.accumulator_posting") == waiting
        assert unposted(db) == waiting
        rerun = accumulator_posting()
        assert (rerun.lines_marked, rerun.entries_inserted) == (decided, 0)
        claim_adjudication()  # the rest of the backlog
        assert_exactly_once(conn)
        assert outcome(conn) == clean_outcome


def test_reconciliation_names_the_wrong_accumulator(db: TestDatabase, prefect_api: str) -> None:
    with db.admin() as conn:
        build_world(conn, members=3)
        claim_adjudication()
        row = conn.execute(
            "SELECT member_id::text, benefit_code FROM "
            "benefit_service.accumulator ORDER BY 1, 2 LIMIT 1"
        ).fetchone()
        assert row is not None
        member, benefit = row
        conn.execute(
            "UPDATE benefit_service.accumulator SET amount_used = amount_used + 1 "
            "WHERE member_id = %s AND benefit_code = %s",
            (member, benefit),
        )
        with pytest.raises(DataQualityError) as failure:
            accumulator_posting(full_reconciliation=True)
        message = str(failure.value)
        assert "accumulator_equals_opening_plus_ledger" in message
        assert f"member_id='{member}'" in message and f"benefit_code='{benefit}'" in message
        assert "1 unexpected" in message and "ledger_equals_posted_lines" not in message


def test_year_rollover_starts_new_accumulators(db: TestDatabase, prefect_api: str) -> None:
    with db.admin() as conn:
        s = Scenario(conn)
        plan = s.plan("PLAN-YEAR")
        s.benefit(plan, "LAB", deductible_amount=50_000)
        hospital = s.provider()
        member = s.member(plan)
        december = s.claim(member, hospital, date(2025, 12, 30), [Line("LAB", 80_000)])
        january = s.claim(member, hospital, date(2026, 1, 2), [Line("LAB", 80_000)])
        claim_adjudication()
        # Each year takes its own deductible: 50.000 member, 30.000 plan, twice (days_used
        # counts the line's covered days, its quantity: 1).
        for number in (december, january):
            assert s.line_row(number)["deductible_amount"] == Decimal("50000.00")
            assert s.line_row(number)["approved_amount"] == Decimal("30000.00")
        for year in (2025, 2026):
            assert s.accumulator_row(member, "LAB", year) == (
                Decimal("30000.00"),
                Decimal("50000.00"),
                Decimal("50000.00"),
                1,
                1,
            )
        assert accumulator_posting(full_reconciliation=True).keys_reconciled == 2


def test_queue_csv_goes_to_posting_input_only_with_its_columns(db: TestDatabase) -> None:
    """The claims queue's CSV passes to the benefit service's COPY as it is; the COPY checks
    the header against posting_input's columns (HEADER MATCH), so a renamed or reordered
    queue column fails instead of landing in the wrong ledger column."""
    import psycopg

    from claims_askes.db.frames import copy_csv, copy_out_csv, frame_from_csv
    from tasks.benefits import POSTING_COLUMNS, Q

    with db.admin() as conn:
        data = copy_out_csv(
            conn,
            "SELECT gen_random_uuid() AS claim_item_id, 2 AS "
            "adjudication_version, 'post' AS entry_type, gen_random_uuid() "
            "AS member_id, 'LAB' AS benefit_code, 2026 AS year, 1234.05 AS "
            "amount, 0.10 AS deductible, 0 AS oop, 1 AS visits, NULL AS days",
            None,
        )
        assert frame_from_csv(data, {"amount": "string"})["amount"].tolist() == ["1234.05"]
        with conn.transaction():
            conn.execute(Q.create_posting_table)
            assert copy_csv(conn, "posting_input", data, POSTING_COLUMNS) == 1
            assert conn.execute("SELECT amount::text, days FROM posting_input").fetchone() == (
                "1234.05",
                None,
            )
        swapped = data.replace(b"amount,deductible", b"deductible,amount", 1)
        with pytest.raises(psycopg.errors.BadCopyFileFormat), conn.transaction():
            conn.execute(Q.create_posting_table)
            copy_csv(conn, "posting_input", swapped, POSTING_COLUMNS)
