"""Benchmark of `claims-askes audit trail`: `python bench/audit_trail.py --statements 2000`.

The trail of one claim reads the statement log for the statements that wrote its rows. The
log has no index on the row ids (an index per id would cost every batch write), so how the
read grows with the log is what is measured. Creates a fresh, migrated database beside the
configured one (dropped at the end unless --keep) with one claim of two lines, and in this
process:

1. the baseline: the whole trail (reads and merge, as the command runs it) with the log
   holding only the claim's own statements;
2. the same after N older statements of other claims' lines (`--ids` uuids each, as a chunk
   of adjudication writes them, logged the year before the claim) are added. The read starts
   at the claim's submission (BRIN on logged_at), so this should stay near 1x;
3. the same N statements logged after the claim: the read must look at each of them. The
   `row_uuids &&` filter is all that spares it expanding each array.

The background rows are written straight into audit.statement_log as the owner; they are not
what is measured. Prints each time and its ratio to the baseline. Not a test: figures vary
with the machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from rich.console import Console
from rich.table import Table

from bench.seed import drop_database, fresh_database
from claims_askes.db.connections import admin_url

console = Console()
NUMBER = "CLM-TRAIL-000001"

CLAIM_SQL = """
INSERT INTO claims_service.claim (id, claim_number, member_id, provider_id, policy_id,
    claim_type, service_type, service_date, total_charged_amount, status)
VALUES (md5('trail-claim')::uuid, 'CLM-TRAIL-000001', md5('m')::uuid, md5('p')::uuid,
        md5('pol')::uuid, 'cashless', 'outpatient', DATE '2026-03-01', 300000, 'submitted');
INSERT INTO claims_service.claim_item (id, claim_id, line_number, benefit_code,
    charged_amount)
SELECT md5('trail-line' || l)::uuid, md5('trail-claim')::uuid, l, 'LAB', 150000
FROM generate_series(1, 2) AS l;
INSERT INTO audit.batch_run (flow_run_id, flow_name) VALUES (md5('run')::uuid, 'bench');
INSERT INTO audit.statement_log (batch_run_id, schema_name, table_name, operation, row_count,
    row_uuids, logged_at)
SELECT (SELECT max(id) FROM audit.batch_run), 'claims_service', 'claim_item', 'UPDATE', 2,
       ARRAY[md5('trail-line1')::uuid, md5('trail-line2')::uuid], clock_timestamp()
FROM generate_series(1, 3);
"""

BACKGROUND_SQL = """
INSERT INTO audit.statement_log (batch_run_id, schema_name, table_name, operation, row_count,
    row_uuids, logged_at)
SELECT (SELECT max(id) FROM audit.batch_run), 'claims_service', 'claim_item', 'UPDATE',
       %(ids)s,
       ARRAY(SELECT md5(s || '-' || i || %(salt)s)::uuid FROM generate_series(1, %(ids)s) AS i),
       %(at)s::timestamptz + s * interval '1 second'
FROM generate_series(1, %(statements)s) AS s
"""


def time_trail(repeat: int) -> float:
    """Median seconds of the whole trail of the claim (reads and merge)."""
    from claims_askes.audit.trail import build_trail
    from tasks.audit import read_trail_inputs

    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        entries = build_trail(read_trail_inputs(NUMBER))
        times.append(time.perf_counter() - start)
        assert sum(e.kind == "submission" for e in entries) == 3  # the claim and 2 lines
    return statistics.median(times)


def add_background(url: str, statements: int, ids: int, at: str, salt: str) -> float:
    start = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(BACKGROUND_SQL, {"statements": statements, "ids": ids, "at": at, "salt": salt})
        conn.execute("ANALYZE audit.statement_log")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statements", type=int, default=2000)
    parser.add_argument("--ids", type=int, default=5000, help="row ids per statement")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database", default="claims_askes_bench_trail")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    base = admin_url()
    url = fresh_database(args.database)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(CLAIM_SQL)  # several statements: no parameters
        time_trail(1)  # warm: connections, statement parsing
        baseline = time_trail(args.repeat)
        volume = args.statements * args.ids
        older = add_background(url, args.statements, args.ids, "2025-01-01", "old")
        before = time_trail(args.repeat)
        newer = add_background(url, args.statements, args.ids, "2100-01-01", "new")
        after = time_trail(args.repeat)
        table = Table("trail of one claim", "seconds", "x baseline",
                      title=f"audit trail: {args.statements:,} statements x {args.ids:,} ids "
                      f"({volume:,} row ids) of other claims")  # fmt: skip
        table.add_row("baseline: only the claim's statements", f"{baseline:.4f}", "1.0")
        table.add_row(
            "+ statements logged before the claim", f"{before:.4f}", f"{before / baseline:.1f}"
        )
        table.add_row("+ as many logged after the claim", f"{after:.4f}", f"{after / baseline:.1f}")
        console.print(table)
        console.print(f"(set-up: {older:.1f} s and {newer:.1f} s to write the background)")
    finally:
        if not args.keep:
            drop_database(base, args.database)


if __name__ == "__main__":
    main()
