"""Chaos benchmark of the batch flows: `python bench/chaos.py --kills 20 [--flows ...]`.

For each flow chosen with --flows (default all), on a freshly seeded database, the flow's
command is started again and again and disrupted at a random moment: killed with SIGKILL,
or, every fifth time when the database server is the local one, the server itself is
stopped the hard way (`pg_ctl stop -m immediate`, as a crash) and started again. Then runs
go on, undisturbed, to completion, and the invariants are checked:

- adjudication (and accumulator posting, which it runs): the same demo data is seeded into
  a reference database adjudicated by one undisturbed run; against it, every claim decided
  exactly once with the same status and amounts, every decided line posted once,
  accumulators equal.
- archiving: the seed adjudicated, most payments settled, documents and a copy of the
  claims in `claim_partitioned` (monthly partitions) added; then the database is cloned and
  the clone archived by one undisturbed run (the reference). Before the chaos every row of
  every table archiving moves is fingerprinted (key, md5 of the row over the source
  columns); after it, every row is exactly once in claims_service or archive, unchanged, in
  the same place as in the reference run; no settled claim and no whole month before the
  cutoff is left; the run log accounts for every archived row.
- backups (`database-backup`, restore drill on about half the runs, retention keeping 3):
  after every disruption, every backup the product counts (`list_backups`: those with a
  manifest) must verify (size, sha256, table of contents, a full read); a final undisturbed
  run must produce a verified, drilled backup; each counted backup's manifest must hold the
  database's row counts. Leftovers of killed runs (temporary files, dumps without a
  manifest, drill databases) are counted, and whether retention cleans them a day later.
- payments: the payment run and the bank-response import killed at each of their crash
  points in turn, the simulated bank answering between rounds; then undisturbed runs;
  every claim payment is exactly one payment, every batch total its payments', every answer
  applied once, the claims service in step (`chaos_payments`).
- pitr (point-in-time recovery): on a throwaway server that archives WAL, the server is
  killed mid-adjudication and its data directory deleted, then recovered --latest from a
  base backup and the archive; decided claims must be exactly once and as in a clean run
  after the next runs (`chaos_pitr`).

With --split (instead of the flows): adjudication and posting with the services on two
servers, the configured one (A: claims, payment, document, notification) and a second local
server the benchmark starts (B: member, provider, benefit, policy, authorization), configured
as docs/deployment.md says. Runs (a slice of the backlog each) are SIGKILLed at random
moments; every second disruption holds a run between the claims-side and the benefit-side
commits (a lock on the table its next write needs) and stops server A or B immediately
there, each boundary and server in turn; then undisturbed runs. Against an undisturbed run
on the same two servers: every claim decided once with the same amounts, every line posted
once, accumulators equal.

Moments are drawn with --seed relative to the measured times of an undisturbed run: one
in ten during start-up (imports, Prefect, connections), the others measured from the
flow's first line, as start-up time varies with the machine's load (up to 15 s on a busy
2-core machine) and the work is what matters: within a share of the work for adjudication
and archiving, so that the backlog lasts for most disruptions, and anywhere in it for
backups. A run that has ended by its moment is counted as such, not as a disruption.
Runs use PREFECT_API_URL, or a private Prefect API for the benchmark (a killed run then
leaves no temporary API server behind).

Prints one table, a row per flow: disruptions survived, rows lost, duplicated or
different, left behind, backups counted that do not verify (the goal: all survived, 0).
The flows' output goes to log files (their directory is printed and kept). Not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from psycopg import sql
from rich.console import Console
from rich.table import Table

from bench.adjudication import seed_in_child
from bench.seed import drop_database, fresh_database
from claims_askes.core.runtime import patient_local_api
from claims_askes.core.services import SERVICES
from claims_askes.core.settings import get_settings, reset_settings
from claims_askes.db.connections import (
    admin_url,
    local_server,
    uses_local_server,
    with_credentials,
    with_database,
)
from claims_askes.db.localserver import (
    LocalServer,
    _run_as_server_user,
    embedded_bin_dir,
    free_port,
)

CLI = str(Path(sys.executable).parent / "claims-askes")
LEASE_SECONDS = 5
RUN_TIMEOUT = 1800  # seconds an undisturbed or disrupted run may take before we give up
FLOWS = ("adjudication", "archiving", "backup", "pitr", "payments")
ADJUDICATION_DATABASES = ("claims_askes_chaos_reference", "claims_askes_chaos")
ARCHIVE_DATABASE = "claims_askes_chaos_archive"
ARCHIVE_REFERENCE = "claims_askes_chaos_archive_reference"
BACKUP_DATABASE = "claims_askes_chaos_backup"
ERROR_LINE = re.compile(r"^[\w.]+(Error|Exception|Violation|Failed)\b.*:")
FLOW_BEGAN = "Beginning flow run"  # Prefect's first line of a flow run
BACKUP_RETENTION = ["--keep-count", "3", "--keep-days", "0", "--min-verified", "2"]
console = Console(width=None if sys.stdout.isatty() else 140)

Rows = dict[tuple[object, ...], tuple[object, ...]]
Outcome = dict[str, Rows]
# table -> row id -> [(schema, md5 of the row)]: where each row is, and what it holds
Placed = dict[str, dict[str, list[tuple[str, str]]]]


@dataclass
class Tally:
    """What one flow went through and what the checks found."""

    flow: str
    goal: str
    kills: int = 0
    restarts: int = 0
    ended_before: int = 0  # runs that had ended (done or failed) before their moment came
    lost: int = 0
    duplicated: int = 0
    different: int = 0
    counted_not_verified: int | None = None
    left_behind: int | None = None  # what the flow should have done and did not
    final_ok: bool = True
    details: list[str] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return (
            self.final_ok
            and self.lost == self.duplicated == self.different == 0
            and not self.counted_not_verified
            and not self.left_behind
        )


@dataclass
class Run:
    """One `claims-askes` command running in the background, its output in `log`."""

    process: subprocess.Popen[bytes]
    log: Path
    started: float = field(default_factory=time.perf_counter)

    def flow_began(self) -> float | None:
        """Seconds from the start until the flow began (Prefect's first line of the flow
        run; before it: imports, the API, the connections), or None if the run ended (or
        took RUN_TIMEOUT) first."""
        while time.perf_counter() - self.started < RUN_TIMEOUT:
            ended = self.process.poll() is not None
            if FLOW_BEGAN in self.log.read_text(errors="replace"):
                return time.perf_counter() - self.started
            if ended:
                return None
            time.sleep(0.05)
        return None


@dataclass
class Moment:
    """When to disrupt a run: `seconds` after its start, or after its flow began."""

    seconds: float
    after_flow_began: bool = False

    def __str__(self) -> str:
        since = "the flow began" if self.after_flow_began else "the start"
        return f"{self.seconds:.1f} s after {since}"


@dataclass
class Bench:
    """What every part needs: the server, the options, the run logs."""

    base: str  # admin URL of the server (never printed: it holds a password)
    local: bool
    claims: int
    kills: int
    seed: int
    logs: Path
    runs: int = 0

    @property
    def members(self) -> int:
        return max(1, self.claims // 3)

    def start(self, *args: str) -> Run:
        """`claims-askes ARGS` in the background, its output to a numbered log file."""
        self.runs += 1
        log = self.logs / f"{self.runs:03d}-{args[1] if len(args) > 1 else args[0]}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [CLI, *args], env=dict(os.environ), stdout=out, stderr=subprocess.STDOUT
            )
        return Run(process, log)

    def last_log(self) -> Path:
        return max(self.logs.iterdir(), key=lambda p: p.name)


def use_database(base: str, name: str) -> None:
    """Point this process and the runs it starts at database `name` of the server."""
    os.environ["DATABASE_URL"] = with_database(base, name)
    reset_settings()


def finish(run: Run) -> int:
    """Wait for a run; one that hangs past RUN_TIMEOUT is killed (and reported -9)."""
    try:
        return run.process.wait(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        run.process.kill()
        return run.process.wait()


def measure(run: Run) -> tuple[int, float, float]:
    """(exit code, seconds of start-up, seconds of the flow's work) of an undisturbed run."""
    began = run.flow_began()
    code = finish(run)
    total = time.perf_counter() - run.started
    startup = total if began is None else began
    return code, startup, total - startup


def pick_moment(rng: random.Random, startup: float, work_span: float) -> Moment:
    """One disruption in ten during start-up, the others in the first `work_span` seconds
    of the flow's work (measured from its first line, as start-up time varies with load)."""
    if rng.random() < 0.1:
        return Moment(rng.uniform(0.0, startup))
    return Moment(rng.uniform(0.0, work_span), after_flow_began=True)


def disrupt(run: Run, moment: Moment, restart: bool, tally: Tally) -> None:
    """At `moment`: restart the server under the run, or SIGKILL it; then wait for it to
    end. A run already ended by then is counted as such, not as a disruption."""
    if moment.after_flow_began and run.flow_began() is None:
        tally.ended_before += 1
        finish(run)
        return
    time.sleep(moment.seconds)
    if run.process.poll() is not None:
        tally.ended_before += 1
        return
    if restart:
        restart_server()
        tally.restarts += 1
    else:
        run.process.send_signal(signal.SIGKILL)
        tally.kills += 1
    finish(run)


def restart_server(server: LocalServer | None = None) -> None:
    """Stop the local server (or `server`) hard, as a crash would, and start it again.
    pg_ctl refuses to run as root, so it runs as the server's own user (as the product
    starts it); a stop that does not happen is an error, never a silent no-op."""
    server = server or local_server(get_settings(), start=False)
    stopped = _run_as_server_user(
        [
            str(Path(server.bin_dir) / "pg_ctl"),
            "-D",
            str(server.data_dir),
            "stop",
            "-m",
            "immediate",
        ]
    )
    if stopped.returncode != 0 or server.is_running():
        raise RuntimeError(f"pg_ctl stop -m immediate failed: {stopped.stderr.strip()}")
    server.start()


@contextmanager
def prefect_api() -> Iterator[None]:
    """A Prefect API for every run: PREFECT_API_URL if set, else a private one for the
    benchmark (a killed run then leaves no temporary API server behind, and runs do not
    share the user's SQLite database with other jobs)."""
    if os.environ.get("PREFECT_API_URL"):
        yield
        return
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no telemetry
    with prefect_test_harness(server_startup_timeout=180):
        os.environ["PREFECT_API_URL"] = str(PREFECT_API_URL.value())
        try:
            yield
        finally:
            os.environ.pop("PREFECT_API_URL", None)


# --- adjudication and posting --------------------------------------------------------------


def adjudicate(bench: Bench, extra: list[str] | None = None) -> Run:
    return bench.start(
        "run",
        "claim-adjudication",
        "--chunk-size",
        "500",
        "--lease-seconds",
        str(LEASE_SECONDS),
        *(extra or []),
    )


def run_to_completion(bench: Bench) -> None:
    """Undisturbed runs until no claim waits (a killed run's leases expire first)."""
    for _ in range(10):
        time.sleep(LEASE_SECONDS + 1)
        if finish(adjudicate(bench)) == 0 and backlog() == 0:
            return
    raise RuntimeError(
        f"the backlog did not drain after 10 undisturbed runs (last log {bench.last_log()})"
    )


def backlog() -> int:
    with psycopg.connect(admin_url()) as conn:
        row = conn.execute(
            "SELECT count(*) FROM claims_service.claim WHERE status IN ('submitted', 'in_review')"
        ).fetchone()
    return int(row[0]) if row else 0


def outcome(claims_url: str | None = None, benefit_url: str | None = None) -> Outcome:
    """What adjudication and posting decided, keyed by stable keys (the seed is
    deterministic, ids included): the claims side read on `claims_url`, the benefit side on
    `benefit_url` (both the admin URL by default; two servers with --split)."""
    with (
        psycopg.connect(claims_url or admin_url()) as conn,
        psycopg.connect(benefit_url or admin_url()) as benefit,
    ):
        claims: Rows = {
            (r[0],): tuple(r[1:])
            for r in conn.execute(
                "SELECT claim_number, status, total_approved_amount, member_responsibility "
                "FROM claims_service.claim"
            )
        }
        lines: Rows = {
            (r[0], r[1]): tuple(r[2:])
            for r in conn.execute(
                "SELECT c.claim_number, ci.line_number, ci.status, ci.reason_code, "
                "ci.approved_amount, ci.deductible_amount, ci.oop_amount, ci.adjudicated_at IS NOT "
                "NULL AND NOT EXISTS (SELECT 1 FROM claims_service.posting_outbox o "
                "WHERE o.claim_item_id = ci.id) "
                "FROM claims_service.claim_item ci JOIN claims_service.claim c "
                "ON c.id = ci.claim_id"
            )
        }
        accumulators: Rows = {
            (r[0], r[1], r[2]): tuple(r[3:])
            for r in benefit.execute(
                "SELECT member_id::text, benefit_code, year, amount_used, deductible_used, "
                "oop_used, visits_used, days_used FROM benefit_service.accumulator"
            )
        }
        # how often each decided claim was adjudicated (pended ones are retried by design)
        versions: Rows = {
            (r[0],): (r[1],)
            for r in conn.execute(
                "SELECT claim_number, adjudication_version FROM claims_service.claim "
                "WHERE status <> 'pended'"
            )
        }
        # a line with more than one ledger entry (nothing here is re-adjudicated)
        ledger: Rows = {
            (r[0],): (r[1],)
            for r in benefit.execute(
                "SELECT claim_item_id::text, count(*) FROM benefit_service.accumulator_posting "
                "GROUP BY 1"
            )
        }
    return {
        "claims": claims,
        "lines": lines,
        "accumulators": accumulators,
        "versions": versions,
        "ledger": ledger,
    }


def compare(reference: Outcome, chaos: Outcome) -> tuple[int, int, int]:
    """(lost, duplicated, different) rows of the chaos run against the reference."""
    lost = duplicated = different = 0
    for part in ("claims", "lines", "accumulators"):
        ref, got = reference[part], chaos[part]
        lost += len(ref.keys() - got.keys())
        duplicated += len(got.keys() - ref.keys())
        different += sum(1 for k in ref.keys() & got.keys() if ref[k] != got[k])
    # decided more often than in the undisturbed run (seeded pended claims start at 1)
    duplicated += sum(
        1
        for k, v in chaos["versions"].items()
        if k in reference["versions"] and v != reference["versions"][k]
    )
    duplicated += sum(1 for v in chaos["ledger"].values() if v[0] != 1)
    return lost, duplicated, different


def chaos_adjudication(bench: Bench) -> Tally:
    """Adjudication and posting: SIGKILLs (every fifth disruption a server restart) until
    the backlog drains, then undisturbed runs; compared with an undisturbed run."""
    tally = Tally("adjudication + posting", "all survived; 0, 0, 0 (as a clean run)")
    rng = random.Random(bench.seed)
    reference_db, chaos_db = ADJUDICATION_DATABASES
    fresh_database(reference_db)
    seed_in_child(bench.members, bench.claims, bench.seed)
    code, startup, work = measure(adjudicate(bench))
    if code != 0:
        raise RuntimeError(f"the reference run failed (log {bench.last_log()})")
    reference = outcome()

    fresh_database(chaos_db)
    seed_in_child(bench.members, bench.claims, bench.seed)
    for attempt in range(1, bench.kills + 1):
        run = adjudicate(bench)
        # A share of the work per disruption, so that the kills land in every phase and
        # the backlog lasts for most of them.
        moment = pick_moment(rng, startup, 2 * work / bench.kills)
        disrupt(run, moment, bench.local and attempt % 5 == 0, tally)
        left = backlog()
        console.print(
            f"adjudication disruption {attempt}/{bench.kills} at {moment}: backlog {left:,}"
        )
        if left == 0:
            break
    run_to_completion(bench)
    tally.lost, tally.duplicated, tally.different = compare(reference, outcome())
    tally.details.append(
        f"clean run: start-up {startup:.1f} s, work {work:.1f} s; "
        f"{len(reference['claims']):,} claims, {len(reference['lines']):,} "
        f"lines, {len(reference['accumulators']):,} accumulators compared"
    )
    return tally


# --- archiving -------------------------------------------------------------------------------

OLDER_THAN = "6m"  # the seed's claims span ~18 months: about two thirds are older


def prepare_archiving(bench: Bench) -> None:
    """A seeded database as archiving meets it in production: adjudicated and posted, most
    payments made (one claim in ten keeps a pending payment and is held back), documents
    on one claim in five, and the claims also in `claim_partitioned`, month by month."""
    fresh_database(ARCHIVE_DATABASE)
    seed_in_child(bench.members, bench.claims, bench.seed)
    if finish(adjudicate(bench)) != 0 or backlog():
        run_to_completion(bench)
    from claims_askes.db.sqlfiles import queries

    with psycopg.connect(admin_url()) as conn:
        conn.execute("""
            UPDATE claims_service.claim_payment AS p
            SET status = 'paid', payment_date = c.service_date + 30,
                reference_number = 'TRF-' || c.claim_number
            FROM claims_service.claim AS c
            WHERE c.id = p.claim_id AND right(c.claim_number, 1) <> '7'""")
        conn.execute("""
            INSERT INTO claims_service.claim_document (claim_id, document_type, file_name,
                storage_uri, mime_type, size_bytes, sha256)
            SELECT id, 'invoice', claim_number || '.pdf',
                   's3://claims-askes-chaos/' || claim_number || '.pdf', 'application/pdf',
                   length(claim_number) * 1000, encode(sha256(claim_number::bytea), 'hex')
            FROM claims_service.claim WHERE right(claim_number, 1) IN ('0', '5')""")
        conn.execute("""
            SELECT claims_service.create_monthly_partition(m::date)
            FROM generate_series(
                date_trunc('month', (SELECT min(service_date) FROM claims_service.claim)),
                date_trunc('month', (SELECT max(service_date) FROM claims_service.claim)),
                interval '1 month') AS m""")
        columns = [
            str(r[0]) for r in conn.execute(queries("claims_service").parent_columns).fetchall()
        ]
        conn.execute(
            sql.SQL(
                "INSERT INTO claims_service.claim_partitioned ({columns}) "
                "SELECT {columns} FROM claims_service.claim"
            ).format(columns=sql.SQL(", ").join(sql.Identifier(c) for c in columns))
        )
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")


def clone_database(base: str, source: str, target: str) -> None:
    """`target` as a copy of `source` (CREATE DATABASE ... TEMPLATE, ids included)."""
    drop_database(base, target)
    with psycopg.connect(base, autocommit=True) as conn:
        for _ in range(60):
            try:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                        sql.Identifier(target), sql.Identifier(source)
                    )
                )
                return
            except psycopg.errors.ObjectInUse:  # a session (autovacuum) still in it
                time.sleep(1)
    raise RuntimeError(f"could not copy {source}: still in use")


