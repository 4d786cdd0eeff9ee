"""Benchmark of accumulator posting: `python bench/posting.py --lines 1000000`.

Creates a fresh, migrated database beside the configured one (dropped at the end unless
--keep) and fills the posting queue with SQL generate_series: N decided claim lines (four
to a claim, one claim in five rejected, the rest approved), of N/10 members, over six
benefits and two service years; a third of the (member, benefit, year) keys already have an
accumulator with its opening balance, so posting both updates and creates accumulators. The
set-up bypasses the audit triggers (session_replication_role = replica): it is not what is
measured. Then, in this process:

1. the `accumulator-posting` flow (Prefect's local API, warmed up first), with this
   process's peak RSS sampled; its reconciliation checkpoint runs on the members posted;
2. the floor: one INSERT ... SELECT of the same ledger rows (the queue, posting_outbox,
   joined to its lines and claims)
   into an empty table of the ledger's columns without index, constraint or trigger; the
   posting time is given as a multiple of it. The same statement into
   benefit_service.accumulator_posting itself (its key and index; rolled back) is timed too,
   and with it every write posting must make, one set-based statement each (the ledger rows,
   their sums into the accumulators through the seed's audit trigger, the queue emptied;
   rolled back): whether the goal is within reach of the mandated writes on this machine.

Then checks that every line is posted once and that the accumulators equal opening balance
plus the approved lines. Prints time, lines/s, the ratios, the flow's steps and the peak RSS,
against the goal (1,000,000 lines in under 30 s). Not a test: figures vary with the machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from rich.console import Console
from rich.table import Table

from bench.adjudication import RssSampler
from bench.seed import drop_database, fresh_database
from claims_askes.core.runtime import patient_local_api
from claims_askes.db.connections import admin_url

console = Console()
GOAL_LINES = 1_000_000
GOAL_SECONDS = 30.0
LINES_PER_CLAIM = 4

QUEUE_SQL = """
SET LOCAL session_replication_role = replica;

INSERT INTO claims_service.claim (id, claim_number, member_id, provider_id, policy_id,
    claim_type, service_type, service_date, total_charged_amount, total_approved_amount,
    status, adjudicated_at, adjudication_version)
SELECT md5('claim' || i)::uuid, 'CLM-P-' || lpad(i::text, 10, '0'),
       md5('member' || (i %% %(members)s))::uuid, md5('provider' || (i %% 100))::uuid,
       md5('policy' || (i %% 1000))::uuid, 'cashless', 'outpatient',
       DATE '2025-09-01' + (i * 7 %% 240), 600000,
       CASE WHEN i %% 5 = 0 THEN 0 ELSE 400000 END,
       CASE WHEN i %% 5 = 0 THEN 'rejected' ELSE 'approved' END, now(), 1
FROM generate_series(1, %(claims)s) AS i;

INSERT INTO claims_service.claim_item (id, claim_id, line_number, benefit_code, quantity,
    charged_amount, allowed_amount, deductible_amount, copay_amount, coinsurance_amount,
    approved_amount, member_responsibility, oop_amount, visits, covered_days, status,
    reason_code, in_network, benefit_year, adjudicated_at, adjudication_version)
SELECT md5('line' || i || '-' || k)::uuid, md5('claim' || i)::uuid, k,
       (ARRAY['OP_GP', 'OP_SPEC', 'IP_ROOM', 'DENTAL', 'LAB', 'PHARMACY'])[1 + (i + k) %% 6],
       1, 150000, 150000,
       CASE WHEN i %% 5 = 0 THEN 0 ELSE 25000 END, CASE WHEN i %% 5 = 0 THEN 0 ELSE 10000 END,
       CASE WHEN i %% 5 = 0 THEN 0 ELSE 15000 END, CASE WHEN i %% 5 = 0 THEN 0 ELSE 100000 END,
       CASE WHEN i %% 5 = 0 THEN 150000 ELSE 50000 END,
       CASE WHEN i %% 5 = 0 THEN 0 ELSE 50000 END,
       CASE WHEN i %% 5 <> 0 AND k = 1 THEN 1 ELSE 0 END, 0,
       CASE WHEN i %% 5 = 0 THEN 'rejected' ELSE 'approved' END,
       CASE WHEN i %% 5 = 0 THEN 'EXCLUDED' END, true,
       extract(year FROM DATE '2025-09-01' + (i * 7 %% 240))::int, now(), 1
FROM generate_series(1, %(claims)s) AS i
CROSS JOIN generate_series(1, %(per_claim)s) AS k;

INSERT INTO claims_service.posting_outbox (claim_item_id, adjudication_version)
SELECT id, adjudication_version FROM claims_service.claim_item;

INSERT INTO benefit_service.accumulator_opening (member_id, benefit_code, year, amount_used,
    deductible_used, oop_used, visits_used, days_used)
SELECT md5('member' || m)::uuid, b.code, 2025, 1000000, 50000, 150000, 2, 0
FROM generate_series(0, %(members)s - 1) AS m
CROSS JOIN unnest(ARRAY['OP_GP', 'OP_SPEC']) AS b (code)
WHERE m %% 3 = 0;

