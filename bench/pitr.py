"""Benchmark of point-in-time recovery: `python bench/pitr.py --claims 20000`.

Starts a throwaway local server of its own (a temporary home, a free port) that archives
WAL into a temporary repository (archive_timeout from --archive-timeout), seeds N claims
(`claims-askes seed`; the demo has 20,000 claims, about 1M lines need --claims 330000),
and measures on this machine:

1. the cost of archiving on adjudication throughput: the same backlog (FILE_COPY clones of
   the seeded database) adjudicated by `claims-askes run claim-adjudication` four times:
   archiving on, then (the server restarted) off twice, then on again, so that the cold
   first run and the warm ones fall on both sides; the ratio of the on / off totals;
2. a full base backup (pg_basebackup, pg_verifybackup);
   (of the whole server: the seeded database, its adjudicated state, the empty postgres);
3. RTO: a recovery of that base backup with all archived WAL to the latest moment, into a
   new data directory, started apart and checked (`claims_askes.operations.pitr.recover`);
4. RPO: a steady load of one-row transactions (each acknowledged commit recorded by the
   client), the server killed (`pg_ctl stop -m immediate`) at a random moment and its data
   directory deleted (the disk is gone), recovered `--latest` into its place: the
   acknowledged commits missing after recovery, and how many seconds of commits they are;
   once with archiving alone, then again with `claims-askes db wal-stream` (pg_receivewal
   --synchronous through a slot) streaming into the same repository (goal: at most 1 s of
   commits with streaming, at most archive_timeout with archiving).

With --streaming-throughput, step 1 also runs adjudication with archiving and streaming
(first and last: stream, on, off, off, on, stream) and prints its ratio against off.

Not a test: figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from psycopg import sql
from rich.console import Console
from rich.table import Table

from claims_askes.core.runtime import patient_local_api
from claims_askes.core.services import REPORTING_ROLE, SERVICES
from claims_askes.core.settings import get_settings, reset_settings
from claims_askes.db import migrate
from claims_askes.db.connections import with_database
from claims_askes.db.localserver import (
    LocalServer,
    _run_as_server_user,
    embedded_bin_dir,
    free_port,
)
from claims_askes.db.sqlfiles import queries
from claims_askes.operations import pitr
from schemas.ops import RecoveryTarget

DATABASE = "claims_askes_pitr_bench"
CLONE = "claims_askes_pitr_bench_copy"
CLI = str(Path(sys.executable).parent / "claims-askes")
console = Console()


@contextmanager
def archiving_server(
    archive_timeout: int, prefix: str = "claims-askes-pitr-"
) -> Iterator[LocalServer]:
    """A throwaway migrated server archiving into its own repository; this process and the
    commands it starts point at it (DATABASE_URL, service passwords, the repository)."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    settings = get_settings()
    server = LocalServer(
        home=home,
        bin_dir=(settings.pg_bin_dir or embedded_bin_dir()).resolve(),
        port=free_port(),
        database=DATABASE,
        wal_archive=home / "repository",
        archive_timeout=archive_timeout,
    )
    saved = dict(os.environ)
    try:
        server.start()
        secrets = server.secrets()
        os.environ.update({s.password_variable: secrets[s.role] for s in SERVICES})
        os.environ["REPORTING_DB_PASSWORD"] = secrets[REPORTING_ROLE]
        os.environ["DATABASE_URL"] = server.url()
        os.environ["CLAIMS_ASKES_WAL_ARCHIVE"] = str(home / "repository")
        os.environ["CLAIMS_ASKES_HOME"] = str(home)
        reset_settings()
        migrate.upgrade(server.url())
        yield server
    finally:
        os.environ.clear()
        os.environ.update(saved)
        reset_settings()
        server.destroy()
        shutil.rmtree(home, ignore_errors=True)


def restart(server: LocalServer, archive: bool) -> None:
    """Restart with archiving on or off (archive_mode changes only at a restart)."""
    server.stop()
    server.wal_archive = server.home / "repository" if archive else None
    server.start()


def kill(server: LocalServer) -> None:
    stopped = _run_as_server_user(
        [str(server.bin_dir / "pg_ctl"), "-D", str(server.data_dir), "-m", "immediate", "stop"]
    )
    if stopped.returncode != 0:
        raise RuntimeError(f"pg_ctl stop -m immediate failed: {stopped.stderr.strip()}")


