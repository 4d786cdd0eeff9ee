"""Adjudication runs that crash or overlap: a real `claims-askes run claim-adjudication`
process killed with SIGKILL at every crash point, and two runs started together. The end
state must equal that of one clean run, with every claim adjudicated and every approved line
posted exactly once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from claims_askes.core.faults import CRASH_POINTS
from claims_askes.db.frames import fetch_frame
from flows.claim_adjudication import claim_adjudication
from tests.conftest import TestDatabase, run_in_threads
from tests.scenario import Line, Scenario

CLI = str(Path(sys.executable).parent / "claims-askes")
LEASE_SECONDS = 5  # the shortest lease the parameters allow


def build_world(conn: psycopg.Connection, members: int) -> None:
    """Members with three claims each whose lines share deductibles, visit and annual limits,
    so that a line posted twice or a claim adjudicated twice changes the amounts."""
    s = Scenario(conn)
    plan = s.plan("PLAN-RUNS", oop_max=400_000)
    s.benefit(plan, "OP_GP", copay_amount=20_000, coinsurance_percentage=10, visit_limit=2)
    s.benefit(plan, "LAB", deductible_amount=100_000, coinsurance_percentage=20)
    s.benefit(plan, "EMERGENCY", annual_limit=1_000_000)
    hospital = s.provider(in_network=True, fees={"GP01": 120_000})
    for i in range(members):
        member = s.member(plan)
        day = date(2026, 2, 1) + timedelta(days=i % 20)
        s.claim(
            member,
            hospital,
            day,
            [Line("OP_GP", 150_000, procedure_code="GP01"), Line("LAB", 40_000 + 1_000 * i)],
        )
        s.claim(
            member,
            hospital,
            day + timedelta(days=7),
            [Line("OP_GP", 90_000), Line("LAB", 80_000, procedure_code="L2")],
            claim_type="reimbursement",
        )
        s.claim(
            member,
            hospital,
            day + timedelta(days=14),
            [Line("OP_GP", 90_000, procedure_code="GP02"), Line("EMERGENCY", 700_000 + 10_000 * i)],
        )


def outcome(conn: psycopg.Connection) -> dict[str, Any]:
    """The result of adjudication, by claim number (ids differ between databases)."""
    claims = fetch_frame(
        conn,
        "SELECT claim_number, member_id::text AS member_id, status, total_approved_amount, "
        "member_responsibility FROM claims_service.claim ORDER BY claim_number",
    )
    lines = fetch_frame(
        conn,
        "SELECT c.claim_number, ci.line_number, ci.status, ci.reason_code, ci.allowed_amount, "
        "ci.deductible_amount, ci.copay_amount, ci.coinsurance_amount, ci.limit_amount, "
        "ci.approved_amount, ci.member_responsibility FROM claims_service.claim_item ci "
        "JOIN claims_service.claim c ON c.id = ci.claim_id ORDER BY 1, 2",
    )
    accumulators = fetch_frame(
        conn,
        "SELECT member_id::text AS member_id, benefit_code, year, amount_used, deductible_used,"
        " oop_used, visits_used, days_used FROM benefit_service.accumulator",
    )
    first_claim = claims.groupby("member_id")["claim_number"].min()
    accumulators["member"] = accumulators["member_id"].map(first_claim)
    accumulators = (
        accumulators.drop(columns="member_id")
        .sort_values(["member", "benefit_code", "year"])
        .reset_index(drop=True)
    )
    return {
        "claims": claims.drop(columns="member_id").to_dict("records"),
        "lines": lines.to_dict("records"),
        "accumulators": accumulators.to_dict("records"),
    }


def assert_exactly_once(conn: psycopg.Connection) -> None:
    """Every claim decided by one adjudication, every approved line posted once."""
    checks = {
        "claims not decided once": "SELECT count(*) FROM claims_service.claim "
        "WHERE adjudication_version <> 1 OR status NOT IN "
        "('approved', 'partially_approved', 'rejected')",
        "lines not decided once": "SELECT count(*) FROM claims_service.claim_item "
        "WHERE adjudication_version <> 1",
        "claims without exactly one history row": (
            "SELECT count(*) FROM claims_service.claim c WHERE (SELECT count(*) FROM "
            "claims_service.claim_status_history h WHERE h.claim_id = c.id) <> 1"
        ),
        "decided lines unposted": "SELECT count(*) FROM claims_service.posting_outbox",
        "claims with more than one payment": (
            "SELECT count(*) FROM (SELECT claim_id FROM claims_service.claim_payment "
            "GROUP BY claim_id HAVING count(*) > 1) x"
        ),
    }
    for what, query in checks.items():
        row = conn.execute(query).fetchone()
        assert row == (0,), what
    ledger = conn.execute(
        "SELECT count(*), count(DISTINCT claim_item_id) FROM benefit_service.accumulator_posting"
    ).fetchone()
    approved = conn.execute(
        "SELECT count(*) FROM claims_service.claim_item WHERE status = 'approved'"
    ).fetchone()
    assert ledger is not None and approved is not None
    assert ledger[0] == ledger[1] == approved[0] > 0
    sums = conn.execute(
        "SELECT (SELECT sum(amount) FROM benefit_service.accumulator_posting), "
        "(SELECT sum(amount_used) FROM benefit_service.accumulator)"
    ).fetchone()
    assert sums is not None and sums[0] == sums[1]


def run_cli(api_url: str, *args: str, crash_at: str | None = None) -> subprocess.Popen[str]:
    env = dict(os.environ, PREFECT_API_URL=api_url)
    env.pop("CLAIMS_ASKES_CRASH_AT", None)
    if crash_at:
        env["CLAIMS_ASKES_CRASH_AT"] = crash_at
    return subprocess.Popen(
        [CLI, "run", "claim-adjudication", "--json", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def summary_of(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-3000:]
    return dict(json.loads(out.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def clean_outcome(module_db: TestDatabase, prefect_api: str) -> Iterator[dict[str, Any]]:
    """The world adjudicated by one run that nobody disturbs."""
    with module_db.admin() as conn:
        build_world(conn, members=8)
        claim_adjudication(chunk_size=4)
        assert_exactly_once(conn)
        yield outcome(conn)


ADJUDICATION_POINTS = ("after-lease", "before-commit", "after-write", "after-ledger")


def test_crash_points_exist() -> None:
    assert set(ADJUDICATION_POINTS) <= set(CRASH_POINTS)


@pytest.mark.slow  # process kills: once, on the default server
@pytest.mark.parametrize("point", ADJUDICATION_POINTS)
def test_killed_run_is_completed_by_the_next(
    db: TestDatabase, prefect_api: str, clean_outcome: dict[str, Any], point: str
) -> None:
    with db.admin() as conn:
        build_world(conn, members=8)
        killed = run_cli(
            prefect_api, "--chunk-size", "4", "--lease-seconds", str(LEASE_SECONDS), crash_at=point
        )
        killed.communicate(timeout=300)
        assert killed.returncode == -9  # SIGKILL
        leased, history, adjudicated, ledger, unposted = (
            conn.execute(
                "SELECT (SELECT count(*) FROM claims_service.claim WHERE status = 'in_review'), "
                "(SELECT count(*) FROM claims_service.claim_status_history), "
                "(SELECT count(*) FROM claims_service.claim_item "
                "WHERE adjudicated_at IS NOT NULL), "
                "(SELECT count(*) FROM benefit_service.accumulator_posting), "
                "(SELECT count(*) FROM claims_service.claim_item ci JOIN "
                "claims_service.posting_outbox o ON o.claim_item_id = ci.id "
                "WHERE ci.status = 'approved')"
            ).fetchone()
            or ()
        )
        if point in ("after-lease", "before-commit"):
            # The chunk is leased and nothing of it is written (the open transaction died).
            assert leased > 0 and (history, adjudicated, ledger) == (0, 0, 0)
            time.sleep(LEASE_SECONDS + 0.5)  # until the killed run's lease expires
        elif point == "after-write":
            # Decisions committed, accumulators untouched.
            assert leased == 0 and history > 0 and unposted > 0 and ledger == 0
        else:
            # Ledger and accumulators committed, lines not yet marked posted.
            assert leased == 0 and ledger > 0 and unposted == ledger
        summary_of(run_cli(prefect_api, "--chunk-size", "4"))
        assert_exactly_once(conn)
        assert outcome(conn) == clean_outcome


@pytest.mark.slow  # four processes racing: once, on the default server
def test_four_runs_and_posting_together_equal_one_run(
    db: TestDatabase, prefect_api: str, template_db: str
) -> None:
    """Issue 7: four runs (two of them with two shards) let go at one moment on one backlog,
    with posting runs meanwhile: each run decides some claims, each claim is decided once,
    each line posted once, and the amounts and accumulators are those of one undisturbed run
    on the same world."""
    from concurrent.futures import ThreadPoolExecutor

    from bench.concurrency import StartBarrier
    from flows.accumulator_posting import accumulator_posting
    from tests.conftest import fresh_database

    members = 48
    with fresh_database(db.cluster, template_db) as single, single.admin() as conn:
        build_world(conn, members=members)
        claim_adjudication()
        accumulator_posting()
        expected = outcome(conn)
    with db.admin() as conn:
        build_world(conn, members=members)
        # Chunks of four members (12 chunks for 6 shards); every shard's first lease waits
        # for the barrier, so that all six shards lease at the same moment.
        barrier = StartBarrier()
        runs = [
            run_cli(prefect_api, "--chunk-size", "12", *(["--shards", "2"] if i % 2 else []))
            for i in range(4)
        ]
        with ThreadPoolExecutor(max_workers=len(runs)) as pool:
            summaries = [pool.submit(summary_of, run) for run in runs]
            barrier.release(6, lambda: all(run.poll() is None for run in runs))
            postings = 0
            while not all(summary.done() for summary in summaries):
                accumulator_posting()
                postings += 1
                time.sleep(1)  # the test API's SQLite answers 503 when hammered
            claims = [summary.result()["claims"] for summary in summaries]
        accumulator_posting()
        assert sum(claims) == 3 * members and all(c > 0 for c in claims), claims
        assert postings > 0
        assert_exactly_once(conn)
        assert outcome(conn) == expected


def test_leases_taken_at_the_same_moment_never_fail_nor_split_a_member(db: TestDatabase) -> None:
    """Eight runs lease at the same instant, round after round (the moment scheduled workers
    start). Leasing can deadlock in PostgreSQL (rows locked with SKIP LOCKED, then a won
    member's other rows waited for); the losing lease is retried, so no run fails, and every
    member's claims go to one run or stay in the queue together."""
    import threading
    import uuid

    from claims_askes.demo.seed import seed_demo_data
    from tasks.claims import lease_claims, read_queue_clock, release_lease

    seed_demo_data(members=600, claims=2_000, seed=7)  # members with 1 to many claims
    started = read_queue_clock.fn()
    with db.admin() as conn:  # the seed's pended claims, all due (a run names them)
        due = [
            str(r[0])
            for r in conn.execute("SELECT id FROM claims_service.claim WHERE status = 'pended'")
        ]
    runs, rounds = 8, 60
    barrier = threading.Barrier(runs)
    failures: list[BaseException] = []
    splits: list[int] = []
    leased: list[int] = []

    def check_round() -> None:
        with db.admin() as conn:
            row = conn.execute(
                "SELECT count(*) FROM (SELECT member_id FROM claims_service.claim "
                "GROUP BY member_id HAVING count(*) FILTER (WHERE status = 'in_review') > 0 "
                "AND (count(DISTINCT lease_owner) > 1 "
                "     OR count(*) FILTER (WHERE status <> 'in_review') > 0)) AS split"
            ).fetchone()
            splits.append(int(row[0]) if row else -1)

    def run(i: int) -> None:
        for _ in range(rounds):
            run_id = uuid.uuid4()
            barrier.wait()
            try:
                leased.append(lease_claims.fn(run_id, started, 50, 900, pended_due=due).claims)
            except BaseException as exc:  # every failure is the finding
                failures.append(exc)
            if barrier.wait() == 0:
                check_round()
            barrier.wait()
            release_lease.fn(run_id)

    run_in_threads(run, runs)
    assert failures == []
    assert splits == [0] * rounds
    assert sum(leased) > 0 and len(leased) == runs * rounds
    with db.admin() as conn:
        assert conn.execute(
            "SELECT count(*) FROM claims_service.claim WHERE status = 'in_review'"
        ).fetchone() == (0,)


def test_a_claim_arriving_for_a_member_another_run_holds_waits_for_that_run(
    db: TestDatabase,
) -> None:
    """Overlapping scheduled runs under continuous intake: run A holds a member's claims; a
    new claim of that member arrives. Run B must leave it (decided against accumulators
    without A's amounts it could pay beyond a limit); the next run after A takes it."""
    import uuid

    from claims_askes.demo.seed import seed_demo_data
    from tasks.claims import lease_claims, read_queue_clock, release_lease

    seed_demo_data(members=60, claims=400, seed=7)
    started = read_queue_clock.fn()
    run_a, run_b = uuid.uuid4(), uuid.uuid4()
    assert lease_claims.fn(run_a, started, 400, 900).claims > 0
    with db.admin() as conn:
        member, arrived = a_leased_member(conn, run_a)
        conn.execute(  # as if it arrived after A leased: submitted, no lease
            "UPDATE claims_service.claim SET status = 'submitted', lease_owner = NULL, "
            "lease_expires_at = NULL, status_before_lease = NULL WHERE id = %s",
            (arrived,),
        )
    lease_claims.fn(run_b, started, 400, 900)
    with db.admin() as conn:
        assert conn.execute(
            "SELECT status, lease_owner FROM claims_service.claim WHERE id = %s", (arrived,)
        ).fetchone() == ("submitted", None)
        held_by_b = conn.execute(
            "SELECT count(*) FROM claims_service.claim WHERE lease_owner = %s AND member_id = %s",
            (run_b, member),
        ).fetchone()
        assert held_by_b == (0,)
    release_lease.fn(run_a)
    release_lease.fn(run_b)
    run_c = uuid.uuid4()
    lease_claims.fn(run_c, started, 400, 900)
    with db.admin() as conn:
        assert conn.execute(
            "SELECT lease_owner FROM claims_service.claim WHERE id = %s", (arrived,)
        ).fetchone() == (run_c,)


def a_leased_member(conn: psycopg.Connection, run_id: object) -> tuple[str, str]:
    """A member the run leased with two or more claims, and the first of them."""
    found = conn.execute(
        "SELECT member_id::text, (array_agg(id ORDER BY id))[1]::text FROM claims_service.claim "
        "WHERE lease_owner = %s GROUP BY member_id HAVING count(*) >= 2 LIMIT 1",
        (run_id,),
    ).fetchone()
    assert found is not None
    return found[0], found[1]


def test_a_lease_taken_in_the_window_of_another_runs_commit_is_given_back(
    db: TestDatabase,
) -> None:
    """Run A commits its lease of a member after run B's lease statement took its snapshot
    but before B's advisory lock: B's first statement cannot see A's rows, and takes the
    member's newly arrived claim. The lease's second statement (fresh snapshot, same
    transaction) gives it back. The window is a few microseconds, so the state it would
    leave is built by hand and the lease run again."""
    import uuid

    from claims_askes.demo.seed import seed_demo_data
    from tasks.claims import lease_claims, read_queue_clock, release_lease

    seed_demo_data(members=60, claims=400, seed=7)
    started = read_queue_clock.fn()
    run_a, run_b = uuid.uuid4(), uuid.uuid4()
    lease_claims.fn(run_a, started, 400, 900)
    with db.admin() as conn:
        member, arrived = a_leased_member(conn, run_a)
        conn.execute(  # what B's first statement would have leased in the window
            "UPDATE claims_service.claim SET lease_owner = %s WHERE id = %s", (run_b, arrived)
        )
    lease = lease_claims.fn(run_b, started, 400, 900)
    with db.admin() as conn:
        assert conn.execute(
            "SELECT status, lease_owner FROM claims_service.claim WHERE id = %s", (arrived,)
        ).fetchone() == ("submitted", None)
        held = conn.execute(
            "SELECT count(*), count(DISTINCT member_id) FROM claims_service.claim "
            "WHERE lease_owner = %s AND status = 'in_review'",
            (run_b,),
        ).fetchone()
    assert held == (lease.claims, lease.members)  # the counts are what B holds
    release_lease.fn(run_a)
    release_lease.fn(run_b)


def test_a_member_whose_decided_lines_wait_for_posting_is_not_leased(db: TestDatabase) -> None:
    """A run wrote a member's decisions and has not posted them yet: the accumulators lack
    those amounts, so a new claim of that member waits until posting took them."""
    import uuid

    from claims_askes.demo.seed import seed_demo_data
    from tasks.claims import lease_claims, read_queue_clock, release_lease

    seed_demo_data(members=60, claims=400, seed=7)
    started = read_queue_clock.fn()
    run_a = uuid.uuid4()
    lease_claims.fn(run_a, started, 400, 900)
    with db.admin() as conn:
        member, decided = a_leased_member(conn, run_a)
        conn.execute(  # A's write: one claim decided, its lines queued for posting
            "INSERT INTO claims_service.posting_outbox (claim_item_id, adjudication_version) "
            "SELECT id, 1 FROM claims_service.claim_item WHERE claim_id = %s",
            (decided,),
        )
    release_lease.fn(run_a)  # A's other claims of the member: back in the queue
    run_b = uuid.uuid4()
    lease_claims.fn(run_b, started, 400, 900)
    with db.admin() as conn:
        assert conn.execute(
            "SELECT count(*) FROM claims_service.claim WHERE member_id = %s AND lease_owner = %s",
            (member, run_b),
        ).fetchone() == (0,)
        conn.execute("DELETE FROM claims_service.posting_outbox")  # posted
    release_lease.fn(run_b)
    run_c = uuid.uuid4()
    lease_claims.fn(run_c, started, 400, 900)
    with db.admin() as conn:
        assert conn.execute(
            "SELECT count(*) > 0 FROM claims_service.claim "
            "WHERE member_id = %s AND lease_owner = %s",
            (member, run_c),
        ).fetchone() == (True,)