def archived_tables(conn: psycopg.Connection) -> dict[str, list[str]]:
    """Every table archiving moves, with the columns it moves (the flow's own list), plus
    claim_partitioned, whose months move whole."""
    from claims_askes.db.sqlfiles import queries
    from tasks.archive import archived_columns

    tables = archived_columns(conn)
    tables["claim_partitioned"] = [
        str(r[0]) for r in conn.execute(queries("claims_service").parent_columns).fetchall()
    ]
    return tables


def placement(conn: psycopg.Connection, tables: dict[str, list[str]]) -> Placed:
    """Per table, every row in claims_service or archive: key -> [(schema, md5 of the row
    over the source columns)]; archive-only columns (run id, time) are left out."""
    from tasks.archive import row_key_sql

    placed: Placed = {}
    for table, columns in tables.items():
        digest = sql.SQL("md5(ROW({})::text)").format(
            sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        )
        stmt = sql.SQL(
            "SELECT {key}, {digest}, 'claims_service' FROM {here} UNION ALL "
            "SELECT {key}, {digest}, 'archive' FROM {there}"
        ).format(
            key=row_key_sql(table),
            digest=digest,
            here=sql.Identifier("claims_service", table),
            there=sql.Identifier("archive", table),
        )
        rows: dict[str, list[tuple[str, str]]] = {}
        for row_id, md5, schema in conn.execute(stmt):
            rows.setdefault(str(row_id), []).append((str(schema), str(md5)))
        placed[table] = rows
    return placed


