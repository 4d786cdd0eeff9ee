"""Benchmark of the demo-data seed.

    .venv/bin/python bench/seed.py --lines 1000000      # the target: under 2 minutes
    .venv/bin/python bench/seed.py --lines 200000 --workers 2 --keep

Creates a fresh, migrated database beside the configured one (the local server, or the
server of DATABASE_URL; dropped at the end unless --keep), seeds about N claim lines into
it exactly as `claims-askes seed` does (`seed_demo_data`: every schema through its own
service connection, with COPY), and prints:

- total time and claim lines per second, split into generate and load;
- the load time of each table, and the peak RSS of this process;
- the baseline, measured in this process on the same server: the raw COPY floor, i.e. the
  same claim_item rows, rendered to CSV in memory beforehand, copied into an empty table
  without indexes, constraints or triggers; the seed's time is given as a multiple of it
  (how much the rest of the work costs: every other table, rendering, the schema's keys,
  foreign keys and audit triggers); and the same COPY into a table with claim_item's
  indexes, foreign key and audit trigger, which shows what of that the schema costs;
- whether the target is met: 1,000,000 lines in under 2 minutes.

Not a test: figures depend on the machine (the target is for a 2-core machine).
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from psycopg import sql
from rich.console import Console
from rich.table import Table

from claims_askes.core.runtime import patient_local_api
from claims_askes.core.services import SERVICES
from claims_askes.core.settings import get_settings, reset_settings
from claims_askes.db import migrate
from claims_askes.db.connections import admin_url, local_server, uses_local_server, with_database
from claims_askes.demo.seed import SeedReport, seed_demo_data
from claims_askes.demo.seed import generate as generation
from claims_askes.demo.seed import load as loading

TARGET_LINES = 1_000_000
TARGET_SECONDS = 120.0
FLOOR_TABLE = sql.Identifier("public", "bench_claim_item_copy_floor")
console = Console()


def peak_rss_mib() -> float:
    """Peak resident set size of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fresh_database(name: str) -> str:
    """Create (or recreate) database `name` on the configured server, migrated; point this
    process's settings at it, with the service roles' passwords. Returns its admin URL."""
    settings = get_settings()
    base = admin_url(settings)
    drop_database(base, name)
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = with_database(base, name)
    migrate.upgrade(url)
    if uses_local_server(settings):
        secrets = local_server(settings).secrets()
        for svc in SERVICES:
            os.environ.setdefault(svc.password_variable, secrets[svc.role])
    os.environ["DATABASE_URL"] = url
    reset_settings()
    return url


def drop_database(base: str, name: str) -> None:
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def copy_floor(url: str, data: generation.DemoData, *, schema_costs: bool = False) -> float:
    """Seconds to COPY claim_item's rows, as CSV rendered beforehand, into an empty table
    of the same columns (committed). Bare: no index, constraint or trigger (the raw COPY
    floor). With `schema_costs`: the indexes, checks and audit trigger of claim_item and its
    foreign key to the seeded claims, i.e. what the schema itself makes a load cost."""
    name = "claims_service.claim_item"
    frame = data.tables[name]
    blocks = [text for text, _ in loading.csv_blocks(frame, data.cents_columns(name))]
    stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        FLOOR_TABLE, sql.SQL(", ").join(sql.Identifier(c) for c in frame.columns)
    )
    like = "INCLUDING ALL" if schema_costs else "INCLUDING DEFAULTS"
    with psycopg.connect(url) as conn:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(FLOOR_TABLE))
        conn.execute(
            sql.SQL("CREATE TABLE {} (LIKE claims_service.claim_item {})").format(
                FLOOR_TABLE, sql.SQL(like)
            )
        )
        if schema_costs:
            conn.execute(
                sql.SQL(
                    "ALTER TABLE {} ADD FOREIGN KEY (claim_id) REFERENCES claims_service.claim (id)"
                ).format(FLOOR_TABLE)
            )
            conn.execute("SELECT audit.enable_audit(%s::regclass)", [FLOOR_TABLE.as_string(conn)])
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur, cur.copy(stmt) as copy:
            for text in blocks:
                copy.write(text)
        conn.commit()
        seconds = time.perf_counter() - started
        conn.execute(sql.SQL("DROP TABLE {}").format(FLOOR_TABLE))
        conn.commit()
    return seconds


def summary_table(report: SeedReport, floor: float, schema_floor: float, rss: float) -> Table:
    lines = report.claim_lines
    total = report.elapsed_seconds
    item = report.table_seconds["claims_service.claim_item"]
    # The target scaled to this run's size (exact at 1,000,000 lines).
    budget = TARGET_SECONDS * lines / TARGET_LINES
    verdict = "[green]met[/]" if total < budget else "[red]missed[/]"
    table = Table(
        "measure",
        "value",
        title=f"seed benchmark: {lines:,} claim lines, "
        f"{report.claims:,} claims, "
        f"{report.members:,} members",
    )
    table.add_row("total (generate + load)", f"{total:.1f} s")
    table.add_row("claim lines per second", f"{lines / total:,.0f}")
    table.add_row("generate", f"{report.generate_seconds:.1f} s")
    table.add_row("load (every schema, COPY)", f"{report.load_seconds:.1f} s")
    table.add_row("load of claim_item", f"{item:.1f} s")
    table.add_row("baseline: raw COPY floor of claim_item", f"{floor:.1f} s")
    table.add_row("total / baseline", f"{total / floor:.1f}x")
    table.add_row("claim_item load / baseline", f"{item / floor:.1f}x")
    table.add_row(
        "the same COPY with claim_item's indexes, FK and audit trigger", f"{schema_floor:.1f} s"
    )
    table.add_row("claim_item load / that", f"{item / schema_floor:.2f}x")
    table.add_row("peak RSS (this process)", f"{rss:,.0f} MiB")
    table.add_row(
        f"target: {TARGET_LINES:,} lines in {TARGET_SECONDS:.0f} s (here {budget:.0f} s)", verdict
    )
    return table


def per_table(report: SeedReport) -> Table:
    table = Table("table", "rows", "seconds", title="load time per table")
    for name, seconds in sorted(report.table_seconds.items(), key=lambda kv: -kv[1]):
        rows = report.row_counts.get(name)
        table.add_row(name, "" if rows is None else f"{rows:,}", f"{seconds:.2f}")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lines", type=int, default=TARGET_LINES, help="claim lines (about)")
    parser.add_argument(
        "--members", type=int, default=None, help="members (default: 0.3 per claim)"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--workers", type=int, default=1, help="schemas loaded at once (1: one after the other)"
    )
    parser.add_argument("--database", default="claims_askes_bench")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()

    claims = generation.claims_for_lines(args.lines)
    members = args.members or max(1, math.ceil(claims * 0.3))
    base = admin_url()
    url = fresh_database(args.database)
    console.print(f"database {args.database}: seeding {members:,} members, {claims:,} claims")
    try:
        report = seed_demo_data(members, claims, args.seed, workers=args.workers)
        rss = peak_rss_mib()
        data = generation.generate(members, claims, args.seed, as_of=report.as_of)
        floor = copy_floor(url, data)
        schema_floor = copy_floor(url, data, schema_costs=True)
    finally:
        if not args.keep:
            drop_database(base, args.database)
    console.print(summary_table(report, floor, schema_floor, rss))
    console.print(per_table(report))


if __name__ == "__main__":
    with patient_local_api():
        main()
