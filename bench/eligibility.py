"""Benchmark of the eligibility sweep: `python bench/eligibility.py --members 1000000`.

Creates a fresh, migrated database beside the configured one (dropped at the end unless
--keep), builds N members with coverages (and an approved claim for one member in ten) with
SQL generate_series, then in this process:

1. runs the `eligibility-sweep` flow as of --as-of (Prefect's local API), sampling this
   process's RSS;
2. the floor: one INSERT ... SELECT of the same snapshot rows (the rules of
   check_eligibility as one set-based statement over every member) into an empty table of
   the snapshot's columns without index, constraint or trigger; the sweep's time is given
   as a multiple of it, and the floor's rows are checked to equal the snapshot's. The same
   statement into member_eligibility itself (unique key, indexes, foreign key to member;
   rolled back) is timed too: the least that storing the snapshot costs.

Prints time, members/s, the ratio to the floor and the peak RSS, against the goal
(1,000,000 members in under 30 s). Not a test: figures vary with the machine.

The population (also used by tests/test_eligibility_sweep.py), per member i:
- status (by i / 10, independent of the coverage scenario): 1 in 20 suspended, 1 in 20
  terminated (400 days after enrolling), 1 in 20 active with a termination date in 8 years,
  else active;
- enrollment between 2020-01-01 and 2025-06; 1 in 50 enrolls after the as-of date;
- coverage scenario i % 10: 0-5 one open coverage from enrollment; 6 one ending 2026-01-31
  (still `active`: the sweep terminates it); 7 a plan change (ended + new from 2026-01-01);
  8 a coverage starting 2026-09-01; 9 two overlapping open coverages (the second cancelled
  for one in two of them);
- one in ten members has an approved claim on 2026-02-10.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from psycopg import sql
from rich.console import Console
from rich.table import Table

from bench.adjudication import RssSampler
from bench.seed import drop_database, fresh_database
from claims_askes.core.runtime import patient_local_api
from claims_askes.db.connections import admin_url

console = Console()
GOAL_MEMBERS = 1_000_000
GOAL_SECONDS = 30.0
AS_OF = date(2026, 6, 30)

POPULATION_SQL = """
INSERT INTO member_service.member (id, member_number, first_name, last_name, date_of_birth,
    gender, national_id, status, enrollment_date, termination_date)
SELECT md5(%(tag)s || 'm' || i)::uuid,
       %(tag)s || lpad(i::text, 10, '0'),
       'Budi', 'Santoso',
       DATE '1960-01-01' + (i * 13 %% 20000),
       CASE WHEN i %% 2 = 0 THEN 'M' ELSE 'F' END,
       lpad((%(offset)s + i)::text, 16, '0'),
       CASE (i / 10) %% 20 WHEN 0 THEN 'suspended' WHEN 1 THEN 'terminated' ELSE 'active' END,
       e.enrolled,
       CASE (i / 10) %% 20 WHEN 1 THEN e.enrolled + 400 WHEN 2 THEN e.enrolled + 3000 END
FROM generate_series(1, %(members)s) AS i
CROSS JOIN LATERAL (SELECT CASE WHEN i %% 50 = 3 THEN DATE '2026-08-01'
                                ELSE DATE '2020-01-01' + (i * 7 %% 2000) END AS enrolled) e;

INSERT INTO member_service.member_coverage (id, member_id, policy_id, plan_id, coverage_level,
    effective_date, termination_date, status)
SELECT md5(%(tag)s || 'c' || i || '-' || k)::uuid, m.id,
       md5('policy' || (i %% 1000))::uuid, md5('plan' || (i + k) %% 7)::uuid, 'individual',
       CASE WHEN i %% 10 = 7 AND k = 2 THEN DATE '2026-01-01'
            WHEN i %% 10 = 8 THEN DATE '2026-09-01'
            WHEN i %% 10 = 9 AND k = 2 THEN greatest(m.enrollment_date, DATE '2025-06-01')
            ELSE m.enrollment_date END,
       CASE WHEN i %% 10 = 6 THEN greatest(m.enrollment_date, DATE '2026-01-31')
            WHEN i %% 10 = 7 AND k = 1 THEN greatest(m.enrollment_date, DATE '2025-12-31')
            END,
       CASE WHEN i %% 10 = 7 AND k = 1 THEN 'terminated'
            WHEN i %% 10 = 9 AND k = 2 AND i %% 20 = 19 THEN 'cancelled'
            ELSE 'active' END
FROM generate_series(1, %(members)s) AS i
CROSS JOIN generate_series(1, 2) AS k
JOIN member_service.member AS m ON m.id = md5(%(tag)s || 'm' || i)::uuid
WHERE k = 1 OR i %% 10 IN (7, 9);