def compare_placement(
    before: Placed, after: Placed, reference: Placed | None = None
) -> tuple[int, int, int]:
    """(lost, duplicated, different): a row of `before` in neither schema; in both, twice,
    or new; with other content than before, or (given a reference) in another schema than
    the reference run put it."""
    lost = duplicated = different = 0
    for table, rows in before.items():
        got = after[table]
        duplicated += len(got.keys() - rows.keys())
        for row_id, was in rows.items():
            places = got.get(row_id, [])
            if not places:
                lost += 1
            elif len(places) > 1:
                duplicated += 1
            elif places[0][1] != was[0][1]:
                different += 1
            elif reference is not None:
                meant = reference[table].get(row_id, [("nowhere", "")])[0][0]
                different += places[0][0] != meant
    return lost, duplicated, different


def settled_left(conn: psycopg.Connection, cutoff: date) -> int:
    """Claims before the cutoff still in claims_service that the flow would archive (the
    flow's own counts: all before the cutoff minus those held back)."""
    from claims_askes.db.sqlfiles import queries

    q = queries("claims_service")
    before = conn.execute(q.count_before_cutoff, {"cutoff": cutoff}).fetchone()
    held = conn.execute(q.count_held_back, {"cutoff": cutoff}).fetchone()
    return (int(before[0]) if before else 0) - (int(held[0]) if held else 0)


