"""Chaos benchmark of claim adjudication and posting: `python bench/chaos.py --kills 20`.

Seeds the same demo data into two fresh databases. The first is adjudicated by one
undisturbed run: the reference. On the second, `claims-askes run claim-adjudication` is
started again and again and killed with SIGKILL at a random moment; every fifth time the
database server itself is restarted (immediate shutdown) instead, when it is the local
server. Then runs go on, undisturbed, until the backlog is empty, and the result is compared
with the reference: claims decided exactly once with the same status and amounts, every
decided line posted once, accumulators equal. Prints kills survived and rows lost,
duplicated or different (the goal: all survived, 0, 0, 0). Not a test.

Archiving and backups have their own kill tests (tests/test_ops_*.py); they are not part of
this benchmark yet.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from rich.console import Console
from rich.table import Table

from bench.adjudication import seed_in_child
from bench.seed import drop_database, fresh_database
from claims_askes.db import admin_url, local_server, uses_local_server
from claims_askes.settings import get_settings

CLI = str(Path(sys.executable).parent / "claims-askes")
LEASE_SECONDS = 5
console = Console()

Rows = dict[tuple[object, ...], tuple[object, ...]]
Outcome = dict[str, Rows]


def adjudicate(extra: list[str] | None = None, timeout: float | None = None
               ) -> subprocess.Popen[bytes]:
    args = [CLI, "run", "claim-adjudication", "--chunk-size", "500",
            "--lease-seconds", str(LEASE_SECONDS), *(extra or [])]
    return subprocess.Popen(args, env=dict(os.environ), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def run_to_completion() -> None:
    """Undisturbed runs until no claim waits (a killed run's leases expire first)."""
    for _ in range(10):
        time.sleep(LEASE_SECONDS + 1)
        process = adjudicate()
        if process.wait() == 0 and backlog() == 0:
            return
    raise RuntimeError("the backlog did not drain after 10 undisturbed runs")


def backlog() -> int:
    with psycopg.connect(admin_url()) as conn:
        row = conn.execute("SELECT count(*) FROM claims_service.claim WHERE status IN "
                           "('submitted', 'in_review')").fetchone()
    return int(row[0]) if row else 0


def outcome() -> Outcome:
    """What adjudication and posting decided, keyed by stable keys (the seed is
    deterministic, ids included)."""
    with psycopg.connect(admin_url()) as conn:
        claims: Rows = {(r[0],): tuple(r[1:]) for r in conn.execute(
            "SELECT claim_number, status, total_approved_amount, member_responsibility "
            "FROM claims_service.claim")}
        lines: Rows = {(r[0], r[1]): tuple(r[2:]) for r in conn.execute(
            "SELECT c.claim_number, ci.line_number, ci.status, ci.reason_code, "
            "ci.approved_amount, ci.deductible_amount, ci.oop_amount, ci.posted_at IS NOT NULL "
            "FROM claims_service.claim_item ci JOIN claims_service.claim c "
            "ON c.id = ci.claim_id")}
        accumulators: Rows = {(r[0], r[1], r[2]): tuple(r[3:]) for r in conn.execute(
            "SELECT member_id::text, benefit_code, year, amount_used, deductible_used, "
            "oop_used, visits_used, days_used FROM benefit_service.accumulator")}
        # how often each decided claim was adjudicated (pended ones are retried by design)
        versions: Rows = {(r[0],): (r[1],) for r in conn.execute(
            "SELECT claim_number, adjudication_version FROM claims_service.claim "
            "WHERE status <> 'pended'")}
        # a line with more than one ledger entry (nothing here is re-adjudicated)
        ledger: Rows = {(r[0],): (r[1],) for r in conn.execute(
            "SELECT claim_item_id::text, count(*) FROM benefit_service.accumulator_posting "
            "GROUP BY 1")}
    return {"claims": claims, "lines": lines, "accumulators": accumulators,
            "versions": versions, "ledger": ledger}


def compare(reference: Outcome, chaos: Outcome) -> tuple[int, int, int]:
    """(lost, duplicated, different) rows of the chaos run against the reference."""
    lost = duplicated = different = 0
    for part in ("claims", "lines", "accumulators"):
        ref, got = reference[part], chaos[part]
        lost += len(ref.keys() - got.keys())
        duplicated += len(got.keys() - ref.keys())
        different += sum(1 for k in ref.keys() & got.keys() if ref[k] != got[k])
    # decided more often than in the undisturbed run (seeded pended claims start at 1)
    duplicated += sum(1 for k, v in chaos["versions"].items()
                      if k in reference["versions"] and v != reference["versions"][k])
    duplicated += sum(1 for v in chaos["ledger"].values() if v[0] != 1)
    return lost, duplicated, different


def restart_server() -> None:
    """Stop the local server hard (as a crash would) and start it again."""
    server = local_server(get_settings())
    subprocess.run([str(Path(server.bin_dir) / "pg_ctl"), "-D", str(server.data_dir), "stop",
                    "-m", "immediate"], check=False, capture_output=True)
    server.start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=5_000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases")
    args = parser.parse_args()
    members = max(1, args.claims // 3)
    local = uses_local_server()
    base = admin_url()
    rng = random.Random(args.seed)
    try:
        fresh_database("claims_askes_chaos_reference")
        seed_in_child(members, args.claims, args.seed)
        started = time.perf_counter()
        if adjudicate().wait() != 0:
            raise RuntimeError("the reference run failed")
        clean_seconds = time.perf_counter() - started
        reference = outcome()

        fresh_database("claims_askes_chaos")
        seed_in_child(members, args.claims, args.seed)
        kills = restarts = 0
        for attempt in range(1, args.kills + 1):
            process = adjudicate()
            # Start-up takes a few seconds; then a share of the work, so that the kills land
            # in every phase and the backlog lasts for most of them.
            time.sleep(rng.uniform(3.0, 3.0 + 2 * clean_seconds / args.kills))
            if local and attempt % 5 == 0:
                restart_server()
                restarts += 1
                process.wait()
            else:
                process.send_signal(signal.SIGKILL)
                process.wait()
                kills += 1
            console.print(f"disruption {attempt}/{args.kills}: backlog {backlog():,}")
            if backlog() == 0:
                break
        run_to_completion()
        lost, duplicated, different = compare(reference, outcome())
    finally:
        if not args.keep:
            for name in ("claims_askes_chaos_reference", "claims_askes_chaos"):
                drop_database(base, name)

    table = Table("measure", "value", "goal", title=f"chaos: adjudication and posting, "
                                                    f"{args.claims:,} claims")
    table.add_row("SIGKILLs survived", f"{kills}", "all")
    table.add_row("server restarts survived", f"{restarts}", "all")
    table.add_row("rows lost", f"{lost}", "0")
    table.add_row("rows duplicated", f"{duplicated}", "0")
    table.add_row("rows different from the undisturbed run", f"{different}", "0")
    console.print(table)


if __name__ == "__main__":
    main()
