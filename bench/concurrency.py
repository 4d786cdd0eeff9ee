"""Concurrency benchmark of adjudication and posting: `python bench/concurrency.py`.

    nice -n 10 .venv/bin/python bench/concurrency.py --lines 100000   # the target (4 runs)
    .venv/bin/python bench/concurrency.py --lines 5000 --runs 4 --keep

Seeds the same deterministic demo data (about N claim lines) into two fresh databases
beside the configured one (dropped at the end unless --keep). The first is adjudicated by
one `claims-askes run claim-adjudication`, then `run accumulator-posting`: the reference.
On the second, --runs adjudication runs (real CLI processes, small chunks so that they
interleave, every second one with `--shards 2`) are started together against the one
backlog; a start barrier (a table lock that their first lease waits for) lets them go at
the same moment once every shard waits, however long each process took to start. While any
of them is alive, `run accumulator-posting` runs again and again, one after the other
(posting drains what is decided when it reads); then posting runs once more. The single run
goes through the same barrier, so that both wall times start when the work can start.

The result is compared with the reference (bench/chaos.py's outcome, plus status history
rows and payments per claim and every ledger entry): every line decided exactly once (the
adjudication version of each decided claim equal to the reference's, one ledger entry per
posted line version, no decided line unposted), claim and line statuses and amounts equal,
accumulators equal. Prints the claims each run adjudicated (to show that they shared the
backlog), wall time and lines/s, and rows lost, duplicated or different (the goal: 0, 0, 0,
accumulators equal); exits 1 when an invariant fails. Not a test.

The runs talk to the Prefect API of PREFECT_API_URL, or to a temporary Prefect server this
script starts (one server for all runs, not an ephemeral one per process).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from rich.console import Console
from rich.table import Table

from bench.adjudication import count, seed_in_child
from bench.chaos import CLI, Outcome, backlog, compare, prefect_api
from bench.chaos import outcome as chaos_outcome
from bench.seed import drop_database, fresh_database
from claims_askes.core.runtime import patient_local_api
from claims_askes.db.connections import admin_url
from claims_askes.demo.seed import generate as generation

REFERENCE_DB = "claims_askes_concurrency_reference"
CONCURRENT_DB = "claims_askes_concurrency"
# Parts of the outcome beyond bench/chaos.py's, keyed by stable keys like its parts.
EXTRA_PARTS = ("history", "payments", "entries")
console = Console()


@dataclass
class Run:
    """One CLI process, its output in files (a full pipe would stall it)."""

    name: str
    args: list[str]
    logs: Path
    process: subprocess.Popen[bytes] = field(init=False)
    started: float = field(init=False)
    ended: float | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.started = time.perf_counter()
        with self._out().open("wb") as out, self._err().open("wb") as err:
            self.process = subprocess.Popen(
                [CLI, "run", *self.args, "--json"], env=dict(os.environ), stdout=out, stderr=err
            )
        self._waiter = threading.Thread(target=self._note_end, daemon=True)
        self._waiter.start()

    def _note_end(self) -> None:
        self.process.wait()
        self.ended = time.perf_counter()

    def _out(self) -> Path:
        return self.logs / f"{self.name}.out"

    def _err(self) -> Path:
        return self.logs / f"{self.name}.err"

    def alive(self) -> bool:
        return self._waiter.is_alive()

    def wait(self) -> bool:
        """Waits for the end; True when the run succeeded (its JSON summary is read)."""
        self._waiter.join()
        lines = self._out().read_text().strip().splitlines()
        if self.process.returncode != 0 or not lines:
            console.print(
                f"[red]{self.name} failed (exit {self.process.returncode}):[/]\n"
                + self._err().read_text()[-3000:]
            )
            return False
        self.summary = json.loads(lines[-1])
        return True

    @property
    def seconds(self) -> float:
        return (self.ended or time.perf_counter()) - self.started


def outcome() -> Outcome:
    """bench/chaos.py's outcome, plus status history rows and payments per claim (a claim
    decided twice has two of either) and every ledger entry by (line, version, type)."""
    result = chaos_outcome()
    with psycopg.connect(admin_url()) as conn:
        result["history"] = {
            (r[0],): (r[1],)
            for r in conn.execute(
                "SELECT c.claim_number, count(*) FROM claims_service.claim_status_history h "
                "JOIN claims_service.claim c ON c.id = h.claim_id GROUP BY 1"
            )
        }
        result["payments"] = {
            (r[0],): tuple(r[1:])
            for r in conn.execute(
                "SELECT c.claim_number, count(*), sum(p.amount) "
                "FROM claims_service.claim_payment p "
                "JOIN claims_service.claim c ON c.id = p.claim_id GROUP BY 1"
            )
        }
        result["entries"] = {
            tuple(r[:3]): tuple(r[3:])
            for r in conn.execute(
                "SELECT claim_item_id::text, adjudication_version, entry_type, member_id::text, "
                "benefit_code, year, amount, deductible, oop, visits, days "
                "FROM benefit_service.accumulator_posting"
            )
        }
        result["pended"] = {
            (r[0],): (r[1],)
            for r in conn.execute(
                "SELECT claim_number, adjudication_version FROM claims_service.claim "
                "WHERE status = 'pended'"
            )
        }
    return result


def folded(result: Outcome) -> Outcome:
    """The outcome for bench/chaos.py's compare, which compares claims, lines and
    accumulators key by key: the extra parts ride along as claim keys tagged with their
    part's name."""
    claims = dict(result["claims"])
    for part in EXTRA_PARTS:
        claims.update({(part, *key): value for key, value in result[part].items()})
    return {**result, "claims": claims}