def months_left(conn: psycopg.Connection, cutoff: date) -> int:
    """Months of claims_service.claim_partitioned that end by the cutoff, not yet moved."""
    from tasks.partitions import read_partitions

    return sum(
        1
        for p in read_partitions(conn)
        if not p.is_default and p.upper is not None and p.upper <= cutoff
    )


def archive_backlog(cutoff: date) -> int:
    with psycopg.connect(admin_url()) as conn:
        return settled_left(conn, cutoff) + months_left(conn, cutoff)


def run_log_mismatches(conn: psycopg.Connection, tables: dict[str, list[str]]) -> list[str]:
    """Tables whose archived rows differ from what the run log says was moved (a batch
    logged but not kept, or kept but not logged); whole months are logged by their name."""
    out = []
    for table in tables:
        logged = (
            sql.SQL("method = 'partition'")
            if table == "claim_partitioned"
            else sql.SQL("method = 'rows' AND table_name = {}").format(sql.Literal(table))
        )
        row = conn.execute(
            sql.SQL(
                "SELECT (SELECT count(*) FROM {}), (SELECT coalesce(sum(archived_rows), 0) "
                "FROM archive.archive_run_log WHERE outcome = 'moved' AND {})"
            ).format(sql.Identifier("archive", table), logged)
        ).fetchone()
        assert row is not None
        if int(row[0]) != int(row[1]):
            out.append(f"archive.{table}: {int(row[0]):,} rows there, {int(row[1]):,} logged")
    return out


def failure(log: Path) -> str:
    """The error a failed run ended with, from its log (the exception line and detail)."""
    lines = log.read_text(errors="replace").splitlines()
    for n in range(len(lines) - 1, -1, -1):
        if ERROR_LINE.match(lines[n]):
            detail = lines[n + 1].strip() if n + 1 < len(lines) else ""
            return lines[n].strip() + (f" {detail}" if detail.startswith("DETAIL") else "")
    return "no error line in the log"


def chaos_archiving(bench: Bench, batch_size: int) -> Tally:
    """Archiving: SIGKILLs (every fifth disruption a server restart) until nothing is left
    to archive, then undisturbed runs; every row exactly once, where a clean run put it,
    and nothing the flow should archive left behind."""
    from claims_askes.operations.common import business_today
    from schemas.ops import cutoff_date

    tally = Tally("archiving", "all survived; 0, 0, 0 (as a clean run), 0 left")
    rng = random.Random(f"{bench.seed}:archiving")
    as_of = business_today()
    cutoff = cutoff_date(OLDER_THAN, as_of)
    args = [
        "run",
        "claim-archiving",
        "--older-than",
        OLDER_THAN,
        "--batch-size",
        str(batch_size),
        "--as-of",
        as_of.isoformat(),
    ]
    prepare_archiving(bench)
    with psycopg.connect(admin_url()) as conn:
        tables = archived_tables(conn)
        before = placement(conn, tables)
        settled = settled_left(conn, cutoff)
        months = months_left(conn, cutoff)
    twice = sum(1 for rows in before.values() for places in rows.values() if len(places) > 1)
    if twice:
        raise RuntimeError(f"{twice} rows are in claims_service and archive before any run")

    # The reference: a copy of the same database archived by one undisturbed run, timed.
    clone_database(bench.base, ARCHIVE_DATABASE, ARCHIVE_REFERENCE)
    use_database(bench.base, ARCHIVE_REFERENCE)
    reference_code, startup, work = measure(bench.start(*args))
    reference_log = bench.last_log()
    with psycopg.connect(admin_url()) as conn:
        reference = placement(conn, tables)
        reference_left = settled_left(conn, cutoff) + months_left(conn, cutoff)
    ref_lost, ref_dup, ref_diff = compare_placement(before, reference)
    moved_ref = sum(1 for places in reference["claim"].values() if places[0][0] == "archive")
    if reference_code != 0:
        tally.final_ok = False
        tally.details.append(
            f"the UNDISTURBED run fails (exit {reference_code}) after archiving "
            f"{moved_ref:,} of {settled:,} settled claims, and so does every later run: "
            f"{failure(reference_log)} (log {reference_log})"
        )

    use_database(bench.base, ARCHIVE_DATABASE)
    for attempt in range(1, bench.kills + 1):
        run = bench.start(*args)
        # A share of the work per disruption, so that the backlog lasts for most of them.
        moment = pick_moment(rng, startup, 2 * work / bench.kills)
        disrupt(run, moment, bench.local and attempt % 5 == 0, tally)
        left = archive_backlog(cutoff)
        console.print(
            f"archiving disruption {attempt}/{bench.kills} at {moment}: "
            f"{left:,} claims and months left"
        )
        if left <= reference_left:  # as far as the clean run got (all, unless it failed)
            break
    # Undisturbed runs until nothing is left (or, when the clean run could not finish,
    # until as much is left as it left).
    for _ in range(10):
        time.sleep(1)
        code = finish(bench.start(*args))
        if archive_backlog(cutoff) <= reference_left and (code == 0 or reference_code != 0):
            break
    else:
        tally.final_ok = False
        tally.details.append(
            f"undisturbed runs did not get as far as the clean run in 10 "
            f"tries: {failure(bench.last_log())} (log {bench.last_log()})"
        )

    with psycopg.connect(admin_url()) as conn:
        after = placement(conn, tables)
        tally.lost, tally.duplicated, tally.different = compare_placement(before, after, reference)
        left = settled_left(conn, cutoff)
        months_not_moved = months_left(conn, cutoff)
        log_problems = run_log_mismatches(conn, tables)
    moved = sum(
        1 for places in after["claim"].values() if len(places) == 1 and places[0][0] == "archive"
    )
    tally.different += len(log_problems)
    tally.left_behind = left + months_not_moved
    rows = sum(len(r) for r in before.values())
    tally.details.append(
        f"cutoff {cutoff} ({OLDER_THAN} before {as_of}), batches of {batch_size}: "
        f"{settled:,} settled claims and {months} whole months to archive; {rows:,} rows "
        f"fingerprinted in {len(tables)} tables ({', '.join(tables)}); clean run: start-up "
        f"{startup:.1f} s, work {work:.1f} s; claims archived: chaos "
        f"{moved:,}, clean run {moved_ref:,}; settled claims left before the cutoff: chaos "
        f"{left:,}, months {months_not_moved}; clean run: {reference_left:,} in all"
    )
    if ref_lost or ref_dup or ref_diff:
        tally.details.append(
            f"the CLEAN run itself: {ref_lost} lost, {ref_dup} duplicated, {ref_diff} changed"
        )
    tally.details.extend(f"run log: {p}" for p in log_problems)
    return tally