@contextmanager
def streaming() -> Iterator[subprocess.Popen[bytes]]:
    """`claims-askes db wal-stream` as an operator runs it, until the block ends (SIGTERM:
    it stops pg_receivewal and seals what it received)."""
    receiver = subprocess.Popen([CLI, "db", "wal-stream"], env=dict(os.environ))
    try:
        deadline = time.monotonic() + 60
        while not (pitr.archiving_status().get("stream") or {}).get("active"):
            if receiver.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("claims-askes db wal-stream did not start streaming")
            time.sleep(0.1)
        yield receiver
    finally:
        stop_receiver(receiver)
        drop_slot()


def drop_slot() -> None:
    """Drop the streaming slot, so that later runs without a receiver do not keep WAL for
    it (nothing when the server is down: killed for the RPO, its slot is gone with it)."""
    try:
        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
            conn.execute(queries("common").drop_stream_slot, {"slot": pitr.STREAM_SLOT})
    except psycopg.OperationalError:
        pass


def stop_receiver(receiver: subprocess.Popen[bytes]) -> None:
    if receiver.poll() is None:
        receiver.send_signal(signal.SIGTERM)
        receiver.wait(timeout=60)


def seed(claims: int) -> None:
    members = max(1, claims // 10)
    subprocess.run(
        [CLI, "seed", "--members", str(members), "--claims", str(claims), "--seed", "42"],
        check=True,
        env=dict(os.environ),
    )


def adjudicate(database: str, base: str) -> float:
    """Seconds of one `claims-askes run claim-adjudication` over the whole backlog."""
    env = dict(os.environ, DATABASE_URL=with_database(base, database))
    started = time.perf_counter()
    subprocess.run(
        [CLI, "run", "claim-adjudication"],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def wal_position(base: str) -> int:
    with psycopg.connect(base, autocommit=True) as conn:
        row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
    assert row is not None
    return pitr.lsn_value(str(row[0]))


def clone(base: str, source: str, target: str) -> None:
    with psycopg.connect(with_database(base, "postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(target))
        )
        conn.execute(
            sql.SQL(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = {}"
            ).format(sql.Literal(source))
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                sql.Identifier(target), sql.Identifier(source)
            )
        )
    with psycopg.connect(with_database(base, target), autocommit=True) as conn:
        migrate.grant_database_access(conn)


def rpo(server: LocalServer, rng: random.Random, stream: bool) -> tuple[int, int, float, float]:
    """(acknowledged commits, missing after recovery, seconds of commits lost, recovery s),
    with archiving alone or with WAL streaming too."""
    if stream:
        with streaming() as receiver:
            return _rpo(server, rng, lambda: stop_receiver(receiver))
    return _rpo(server, rng, lambda: None)


def _rpo(
    server: LocalServer, rng: random.Random, after_kill: Callable[[], None]
) -> tuple[int, int, float, float]:
    url = server.url()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS public.rpo_probe (id bigint PRIMARY KEY)")
        conn.execute("TRUNCATE public.rpo_probe")  # a second measure counts from 1 again
    acknowledged: list[tuple[int, float]] = []
    stop = threading.Event()

    def load() -> None:
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                i = 0
                while not stop.is_set():
                    i += 1
                    conn.execute("INSERT INTO public.rpo_probe VALUES (%s)", (i,))
                    acknowledged.append((i, time.time()))
                    time.sleep(0.002)
        except psycopg.OperationalError:
            return  # the server died under us: the kill

    writer = threading.Thread(target=load)
    writer.start()
    time.sleep(rng.uniform(5.0, 15.0))
    killed_at = time.time()
    kill(server)
    stop.set()
    writer.join()
    if not acknowledged:
        raise RuntimeError("the load committed nothing before the kill (see its error above)")
    after_kill()  # the streamer, if any, stops: what it received stays in the repository
    shutil.rmtree(server.data_dir)  # the disk is gone
    found: set[int] = set()

    def look(recovered: str) -> list[str]:
        with psycopg.connect(recovered) as conn:
            found.update(r[0] for r in conn.execute("SELECT id FROM public.rpo_probe"))
        return []

    report = pitr.recover(RecoveryTarget(latest=True), server.data_dir, keep=True, inspect=look)
    server.start()  # the recovered directory is the server again
    missing = [(i, at) for i, at in acknowledged if i not in found]
    lost = killed_at - min(at for _, at in missing) if missing else 0.0
    return len(acknowledged), len(missing), lost, report.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--claims", type=int, default=20_000, help="claims seeded (demo: 20000)")
    parser.add_argument("--archive-timeout", type=int, default=10, help="seconds")
    parser.add_argument("--seed", type=int, default=7, help="of the kill moment")
    parser.add_argument("--skip-throughput", action="store_true", help="skip step 1")
    parser.add_argument(
        "--streaming-throughput",
        action="store_true",
        help="step 1 also with streaming (6 adjudication runs instead of 4)",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    rows: list[tuple[str, str]] = []
    with archiving_server(args.archive_timeout) as server:
        base = server.url()
        started = time.perf_counter()
        seed(args.claims)
        with psycopg.connect(base) as conn:
            row = conn.execute("SELECT count(*) FROM claims_service.claim_item").fetchone()
            lines = int(row[0]) if row else 0
        rows.append(
            (
                "seeded",
                f"{args.claims:,} claims, {lines:,} lines ({time.perf_counter() - started:.0f} s)",
            )
        )
        if not args.skip_throughput:
            from bench.chaos import prefect_api

            clones = [f"{CLONE}_{n}" for n in range(1, 6 if args.streaming_throughput else 4)]
            for name in clones:
                clone(base, DATABASE, name)
            pending = [DATABASE, *clones]
            streamed: list[float] = []
            with prefect_api():
                if args.streaming_throughput:
                    with streaming():
                        streamed.append(adjudicate(pending.pop(0), base))
                before = wal_position(base)
                on = [adjudicate(pending.pop(0), base)]
                wal_written = wal_position(base) - before
                restart(server, archive=False)
                off = [adjudicate(pending.pop(0), base), adjudicate(pending.pop(0), base)]
                restart(server, archive=True)
                on.append(adjudicate(pending.pop(0), base))
                if args.streaming_throughput:
                    with streaming():
                        streamed.append(adjudicate(pending.pop(0), base))
            runs_of = [("archiving on", on), ("archiving off", off)]
            if streamed:
                runs_of.append(("archiving on + streaming", streamed))
            for label, runs in runs_of:
                rows.append(
                    (
                        f"adjudication, {label} (2 runs)",
                        ", ".join(f"{t:.1f} s" for t in runs)
                        + f" ({2 * lines / sum(runs):,.0f} lines/s)",
                    )
                )
            rows.append(("archiving cost: time on / off", f"{sum(on) / sum(off):.2f}x"))
            rows.append(
                (
                    "WAL written by one adjudication run",
                    f"{wal_written / 2**20:,.0f} MiB (what a stopped receiver's slot keeps)",
                )
            )
            if streamed:
                rows.append(
                    ("archiving + streaming cost: time / off", f"{sum(streamed) / sum(off):.2f}x")
                )
            with psycopg.connect(with_database(base, "postgres"), autocommit=True) as conn:
                for name in clones:
                    conn.execute(
                        sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name))
                    )
        started = time.perf_counter()
        backup = pitr.take_base_backup("full")
        rows.append(
            (
                "full base backup + pg_verifybackup",
                f"{time.perf_counter() - started:.1f} s, {backup.size_bytes / 2**20:,.0f} MiB, "
                f"{'verified' if backup.verified else 'FAILED'}",
            )
        )
        with psycopg.connect(base) as conn:
            pitr.switch_and_wait(conn)
        report = pitr.recover(RecoveryTarget(latest=True))
        rows.append(
            (
                "RTO: recovery --latest to a checked server",
                f"{report.seconds:.1f} s ({sum(t.rows for t in report.tables):,} rows, "
                f"{'checks passed' if not report.problems else '; '.join(report.problems)})",
            )
        )
        for stream, what, goal in (
            (False, "archiving only", f"goal <= archive_timeout {args.archive_timeout} s"),
            (True, "archiving + streaming", "goal <= 1 s"),
        ):
            acknowledged, missing, lost, seconds = rpo(server, rng, stream)
            rows.append(
                (
                    f"RPO, {what}: kill -m immediate + data directory deleted ({goal})",
                    f"{missing:,} of {acknowledged:,} acknowledged commits missing = "
                    f"{lost:.1f} s of commits (recovery {seconds:.1f} s)",
                )
            )
    table = Table("measure", "value", title=f"point-in-time recovery, {args.claims:,} claims")
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)


if __name__ == "__main__":
    with patient_local_api():
        main()