INSERT INTO benefit_service.accumulator (member_id, benefit_code, year, amount_used,
    deductible_used, oop_used, visits_used, days_used)
SELECT member_id, benefit_code, year, amount_used, deductible_used, oop_used, visits_used,
       days_used
FROM benefit_service.accumulator_opening;

ANALYZE claims_service.claim;
ANALYZE claims_service.claim_item;
ANALYZE claims_service.posting_outbox;
ANALYZE benefit_service.accumulator
"""

#: the ledger rows the queue yields, as the flow's posting statement writes them
FLOOR_SELECT = """
SELECT ci.id, ci.adjudication_version, 'post', c.member_id, ci.benefit_code,
       ci.benefit_year, ci.approved_amount, ci.deductible_amount, ci.oop_amount, ci.visits,
       ci.covered_days, %(run)s::uuid
FROM claims_service.posting_outbox AS o
JOIN claims_service.claim_item AS ci
  ON ci.id = o.claim_item_id AND ci.adjudication_version = o.adjudication_version
JOIN claims_service.claim AS c ON c.id = ci.claim_id
WHERE ci.status = 'approved'
"""
LEDGER_COLUMNS = (
    "claim_item_id, adjudication_version, entry_type, member_id, benefit_code, "
    "year, amount, deductible, oop, visits, days, flow_run_id"
)
RUN = "00000000-0000-0000-0000-000000000001"


def build_queue(url: str, lines: int) -> tuple[int, int]:
    """Decided, unposted lines (as the owner; see the docstring). Returns (claims, members)."""
    claims = max(1, lines // LINES_PER_CLAIM)
    members = max(1, lines // 10)
    params = {"claims": claims, "members": members, "per_claim": LINES_PER_CLAIM}
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for statement in QUEUE_SQL.split(";\n"):
            if statement.strip():
                cur.execute(statement, params if "%(" in statement else None)
    return claims, members


#: the accumulators' share of the mandated writes: the sums of the ledger rows just inserted
#: (by the floor's run id), added to their keys, through the table's audit triggers
ACCUMULATOR_FLOOR = """
INSERT INTO benefit_service.accumulator AS a
    (member_id, benefit_code, year, amount_used, deductible_used, oop_used, visits_used,
     days_used, last_updated)
SELECT p.member_id, p.benefit_code, p.year, sum(p.amount), sum(p.deductible), sum(p.oop),
       sum(p.visits), sum(p.days), now()
FROM benefit_service.accumulator_posting AS p
WHERE p.flow_run_id = %(run)s
GROUP BY p.member_id, p.benefit_code, p.year
ON CONFLICT ON CONSTRAINT uk_accumulator DO UPDATE SET
    amount_used = a.amount_used + EXCLUDED.amount_used,
    deductible_used = a.deductible_used + EXCLUDED.deductible_used,
    oop_used = a.oop_used + EXCLUDED.oop_used,
    visits_used = a.visits_used + EXCLUDED.visits_used,
    days_used = a.days_used + EXCLUDED.days_used,
    last_updated = now()
