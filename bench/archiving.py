"""Benchmark of the claim-archiving flow: `python bench/archiving.py --claims 1000000`.

Builds a fresh database (beside the configured one; dropped at the end unless --keep) with
N settled claims older than two years, each with 2 lines and a status-history row, and one
in five with a note, a document and a payment. Then:

1. the `claim-archiving` flow moves them all into `archive` (batches with counts, checksums,
   a run log and a data-quality checkpoint per batch; audit triggers fire on the deletes);
2. the bare operation: one `INSERT ... SELECT` per table copying the same rows into empty
   tables without indexes or triggers.

Prints both times and their ratio. Not a test: figures vary with the machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from psycopg import sql
from rich.console import Console

from bench.seed import drop_database, fresh_database
from claims_askes.core.runtime import patient_local_api
from claims_askes.operations.backup import count_rows

console = Console()
DATABASE = "claims_askes_bench_archive"
TABLES = (
    "claim",
    "claim_item",
    "claim_status_history",
    "claim_note",
    "claim_document",
    "claim_payment",
)


def build(url: str, claims: int) -> dict[str, int]:
    """Old, settled claims and their children, written set-based (triggers off: a load)."""
    with psycopg.connect(url) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            """
            INSERT INTO claims_service.claim (id, claim_number, member_id, provider_id,
                policy_id, claim_type, service_type, service_date, total_charged_amount,
                total_approved_amount, status)
            SELECT gen_random_uuid(), 'CLM-B-' || g, gen_random_uuid(), gen_random_uuid(),
                   gen_random_uuid(), 'cashless', 'outpatient',
                   DATE '2020-01-01' + (g %% 700), 150000, 120000,
                   CASE WHEN g %% 4 = 0 THEN 'rejected' ELSE 'paid' END
            FROM generate_series(1, %(n)s) AS g""",
            {"n": claims},
        )
        conn.execute("""
            INSERT INTO claims_service.claim_item (claim_id, line_number, benefit_code,
                charged_amount, approved_amount, status)
            SELECT c.id, l, 'OP_GP', 75000, 60000,
                   CASE WHEN c.status = 'rejected' THEN 'rejected' ELSE 'approved' END
            FROM claims_service.claim AS c, generate_series(1, 2) AS l""")
        conn.execute("""
            INSERT INTO claims_service.claim_status_history (claim_id, from_status, to_status)
            SELECT id, 'submitted', status FROM claims_service.claim""")
        conn.execute("""
            INSERT INTO claims_service.claim_note (claim_id, note_text)
            SELECT id, 'Catatan ' || claim_number FROM claims_service.claim
            WHERE right(claim_number, 1) IN ('0', '5')""")
        conn.execute("""
            INSERT INTO claims_service.claim_document (claim_id, document_type, file_name,
                storage_uri)
            SELECT id, 'invoice', claim_number || '.pdf', 's3://docs/' || claim_number
            FROM claims_service.claim WHERE right(claim_number, 1) IN ('0', '5')""")
        conn.execute("""
            INSERT INTO claims_service.claim_payment (claim_id, payee_type, payee_id, amount,
                status)
            SELECT id, 'provider', provider_id, 120000, 'paid' FROM claims_service.claim
            WHERE right(claim_number, 1) IN ('0', '5')""")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        return {t: count(conn, f"claims_service.{t}") for t in TABLES}


def count(conn: psycopg.Connection, table: str) -> int:
    """Rows of 'schema.table', counted by the backup module's own helper."""
    schema, name = table.split(".")
    return count_rows(conn, [(schema, name)])[0].rows


def bare_insert_select(url: str) -> float:
    """One INSERT ... SELECT per table, archive -> empty unindexed copies, committed."""
    with psycopg.connect(url) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS bench_floor")
        for table in TABLES:
            floor, source = sql.Identifier("bench_floor", table), sql.Identifier("archive", table)
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(floor))
            conn.execute(sql.SQL("CREATE TABLE {} (LIKE {})").format(floor, source))
        conn.commit()
        started = time.perf_counter()
        for table in TABLES:
            conn.execute(
                sql.SQL("INSERT INTO {} SELECT * FROM {}").format(
                    sql.Identifier("bench_floor", table), sql.Identifier("archive", table)
                )
            )
        conn.commit()
        seconds = time.perf_counter() - started
        conn.execute("DROP SCHEMA bench_floor CASCADE")
        conn.commit()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()

    from claims_askes.db.connections import admin_url

    base = admin_url()
    url = fresh_database(DATABASE)
    try:
        started = time.perf_counter()
        rows = build(url, args.claims)
        console.print(f"built {rows} in {time.perf_counter() - started:.1f} s")
        import claims_askes.quality.checkpoints  # noqa: F401  (Great Expectations loads once, untimed)
        from flows.claim_archiving import claim_archiving

        claim_archiving(older_than="100y")  # warm-up: Prefect's local API starts, untimed
        started = time.perf_counter()
        report = claim_archiving(older_than="2y", batch_size=args.batch_size)
        flow_seconds = time.perf_counter() - started
        with psycopg.connect(url) as conn:
            archived = {t: count(conn, f"archive.{t}") for t in TABLES}
        assert archived == rows, (archived, rows)
        bare = bare_insert_select(url)
        total = sum(rows.values())
        console.print(
            f"[bold]claim-archiving[/]: {report.claims_moved:,} claims, {total:,} rows "
            f"in {report.batches} batches: {flow_seconds:.1f} s "
            f"({total / flow_seconds:,.0f} rows/s)"
        )
        console.print(
            f"bare INSERT ... SELECT of the same rows: {bare:.1f} s; ratio "
            f"[bold]{flow_seconds / bare:.1f}x[/]"
        )
    finally:
        if not args.keep:
            drop_database(base, DATABASE)


if __name__ == "__main__":
    with patient_local_api():
        main()
