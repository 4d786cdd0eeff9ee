"""Benchmark of the database-backup flow: `python bench/backup.py --claims 1000000`.

Builds the archiving benchmark's database (N claims with their children, not archived),
then times:

1. `pg_dump --format=custom` alone, into a scratch file;
2. the `database-backup` flow without a drill: the dump under a temporary name, per-table
   row counts in the dump's snapshot, sha256, the manifest, and verification (sha256 again,
   `pg_restore --list`, a full read of the archive);
3. a restore drill of that backup (restore into a scratch database, row counts compared).

Prints the times and the ratios of (2) and (2)+(3) to (1). Not a test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from rich.console import Console

from bench.archiving import DATABASE, build
from bench.seed import drop_database, fresh_database
from claims_askes.core.runtime import patient_local_api

console = Console()


def bare_pg_dump(url: str) -> float:
    from claims_askes.operations import backup as b

    with psycopg.connect(url) as conn:
        bin_dir = b.client_bin_dir(b.server_major(conn))
    env, dbname = b.libpq_env(url)
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        subprocess.run(
            [
                str(bin_dir / "pg_dump"),
                "--format=custom",
                f"--file={scratch}/bare.dump",
                f"--dbname={dbname}",
            ],
            env=env,
            check=True,
        )
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()

    from claims_askes.core.settings import reset_settings
    from claims_askes.db.connections import admin_url

    base = admin_url()
    url = fresh_database(DATABASE)
    with tempfile.TemporaryDirectory() as backups:
        os.environ["CLAIMS_ASKES_BACKUP_DIR"] = backups
        reset_settings()
        try:
            started = time.perf_counter()
            rows = build(url, args.claims)
            console.print(f"built {rows} in {time.perf_counter() - started:.1f} s")
            bare = bare_pg_dump(url)
            from claims_askes.operations import backup as b
            from flows.database_backup import database_backup
            from flows.database_monitoring import database_monitoring

            try:  # warm-up: Prefect's local API and Great Expectations start, untimed
                database_monitoring()
            except Exception:  # no backup yet: critical, as expected
                pass
            started = time.perf_counter()
            report = database_backup(drill="never")
            flow = time.perf_counter() - started
            started = time.perf_counter()
            drilled = b.verify_backup(report.backup_id, drill=True)
            drill = time.perf_counter() - started
            assert drilled.ok and drilled.drill_ok, drilled.problems
            console.print(f"pg_dump alone: {bare:.1f} s ({report.size_bytes / 2**20:,.0f} MiB)")
            console.print(
                f"[bold]database-backup[/] (dump {report.seconds_dump:.1f} s + verify "
                f"{report.seconds_verify:.1f} s): {flow:.1f} s; ratio "
                f"[bold]{flow / bare:.1f}x[/]"
            )
            console.print(
                f"restore drill: {drill:.1f} s; backup + verification + drill: "
                f"{(flow + drill) / bare:.1f}x pg_dump alone"
            )
        finally:
            if not args.keep:
                drop_database(base, DATABASE)


if __name__ == "__main__":
    with patient_local_api():
        main()