"""


@dataclass(frozen=True)
class Floors:
    bare: float  # INSERT ... SELECT of the ledger rows into a bare table
    keyed: float  # the same into the ledger itself (key, index)
    mandated: float  # ledger, accumulators (audited) and the queue's rows deleted
    rows: int


def floors(url: str) -> Floors:
    """Seconds of the INSERT ... SELECT into a bare table (committed) and into the ledger
    itself, and of every write posting must make, one set-based statement each: the ledger
    rows, their sums into the accumulators (with the seed's audit trigger) and the queue
    emptied (rolled back); all on the queue as it stands before posting."""
    with psycopg.connect(url) as conn:
        conn.execute(
            "CREATE TABLE public.bench_posting_floor (claim_item_id UUID, "
            "adjudication_version INT, entry_type VARCHAR(10), member_id UUID, "
            "benefit_code VARCHAR(50), year INT, amount DECIMAL(15,2), "
            "deductible DECIMAL(15,2), oop DECIMAL(15,2), visits INT, days INT, "
            "flow_run_id UUID)"
        )
        conn.commit()
        started = time.perf_counter()
        rows = conn.execute(
            "INSERT INTO public.bench_posting_floor " + FLOOR_SELECT, {"run": RUN}
        ).rowcount
        conn.commit()
        bare = time.perf_counter() - started
        conn.execute("DROP TABLE public.bench_posting_floor")
        conn.commit()
        started = time.perf_counter()
        conn.execute(
            "INSERT INTO benefit_service.accumulator_posting ("
            + LEDGER_COLUMNS
            + ") "
            + FLOOR_SELECT,
            {"run": RUN},
        )
        keyed = time.perf_counter() - started
        conn.execute(ACCUMULATOR_FLOOR, {"run": RUN})
        conn.execute("DELETE FROM claims_service.posting_outbox")
        mandated = time.perf_counter() - started
        conn.rollback()
    return Floors(bare, keyed, mandated, rows)


CHECK_SQL = """
WITH lines AS (
    SELECT c.member_id, ci.benefit_code, ci.benefit_year AS year,
           sum(ci.approved_amount) AS amount, sum(ci.visits) AS visits
    FROM claims_service.claim_item AS ci
    JOIN claims_service.claim AS c ON c.id = ci.claim_id
    WHERE ci.status = 'approved'
    GROUP BY 1, 2, 3
),
expected AS (
    SELECT coalesce(l.member_id, o.member_id) AS member_id,
           coalesce(l.benefit_code, o.benefit_code) AS benefit_code,
           coalesce(l.year, o.year) AS year,
           coalesce(l.amount, 0) + coalesce(o.amount_used, 0) AS amount,
           coalesce(l.visits, 0) + coalesce(o.visits_used, 0) AS visits
    FROM lines AS l
    FULL JOIN benefit_service.accumulator_opening AS o
           ON (o.member_id, o.benefit_code, o.year) = (l.member_id, l.benefit_code, l.year)
)
SELECT (SELECT count(*) FROM claims_service.posting_outbox) AS unposted,
       (SELECT count(*) FROM (SELECT claim_item_id FROM benefit_service.accumulator_posting
                              GROUP BY 1 HAVING count(*) > 1) AS d) AS posted_twice,
       (SELECT count(*) FROM expected AS e
        FULL JOIN benefit_service.accumulator AS a
               ON (a.member_id, a.benefit_code, a.year) = (e.member_id, e.benefit_code, e.year)
        WHERE (a.amount_used, a.visits_used) IS DISTINCT FROM (e.amount, e.visits::int))
           AS accumulators_wrong
"""


def check(url: str) -> tuple[int, int, int]:
    """(lines still unposted, lines with more than one ledger entry, accumulators that are
    not opening balance + approved lines)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(CHECK_SQL).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lines", type=int, default=GOAL_LINES)
    parser.add_argument("--batch-size", type=int, default=200_000)
    parser.add_argument("--database", default="claims_askes_bench_posting")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()

    base = admin_url()
    url = fresh_database(args.database)
    try:
        console.print(f"filling the posting queue with {args.lines:,} decided lines")
        started = time.perf_counter()
        claims, members = build_queue(url, args.lines)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")  # as a live database is: hint bits, statistics
        console.print(f"built in {time.perf_counter() - started:.1f} s")
        floor = floors(url)
        from prefect import flow

        from flows.accumulator_posting import accumulator_posting

        # Prefect starts its local API on the first flow call: not posting's time.
        flow(name="bench-warm-up")(lambda: None)()
        with RssSampler() as rss:
            started = time.perf_counter()
            summary = accumulator_posting(batch_size=args.batch_size)
            seconds = time.perf_counter() - started
        unposted, twice, wrong = check(url)
    finally:
        if not args.keep:
            drop_database(base, args.database)

    budget = GOAL_SECONDS * summary.lines_read / GOAL_LINES
    table = Table(
        "measure",
        "value",
        "goal",
        title=f"accumulator posting: {summary.lines_read:,} line versions of "
        f"{claims:,} claims, {members:,} members",
    )
    table.add_row(
        "posting time (flow call, Prefect API warm)", f"{seconds:.1f} s", f"< {budget:.1f} s"
    )
    table.add_row(
        "lines/s", f"{summary.lines_read / seconds:,.0f}", f">= {GOAL_LINES / GOAL_SECONDS:,.0f}"
    )
    table.add_row(
        "INSERT ... SELECT floor (bare table)", f"{floor.bare:.1f} s ({floor.rows:,} rows)", ""
    )
    table.add_row("posting / floor", f"{seconds / floor.bare:.2f}x", "")
    table.add_row("same INSERT ... SELECT into the ledger (key, index)", f"{floor.keyed:.1f} s", "")
    table.add_row("posting / that", f"{seconds / floor.keyed:.2f}x", "")
    table.add_row(
        "mandated writes: that, + sums into the accumulators (audited), + queue emptied",
        f"{floor.mandated:.1f} s",
        f"< {budget:.1f} s",
    )
    table.add_row("posting / mandated writes", f"{seconds / floor.mandated:.2f}x", "")
    for step, step_seconds in summary.step_seconds.items():
        table.add_row(f"  step: {step}", f"{step_seconds:.1f} s", "")
    table.add_row("ledger entries inserted", f"{summary.entries_inserted:,}", "")
    table.add_row("accumulator keys reconciled", f"{summary.keys_reconciled:,}", "")
    table.add_row("lines left unposted", f"{unposted:,}", "0")
    table.add_row("lines with two ledger entries", f"{twice:,}", "0")
    table.add_row("accumulators != opening + approved lines", f"{wrong:,}", "0")
    table.add_row("peak RSS during posting", f"{rss.peak / 2**20:,.0f} MiB", "")
    console.print(table)
    ok = seconds < budget and unposted == twice == wrong == 0
    verdict = "[green]met[/]" if ok else "[red]missed[/]"
    console.print(f"goal (1,000,000 lines in < 30 s, scaled to this size; exactly once): {verdict}")


if __name__ == "__main__":
    with patient_local_api():
        main()