# --- backups -------------------------------------------------------------------------------


def backup_args(drill: bool) -> list[str]:
    return ["run", "database-backup", "--drill", "always" if drill else "never", *BACKUP_RETENTION]


@dataclass
class BackupChecks:
    """Every backup found counted while not verifying, and the manifests' row counts."""

    bad: dict[str, str] = field(default_factory=dict)
    lost_rows: dict[str, int] = field(default_factory=dict)
    extra_rows: dict[str, int] = field(default_factory=dict)
    different_tables: dict[str, int] = field(default_factory=dict)
    checks: int = 0


def check_counted(checks: BackupChecks, live: dict[tuple[str, str], int]) -> tuple[int, int]:
    """Verify every backup the product counts, as `backup verify` does but writing
    nothing; note each one that fails, and each manifest whose row counts differ from the
    database (which nothing writes during this part). Returns (counted, marked verified)."""
    from claims_askes.operations import backup as b

    directory = b.backup_directory()
    bin_dir = b.bin_dir_for_restore()
    entries = b.list_backups(directory)
    checks.checks += 1
    for entry in entries:
        m = entry.manifest
        problems = b.verify_files(directory, m, bin_dir)
        if m.file.startswith(".") or m.file.endswith(".partial"):
            problems.append(f"a temporary file is counted: {m.file}")
        if problems and m.backup_id not in checks.bad:
            state = "marked verified" if entry.verified else "listed, not yet verified"
            checks.bad[m.backup_id] = f"{state}: {'; '.join(problems)}"
        counted = {(t.schema_name, t.table): t.rows for t in m.tables}
        checks.lost_rows[m.backup_id] = sum(max(0, n - counted.get(k, 0)) for k, n in live.items())
        checks.extra_rows[m.backup_id] = sum(max(0, n - live.get(k, 0)) for k, n in counted.items())
        checks.different_tables[m.backup_id] = len(live.keys() ^ counted.keys())
    return len(entries), sum(e.verified for e in entries)


def leftovers(database: str) -> tuple[list[str], list[str]]:
    """Files in the backup directory that belong to no counted backup (temporary files,
    dumps or verifications without a manifest, restore lists), and drill databases."""
    from claims_askes.operations import backup as b

    directory = b.backup_directory()
    mine = {".lock"}
    for entry in b.list_backups(directory):
        dump, manifest, verification = b.paths(directory, entry.manifest.backup_id)
        mine |= {dump.name, manifest.name, verification.name}
    files = sorted(p.name for p in directory.iterdir() if p.name not in mine)
    with psycopg.connect(admin_url()) as conn:
        scratch = [
            str(r[0])
            for r in conn.execute(
                "SELECT datname FROM pg_database WHERE starts_with(datname, %s) ORDER BY 1",
                (f"{database[:40]}_drill_",),
            ).fetchall()
        ]
    return files, scratch


def live_counts() -> dict[tuple[str, str], int]:
    from claims_askes.operations import backup as b

    with psycopg.connect(admin_url()) as conn:
        return {
            (c.schema_name, c.table): c.rows
            for c in b.count_rows(conn, b.dumped_tables(conn, None))
        }


def chaos_backup(bench: Bench, keep: bool) -> Tally:
    """Backups: SIGKILLs (every fifth disruption a server restart) at random moments of
    runs with and without a restore drill; after each, every counted backup verified."""
    from claims_askes.operations import backup as b
    from schemas.ops import RetentionPolicy

    tally = Tally("backup", "all survived; 0, 0, 0 (manifests = database); 0 counted not verifying")
    rng = random.Random(f"{bench.seed}:backup")
    directory = Path(tempfile.mkdtemp(prefix="claims-askes-chaos-backups-"))
    os.environ["CLAIMS_ASKES_BACKUP_DIR"] = str(directory)
    reset_settings()
    checks = BackupChecks()
    try:
        fresh_database(BACKUP_DATABASE)
        seed_in_child(bench.members, bench.claims, bench.seed)
        live = live_counts()
        startup: dict[bool, float] = {}
        work: dict[bool, float] = {}
        for drill in (False, True):
            code, startup[drill], work[drill] = measure(bench.start(*backup_args(drill)))
            if code != 0:
                raise RuntimeError(f"a clean backup run failed (log {bench.last_log()})")
        check_counted(checks, live)
        for attempt in range(1, bench.kills + 1):
            drill = rng.random() < 0.5
            run = bench.start(*backup_args(drill))
            moment = pick_moment(rng, startup[drill], work[drill])
            disrupt(run, moment, bench.local and attempt % 5 == 0, tally)
            counted, verified = check_counted(checks, live)
            console.print(
                f"backup disruption {attempt}/{bench.kills} at {moment} "
                f"({'with' if drill else 'no'} drill): {counted} counted, "
                f"{verified} marked verified, {len(checks.bad)} not verifying"
            )
        code = finish(bench.start(*backup_args(True)))
        counted, verified = check_counted(checks, live)
        newest = b.newest_verified(b.list_backups())
        final_good = (
            code == 0
            and newest is not None
            and newest.verification is not None
            and bool(newest.verification.drill_ok)
            and newest.manifest.backup_id not in checks.bad
        )
        if not final_good:
            tally.final_ok = False
            tally.details.append(
                f"the final undisturbed run (exit {code}) left no verified, "
                f"drilled backup (log {bench.last_log()})"
            )
        files, scratch = leftovers(BACKUP_DATABASE)
        # Retention a day later (keeping every backup) must clean the files killed runs left.
        b.apply_retention(
            RetentionPolicy(keep_count=1000, keep_days=3650, min_verified=100),
            datetime.now(UTC) + timedelta(days=2),
        )
        files_after, _ = leftovers(BACKUP_DATABASE)
        tally.counted_not_verified = len(checks.bad)
        tally.lost = sum(checks.lost_rows.values())
        tally.duplicated = sum(checks.extra_rows.values())
        tally.different = sum(checks.different_tables.values())
        tally.details.append(
            f"clean runs: start-up {startup[False]:.1f} s, work {work[False]:.1f} s; with "
            f"drill {startup[True]:.1f} s + {work[True]:.1f} s; "
            f"{checks.checks} checks of every counted backup; at the end {counted} counted, "
            f"{verified} marked verified; {len(checks.lost_rows)} distinct backups' "
            f"manifests compared with the database's {len(live)} tables"
        )
        left = (
            f"leftovers of killed runs: {len(files)} files ({', '.join(files) or 'none'}); "
            f"{len(files) - len(files_after)} cleaned by retention a day later"
        )
        if files_after:
            left += f", {len(files_after)} not: {', '.join(files_after)}"
        left += f"; {len(scratch)} drill databases left on the server"
        if scratch:
            left += " (the product never drops those; the benchmark does)"
        tally.details.append(left)
        tally.details.extend(
            f"counted but not verifying: {backup_id}: {why}"
            for backup_id, why in checks.bad.items()
        )
        if not keep:
            for name in scratch:
                drop_database(bench.base, name)
    finally:
        os.environ.pop("CLAIMS_ASKES_BACKUP_DIR", None)
        reset_settings()
        if not keep:
            shutil.rmtree(directory, ignore_errors=True)
        else:
            tally.details.append(f"backups kept in {directory}")
    return tally


