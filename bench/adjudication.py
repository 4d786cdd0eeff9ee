"""Benchmark of the claim adjudication flow: `python bench/adjudication.py --lines 1000000`.

Seeds a fresh database (beside the configured one, dropped at the end unless --keep) with
about N claim lines in a child process, then in this process:

1. runs the `claim-adjudication` flow over the whole backlog (Prefect's local API),
   sampling this process's RSS;
2. the write floor: one `UPDATE ... FROM` writing constant results to the same lines and
   claims (after a COPY of their ids; rolled back), the least any engine must spend to store
   decisions; and the same without triggers (as the owner), which shows what the seed's
   audit of every row costs;
3. the per-line style of the engines we replace, on a sample of lines: for each line its
   own queries for the claim, member, coverage, contract, benefit and accumulators, and its
   own UPDATE, each through the service's connection.

`--floor-only` seeds and times the two floors only, scaled to 1.6 M lines: whether the
60 s goal is within reach at all of the writes every engine must make on this machine.

Prints lines/s, flow time / write floor, per-line time of (3) / per-line time of the flow,
and the peak RSS, against the goals (1.6 M lines in 60 s; at most 3x the floor; at least
25x the per-line style; RSS under 1.5 GB). Not a test: figures vary with the machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from io import StringIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil
import psycopg
from psycopg import sql
from rich.console import Console
from rich.table import Table

from bench.seed import drop_database, fresh_database
from claims_askes.core.runtime import patient_local_api
from claims_askes.db.connections import admin_connection, admin_url, service_connection
from claims_askes.demo.seed import generate as generation

console = Console()
GOAL_LINES_PER_SECOND = 1_600_000 / 60


class RssSampler:
    """Peak resident memory of this process while a block runs (sampled every 50 ms)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            self.peak = max(self.peak, me.memory_info().rss)
            self._stop.wait(0.05)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def seed_in_child(members: int, claims: int, seed: int) -> None:
    """Seed through the CLI in a child process, so that its memory is not ours."""
    cli = Path(sys.executable).parent / "claims-askes"
    subprocess.run(
        [str(cli), "seed", "--members", str(members), "--claims", str(claims), "--seed", str(seed)],
        check=True,
        env=dict(os.environ),
    )


def count(conn: psycopg.Connection, query: str) -> int:
    row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0


def write_floor(triggers: bool = True) -> float:
    """Seconds for one transaction that COPYs every line's and claim's id and writes
    constant decisions to them with UPDATE ... FROM, rolled back (the database stays as it
    was). Without `triggers`, the same as the owner with every trigger off
    (session_replication_role = replica: the seed's audit and timestamp triggers): what the
    audit costs, for the record."""
    with service_connection("claims") as conn:
        line_ids = [r[0] for r in conn.execute("SELECT id::text FROM claims_service.claim_item")]
        claim_ids = [r[0] for r in conn.execute("SELECT id::text FROM claims_service.claim")]
    connect = (
        service_connection("claims", autocommit=True)
        if triggers
        else admin_connection(autocommit=True)
    )
    with connect as conn:
        started = time.perf_counter()
        conn.execute("BEGIN")
        if not triggers:
            conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute("CREATE TEMPORARY TABLE floor_line (id uuid PRIMARY KEY) ON COMMIT DROP")
        conn.execute("CREATE TEMPORARY TABLE floor_claim (id uuid PRIMARY KEY) ON COMMIT DROP")
        for table, ids in (("floor_line", line_ids), ("floor_claim", claim_ids)):
            stmt = sql.SQL("COPY {} (id) FROM STDIN").format(sql.Identifier(table))
            with conn.cursor() as cur, cur.copy(stmt) as copy:
                copy.write("\n".join(ids) + "\n")
        conn.execute("""
            UPDATE claims_service.claim_item AS ci
            SET status = 'approved', reason_code = NULL, allowed_amount = 100,
                deductible_amount = 0, copay_amount = 0, coinsurance_amount = 0,
                network_reduction_amount = 0, limit_amount = 0, approved_amount = 100,
                member_responsibility = 0, oop_amount = 0, covered_days = 0, visits = 1,
                in_network = true, benefit_year = 2026, adjudicated_at = now(),
                adjudication_version = ci.adjudication_version + 1
            FROM floor_line AS f WHERE ci.id = f.id""")
        conn.execute("""
            UPDATE claims_service.claim AS c
            SET status = 'approved', total_approved_amount = 100,
                member_responsibility = 0, adjudicated_at = now(),
                adjudication_version = c.adjudication_version + 1
            FROM floor_claim AS f WHERE c.id = f.id""")
        conn.execute("ROLLBACK")
        return time.perf_counter() - started


def measure_floors() -> tuple[float, float]:
    """The write floor with the audit triggers and without, a VACUUM before each so that
    neither pays the other's (or the flow's) dead rows."""
    results = []
    for triggers in (True, False):
        with admin_connection(autocommit=True) as conn:
            conn.execute("VACUUM claims_service.claim_item, claims_service.claim")
        results.append(write_floor(triggers=triggers))
    return results[0], results[1]


def print_floors(lines: int, floors: tuple[float, float]) -> None:
    """The floors, and what they mean for the goal (1.6 M lines in 60 s) at this rate."""
    table = Table("measure", "value", "goal", title=f"write floors: {lines:,} lines")
    for label, seconds in (
        ("write floor (UPDATE ... FROM, seed's triggers)", floors[0]),
        ("write floor without triggers (audit off)", floors[1]),
    ):
        table.add_row(label, f"{seconds:.1f} s", "")
        table.add_row("  scaled to 1.6 M lines", f"{seconds * 1_600_000 / lines:.1f} s", "< 60 s")
    console.print(table)