def examples(reference: Outcome, got: Outcome, limit: int = 5) -> list[str]:
    """A few rows of each part that differ from the reference, for the report."""
    found = []
    for part in ("claims", "lines", "accumulators", "versions", *EXTRA_PARTS):
        ref, new = reference[part], got[part]
        keys = sorted((k for k in ref.keys() | new.keys() if ref.get(k) != new.get(k)), key=str)
        found += [
            f"{part} {k}: reference {ref.get(k)}, concurrent {new.get(k)}" for k in keys[:limit]
        ]
        if len(keys) > limit:
            found.append(f"{part}: {len(keys) - limit:,} more")
    return found


def database_facts() -> dict[str, int]:
    with psycopg.connect(admin_url()) as conn:
        return {
            "lines": count(conn, "SELECT count(*) FROM claims_service.claim_item"),
            "backlog lines": count(
                conn,
                "SELECT count(*) FROM claims_service.claim_item ci "
                "JOIN claims_service.claim c ON c.id = ci.claim_id "
                "WHERE c.status IN ('submitted', 'pended')",
            ),
            "unposted": count(conn, "SELECT count(*) FROM claims_service.posting_outbox"),
            "in review": count(
                conn, "SELECT count(*) FROM claims_service.claim WHERE status = 'in_review'"
            ),
        }


def decided_by_run() -> dict[str, int]:
    """Claims whose current decision each flow run wrote (claim.adjudication_run_id)."""
    with psycopg.connect(admin_url()) as conn:
        return {
            str(r[0]): int(r[1])
            for r in conn.execute(
                "SELECT adjudication_run_id, count(*) FROM claims_service.claim "
                "WHERE adjudication_run_id IS NOT NULL GROUP BY 1"
            )
        }