# --- point-in-time recovery ------------------------------------------------------------------

PITR_DATABASES = ("claims_askes_chaos_pitr_reference", "claims_askes_chaos_pitr")


def decided_claims() -> int:
    with psycopg.connect(admin_url(), connect_timeout=2) as conn:
        row = conn.execute(
            "SELECT count(*) FROM claims_service.claim "
            "WHERE status NOT IN ('submitted', 'in_review')"
        ).fetchone()
    return int(row[0]) if row else 0


def chaos_pitr(bench: Bench) -> Tally:
    """The server is gone mid-adjudication: on a throwaway server of its own that archives
    WAL (archive_timeout 1 s), a base backup, then adjudication runs during which the server
    is killed (`-m immediate`) and its data directory deleted; it is recovered --latest from
    the base backup and the archive into its place and started again. Claims decided before
    the kill are there exactly once (decisions and postings as an undisturbed reference
    run's), the next runs complete the rest; decided claims the recovery lost (committed in
    the last unarchived second) are counted, and redone by the next run."""
    from bench.pitr import archiving_server, kill
    from claims_askes.operations import pitr
    from schemas.ops import RecoveryTarget

    tally = Tally("pitr: server + disk lost", "all recovered; 0, 0, 0 (as a clean run)")
    rng = random.Random(bench.seed)
    reference_db, chaos_db = PITR_DATABASES
    with archiving_server(archive_timeout=1, prefix="claims-askes-chaos-pitr-") as server:
        fresh_database(reference_db)
        seed_in_child(bench.members, bench.claims, bench.seed)
        code, startup, work = measure(adjudicate(bench))
        if code != 0:
            raise RuntimeError(f"the reference run failed (log {bench.last_log()})")
        reference = outcome()
        fresh_database(chaos_db)
        seed_in_child(bench.members, bench.claims, bench.seed)
        pitr.take_base_backup("full")
        lost_to_rpo = 0
        for attempt in range(1, min(bench.kills, 3) + 1):
            run = adjudicate(bench)
            if run.flow_began() is None:
                finish(run)
                tally.ended_before += 1
                break
            deadline = time.perf_counter() + rng.uniform(0.3, 0.8) * work
            seen = 0
            while time.perf_counter() < deadline and run.process.poll() is None:
                seen = decided_claims()
                time.sleep(0.1)
            if run.process.poll() is not None:
                tally.ended_before += 1  # the server still goes, after the run
                seen = decided_claims()
            kill(server)
            tally.kills += 1
            finish(run)
            shutil.rmtree(server.data_dir)  # the disk is gone
            pitr.recover(RecoveryTarget(latest=True), server.data_dir, keep=True)
            server.start()
            recovered = decided_claims()
            lost_to_rpo += max(0, seen - recovered)
            console.print(
                f"pitr disruption {attempt}: {seen:,} claims decided before the kill, "
                f"{recovered:,} after recovery; backlog {backlog():,}"
            )
            if backlog() == 0:
                break
        run_to_completion(bench)
        tally.lost, tally.duplicated, tally.different = compare(reference, outcome())
        tally.details.append(
            f"clean run: start-up {startup:.1f} s, work {work:.1f} s; decided claims the "
            f"recoveries lost (last unarchived second, redone by the next run): {lost_to_rpo}"
        )
    return tally


# --- main ------------------------------------------------------------------------------------


PAYMENT_DATABASE = "claims_askes_chaos_payments"
PAYMENT_KILL_POINTS = (
    ("payment-run", "payment-after-insert"),
    ("payment-run", "payment-batch-before-commit"),
    ("payment-run", "payment-after-file"),
    ("payment-run", "payment-sync-before-mark"),
    ("bank-response-import", "import-before-commit"),
    ("bank-response-import", "import-after-apply"),
)


def payment_invariants(conn: psycopg.Connection) -> tuple[int, int, int, list[str]]:
    """(claim payments without their one payment, payments twice, differing, details):
    every claim payment is exactly one payment of the same amount; every batch's total is
    what its payments were batched at; every bank answer applied once; the claims service
    knows every paid payment."""
    row = conn.execute("""
        SELECT (SELECT count(*) FROM claims_service.claim_payment AS cp
                WHERE NOT EXISTS (SELECT 1 FROM payment_service.payment AS p
                                  WHERE p.claim_payment_id = cp.id)),
               (SELECT count(*) - count(DISTINCT claim_payment_id)
                FROM payment_service.payment),
               (SELECT count(*) FROM payment_service.payment_batch AS b
                WHERE b.total_amount <> (SELECT coalesce(sum(e.amount), 0)
                                         FROM payment_service.payment_event AS e
                                         WHERE e.batch_id = b.id AND e.status = 'batched')),
               (SELECT count(*) - count(DISTINCT (payment_id, attempt, status))
                FROM payment_service.payment_event),
               (SELECT count(*) FROM payment_service.payment AS p
                JOIN claims_service.claim_payment AS cp ON cp.id = p.claim_payment_id
                WHERE (p.status = 'paid') <> (cp.status = 'paid') OR p.amount <> cp.amount)
    """).fetchone()
    assert row is not None
    missing, twice, batches, events, differ = (int(v) for v in row)
    details = []
    if batches:
        details.append(f"{batches} batches whose total is not their payments'")
    if events:
        details.append(f"{events} payment events recorded twice")
    return missing, twice + events, differ + batches, details


