"""Scale-out benchmark of adjudication (issue 17): `python bench/scaling.py`.

    .venv/bin/python bench/scaling.py                       # 30,000 lines; 1, 2 and 4 workers
    .venv/bin/python bench/scaling.py --lines 200000 --workers 1,2,4,8

The same backlog (the deterministic demo data, about --lines claim lines, seeded once and
copied into a fresh database before each measure) is drained by 1, 2 and 4 process workers:
separate `prefect worker start --limit 1` processes of a temporary `prefect server` on
loopback, to which `claims-askes deploy` deploys prefect.yaml. For N workers, one
`claims-askes run claim-adjudication --fan-out --shards N` (the parent, a plain process
here, so that it holds no worker) starts N `claim-adjudication-shard` child runs, which the
N workers take, one each; the wall time runs from the parent's start to its end, child
start-up included. The shards' own span (first child Running to last child ended) is shown
beside it.

Prints, per worker count: lines decided, wall seconds, lines/s, and the scaling efficiency
against one worker, throughput_N / (N x throughput_1) (1.0: perfectly linear). Every claim
must be decided exactly once (one status change by the shard runs per claim, none left
waiting, no decided line unposted, the run's count equal to the claims its shards decided);
the script exits otherwise. The machine's cores cap the gain: with 2 cores, 4 workers cannot do
better than 2 (an efficiency of 0.5 at best), and the database server, the Prefect server
and the parent share the same cores. The output says so and prints the ratio anyway.
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
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from rich.console import Console
from rich.table import Table

from bench.adjudication import seed_in_child
from bench.chaos import backlog, clone_database, use_database
from bench.processes import prefect_env, start, start_prefect_server, stop, wait_for
from bench.seed import drop_database, fresh_database
from claims_askes.db.connections import admin_url
from claims_askes.db.localserver import free_port
from claims_askes.demo.seed import generate as generation

SOURCE_DB = "claims_askes_scaling_source"
TARGET_DB = "claims_askes_scaling"
BIN = Path(sys.executable).parent
CLI, PREFECT = str(BIN / "claims-askes"), str(BIN / "prefect")
console = Console(width=130)


@dataclass
class Measure:
    workers: int
    claims: int
    lines: int
    wall: float  # the parent's start to its end
    span: float  # first child Running to last child ended
    children: int

    @property
    def per_second(self) -> float:
        return self.lines / self.wall


def prefect_server(home: Path) -> tuple[subprocess.Popen[Any], dict[str, str]]:
    """A temporary server on loopback (scheduler off: nothing fires by itself)."""
    api = f"http://127.0.0.1:{free_port()}/api"
    env = prefect_env(
        home,
        api,
        PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="false",
        PREFECT_WORKER_HEARTBEAT_SECONDS="5",
    )
    return start_prefect_server(env, home / "server.log"), env


def workers_online(url: str, names: set[str]) -> bool:
    from prefect.client.orchestration import SyncPrefectClient

    with SyncPrefectClient(url) as client:
        online = {
            w.name
            for w in client.read_workers_for_work_pool("claims-askes")
            if w.status is not None and w.status.value == "ONLINE"
        }
    return names <= online


def shard_span(url: str, run_ids: list[str]) -> float:
    """First child's start to the last child's end, as the server recorded them."""
    from prefect.client.orchestration import SyncPrefectClient

    with SyncPrefectClient(url) as client:
        runs = [client.read_flow_run(run_id) for run_id in run_ids]  # type: ignore[arg-type]
    starts = [r.start_time for r in runs if r.start_time]
    ends = [r.end_time for r in runs if r.end_time]
    return (max(ends) - min(starts)).total_seconds() if starts and ends else math.nan


def last_history_id() -> int:
    with psycopg.connect(admin_url()) as conn:
        row = conn.execute(
            "SELECT coalesce(max(id), 0) FROM claims_service.claim_status_history"
        ).fetchone()
    return int(row[0]) if row else 0


def decided(conn: psycopg.Connection, after: int) -> tuple[int, int, dict[str, int]]:
    """Claims the runs decided more than once (two status changes written after history row
    `after`), decided lines not posted, and the claims each run decided."""
    by_run = {
        str(run): int(n)
        for run, n in conn.execute(
            "SELECT adjudication_run_id::text, count(*) FROM claims_service.claim "
            "WHERE adjudication_run_id IN (SELECT flow_run_id FROM "
            "claims_service.claim_status_history WHERE id > %s) GROUP BY 1",
            (after,),
        )
    }
    twice, unposted = conn.execute(
        "SELECT (SELECT count(*) FROM (SELECT claim_id FROM claims_service.claim_status_history"
        " WHERE id > %s GROUP BY claim_id HAVING count(*) > 1) x), "
        "(SELECT count(*) FROM claims_service.posting_outbox)",
        (after,),
    ).fetchone() or (0, 0)
    return int(twice), int(unposted), by_run


def measure(
    n: int, args: argparse.Namespace, base: str, env: dict[str, str], logs: Path
) -> Measure:
    """Drain a fresh copy of the backlog with n workers; `base` is the server's admin URL."""
    clone_database(base, SOURCE_DB, TARGET_DB)
    use_database(base, TARGET_DB)
    run_env = dict(env, DATABASE_URL=os.environ["DATABASE_URL"])
    before = last_history_id()
    names = {f"scaling-{n}-{i}" for i in range(n)}
    workers = [
        start(
            [PREFECT, "worker", "start", "--pool", "claims-askes", "--type", "process"]
            + ["--name", name, "--limit", "1"],
            run_env,
            logs / f"{name}.log",
        )
        for name in sorted(names)
    ]
    try:
        wait_for(f"{n} workers", lambda: workers_online(env["PREFECT_API_URL"], names), 120)
        began = time.perf_counter()
        done = subprocess.run(
            [CLI, "run", "claim-adjudication", "--fan-out", "--shards", str(n)]
            + ["--chunk-size", str(args.chunk_size), "--json"],
            env=run_env,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - began
    finally:
        for worker in workers:
            stop(worker)
    if done.returncode != 0:
        raise SystemExit(f"{n} workers: the run failed\n{done.stderr[-3000:]}")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    with psycopg.connect(admin_url()) as conn:
        twice, unposted, by_run = decided(conn, before)
    waiting = backlog()
    if twice or unposted or waiting or sum(by_run.values()) != summary["claims"]:
        raise SystemExit(
            f"{n} workers: {sum(by_run.values()):,} claims decided by {len(by_run)} shard "
            f"runs, {twice:,} more than once, {unposted:,} lines unposted, {waiting:,} "
            f"waiting; the run reported {summary['claims']:,}"
        )
    return Measure(
        n,
        summary["claims"],
        summary["lines"],
        wall,
        shard_span(env["PREFECT_API_URL"], list(by_run)),
        len(by_run),
    )


def report(measures: list[Measure], lines: int) -> None:
    one = measures[0]
    cores = os.cpu_count() or 1
    table = Table(
        "workers",
        "shard runs",
        "claims",
        "lines",
        "wall s",
        "shards' span s",
        "lines/s",
        "speed-up",
        "efficiency",
        title=f"scaling: the same backlog of about {lines:,} lines, fanned out over N workers",
    )
    for m in measures:
        speedup = m.per_second / one.per_second
        table.add_row(
            str(m.workers),
            str(m.children),
            f"{m.claims:,}",
            f"{m.lines:,}",
            f"{m.wall:.1f}",
            f"{m.span:.1f}",
            f"{m.per_second:,.0f}",
            f"{speedup:.2f}x",
            f"{speedup / (m.workers / one.workers):.2f}",
        )
    console.print(table)
    console.print(
        "efficiency = throughput_N / (N x throughput_1), 1.00 is linear. "
        f"This machine has {cores} core(s), shared by the workers, PostgreSQL, the Prefect "
        f"server and the parent run: no worker count can run faster than {cores}x one worker "
        f"here, so with more than {cores} workers the efficiency is at most "
        f"{cores}/N. The ratio is printed anyway; on separate machines each worker brings "
        "its own cores and the database becomes the limit.",
        highlight=False,
    )
    console.print(
        f"per-worker throughput (1 worker): {one.per_second:,.0f} lines/s "
        f"({one.per_second * 3600:,.0f} lines/hour, child start-up included)",
        highlight=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lines", type=int, default=30_000, help="claim lines (about)")
    parser.add_argument("--workers", default="1,2,4", help="worker counts, the first the base")
    parser.add_argument("--chunk-size", type=int, default=2_000, help="claims per chunk")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the databases and logs")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    claims = generation.claims_for_lines(args.lines)
    members = max(1, math.ceil(claims * 0.3))
    base = admin_url()
    home = Path(tempfile.mkdtemp(prefix="claims-askes-scaling-"))
    server: subprocess.Popen[Any] | None = None
    measures: list[Measure] = []
    try:
        console.print(f"seeding {members:,} members, {claims:,} claims (once)")
        fresh_database(SOURCE_DB)
        seed_in_child(members, claims, args.seed)
        console.print("starting a prefect server; claims-askes deploy")
        server, env = prefect_server(home)
        deployed = subprocess.run(
            [CLI, "deploy"], env=env, capture_output=True, text=True, check=False
        )
        if deployed.returncode != 0:
            raise SystemExit(f"claims-askes deploy failed\n{deployed.stdout[-3000:]}")
        for n in counts:
            console.print(f"{n} worker(s): fresh copy of the backlog, {n} shard run(s)")
            measures.append(measure(n, args, base, env, home))
            m = measures[-1]
            console.print(
                f"  {m.lines:,} lines in {m.wall:.1f} s ({m.per_second:,.0f} lines/s)",
                highlight=False,
            )
    finally:
        if server is not None:
            stop(server)
        if not args.keep:
            for name in (SOURCE_DB, TARGET_DB):
                drop_database(base, name)
            shutil.rmtree(home, ignore_errors=True)
        else:
            console.print(f"kept: databases {SOURCE_DB}, {TARGET_DB}; logs in {home}")
    report(measures, args.lines)


if __name__ == "__main__":
    main()