class StartBarrier:
    """Holds claims_service.claim in EXCLUSIVE mode while the runs start: plain reads pass,
    the first lease of every shard waits (its FOR UPDATE needs ROW SHARE). `release` lets
    them go at once when all are waiting, so that they race for the backlog from one
    moment, however long each process took to start (seconds, on a loaded machine)."""

    def __init__(self) -> None:
        self.conn = psycopg.connect(admin_url())
        self.conn.execute("LOCK TABLE claims_service.claim IN EXCLUSIVE MODE")

    def release(self, waiters: int, all_alive: Callable[[], bool], timeout: float = 600) -> float:
        """Waits until `waiters` sessions wait for the lock (or a run ended, or timeout),
        releases it and returns the moment."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline and all_alive():
            waiting = count(
                self.conn,
                "SELECT count(DISTINCT pid) FROM pg_locks WHERE "
                "relation = 'claims_service.claim'::regclass "
                "AND NOT granted AND database = (SELECT oid FROM "
                "pg_database WHERE datname = current_database())",
            )
            if waiting >= waiters:
                break
            time.sleep(0.2)
        self.conn.rollback()
        self.conn.close()
        return time.perf_counter()


def adjudication_args(index: int, chunk_size: int) -> list[str]:
    """Every second run with two shards (threads leasing member hash buckets)."""
    return [
        "claim-adjudication",
        "--chunk-size",
        str(chunk_size),
        *(["--shards", "2"] if index % 2 else []),
    ]


@dataclass
class Phase:
    """Runs started behind one barrier, the posting runs around them, and the timing."""

    runs: list[Run]
    postings: list[Run]
    seconds: float  # from the barrier's release to the end of the last adjudication run
    failures: list[str]


def adjudicate_at_once(arguments: list[list[str]], logs: Path, post_meanwhile: bool) -> Phase:
    """Starts one adjudication run per argument list behind a StartBarrier; with
    `post_meanwhile`, posting runs while any of them is alive; then one posting run after
    all of them."""
    barrier = StartBarrier()
    runs = [
        Run(f"{logs.name}-adjudication-{i + 1}", args, logs) for i, args in enumerate(arguments)
    ]
    shards = sum(2 if "--shards" in args else 1 for args in arguments)
    released = barrier.release(shards, lambda: all(run.alive() for run in runs))
    postings: list[Run] = []
    while post_meanwhile and any(run.alive() for run in runs):
        # One posting run after the other (posting drains only what is decided when it
        # reads); not more at once: the test API's SQLite then answers 503 under this load.
        if not any(p.alive() for p in postings):
            postings.append(
                Run(f"{logs.name}-posting-{len(postings) + 1}", ["accumulator-posting"], logs)
            )
        time.sleep(0.5)
    failures = [f"{run.name} failed" for run in runs if not run.wait()]
    seconds = max(run.ended or released for run in runs) - released
    failures += [f"{run.name} failed" for run in postings if not run.wait()]
    postings.append(Run(f"{logs.name}-posting-final", ["accumulator-posting"], logs))
    failures += [f"{run.name} failed" for run in postings[-1:] if not run.wait()]
    return Phase(runs, postings, seconds, failures)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000, help="claim lines (about)")
    parser.add_argument("--runs", type=int, default=4, help="adjudication runs at once")
    parser.add_argument(
        "--chunk-size", type=int, default=1_000, help="claims per chunk of the concurrent runs"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--keep", action="store_true", help="keep the benchmark databases and the runs' output"
    )
    args = parser.parse_args()
    claims = generation.claims_for_lines(args.lines)
    members = max(1, math.ceil(claims * 0.3))
    base = admin_url()
    logs = Path(tempfile.mkdtemp(prefix="claims-askes-concurrency-"))
    try:
        with prefect_api():
            console.print(
                f"reference: seeding {members:,} members, {claims:,} claims; one adjudication run"
            )
            fresh_database(REFERENCE_DB)
            seed_in_child(members, claims, args.seed)
            (logs / "reference").mkdir()
            single = adjudicate_at_once([["claim-adjudication"]], logs / "reference", False)
            if single.failures:
                raise SystemExit("the reference run failed: " + "; ".join(single.failures))
            reference = outcome()

            console.print(
                f"concurrent: seeding again; {args.runs} adjudication runs at once, "
                "posting meanwhile"
            )
            fresh_database(CONCURRENT_DB)
            seed_in_child(members, claims, args.seed)
            backlog_lines = database_facts()["backlog lines"]
            (logs / "concurrent").mkdir()
            phase = adjudicate_at_once(
                [adjudication_args(i, args.chunk_size) for i in range(args.runs)],
                logs / "concurrent",
                True,
            )
            got = outcome()
            facts = database_facts()
            by_run = decided_by_run()
            waiting = backlog()
    finally:
        if not args.keep:
            for name in (REFERENCE_DB, CONCURRENT_DB):
                drop_database(base, name)
            shutil.rmtree(logs, ignore_errors=True)
        else:
            console.print(f"kept: databases {REFERENCE_DB}, {CONCURRENT_DB}; output in {logs}")

    failures = list(phase.failures)
    lost, duplicated, different = compare(folded(reference), folded(got))
    accumulators_equal = reference["accumulators"] == got["accumulators"]
    repended = sum(
        1
        for k, v in got["pended"].items()
        if k in reference["pended"] and v > reference["pended"][k]
    )
    run_claims = [int(run.summary.get("claims", 0)) for run in phase.runs]
    meanwhile = phase.postings[:-1]
    posted_meanwhile = [
        sum(int(p.summary.get(k, 0)) for p in meanwhile)
        for k in ("lines_read", "entries_inserted", "lines_marked")
    ]
    if (lost, duplicated, different) != (0, 0, 0):
        failures.append(f"rows lost {lost}, duplicated {duplicated}, different {different}")
    if not accumulators_equal:
        failures.append("accumulators differ from the single run's")
    if facts["unposted"] or facts["in review"] or waiting:
        failures.append(
            f"left over: {facts['unposted']} decided lines unposted, "
            f"{facts['in review']} claims in review, {waiting} waiting"
        )

    table = Table(
        "measure",
        "value",
        "goal",
        title=f"concurrency: {args.runs} adjudication runs and posting, "
        f"{facts['lines']:,} lines, one backlog",
    )
    table.add_row("lines (of claims to adjudicate)", f"{facts['lines']:,} ({backlog_lines:,})", "")
    table.add_row(
        "runs (with --shards 2)",
        f"{args.runs} ({args.runs // 2}), chunks of {args.chunk_size:,} claims",
        "",
    )
    table.add_row("claims per run", " / ".join(f"{c:,}" for c in run_claims), "all > 0")
    table.add_row(
        "chunks per run", " / ".join(str(run.summary.get("chunks", 0)) for run in phase.runs), ""
    )
    table.add_row(
        "decisions standing per run (claim.adjudication_run_id)",
        " / ".join(f"{by_run.get(str(run.summary.get('flow_run_id')), 0):,}" for run in phase.runs),
        "",
    )
    table.add_row(
        "posting runs meanwhile: lines read / ledger entries inserted / lines marked posted",
        f"{len(meanwhile)}: " + " / ".join(f"{n:,}" for n in posted_meanwhile),
        "",
    )
    table.add_row(
        "wall time, start barrier to last run's end",
        f"{phase.seconds:.1f} s = {backlog_lines / phase.seconds:,.0f} lines/s",
        "",
    )
    table.add_row(
        "the same for the single run (reference)",
        f"{single.seconds:.1f} s = {backlog_lines / single.seconds:,.0f} lines/s",
        "",
    )
    table.add_row(
        "pended claims pended again by a run started after the pend", f"{repended:,}", "(by design)"
    )
    table.add_row(
        "runs that failed",
        ", ".join(f.removesuffix(" failed") for f in phase.failures) or "none",
        "none",
    )
    table.add_row("decided lines unposted", f"{facts['unposted']:,}", "0")
    table.add_row("rows lost", f"{lost}", "0")
    table.add_row("rows duplicated", f"{duplicated}", "0")
    table.add_row("rows different from the single run", f"{different}", "0")
    table.add_row(
        "accumulators equal to the single run's", "yes" if accumulators_equal else "NO", "yes"
    )
    console.print(table)
    if sum(1 for c in run_claims if c > 0) < len(run_claims):
        console.print("[yellow]not every run found work: the backlog was not shared by all[/]")
    if failures:
        for line in examples(reference, got):
            console.print(line)
        console.print("[red]FAILED:[/] " + "; ".join(failures))
        raise SystemExit(1)


if __name__ == "__main__":
    with patient_local_api():
        main()