def chaos_payments(bench: Bench) -> Tally:
    """The payment run and the bank-response import killed at each of their crash points in
    turn (the simulated bank answering between rounds, a few payments failing so that each
    round has work), then run undisturbed; every claim paid once (`payment_invariants`)."""
    from claims_askes.payments.bank_details import BankKey

    tally = Tally("payments", "each claim payment paid once, answers applied once")
    fresh_database(PAYMENT_DATABASE)
    os.environ.setdefault("CLAIMS_ASKES_BANK_KEY", BankKey.generate().text())
    seed_in_child(bench.members, bench.claims, bench.seed)
    if finish(adjudicate(bench)) != 0 or backlog():
        run_to_completion(bench)
    from flows.steps.payments import answer_sent_batches, give_demo_bank_details

    give_demo_bank_details()
    outbox = bench.logs / "payments-outbox"
    inbox = bench.logs / "payments-inbox"
    common = ["--max-batch-payments", "200", "--outbox", str(outbox)]
    for number in range(bench.kills):
        flow, point = PAYMENT_KILL_POINTS[number % len(PAYMENT_KILL_POINTS)]
        if flow == "bank-response-import":
            answer_sent_batches(outbox, inbox, seed=bench.seed + number)
        os.environ["CLAIMS_ASKES_CRASH_AT"] = point
        try:
            args = common if flow == "payment-run" else ["--inbox", str(inbox)]
            code = finish(bench.start("run", flow, *args))
        finally:
            os.environ.pop("CLAIMS_ASKES_CRASH_AT", None)
        if code == -signal.SIGKILL:
            tally.kills += 1
        else:
            tally.ended_before += 1
    for _ in range(3):  # undisturbed: pay, answer, import (failed payments retried)
        if finish(bench.start("run", "payment-run", *common)) != 0:
            tally.final_ok = False
            tally.details.append(f"an undisturbed payment run failed: {bench.last_log()}")
        answer_sent_batches(outbox, inbox, seed=bench.seed)
        if finish(bench.start("run", "bank-response-import", "--inbox", str(inbox))) not in (
            0,
            1,
        ):
            tally.final_ok = False
            tally.details.append(f"an undisturbed import failed: {bench.last_log()}")
    with psycopg.connect(admin_url()) as conn:
        tally.lost, tally.duplicated, tally.different, details = payment_invariants(conn)
        tally.details.extend(details)
        pending = conn.execute(
            "SELECT count(*) FROM claims_service.claim_payment WHERE status = 'pending'"
        ).fetchone()
        tally.left_behind = int(pending[0]) if pending else 0
    return tally


# --- services on two servers (--split) -------------------------------------------------------

SPLIT_DATABASES = ("claims_askes_chaos_split_reference", "claims_askes_chaos_split")
# Server B's services (docs/deployment.md, "Scaling the database past one server"); the
# others stay on the configured server, A.
SERVER_B_SERVICES = ("member", "provider", "benefit", "policy", "authorization")
SPLIT_VARIABLES = ("DATABASE_URL", "OTHER_DATABASE_URLS", *(s.url_variable for s in SERVICES))
# Where a stop lands: the table locked to hold a run there, on which server, and the
# statement the run must be waiting in (None: any).
BOUNDARIES = {
    "claims committed, ledger not": ("b", "benefit_service.accumulator_posting", None),
    "ledger committed, claims not marked": ("a", "claims_service.posting_outbox", "mark_lines"),
}


@dataclass
class Split:
    """Server B (a throwaway server of the benchmark's) beside the configured server A."""

    base_a: str
    local_a: bool  # A is the local server: the roles' passwords are its generated ones
    server_b: LocalServer

    @property
    def base_b(self) -> str:
        return self.server_b.url(database="postgres")

    def urls(self, name: str) -> tuple[str, str]:
        return with_database(self.base_a, name), with_database(self.base_b, name)


def start_server_b(base_a: str, local_a: bool) -> Split:
    """A second local server on a free port, with the binaries of the first."""
    settings = get_settings()
    home = Path(tempfile.mkdtemp(prefix="claims-askes-chaos-b-"))
    server = LocalServer(
        home=home,
        bin_dir=(settings.pg_bin_dir or embedded_bin_dir()).resolve(),
        port=free_port(),
        database="postgres",
    )
    server.start()
    return Split(base_a=base_a, local_a=local_a, server_b=server)


def use_split(split: Split, name: str) -> None:
    """Database `name` on both servers, migrated as the split; this process and the runs it
    starts configured with it (`OTHER_DATABASE_URLS` and each service's own URL)."""
    from claims_askes.db import migrate

    url_a, url_b = split.urls(name)
    for base in (split.base_a, split.base_b):
        drop_database(base, name)
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    os.environ["DATABASE_URL"] = url_a
    os.environ["OTHER_DATABASE_URLS"] = url_b
    reset_settings()
    secrets = local_server(get_settings(), start=False).secrets() if split.local_a else {}
    for svc in SERVICES:
        password = os.environ.get(svc.password_variable) or secrets.get(svc.role)
        if not password:
            raise RuntimeError(f"--split needs {svc.password_variable} (A is not local)")
        os.environ[svc.password_variable] = password
        home = url_b if svc.key in SERVER_B_SERVICES else url_a
        os.environ[svc.url_variable] = with_credentials(home, svc.role, password)
    reset_settings()
    migrate.upgrade()  # each server: common, audit and its services; the roles' passwords


def leave_split(saved: dict[str, str | None]) -> None:
    for var, value in saved.items():
        if value is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = value
    reset_settings()


def waiting_run(conn: psycopg.Connection, marker: str | None) -> bool | None:
    """Whether a run's session on this server waits for a lock in the statement `marker`
    names (True), in another (False), or none waits (None)."""
    rows = conn.execute(
        "SELECT query FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND application_name LIKE 'claims-askes:%'"
    ).fetchall()
    if not rows:
        return None
    return any(marker is None or marker in str(r[0]) for r in rows)


def stop_between_commits(
    split: Split, name: str, run: Run, boundary: str, stop_b: bool, tally: Tally
) -> bool:
    """Hold `run` at `boundary` (an EXCLUSIVE lock on the table its next write needs, so
    only reads pass), then stop server A or B immediately and start it again. False when
    the run ended before it got there."""
    side, table, marker = BOUNDARIES[boundary]
    url = split.urls(name)[0 if side == "a" else 1]
    deadline = time.perf_counter() + RUN_TIMEOUT
    with psycopg.connect(url, autocommit=True) as watcher:
        while run.process.poll() is None and time.perf_counter() < deadline:
            holder = psycopg.connect(url)
            holder.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(sql.SQL(table)))
            waits: bool | None = None
            for _ in range(100):  # up to 10 s for the run to reach the lock
                waits = waiting_run(watcher, marker)
                if waits is not None or run.process.poll() is not None:
                    break
                time.sleep(0.1)
            if waits:
                restart_server(split.server_b if stop_b else None)
                tally.restarts += 1
                with contextlib.suppress(psycopg.Error):
                    holder.close()  # its server may be the one stopped
                finish(run)
                return True
            holder.rollback()  # another statement waits (or none): let it through
            holder.close()
            time.sleep(0.3)
    finish(run)
    return False