INSERT INTO claims_service.claim (claim_number, member_id, provider_id, policy_id, claim_type,
    service_type, service_date, total_charged_amount, total_approved_amount, status)
SELECT 'CLM-' || %(tag)s || '-' || lpad(i::text, 10, '0'), md5(%(tag)s || 'm' || i)::uuid,
       md5('provider' || (i %% 100))::uuid, md5('policy' || (i %% 1000))::uuid, 'cashless',
       'outpatient', DATE '2026-02-10', 150000, 120000, 'approved'
FROM generate_series(1, %(members)s) AS i
WHERE i %% 10 = 4 OR i %% 10 = 6 OR i %% 100 = 1;

ANALYZE member_service.member;
ANALYZE member_service.member_coverage;
ANALYZE claims_service.claim;
"""


def build_population(
    conn: psycopg.Connection, members: int, tag: str = "B", offset: int = 0
) -> None:
    """N members with coverages and some approved claims (as the owner; see the docstring).
    `tag` and `offset` keep ids, member numbers and national ids apart between calls."""
    params = {"members": members, "tag": tag, "offset": offset}
    with conn.cursor() as cur:
        for statement in POPULATION_SQL.split(";\n"):
            if statement.strip():
                cur.execute(statement, params if "%(" in statement else None)


FLOOR_SQL = """
INSERT INTO public.bench_eligibility_floor
SELECT m.id, %(as_of)s::date,
       (m.status <> 'suspended' AND m.enrollment_date <= %(as_of)s::date
        AND (m.termination_date IS NULL OR %(as_of)s::date <= m.termination_date))
       AND c.id IS NOT NULL,
       CASE WHEN NOT (m.status <> 'suspended' AND m.enrollment_date <= %(as_of)s::date
                      AND (m.termination_date IS NULL
                           OR %(as_of)s::date <= m.termination_date))
                 THEN 'MEMBER_NOT_ELIGIBLE'
            WHEN c.id IS NOT NULL THEN 'ELIGIBLE'
            WHEN f.first_effective > %(as_of)s::date THEN 'COVERAGE_NOT_STARTED'
            ELSE 'COVERAGE_TERMINATED' END,
       c.id, c.plan_id, c.effective_date, c.termination_date
