"""Soak under continuous intake: `python bench/soak.py [--minutes 10] [--rate LINES/S]`.

    nice -n 10 .venv/bin/python bench/soak.py                 # 10 minutes, rate measured
    .venv/bin/python bench/soak.py --minutes 3 --rate 40 --keep

Everything runs on its own: a throwaway PostgreSQL server (its own CLAIMS_ASKES_HOME and
port, no WAL archiving), a `prefect server` on loopback (its database `prefect` on that
PostgreSQL server, as in production), `claims-askes deploy` against it
and two `prefect worker start --type process` workers with the server's URL and passwords.

1. The demo data is seeded (--seed-lines); partition maintenance and a first backup run, as
   after an installation; the seed's backlog is adjudicated by one deployment run on one
   worker: the single-worker throughput (lines / the run's wall time, from the flow
   run's start to its end). The intake rate is half of it, or --rate.
2. The second worker starts; the schedules are shortened: adjudication every --interval
   seconds (with the schedule's own parameters: fanned out to the workers), posting every
   2 minutes, monitoring every minute, the eligibility sweep every 5 minutes; every other
   schedule is paused. A backup (with its restore drill) is started by hand half-way.
3. For --minutes, claims arrive through the intake (`claims_askes.adjudication.intake`, one
   batch a second) at the rate, shaped: a Monday-morning peak (twice the rate, 20-35 % into
   the soak), bursts (three times, 5 s a minute), quieter in between (the mean is the rate).
   They copy seeded claims without a stay (member, provider, policy and lines), dated
   today, each copy's charges raised by its own number of sen (no copy is a duplicate of
   another: R4 decides duplicates by batch order, which many runs and one batch do not
   share). 3 % are
   malformed: half refused at the door (a bad id, no lines, a float charge, an unknown type:
   the refusal must name the field, and nothing is stored), half stored with the discharge
   before the admission (R1 rejects them with INVALID_CLAIM and a note).
4. Intake stops; the runs drain what is left (at most --drain-minutes); everything stops.
5. A clean replay: a second database seeded alike, its seed backlog adjudicated, then every
   claim the soak's intake stored (same id, number, submission time) adjudicated in one run
   and posted; the soak's outcome is compared with it (bench/chaos.py's compare).

Prints a line every 10 s while it runs (intake, backlog, runs), then the backlog over time
and one table of figures against the goals: backlog bounded, p99 decision latency under two
schedule intervals, 0 failed runs, 0 lost or duplicated, accumulators equal to the replay.
Exits 1 when a goal is missed. Ctrl-C stops everything it started. Not a test.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil
import psycopg
from psycopg import sql
from rich.console import Console
from rich.table import Table

from bench.chaos import Outcome, compare
from bench.chaos import outcome as chaos_outcome
from bench.processes import prefect_env, start, start_prefect_server, stop, wait_for
from claims_askes.adjudication.intake import IntakeResult, submit_claims
from claims_askes.core.services import REPORTING_ROLE, SERVICES
from claims_askes.core.settings import reset_settings
from claims_askes.db import migrate
from claims_askes.db.connections import with_database
from claims_askes.db.localserver import LocalServer, embedded_bin_dir, free_port
from claims_askes.demo.seed import generate as generation

BIN = Path(sys.executable).parent
CLI, PREFECT = str(BIN / "claims-askes"), str(BIN / "prefect")
ROOT = Path(__file__).resolve().parent.parent
POOL = "claims-askes"
SOAK_DB, REPLAY_DB = "claims_askes_soak", "claims_askes_soak_replay"
SUBMITTED_BY = "soak-intake"
SAMPLE_SECONDS = 5.0
DEAD_SEEN: list[str] = []  # the most dead tables at each sample (for a table_bloat alarm)
PROGRESS_SECONDS = 10.0
MALFORMED_SHARE = 0.03
# The rate's shape (multiples of the mean rate): the Monday-morning peak, the bursts, and
# the quiet rest, chosen so that the mean over the soak is the rate.
PEAK_WINDOW, PEAK = (0.20, 0.35), 2.0
BURST_EVERY, BURST_SECONDS, BURST = 60.0, 5.0, 3.0
# Shortened schedules of the soak (seconds); adjudication's is --interval.
SHORT_SCHEDULES = {
    "accumulator-posting": 120,
    "database-monitoring": 60,
    "eligibility-sweep": 300,
}
console = Console(width=None if sys.stdout.isatty() else 150)


# --- the figures (pure; tests/test_soak_figures.py) -----------------------------------------


def quiet_multiple() -> float:
    """The multiple of the rate outside the peak and the bursts that makes the mean 1."""
    peak = PEAK_WINDOW[1] - PEAK_WINDOW[0]
    burst = BURST_SECONDS / BURST_EVERY
    return (1 - peak * PEAK - (1 - peak) * burst * BURST) / ((1 - peak) * (1 - burst))


def rate_multiple(elapsed: float, total: float) -> float:
    """How many times the mean rate claims arrive `elapsed` seconds into a `total` soak."""
    share = elapsed / total if total > 0 else 0.0
    if PEAK_WINDOW[0] <= share < PEAK_WINDOW[1]:
        return PEAK
    if elapsed % BURST_EVERY < BURST_SECONDS:
        return BURST
    return quiet_multiple()


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """p50, p95, p99 (nearest rank: a value that was observed) and max; {} when empty."""
    if not values:
        return {}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    return {"p50": rank(50), "p95": rank(95), "p99": rank(99), "max": ordered[-1]}


def backlog_bounded(samples: Sequence[tuple[float, int]], slack: int) -> bool:
    """Whether a backlog sampled over time stays bounded: after the first half of the
    samples (which holds the peak), it never exceeds that half's maximum by more than a
    quarter plus `slack` (about one schedule interval's intake), and it ends no higher than
    that maximum plus `slack`. A growing backlog fails either; a sawtooth passes."""
    if len(samples) < 4:
        return False
    half = len(samples) // 2
    first = max(n for _, n in samples[:half])
    second = max(n for _, n in samples[half:])
    return second <= 1.25 * first + slack and samples[-1][1] <= first + slack


def growth_per_hour(start_bytes: int, end_bytes: int, seconds: float) -> float:
    """Database growth in MiB per hour, from two sizes `seconds` apart."""
    return (end_bytes - start_bytes) / 2**20 * 3600 / seconds if seconds > 0 else 0.0


@dataclass(frozen=True)
class ReplayVerdict:
    lost: int
    duplicated: int
    different: int
    accumulators_equal: bool

    @property
    def clean(self) -> bool:
        return (self.lost, self.duplicated, self.different) == (0, 0, 0) and self.accumulators_equal


def used_beyond_replay(replay: Outcome, soak: Outcome) -> tuple[int, Decimal]:
    """Accumulators (member, benefit, year) whose amount used is higher in the soak than in
    the replay, and by how much in all: paid beyond what one batch pays (with the replay at
    a limit, beyond the limit)."""
    excess = [
        Decimal(str(got[0])) - Decimal(str(replay["accumulators"].get(key, (0,))[0]))
        for key, got in soak["accumulators"].items()
    ]
    over = [e for e in excess if e > 0]
    return len(over), sum(over, Decimal("0"))


def replay_verdict(replay: Outcome, soak: Outcome) -> ReplayVerdict:
    """The soak's outcome against the clean replay's: rows lost, duplicated (or decided
    more often), different, and whether the accumulators are equal."""
    lost, duplicated, different = compare(replay, soak)
    return ReplayVerdict(
        lost, duplicated, different, replay["accumulators"] == soak["accumulators"]
    )


def differences(replay: Outcome, soak: Outcome, limit: int = 5) -> list[str]:
    """A few rows of each part that differ from the replay, for the report."""
    found = []
    for part in ("claims", "lines", "accumulators", "versions"):
        ref, got = replay[part], soak[part]
        keys = sorted((k for k in ref.keys() | got.keys() if ref.get(k) != got.get(k)), key=str)
        found += [f"{part} {k}: replay {ref.get(k)}, soak {got.get(k)}" for k in keys[:limit]]
        if len(keys) > limit:
            found.append(f"{part}: {len(keys) - limit:,} more")
    return found


# --- processes ------------------------------------------------------------------------------


def stop_workers(soak: Soak) -> None:
    for worker in reversed(soak.workers):
        stop(worker)


class RssWatch(threading.Thread):
    """Samples the resident memory of each worker and the flow-run processes under it;
    keeps the peak of the workers themselves and of any one flow-run process."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.workers: list[int] = []
        self.worker_peak = 0
        self.run_peak = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(1.0):
            for pid in list(self.workers):
                try:
                    worker = psutil.Process(pid)
                    self.worker_peak = max(self.worker_peak, worker.memory_info().rss)
                    for child in worker.children(recursive=True):
                        self.run_peak = max(self.run_peak, child.memory_info().rss)
                except psutil.Error:
                    continue


@dataclass
class Soak:
    """What the soak started, and where: stopped in reverse by the ExitStack."""

    home: Path
    env: dict[str, str]  # for every process: the server's URL, passwords, Prefect's API
    server: LocalServer
    api: str
    workers: list[subprocess.Popen[Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.env["DATABASE_URL"]

    def client(self) -> Any:
        from prefect.client.orchestration import SyncPrefectClient

        return SyncPrefectClient(self.api)

    def cli(self, *args: str, database: str | None = None, timeout: float = 1800) -> str:
        env = dict(self.env)
        if database:
            env["DATABASE_URL"] = with_database(self.url, database)
        done = subprocess.run(
            [CLI, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0:
            raise RuntimeError(f"claims-askes {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done.stdout


@contextmanager
def database_server(keep: bool) -> Iterator[tuple[Path, LocalServer, dict[str, str]]]:
    """A throwaway server in its own home and port, WAL archiving off; removed at the end
    (with `keep`, stopped and its home, logs included, left where it is)."""
    home = Path(tempfile.mkdtemp(prefix="claims-askes-soak-"))
    server = LocalServer(
        home=home, bin_dir=embedded_bin_dir().resolve(), port=free_port(), database=SOAK_DB
    )
    server.start()
    secrets = server.secrets()
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
    env.update({s.password_variable: secrets[s.role] for s in SERVICES})
    env["REPORTING_DB_PASSWORD"] = secrets[REPORTING_ROLE]
    env.update(
        DATABASE_URL=server.url(),
        CLAIMS_ASKES_HOME=str(home),
        CLAIMS_ASKES_PG_PORT=str(server.port),
        CLAIMS_ASKES_ARCHIVE_WAL="false",
    )
    try:
        yield home, server, env
    finally:
        if keep:
            server.stop()
            console.print(f"kept: {home}")
        else:
            server.destroy()
            shutil.rmtree(home, ignore_errors=True)


def prefect_database(server: LocalServer) -> str:
    """Prefect's own database, `prefect` on the soak's PostgreSQL server, as a production
    server has it: on SQLite the server answered 503 while two workers, their flow runs and
    the scheduler wrote at once, and a run failed to start (2026-12-05)."""
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE prefect")
    return server.url(database="prefect").replace("postgresql://", "postgresql+asyncpg://", 1)


def start_prefect(
    home: Path, env: dict[str, str], server: LocalServer
) -> tuple[subprocess.Popen[Any], str]:
    """Prefect's server with its database on the soak's server; `env` gains its settings."""
    api = f"http://127.0.0.1:{free_port()}/api"
    (home / "prefect").mkdir()
    env.update(
        prefect_env(
            home / "prefect",
            api,
            env,
            PREFECT_SERVER_DATABASE_CONNECTION_URL=prefect_database(server),
            PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="5",
            PREFECT_WORKER_QUERY_SECONDS="2",
            PREFECT_WORKER_HEARTBEAT_SECONDS="10",
        )
    )
    return start_prefect_server(env, home / "prefect" / "server.log"), api


def start_worker(soak: Soak, name: str, rss: RssWatch) -> None:
    log = soak.home / f"{name}.log"
    worker = start(
        [
            PREFECT,
            "worker",
            "start",
            "--pool",
            POOL,
            "--type",
            "process",
            "--name",
            name,
            "--limit",
            "4",
        ],
        soak.env,
        log,
    )
    soak.workers.append(worker)
    rss.workers.append(worker.pid)

    def online() -> bool:
        with soak.client() as client:
            return any(
                w.name == name and w.status.value == "ONLINE"
                for w in client.read_workers_for_work_pool(POOL)
            )

    wait_for(f"worker {name}", online, 120)


# --- schedules and runs ---------------------------------------------------------------------


def deployment_id(client: Any, name: str) -> Any:
    return client.read_deployment_by_name(f"{name}/{name}").id


def shorten_schedules(soak: Soak, interval: int, fan_out: bool | None) -> None:
    """Adjudication every `interval` s (its schedule's parameters kept, fan_out overridden
    if given), posting, monitoring and the sweep on SHORT_SCHEDULES; every other schedule
    of every deployment paused. Intervals are anchored now."""
    from prefect.client.schemas.schedules import IntervalSchedule

    wanted = {"claim-adjudication": interval, **SHORT_SCHEDULES}
    anchor = datetime.now(UTC)
    with soak.client() as client:
        for deployment in client.read_deployments():
            schedules = client.read_deployment_schedules(deployment.id)
            for i, schedule in enumerate(schedules):
                seconds = wanted.get(deployment.name) if i == 0 else None
                if seconds is None:
                    client.update_deployment_schedule(deployment.id, schedule.id, active=False)
                    continue
                parameters = dict(schedule.parameters or {})
                if deployment.name == "claim-adjudication" and fan_out is not None:
                    parameters = {"fan_out": fan_out} if fan_out else {}
                client.update_deployment_schedule(
                    deployment.id,
                    schedule.id,
                    active=True,
                    schedule=IntervalSchedule(
                        interval=timedelta(seconds=seconds), anchor_date=anchor
                    ),
                    parameters=parameters,
                )


def pause_schedules(soak: Soak) -> None:
    """Every schedule paused, and the runs the scheduler had already created deleted (a
    paused schedule keeps them: the 15-minute adjudication would still fire)."""
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    scheduled = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
    )
    with soak.client() as client:
        for deployment in client.read_deployments():
            for schedule in client.read_deployment_schedules(deployment.id):
                client.update_deployment_schedule(deployment.id, schedule.id, active=False)
        while runs := client.read_flow_runs(flow_run_filter=scheduled, limit=200):
            for run in runs:
                client.delete_flow_run(run.id)


def run_deployment(soak: Soak, name: str, parameters: dict[str, Any]) -> Any:
    with soak.client() as client:
        return client.create_flow_run_from_deployment(
            deployment_id(client, name), parameters=parameters
        )


def wait_run(soak: Soak, run_id: Any, timeout: float = 1800) -> Any:
    deadline = time.monotonic() + timeout
    with soak.client() as client:
        while time.monotonic() < deadline:
            run = client.read_flow_run(run_id)
            if run.state is not None and run.state.is_final():
                return run
            time.sleep(1)
    raise RuntimeError(f"flow run {run_id} not finished after {timeout:.0f} s")


@dataclass
class RunCounts:
    by_state: dict[str, int]
    flow_retries: int
    task_retries: int
    failed_names: list[str]

    @property
    def failed(self) -> int:
        return len(self.failed_names)


def run_counts(soak: Soak) -> RunCounts:
    """Every flow run of the server by state; retries (runs beyond the first) of flow and
    task runs; the failed or crashed ones by name."""
    by_state: dict[str, int] = {}
    failed, flow_retries, task_retries = [], 0, 0
    with soak.client() as client:
        offset = 0
        while batch := client.read_flow_runs(limit=200, offset=offset):
            offset += len(batch)
            for run in batch:
                state = run.state_name or "?"
                by_state[state] = by_state.get(state, 0) + 1
                flow_retries += max(0, (run.run_count or 0) - 1)
                if run.state is not None and (run.state.is_failed() or run.state.is_crashed()):
                    deployment = (
                        client.read_deployment(run.deployment_id).name if run.deployment_id else "?"
                    )
                    failed.append(f"{deployment}/{run.name}: {run.state.message}")
        offset = 0
        while tasks := client.read_task_runs(limit=200, offset=offset):
            offset += len(tasks)
            task_retries += sum(max(0, (t.run_count or 0) - 1) for t in tasks)
    return RunCounts(by_state, flow_retries, task_retries, failed)


# --- intake ---------------------------------------------------------------------------------


def jakarta_today() -> date:
    return datetime.now(ZoneInfo("Asia/Jakarta")).date()


def templates(url: str, limit: int = 3000) -> list[dict[str, Any]]:
    """Seeded claims without a stay to copy (member, provider, policy, type, lines), dated
    today: every intake claim then comes after the seed's claims of its member, in arrival
    order, in the soak as in the one-batch replay (the engine orders a batch by member,
    service date, submission)."""
    today = jakarta_today().isoformat()
    with psycopg.connect(url) as conn:
        heads = conn.execute(
            "SELECT id, member_id::text, provider_id::text, policy_id::text, claim_type, "
            "service_type FROM claims_service.claim "
            "WHERE admission_date IS NULL AND discharge_date IS NULL "
            "ORDER BY claim_number LIMIT %s",
            (limit,),
        ).fetchall()
        lines: dict[Any, list[dict[str, Any]]] = {}
        for r in conn.execute(
            "SELECT claim_id, benefit_code, procedure_code, diagnosis_code, quantity, "
            "charged_amount FROM claims_service.claim_item "
            "WHERE claim_id = ANY(%s) ORDER BY claim_id, line_number",
            ([h[0] for h in heads],),
        ):
            lines.setdefault(r[0], []).append(
                dict(
                    zip(
                        (
                            "benefit_code",
                            "procedure_code",
                            "diagnosis_code",
                            "quantity",
                            "charged_amount",
                        ),
                        r[1:],
                        strict=True,
                    )
                )
            )
    return [
        {
            "member_id": member,
            "provider_id": provider,
            "policy_id": policy,
            "claim_type": ctype,
            "service_type": stype,
            "service_date": today,
            "lines": lines[cid],
        }
        for cid, member, provider, policy, ctype, stype in heads
        if cid in lines
    ]


def unique_copy(claim: dict[str, Any], sequence: int) -> dict[str, Any]:
    """A copy whose charges differ from every other copy's by `sequence` sen: R4 decides
    which of two identical lines is the duplicate by batch order, which the soak (many
    runs) and the replay (one batch) do not share by design."""
    extra = Decimal(sequence) / 100
    return {
        **claim,
        "lines": [
            {**line, "charged_amount": str(Decimal(line["charged_amount"]) + extra)}
            for line in claim["lines"]
        ],
    }


#: Claims the door must refuse, each with the field its refusal must name.
REFUSED_KINDS: list[tuple[str, Any]] = [
    ("member_id", lambda c: {**c, "member_id": "not-a-uuid"}),
    ("lines", lambda c: {**c, "lines": []}),
    ("charged_amount", lambda c: {**c, "lines": [{**c["lines"][0], "charged_amount": 1500.5}]}),
    ("claim_type", lambda c: {**c, "claim_type": "cash"}),
]


def bad_dates(claim: dict[str, Any]) -> dict[str, Any]:
    """A stay whose discharge is before its admission: stored, then rejected by R1."""
    day = date.fromisoformat(claim["service_date"])
    return {
        **claim,
        "admission_date": day.isoformat(),
        "discharge_date": (day - timedelta(days=2)).isoformat(),
    }


@dataclass
class Intake:
    """Claims sent, stored, refused (and whether each refusal named its field)."""

    sent: int = 0
    stored: int = 0
    lines: int = 0
    bad_dates: int = 0
    refused: int = 0
    refused_expected: int = 0
    refusals_unclear: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds_behind: float = 0.0  # the most the intake fell behind its schedule


def intake_loop(
    intake: Intake,
    pool: list[dict[str, Any]],
    claims_per_second: float,
    seconds: float,
    stop: threading.Event,
    rng: random.Random,
) -> None:
    """One batch a second through `submit_claims`, as many claims as the shaped rate owes."""
    started = time.monotonic()
    owed = 0.0
    tick = 0
    while not stop.is_set():
        elapsed = time.monotonic() - started
        if elapsed >= seconds:
            return
        owed += claims_per_second * rate_multiple(elapsed, seconds)
        n, owed = int(owed), owed - int(owed)
        batch: list[dict[str, Any]] = []
        expected: list[str] = []
        for _ in range(n):
            claim = unique_copy(rng.choice(pool), intake.sent + len(batch) + 1)
            draw = rng.random()
            if draw < MALFORMED_SHARE / 2:
                name, make = REFUSED_KINDS[intake.refused_expected % len(REFUSED_KINDS)]
                expected.append(name)
                intake.refused_expected += 1
                batch.append(make(claim))
            elif draw < MALFORMED_SHARE:
                intake.bad_dates += 1
                batch.append(bad_dates(claim))
            else:
                batch.append(claim)
        try:
            result: IntakeResult = submit_claims(batch, submitted_by=SUBMITTED_BY)
        except psycopg.Error as exc:  # counted: a lost batch is a failure of the soak
            intake.errors.append(f"{type(exc).__name__}: {exc}"[:300])
            result = IntakeResult()
        intake.sent += len(batch)
        intake.stored += len(result.accepted)
        intake.lines += result.lines
        intake.refused += len(result.refused)
        for name, refusal in zip(expected, result.refused, strict=False):
            if name not in str(refusal):
                intake.refusals_unclear.append(str(refusal)[:200])
        tick += 1
        intake.seconds_behind = max(intake.seconds_behind, time.monotonic() - started - tick)
        stop.wait(max(0.0, started + tick - time.monotonic()))


# --- sampling -------------------------------------------------------------------------------


def scalar(conn: psycopg.Connection, query: str, params: Sequence[Any] = ()) -> Any:
    row = conn.execute(query, params).fetchone()
    return row[0] if row else None


def backlog_now(conn: psycopg.Connection) -> tuple[int, int]:
    """Claims and lines waiting: submitted, or leased (in_review) and not yet decided."""
    row = conn.execute(
        "SELECT count(DISTINCT c.id), count(ci.id) FROM claims_service.claim c "
        "JOIN claims_service.claim_item ci ON ci.claim_id = c.id "
        "WHERE c.status IN ('submitted', 'in_review')"
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def most_dead(conn: psycopg.Connection, limit: int = 3) -> list[str]:
    """The tables with the highest dead-tuple ratio of those monitoring's table_bloat check
    looks at (over 1,000 tuples), as "schema.table dead/live"."""
    return [
        f"{r[0]} {r[1]:,} dead / {r[2]:,} live"
        for r in conn.execute(
            "SELECT schemaname || '.' || relname, n_dead_tup, n_live_tup "
            "FROM pg_stat_user_tables WHERE n_live_tup + n_dead_tup > 1000 "
            "ORDER BY n_dead_tup::numeric / (n_live_tup + n_dead_tup) DESC LIMIT %s",
            (limit,),
        )
    ]


def database_size(conn: psycopg.Connection) -> int:
    return int(scalar(conn, "SELECT pg_database_size(current_database())"))


# --- the figures from the database ---------------------------------------------------------


def latencies(conn: psycopg.Connection) -> tuple[list[float], int]:
    """Seconds from submission to (first) decision of every intake claim decided; and how
    many are not decided."""
    decided = [
        float(r[0])
        for r in conn.execute(
            "SELECT extract(epoch FROM coalesce(("
            "  SELECT min(h.changed_at) FROM claims_service.claim_status_history h "
            "  WHERE h.claim_id = c.id AND h.to_status NOT IN ('submitted', 'in_review')"
            "), c.adjudicated_at) - c.submission_date) "
            "FROM claims_service.claim c WHERE c.created_by = %s AND c.adjudicated_at IS NOT NULL",
            (SUBMITTED_BY,),
        )
    ]
    waiting = int(
        scalar(
            conn,
            "SELECT count(*) FROM claims_service.claim WHERE created_by = %s "
            "AND adjudicated_at IS NULL",
            (SUBMITTED_BY,),
        )
    )
    return decided, waiting


@dataclass
class ExactlyOnce:
    lines: int  # intake lines
    decided_once: int  # decided, adjudication_version 1 (pended ones may be re-adjudicated)
    decided_more: int  # decided more than once though not pended
    undecided: int
    ledger_duplicates: int  # lines with more than one entry of one version in the ledger
    unposted: int  # decided lines still in the posting outbox
    leases: int | None  # leases of intake claims (the audit log), None when unreadable
    decisions: int


def exactly_once(conn: psycopg.Connection) -> ExactlyOnce:
    row = conn.execute(
        "SELECT count(*), "
        "count(*) FILTER (WHERE ci.adjudication_version = 1), "
        "count(*) FILTER (WHERE ci.adjudication_version > 1 AND c.status <> 'pended'), "
        "count(*) FILTER (WHERE ci.adjudication_version = 0), "
        "(SELECT count(*) FROM claims_service.posting_outbox), "
        "(SELECT coalesce(sum(adjudication_version), 0) FROM claims_service.claim "
        " WHERE created_by = %(by)s) "
        "FROM claims_service.claim_item ci JOIN claims_service.claim c ON c.id = ci.claim_id "
        "WHERE c.created_by = %(by)s",
        {"by": SUBMITTED_BY},
    ).fetchone()
    assert row is not None
    duplicates = int(
        scalar(
            conn,
            "SELECT count(*) FROM (SELECT claim_item_id, adjudication_version, entry_type "
            "FROM benefit_service.accumulator_posting GROUP BY 1, 2, 3 HAVING count(*) > 1) d",
        )
    )
    leases: int | None
    try:
        with conn.transaction():
            leases = int(
                scalar(
                    conn,
                    "SELECT count(*) FROM audit.audit_log a "
                    "JOIN claims_service.claim c ON c.id::text = a.row_id "
                    "WHERE a.schema_name = 'claims_service' AND a.table_name = 'claim' "
                    "AND a.operation = 'UPDATE' AND c.created_by = %s "
                    "AND a.new_data->>'status' = 'in_review' "
                    "AND (a.old_data->>'lease_owner') IS DISTINCT FROM "
                    "(a.new_data->>'lease_owner')",
                    (SUBMITTED_BY,),
                )
            )
    except psycopg.Error:
        leases = None
    return ExactlyOnce(
        lines=int(row[0]),
        decided_once=int(row[1]),
        decided_more=int(row[2]),
        undecided=int(row[3]),
        ledger_duplicates=duplicates,
        unposted=int(row[4]),
        leases=leases,
        decisions=int(row[5]),
    )


# --- the replay -----------------------------------------------------------------------------

CLAIM_COLUMNS = (
    "id, claim_number, member_id, provider_id, policy_id, claim_type, service_type, "
    "service_date, admission_date, discharge_date, total_charged_amount, submission_date, "
    "created_by, updated_by"
)
LINE_COLUMNS = (
    "id, claim_id, line_number, benefit_code, procedure_code, diagnosis_code, quantity, "
    "charged_amount"
)


def replay(soak: Soak, seed_args: list[str]) -> Outcome:
    """The clean replay: seeded alike, the seed backlog adjudicated, then the soak's intake
    claims copied as submitted (same ids, numbers, submission times), adjudicated in one
    run and posted. Returns its outcome."""
    url = with_database(soak.url, REPLAY_DB)
    with psycopg.connect(soak.url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(REPLAY_DB))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(REPLAY_DB)))
    migrate.upgrade(url)
    soak.cli("seed", *seed_args, database=REPLAY_DB)
    soak.cli("run", "claim-adjudication", "--json", database=REPLAY_DB)
    with psycopg.connect(soak.url) as src, psycopg.connect(url) as dst:
        for table, columns, where in (
            ("claim", CLAIM_COLUMNS, "created_by = {by}"),
            (
                "claim_item",
                LINE_COLUMNS,
                "claim_id IN (SELECT id FROM claims_service.claim WHERE created_by = {by})",
            ),
        ):
            name = sql.Identifier("claims_service", table)
            chosen = sql.SQL("COPY (SELECT {} FROM {} WHERE {}) TO STDOUT").format(
                sql.SQL(columns), name, sql.SQL(where).format(by=sql.Literal(SUBMITTED_BY))
            )
            into = sql.SQL("COPY {} ({}) FROM STDIN").format(name, sql.SQL(columns))
            with src.cursor().copy(chosen) as out, dst.cursor().copy(into) as copy_in:
                for block in out:
                    copy_in.write(block)
        dst.commit()
    soak.cli("run", "claim-adjudication", "--json", database=REPLAY_DB)
    soak.cli("run", "accumulator-posting", "--json", database=REPLAY_DB)
    return chaos_outcome(url, url)


# --- the soak -------------------------------------------------------------------------------


@dataclass
class Sample:
    at: float  # seconds into the soak
    claims: int
    lines: int
    size: int


def restore_environment(saved: dict[str, str]) -> None:
    os.environ.clear()
    os.environ.update(saved)
    reset_settings()


def active_runs(soak: Soak) -> int:
    """Flow runs pending or running now."""
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    active = FlowRunFilter(
        state=FlowRunFilterState(
            type=FlowRunFilterStateType(any_=[StateType.RUNNING, StateType.PENDING])
        )
    )
    with soak.client() as client:
        return len(client.read_flow_runs(flow_run_filter=active, limit=200))


def progress(at: float, intake: Intake, sample: Sample, soak: Soak) -> None:
    running = active_runs(soak)
    console.print(
        f"{at:6.0f} s  intake {intake.stored:,} claims ({intake.lines:,} lines, "
        f"{intake.refused} refused)  backlog {sample.claims:,} claims / {sample.lines:,} lines  "
        f"runs active {running}  db {sample.size / 2**20:,.0f} MiB"
    )


def soak_phase(
    soak: Soak, args: argparse.Namespace, lines_per_second: float, pool: list[dict[str, Any]]
) -> tuple[Intake, list[Sample], float]:
    """Intake for --minutes with the schedules running, then the drain. Returns the intake,
    the samples, and the seconds from the intake's start to the backlog's end."""
    mean_lines = sum(len(c["lines"]) for c in pool) / len(pool)
    seconds = args.minutes * 60
    intake, stop = Intake(), threading.Event()
    thread = threading.Thread(
        target=intake_loop,
        args=(intake, pool, lines_per_second / mean_lines, seconds, stop, random.Random(args.seed)),
        daemon=True,
    )
    samples: list[Sample] = []
    dead = DEAD_SEEN
    backup_at, backup_run = seconds / 2, None
    started = time.monotonic()
    thread.start()
    last_progress = -PROGRESS_SECONDS
    drain_until = seconds + args.drain_minutes * 60
    try:
        with psycopg.connect(soak.url, autocommit=True) as conn:
            while True:
                at = time.monotonic() - started
                claims, lines = backlog_now(conn)
                samples.append(Sample(at, claims, lines, database_size(conn)))
                dead.append(f"{at:.0f} s: " + "; ".join(most_dead(conn)))
                if backup_run is None and at >= backup_at:
                    backup_run = run_deployment(soak, "database-backup", {"drill": "always"})
                    console.print(f"{at:6.0f} s  backup started (with its restore drill)")
                if at - last_progress >= PROGRESS_SECONDS:
                    progress(at, intake, samples[-1], soak)
                    last_progress = at
                if at >= seconds and not thread.is_alive() and (claims == 0 or at >= drain_until):
                    break
                time.sleep(SAMPLE_SECONDS)
    finally:
        stop.set()
        thread.join()
    drained = time.monotonic() - started
    if backup_run is not None:
        run = wait_run(soak, backup_run.id)
        console.print(f"backup run: {run.state_name}")
    return intake, samples, drained


def throughput(soak: Soak) -> tuple[float, int, float]:
    """The seed backlog adjudicated by one run on one worker (threads, no fan-out):
    (lines/s over the run's wall time, lines, seconds)."""
    with psycopg.connect(soak.url) as conn:
        _, lines = backlog_now(conn)
    if lines == 0:
        raise RuntimeError("no backlog to measure the throughput on (did a run take it?)")
    run = wait_run(
        soak, run_deployment(soak, "claim-adjudication", {"fan_out": False, "shards": 1}).id
    )
    if not run.state.is_completed():
        raise RuntimeError(f"the throughput run ended {run.state_name}: {run.state.message}")
    seconds = (run.end_time - run.start_time).total_seconds()
    return lines / seconds, lines, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="intake duration")
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="mean intake, lines/s (default: 50%% of the measured single-worker throughput)",
    )
    parser.add_argument("--interval", type=int, default=30, help="adjudication schedule, s")
    parser.add_argument("--seed-lines", type=int, default=20_000, help="demo data (lines)")
    parser.add_argument("--drain-minutes", type=float, default=3.0)
    parser.add_argument(
        "--fan-out",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the schedule's fan_out (default: as prefect.yaml's schedule says)",
    )
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--keep", action="store_true", help="keep the server's home (logs)")
    args = parser.parse_args()
    claims = generation.claims_for_lines(args.seed_lines)
    seed_args = [
        "--members",
        str(max(1, claims * 3 // 10)),
        "--claims",
        str(claims),
        "--seed",
        str(args.seed),
    ]
    rss = RssWatch()

    with ExitStack() as stack:
        home, server, env = stack.enter_context(database_server(args.keep))
        saved = dict(os.environ)
        stack.callback(restore_environment, saved)
        os.environ.update(env)
        reset_settings()
        migrate.upgrade(server.url())
        prefect_server, api = start_prefect(home, env, server)
        stack.callback(stop, prefect_server)
        os.environ.update({k: env[k] for k in env if k.startswith(("PREFECT_", "DO_NOT"))})
        soak = Soak(home, env, server, api)
        stack.callback(stop_workers, soak)
        rss.start()
        stack.callback(rss.stopped.set)

        console.print(f"soak: server {home}, prefect {api}; seeding {claims:,} claims")
        soak.cli("seed", *seed_args)
        soak.cli("deploy", timeout=600)
        pause_schedules(soak)
        start_worker(soak, "soak-worker-1", rss)
        # as after an installation: this month's partitions, and a verified backup
        for name in ("partition-maintenance", "database-backup"):
            run = wait_run(soak, run_deployment(soak, name, {}).id)
            console.print(f"setup: {name} {run.state_name}")
        measured, seed_lines, seed_seconds = throughput(soak)
        rate = args.rate or measured / 2
        console.print(
            f"single-worker throughput: {seed_lines:,} lines in {seed_seconds:.1f} s = "
            f"{measured:,.0f} lines/s; intake {rate:,.1f} lines/s"
        )
        pool = templates(soak.url)
        start_worker(soak, "soak-worker-2", rss)
        shorten_schedules(soak, args.interval, args.fan_out)
        with psycopg.connect(soak.url) as conn:
            size_start = database_size(conn)
        intake, samples, drained = soak_phase(soak, args, rate, pool)
        pause_schedules(soak)
        # let runs already started end (a run cancelled mid-way would count as failed)
        wait_for("runs to end", lambda: not active_runs(soak), 600)
        stop_workers(soak)
        with psycopg.connect(soak.url) as conn:
            size_end = database_size(conn)
            decided, waiting = latencies(conn)
            once = exactly_once(conn)
        counts = run_counts(soak)
        soak_outcome = chaos_outcome(soak.url, soak.url)
        console.print("replay: the same claims in one batch on a second database")
        replayed = replay(soak, seed_args)
        verdict = replay_verdict(replayed, soak_outcome)
        beyond = used_beyond_replay(replayed, soak_outcome)
        for line in differences(replayed, soak_outcome):
            console.print(f"[yellow]differs[/] {line}")

    report(
        args,
        rate,
        measured,
        intake,
        samples,
        drained,
        decided,
        waiting,
        once,
        counts,
        verdict,
        growth_per_hour(size_start, size_end, drained),
        rss,
        beyond,
    )


def report(
    args: argparse.Namespace,
    rate: float,
    measured: float,
    intake: Intake,
    samples: list[Sample],
    drained: float,
    decided: list[float],
    waiting: int,
    once: ExactlyOnce,
    counts: RunCounts,
    verdict: ReplayVerdict,
    growth: float,
    rss: RssWatch,
    beyond: tuple[int, Decimal],
) -> None:
    over = Table("s", "claims waiting", "lines waiting", "db MiB", title="backlog over time")
    step = max(1, len(samples) // 30)
    for s in samples[::step] + ([samples[-1]] if (len(samples) - 1) % step else []):
        over.add_row(f"{s.at:.0f}", f"{s.claims:,}", f"{s.lines:,}", f"{s.size / 2**20:,.0f}")
    console.print(over)

    per_interval = int(rate * args.interval * BURST)
    bounded = backlog_bounded([(s.at, s.lines) for s in samples], slack=per_interval)
    pct = percentiles(decided)
    limit = 2 * args.interval
    lost = (
        once.undecided
        + verdict.lost
        + len(intake.errors)
        + (intake.sent - intake.stored - intake.refused)
    )
    duplicated = once.decided_more + once.ledger_duplicates + verdict.duplicated
    goals = {
        "backlog bounded": bounded,
        f"p99 latency < {limit} s": bool(pct) and pct["p99"] < limit,
        "0 failed runs": counts.failed == 0,
        "0 lost": lost == 0 and waiting == 0,
        "0 duplicated": duplicated == 0,
        "accumulators equal the replay": verdict.accumulators_equal,
        "as the replay (0 different)": verdict.different == 0,
        "refusals name the field": not intake.refusals_unclear
        and intake.refused == intake.refused_expected,
    }
    mark = {True: "[green]met[/]", False: "[red]MISSED[/]"}
    t = Table(
        "measure",
        "value",
        "goal",
        title=f"soak: {args.minutes:g} min of intake, "
        f"adjudication every {args.interval} s, 2 process workers",
    )
    t.add_row("single-worker throughput (measured)", f"{measured:,.0f} lines/s", "")
    t.add_row(
        "mean intake (shaped: peak x2, bursts x3)",
        f"{rate:,.1f} lines/s ({rate / measured:.0%} of it)",
        "50%",
    )
    t.add_row(
        "claims sent / stored / refused at the door / dates bad (R1)",
        f"{intake.sent:,} / {intake.stored:,} / {intake.refused:,} / {intake.bad_dates:,}",
        "",
    )
    t.add_row("intake lines stored", f"{intake.lines:,}", "")
    t.add_row("intake fell behind its clock by at most", f"{intake.seconds_behind:.1f} s", "")
    t.add_row(
        "refusals naming the field",
        f"{intake.refused - len(intake.refusals_unclear)}"
        f" of {intake.refused} (expected {intake.refused_expected})",
        mark[goals["refusals name the field"]],
    )
    t.add_row(
        "backlog (lines) max / at the end of intake / last",
        f"{max(s.lines for s in samples):,} / "
        f"{next((s.lines for s in samples if s.at >= args.minutes * 60), samples[-1].lines):,}"
        f" / {samples[-1].lines:,}",
        mark[bounded],
    )
    t.add_row("seconds to drain (from intake start)", f"{drained:.0f}", "")
    t.add_row(
        "decision latency p50 / p95 / p99 / max",
        " / ".join(f"{pct[k]:.1f} s" for k in ("p50", "p95", "p99", "max")) if pct else "-",
        f"p99 < {limit} s " + mark[goals[f"p99 latency < {limit} s"]],
    )
    t.add_row("intake claims never decided", f"{waiting:,}", "0")
    t.add_row(
        "flow runs by state", ", ".join(f"{k} {v}" for k, v in sorted(counts.by_state.items())), ""
    )
    t.add_row("failed or crashed runs", f"{counts.failed}", mark[goals["0 failed runs"]])
    t.add_row(
        "retries: flow runs / task runs", f"{counts.flow_retries} / {counts.task_retries}", ""
    )
    conflicts = None if once.leases is None else once.leases - once.decisions
    t.add_row(
        "leases of intake claims / decisions / lease conflicts (leases not decided)",
        "audit log unreadable"
        if once.leases is None
        else f"{once.leases:,} / {once.decisions:,} / {conflicts:,}",
        "",
    )
    t.add_row(
        "intake lines decided exactly once / more than once (not pended) / never",
        f"{once.decided_once:,} of {once.lines:,} / {once.decided_more} / {once.undecided}",
        "0 / 0",
    )
    t.add_row(
        "ledger entries duplicated / decided lines unposted",
        f"{once.ledger_duplicates} / {once.unposted}",
        "0 / 0",
    )
    t.add_row(
        "against the replay: lost / duplicated / different",
        f"{verdict.lost} / {verdict.duplicated} / {verdict.different}",
        "0 / 0 / 0",
    )
    t.add_row(
        "accumulators equal to the replay",
        "yes" if verdict.accumulators_equal else "NO",
        mark[verdict.accumulators_equal],
    )
    t.add_row(
        "accumulators using more than in the replay (amount beyond it)",
        f"{beyond[0]:,} (Rp {beyond[1]:,.2f})",
        "0",
    )
    t.add_row("database growth", f"{growth:,.0f} MiB/hour", "")
    t.add_row(
        "peak RSS: a worker / a flow-run process",
        f"{rss.worker_peak / 2**20:,.0f} / {rss.run_peak / 2**20:,.0f} MiB",
        "",
    )
    console.print(t)
    for name in counts.failed_names[:10]:
        console.print(f"[red]failed run[/] {name}")
    if any("table_bloat" in name for name in counts.failed_names):
        console.print("tables with the most dead tuples (pg_stat_user_tables), mid-soak:")
        for line in DEAD_SEEN[len(DEAD_SEEN) // 2 : len(DEAD_SEEN) // 2 + 3]:
            console.print(f"  {line}")
    for line in intake.errors[:5] + intake.refusals_unclear[:5]:
        console.print(f"[red]intake[/] {line}")
    missed = [k for k, ok in goals.items() if not ok]
    if missed:
        console.print("[red]MISSED:[/] " + "; ".join(missed))
        raise SystemExit(1)
    console.print("[green]all goals met[/]")


if __name__ == "__main__":
    main()