def chaos_split(bench: Bench) -> Tally:
    """Adjudication and posting with the services on two servers: SIGKILLed runs, and every
    second disruption server A (claims) or B (benefit) stopped immediately while a run is
    between the claims-side and the benefit-side commits; then undisturbed runs. Compared
    with an undisturbed run on the same two servers: nothing lost, nothing posted twice,
    accumulators equal."""
    tally = Tally("adjudication + posting, two servers", "all survived; 0, 0, 0 (as a clean run)")
    rng = random.Random(f"{bench.seed}:split")
    saved = {var: os.environ.get(var) for var in SPLIT_VARIABLES}
    split = start_server_b(bench.base, bench.local)
    stops = [(b, s) for b in BOUNDARIES for s in (False, True)]  # each boundary, each server
    try:
        reference_db, chaos_db = SPLIT_DATABASES
        use_split(split, reference_db)
        seed_in_child(bench.members, bench.claims, bench.seed)
        code, startup, work = measure(adjudicate(bench))
        if code != 0:
            raise RuntimeError(f"the reference run failed (log {bench.last_log()})")
        reference = outcome(*split.urls(reference_db))

        use_split(split, chaos_db)
        seed_in_child(bench.members, bench.claims, bench.seed)
        # A slice of the backlog per run (one chunk), so that the backlog lasts for every
        # disruption and each stop finds a chunk to hold between its commits.
        limit = ["--max-claims", str(max(50, bench.claims // bench.kills))]
        for attempt in range(1, bench.kills + 1):
            run = adjudicate(bench, limit)
            boundary, stop_b = stops[(attempt // 2 - 1) % len(stops)]
            if attempt % 2 == 0 and (stop_b or bench.local):  # A restarts if it is local
                what = f"server {'B' if stop_b else 'A'} stopped, {boundary}"
                if not stop_between_commits(split, chaos_db, run, boundary, stop_b, tally):
                    tally.ended_before += 1
                    what += " (the run ended first)"
            else:
                moment = pick_moment(rng, startup, 2 * work / bench.kills)
                disrupt(run, moment, False, tally)
                what = f"SIGKILL at {moment}"
            left = backlog()
            console.print(f"split disruption {attempt}/{bench.kills}, {what}: backlog {left:,}")
            if left == 0:
                break
        run_to_completion(bench)
        if finish(bench.start("run", "accumulator-posting", "--full-reconciliation")) != 0:
            tally.final_ok = False
            tally.details.append(f"the final posting run failed: {bench.last_log()}")
        tally.lost, tally.duplicated, tally.different = compare(
            reference, outcome(*split.urls(chaos_db))
        )
        tally.details.append(
            f"clean run on two servers: start-up {startup:.1f} s, work {work:.1f} s; "
            f"{len(reference['claims']):,} claims, {len(reference['lines']):,} lines, "
            f"{len(reference['accumulators']):,} accumulators compared"
        )
    finally:
        leave_split(saved)
        split.server_b.destroy()
        shutil.rmtree(split.server_b.home, ignore_errors=True)
    return tally


def report(tallies: list[Tally], bench: Bench) -> None:
    table = Table(
        "flow",
        "disruptions\nkills / restarts",
        "ended\nbefore",
        "lost",
        "duplicated",
        "different",
        "left\nbehind",
        "counted,\nnot verifying",
        "goal",
        "met?",
        title=f"chaos: {bench.claims:,} claims, up to {bench.kills} disruptions "
        f"per flow, seed {bench.seed}",
    )
    for t in tallies:
        table.add_row(
            t.flow,
            f"{t.kills} / {t.restarts}",
            f"{t.ended_before}",
            f"{t.lost}",
            f"{t.duplicated}",
            f"{t.different}",
            "-" if t.left_behind is None else f"{t.left_behind}",
            "-" if t.counted_not_verified is None else f"{t.counted_not_verified}",
            t.goal,
            "[green]yes[/]" if t.met else "[red]NO[/]",
        )
    console.print(table)
    for t in tallies:
        for line in t.details:
            console.print(f"[bold]{t.flow}[/]: {line}", highlight=False)
    console.print(f"run logs: {bench.logs}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=5_000)
    parser.add_argument("--kills", type=int, default=20, help="disruptions per flow")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--flows", default=",".join(FLOWS), help=f"comma-separated, of {', '.join(FLOWS)}"
    )
    parser.add_argument(
        "--archive-batch-size",
        type=int,
        default=50,
        help="claims per archiving batch (small: kills land mid-run)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the benchmark databases and backups (run logs are always kept)",
    )
    parser.add_argument(
        "--split",
        action="store_true",
        help="adjudication and posting with the services on two servers (a second one is "
        "started), SIGKILLs and either server stopped between the two sides' commits; "
        "instead of --flows",
    )
    args = parser.parse_args()
    flows = [f.strip() for f in args.flows.split(",") if f.strip()]
    unknown = [f for f in flows if f not in FLOWS]
    if unknown or not flows:
        parser.error(f"--flows: unknown {', '.join(unknown) or 'empty'} (of {', '.join(FLOWS)})")
    bench = Bench(
        base=admin_url(),
        local=uses_local_server(),
        claims=args.claims,
        kills=args.kills,
        seed=args.seed,
        logs=Path(tempfile.mkdtemp(prefix="claims-askes-chaos-logs-")),
    )
    console.print(f"run logs: {bench.logs}")
    databases = {
        "adjudication": ADJUDICATION_DATABASES,
        "archiving": (ARCHIVE_DATABASE, ARCHIVE_REFERENCE),
        "backup": (BACKUP_DATABASE,),
        "pitr": (),  # on a throwaway server of its own, removed with it
        "payments": (PAYMENT_DATABASE,),
    }
    tallies: list[Tally] = []
    if args.split:
        try:
            with prefect_api():
                tallies.append(chaos_split(bench))
        finally:
            if not args.keep:
                for name in SPLIT_DATABASES:
                    drop_database(bench.base, name)
        report(tallies, bench)
        return
    try:
        with prefect_api():
            for flow in FLOWS:
                if flow not in flows:
                    continue
                if flow == "adjudication":
                    tallies.append(chaos_adjudication(bench))
                elif flow == "archiving":
                    tallies.append(chaos_archiving(bench, args.archive_batch_size))
                elif flow == "pitr":
                    tallies.append(chaos_pitr(bench))
                elif flow == "payments":
                    tallies.append(chaos_payments(bench))
                else:
                    tallies.append(chaos_backup(bench, args.keep))
    finally:
        if not args.keep:
            for flow in flows:
                for name in databases[flow]:
                    drop_database(bench.base, name)
    report(tallies, bench)


if __name__ == "__main__":
    with patient_local_api():
        main()