def per_line_style(sample: int) -> tuple[float, int]:
    """Seconds per line of the row-at-a-time style, over `sample` lines."""
    with service_connection("claims") as claims_conn:
        rows = claims_conn.execute(
            "SELECT ci.id, c.id, c.member_id, c.provider_id, ci.benefit_code, c.service_date "
            "FROM claims_service.claim_item ci JOIN claims_service.claim c "
            "ON c.id = ci.claim_id ORDER BY ci.id LIMIT %s",
            (sample,),
        ).fetchall()
    with (
        service_connection("claims") as claims,
        service_connection("member") as members,
        service_connection("provider") as providers,
        service_connection("benefit") as benefits,
    ):
        started = time.perf_counter()
        for line_id, claim_id, member_id, provider_id, benefit, service_date in rows:
            claims.execute("SELECT * FROM claims_service.claim WHERE id = %s", (claim_id,))
            claims.execute("SELECT * FROM claims_service.claim_item WHERE id = %s", (line_id,))
            members.execute("SELECT * FROM member_service.member WHERE id = %s", (member_id,))
            coverage = members.execute(
                "SELECT plan_id FROM member_service.member_coverage WHERE member_id = %s "
                "AND effective_date <= %s ORDER BY effective_date DESC LIMIT 1",
                (member_id, service_date),
            ).fetchone()
            providers.execute(
                "SELECT * FROM provider_service.provider_contract WHERE provider_id = %s",
                (provider_id,),
            )
            benefits.execute(
                "SELECT * FROM benefit_service.plan_benefit WHERE plan_id = %s "
                "AND benefit_code = %s",
                (coverage[0] if coverage else None, benefit),
            )
            benefits.execute(
                "SELECT * FROM benefit_service.accumulator WHERE member_id = %s "
                "AND benefit_code = %s AND year = %s",
                (member_id, benefit, service_date.year),
            )
            claims.execute(
                "UPDATE claims_service.claim_item SET approved_amount = "
                "approved_amount, adjudicated_at = now() WHERE id = %s",
                (line_id,),
            )
        return (time.perf_counter() - started) / max(len(rows), 1), len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="claim lines (about)")
    parser.add_argument("--chunk-size", type=int, default=20_000, help="claims per chunk")
    parser.add_argument(
        "--shards", type=int, default=2, help="member hash buckets adjudicated in parallel"
    )
    parser.add_argument("--sample", type=int, default=2_000, help="lines of the per-line style")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--database", default="claims_askes_bench")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument(
        "--floor-only",
        action="store_true",
        help="seed and time the write floors only (no flow): is the goal "
        "within reach of the least any engine must write?",
    )
    args = parser.parse_args()

    claims = max(1, round(args.lines / generation.MEAN_LINES_PER_CLAIM))
    members = max(1, round(claims * 0.3))
    base = admin_url()
    fresh_database(args.database)
    try:
        console.print(f"seeding {members:,} members, {claims:,} claims")
        seed_in_child(members, claims, args.seed)
        with service_connection("claims") as conn:
            lines = count(conn, "SELECT count(*) FROM claims_service.claim_item")
        if args.floor_only:
            floors = measure_floors()
            print_floors(lines, floors)
            return
        from flows.claim_adjudication import claim_adjudication

        console.print(f"adjudicating {lines:,} lines")
        with RssSampler() as rss:
            started = time.perf_counter()
            summary = claim_adjudication(chunk_size=args.chunk_size, shards=args.shards)
            flow_seconds = time.perf_counter() - started
        floor_seconds, untriggered_seconds = measure_floors()
        per_line_seconds, sampled = per_line_style(args.sample)
    finally:
        if not args.keep:
            drop_database(base, args.database)

    rate = summary.lines / flow_seconds
    flow_per_line = flow_seconds / max(summary.lines, 1)
    table = Table(
        "measure",
        "value",
        "goal",
        title=f"adjudication: {summary.lines:,} lines, {summary.claims:,} claims",
    )
    table.add_row("flow time", f"{flow_seconds:.1f} s", "")
    table.add_row("lines/s", f"{rate:,.0f}", f">= {GOAL_LINES_PER_SECOND:,.0f}")
    table.add_row("time for 1.6 M lines at this rate", f"{1_600_000 / rate:.1f} s", "< 60 s")
    table.add_row("write floor", f"{floor_seconds:.1f} s", "")
    table.add_row("flow / write floor", f"{flow_seconds / floor_seconds:.2f}x", "<= 3x")
    table.add_row("write floor without triggers (audit off)", f"{untriggered_seconds:.1f} s", "")
    table.add_row(
        f"per-line style ({sampled:,} lines)", f"{per_line_seconds * 1e3:.2f} ms/line", ""
    )
    table.add_row(
        "per-line style / flow, per line", f"{per_line_seconds / flow_per_line:.1f}x", ">= 25x"
    )
    table.add_row("peak RSS during the flow", f"{rss.peak / 2**20:,.0f} MiB", "< 1,536 MiB")
    table.add_row("chunks", f"{summary.chunks}", "")
    for step, seconds in summary.step_seconds.items():
        table.add_row(f"  step: {step}", f"{seconds:.1f} s", "")
    console.print(table)
    out = StringIO()
    for row in summary.by_status:
        out.write(f"{row.status}: {row.claims:,} claims; ")
    console.print(out.getvalue())


if __name__ == "__main__":
    with patient_local_api():
        main()