FROM member_service.member AS m
LEFT JOIN (
    SELECT DISTINCT ON (mc.member_id) mc.member_id, mc.id, mc.plan_id, mc.effective_date,
           mc.termination_date
    FROM member_service.member_coverage AS mc
    WHERE mc.status IN ('active', 'terminated') AND mc.effective_date <= %(as_of)s::date
      AND (mc.termination_date IS NULL OR %(as_of)s::date <= mc.termination_date)
    ORDER BY mc.member_id, mc.effective_date DESC, mc.id DESC
) AS c ON c.member_id = m.id
LEFT JOIN (
    SELECT mc.member_id, min(mc.effective_date) AS first_effective
    FROM member_service.member_coverage AS mc
    WHERE mc.status <> 'cancelled'
    GROUP BY mc.member_id
) AS f ON f.member_id = m.id
"""

SNAPSHOT_COLUMN_NAMES = (
    "member_id",
    "as_of_date",
    "is_eligible",
    "reason",
    "coverage_id",
    "plan_id",
    "coverage_effective_date",
    "coverage_termination_date",
)
SNAPSHOT_COLUMNS = sql.SQL(", ").join(sql.Identifier(c) for c in SNAPSHOT_COLUMN_NAMES)


def keyed_floor(url: str, as_of: date) -> float:
    """Seconds of the same INSERT ... SELECT into member_eligibility itself (its keys, indexes
    and foreign key), for another date, rolled back: what storing the rows must cost."""
    insert = FLOOR_SQL.replace(
        "public.bench_eligibility_floor",
        ("member_service.member_eligibility (" + ", ".join(SNAPSHOT_COLUMN_NAMES) + ")"),
    )
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        conn.execute(insert, {"as_of": date.fromordinal(as_of.toordinal() - 1)})
        seconds = time.perf_counter() - started
        conn.rollback()
    return seconds


def insert_select_floor(url: str, as_of: date) -> tuple[float, int, int]:
    """Seconds of one INSERT ... SELECT of the snapshot rows into a bare table (committed);
    its row count, and the number of rows differing from the sweep's snapshot."""
    with psycopg.connect(url) as conn:
        conn.execute("DROP TABLE IF EXISTS public.bench_eligibility_floor")
        conn.execute("""CREATE TABLE public.bench_eligibility_floor (
            member_id UUID, as_of_date DATE, is_eligible BOOLEAN, reason VARCHAR(40),
            coverage_id UUID, plan_id UUID, coverage_effective_date DATE,
            coverage_termination_date DATE)""")
        conn.commit()
        started = time.perf_counter()
        rows = conn.execute(FLOOR_SQL, {"as_of": as_of}).rowcount
        conn.commit()
        seconds = time.perf_counter() - started
        differ = conn.execute(
            sql.SQL(
                "SELECT count(*) FROM ((SELECT {c} FROM public.bench_eligibility_floor "
                "EXCEPT SELECT {c} FROM member_service.member_eligibility WHERE as_of_date = %s) "
                "UNION ALL (SELECT {c} FROM member_service.member_eligibility "
                "WHERE as_of_date = %s EXCEPT SELECT {c} FROM public.bench_eligibility_floor)) d"
            ).format(c=SNAPSHOT_COLUMNS),
            (as_of, as_of),
        ).fetchone()
        conn.execute("DROP TABLE public.bench_eligibility_floor")
        conn.commit()
    return seconds, rows, int(differ[0]) if differ else -1


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--members", type=int, default=GOAL_MEMBERS)
    parser.add_argument("--batch-size", type=int, default=250_000)
    parser.add_argument("--as-of", type=date.fromisoformat, default=AS_OF)
    parser.add_argument("--database", default="claims_askes_bench_eligibility")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()

    base = admin_url()
    url = fresh_database(args.database)
    try:
        console.print(f"building {args.members:,} members with generate_series")
        started = time.perf_counter()
        with psycopg.connect(url) as conn:
            build_population(conn, args.members)
        console.print(f"built in {time.perf_counter() - started:.1f} s")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")  # as a live database is: hint bits set, statistics
        from prefect import flow

        from flows.eligibility_sweep import eligibility_sweep

        # Prefect starts its local API on the first flow call: not the sweep's time.
        flow(name="bench-warm-up")(lambda: None)()
        with RssSampler() as rss:
            started = time.perf_counter()
            summary = eligibility_sweep(
                as_of=args.as_of, batch_size=args.batch_size, readjudicate=False
            )
            sweep_seconds = time.perf_counter() - started
        floor_seconds, floor_rows, differ = insert_select_floor(url, args.as_of)
        keyed_seconds = keyed_floor(url, args.as_of)
    finally:
        if not args.keep:
            drop_database(base, args.database)

    budget = GOAL_SECONDS * summary.members_swept / GOAL_MEMBERS
    table = Table(
        "measure",
        "value",
        "goal",
        title=f"eligibility sweep: {summary.members_swept:,} members as of "
        f"{args.as_of.isoformat()}, {summary.batches} batches",
    )
    table.add_row(
        "sweep time (flow call, Prefect API warm)", f"{sweep_seconds:.1f} s", f"< {budget:.1f} s"
    )
    table.add_row("  of which inside the flow", f"{summary.seconds:.1f} s", "")
    table.add_row(
        "members/s",
        f"{summary.members_swept / sweep_seconds:,.0f}",
        f">= {GOAL_MEMBERS / GOAL_SECONDS:,.0f}",
    )
    table.add_row("INSERT ... SELECT floor", f"{floor_seconds:.1f} s ({floor_rows:,} rows)", "")
    table.add_row("sweep / floor", f"{sweep_seconds / floor_seconds:.2f}x", "")
    table.add_row(
        "same INSERT ... SELECT into member_eligibility (keys, FK)", f"{keyed_seconds:.1f} s", ""
    )
    table.add_row("sweep / that", f"{sweep_seconds / keyed_seconds:.2f}x", "")
    table.add_row("floor rows differing from the snapshot", f"{differ:,}", "0")
    table.add_row("peak RSS during the sweep", f"{rss.peak / 2**20:,.0f} MiB", "")
    for step, seconds in summary.step_seconds.items():
        table.add_row(f"  step: {step}", f"{seconds:.1f} s", "")
    table.add_row("coverages terminated", f"{summary.coverages_terminated:,}", "")
    table.add_row("fault members", f"{summary.fault_members:,}", "")
    table.add_row("claims no longer covered", f"{len(summary.claims_to_readjudicate):,}", "")
    console.print(table)
    verdict = "[green]met[/]" if sweep_seconds < budget else "[red]missed[/]"
    console.print(f"goal (1,000,000 members in < 30 s, scaled to this size): {verdict}")


if __name__ == "__main__":
    with patient_local_api():
        main()
