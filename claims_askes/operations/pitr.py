"""Point-in-time recovery: continuous WAL archiving, verified physical base backups, and
recovery to a moment into a new data directory, checked before anyone uses it.

The repository (CLAIMS_ASKES_WAL_ARCHIVE, default HOME/wal-archive) holds

    wal/<segment>          every WAL segment the server archived (walarchive.py), with
    wal/SHA256SUMS         the sha256 of each
    stream/                WAL streamed by pg_receivewal (walstream.py), when it runs: the
                           segment being received, `<segment>.partial`, read by recovery
    base/<id>/             a base backup: pg_basebackup's plain output and backup_manifest
    base/<id>.json         what it is (BaseBackup), written last: no json, no backup

A base backup is full, or incremental (PostgreSQL 17+, `pg_basebackup --incremental`) on
the newest full one, so a restore combines at most two (`pg_combinebackup`). Each is
verified with `pg_verifybackup` (every file against its manifest's SHA-256, and the WAL it
needs) before its json says so. A recovery copies (or combines) the newest verified base
backup that finished before the target, sets the target and `restore_command`, starts it
as a separate server on a free port with archiving off, waits until it has promoted, and
checks it: it answers, `common.health_check()` runs, every table of the base backup is
there and the row counts are plausible.

We orchestrate the PostgreSQL tools ourselves instead of running Barman: see
docs/operations.md ("Point-in-time recovery") for why.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from psycopg import conninfo, sql

from claims_askes.core.errors import ClaimsAskesError
from claims_askes.core.settings import get_settings
from claims_askes.db.connections import admin_url
from claims_askes.db.localserver import (
    LocalServer,
    _run_as_server_user,
    conf_string,
    free_port,
    restore_command,
    server_os_user_ids,
)
from claims_askes.db.sqlfiles import queries
from claims_askes.operations.backup import (
    client_bin_dir,
    count_rows,
    dumped_tables,
    libpq_env,
    server_major,
    write_private,
)
from claims_askes.operations.walarchive import SUMS, push
from schemas.ops import BaseBackup, HealthCheck, RecoveryReport, RecoveryTarget, TableCount

RECOVERY_BEGIN = "# claims-askes recovery: begin (removed once recovered)"
RECOVERY_END = "# claims-askes recovery: end"
SEGMENT = re.compile(r"^[0-9A-F]{24}$")
WAL_SEGMENT_BYTES = 16 * 1024 * 1024
#: Monitoring: WAL segments waiting to be archived before a warning / a critical alert, and
#: the repository's disk use (fraction) before each.
READY_WARNING, READY_CRITICAL = 4, 32
DISK_WARNING, DISK_CRITICAL = 0.90, 0.97
#: Monitoring of WAL streaming: the receiver's flush behind the server's WAL, and the WAL its
#: slot makes the server keep while no receiver runs, before a warning / a critical alert.
STREAM_LAG_WARNING, STREAM_LAG_CRITICAL = WAL_SEGMENT_BYTES, 64 * WAL_SEGMENT_BYTES
SLOT_KEEPS_CRITICAL = 1024**3
#: The slot pg_receivewal streams through (walstream.py).
STREAM_SLOT = "claims_askes_stream"


class PitrError(ClaimsAskesError):
    """A base backup, a recovery or its checks could not be done or did not check out."""


# --- the repository ---------------------------------------------------------------------


def repository() -> Path:
    return get_settings().resolved_wal_archive


def wal_dir() -> Path:
    return repository() / "wal"


def base_dir(*, create: bool = False) -> Path:
    path = repository() / "base"
    if create:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def list_base_backups() -> list[BaseBackup]:
    """Complete base backups (those with their json), newest first."""
    directory = base_dir()
    if not directory.is_dir():
        return []
    found = [BaseBackup.model_validate_json(p.read_text()) for p in directory.glob("*.json")]
    return sorted(found, key=lambda b: b.finished_at, reverse=True)


def save(backup: BaseBackup) -> None:
    write_private(base_dir() / f"{backup.backup_id}.json", backup.model_dump_json(indent=2))


def segment_of(lsn: str, timeline: int) -> str:
    """The WAL segment file holding `lsn` (16 MiB segments, PostgreSQL's default)."""
    high, low = (int(x, 16) for x in lsn.split("/"))
    position = (high << 32) | low
    segment = position // WAL_SEGMENT_BYTES
    per_id = 0x100000000 // WAL_SEGMENT_BYTES
    return f"{timeline:08X}{segment // per_id:08X}{segment % per_id:08X}"


def lsn_value(lsn: str) -> int:
    high, low = (int(x, 16) for x in lsn.split("/"))
    return (high << 32) | low


def _bin_dir(major: int, tool: str) -> Path:
    directory = client_bin_dir(major)
    if not (directory / tool).exists():
        raise PitrError(f"no {tool} beside pg_dump in {directory} (set CLAIMS_ASKES_PG_BIN_DIR)")
    return directory


def _run(args: list[str], what: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PitrError(f"{what} failed: {(result.stderr or result.stdout).strip()[-1500:]}")
    return result.stdout


# --- base backups -----------------------------------------------------------------------


def archiving_on(conn: psycopg.Connection) -> bool:
    row = conn.execute("SELECT current_setting('archive_mode')").fetchone()
    return bool(row and row[0] in ("on", "always"))


def choose_kind(
    wanted: str, major: int, summarizing: bool, backups: list[BaseBackup], every_days: float
) -> tuple[str, BaseBackup | None]:
    """('full' | 'incremental', the full backup an incremental builds on)."""
    full = next((b for b in backups if b.kind == "full" and b.verified), None)
    can_increment = major >= 17 and summarizing and full is not None
    if wanted == "incremental" and not can_increment:
        raise PitrError(
            "an incremental base backup needs PostgreSQL 17+ with summarize_wal = on and a "
            "verified full base backup to build on"
        )
    recent = full is not None and datetime.now(UTC) - full.finished_at < timedelta(days=every_days)
    if wanted == "incremental" or (wanted == "auto" and can_increment and recent):
        return "incremental", full
    return "full", None


def take_base_backup(wanted: str = "auto", full_every_days: float = 7.0) -> BaseBackup:
    """pg_basebackup into the repository (full, or incremental on the newest full one),
    verified with pg_verifybackup; its json is written last."""
    url = admin_url()
    with psycopg.connect(url, autocommit=True) as conn:
        if not archiving_on(conn):
            raise PitrError(
                "the server does not archive WAL (archive_mode is off): a base backup alone "
                "recovers to no moment; see docs/operations.md, point-in-time recovery"
            )
        major = server_major(conn)
        row = conn.execute(
            "SELECT current_setting('server_version'), current_database(), "
            "coalesce(current_setting('summarize_wal', true), 'off') = 'on'"
        ).fetchone()
        assert row is not None
        version, database, summarizing = str(row[0]), str(row[1]), bool(row[2])
        counts = count_rows(conn, dumped_tables(conn, None))
    kind, parent = choose_kind(wanted, major, summarizing, list_base_backups(), full_every_days)
    bin_dir = _bin_dir(major, "pg_basebackup")
    started = datetime.now(UTC)
    backup_id = f"{kind}-{started:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    target = base_dir(create=True) / backup_id
    partial = target.with_name(f".{backup_id}.partial")
    env, _ = libpq_env(url)
    args = [
        str(bin_dir / "pg_basebackup"),
        f"--pgdata={partial}",
        "--format=plain",
        "--wal-method=stream",
        "--checkpoint=fast",
        "--manifest-checksums=SHA256",
        f"--label=claims-askes {backup_id}",
    ]
    if parent is not None:
        args.append(f"--incremental={base_dir() / parent.backup_id / 'backup_manifest'}")
    try:
        _run(args, "pg_basebackup", env)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    os.rename(partial, target)
    timeline, start_lsn, stop_lsn = _wal_range(target / "backup_manifest")
    backup = BaseBackup(
        backup_id=backup_id,
        kind=kind,
        parent=parent.backup_id if parent else None,
        database=database,
        server_version=version,
        started_at=started,
        finished_at=datetime.now(UTC),
        timeline=timeline,
        start_lsn=start_lsn,
        stop_lsn=stop_lsn,
        start_wal=segment_of(start_lsn, timeline),
        size_bytes=sum(p.stat().st_size for p in target.rglob("*") if p.is_file()),
        tables=counts,
    )
    backup.problems = verify_base_backup(backup, bin_dir)
    backup.verified = not backup.problems
    save(backup)
    return backup


def _wal_range(manifest: Path) -> tuple[int, str, str]:
    ranges = json.loads(manifest.read_text())["WAL-Ranges"]
    return int(ranges[0]["Timeline"]), str(ranges[0]["Start-LSN"]), str(ranges[-1]["End-LSN"])


def verify_base_backup(backup: BaseBackup, bin_dir: Path) -> list[str]:
    """pg_verifybackup: every file against the manifest's SHA-256 and (for a full backup)
    the WAL from its start to its end; problems, empty when it checks out."""
    args = [str(bin_dir / "pg_verifybackup"), "--quiet"]
    if backup.kind == "incremental":
        args.append("--no-parse-wal")  # an incremental backup's WAL is checked when combined
    args.append(str(base_dir() / backup.backup_id))
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    if result.returncode == 0:
        return []
    return [line for line in (result.stderr or result.stdout).strip().splitlines()][:10]


# --- retention --------------------------------------------------------------------------


def plan_base_retention(
    backups: list[BaseBackup], keep_full: int, keep_incremental: int, min_redundancy: int
) -> list[str]:
    """Base backup ids to delete: full ones beyond the newest `keep_full` (never leaving fewer
    verified full ones than `min_redundancy`, never one that has no newer verified full one),
    incremental ones beyond the newest `keep_incremental`, and every incremental one whose
    full one goes."""
    fulls = sorted((b for b in backups if b.kind == "full"), key=lambda b: b.finished_at)[::-1]
    verified_left = sum(b.verified for b in fulls)
    doomed: set[str] = set()
    for position, backup in enumerate(fulls):
        if position < max(keep_full, 1):
            continue
        if not any(b.verified for b in fulls[:position]):
            continue
        if backup.verified and verified_left - 1 < min_redundancy:
            continue
        doomed.add(backup.backup_id)
        verified_left -= backup.verified
    incrementals = sorted(
        (b for b in backups if b.kind == "incremental"), key=lambda b: b.finished_at
    )[::-1]
    for position, backup in enumerate(incrementals):
        if position >= keep_incremental or backup.parent in doomed:
            doomed.add(backup.backup_id)
    return sorted(doomed)


def wal_needed_from(backups: list[BaseBackup]) -> str | None:
    """The oldest WAL segment a kept base backup needs (None: no backup, keep all WAL)."""
    starts = [b.start_wal for b in backups]
    return min(starts, key=lambda s: s[8:]) if starts else None


def owned_like_wal(path: Path) -> None:
    """As root, give a file we wrote into the WAL archive to the archive's owner (the
    server's user, which appends to SHA256SUMS and reads WAL back during recovery)."""
    if os.geteuid() == 0 and path.exists():
        info = wal_dir().stat()
        os.chown(path, info.st_uid, info.st_gid)


def delete_wal_before(oldest: str) -> int:
    """Delete archived segments older than `oldest` (by log and segment number, on every
    timeline, as pg_archivecleanup does); history files stay. Returns how many went."""
    directory = wal_dir()
    if not directory.is_dir():
        return 0
    gone = [p for p in directory.iterdir() if SEGMENT.match(p.name) and p.name[8:] < oldest[8:]]
    for path in gone:
        path.unlink(missing_ok=True)
    if gone:
        sums = directory / SUMS
        names = {p.name for p in gone}
        kept = [ln for ln in sums.read_text().splitlines() if ln.partition("  ")[2] not in names]
        write_private(sums, "".join(f"{line}\n" for line in kept))
        owned_like_wal(sums)
    return len(gone)


def apply_base_retention(
    keep_full: int, keep_incremental: int, min_redundancy: int
) -> tuple[list[str], int]:
    """Delete what plan_base_retention allows (json first, so a half-deleted backup is never
    listed), then the WAL no kept base backup needs. Returns (backup ids, WAL files)."""
    backups = list_base_backups()
    doomed = plan_base_retention(backups, keep_full, keep_incremental, min_redundancy)
    for backup_id in doomed:
        (base_dir() / f"{backup_id}.json").unlink(missing_ok=True)
        shutil.rmtree(base_dir() / backup_id, ignore_errors=True)
    day_ago = time.time() - 86_400
    for leftover in base_dir().glob(".*.partial") if base_dir().is_dir() else []:
        if leftover.stat().st_mtime < day_ago:  # a killed pg_basebackup's
            shutil.rmtree(leftover, ignore_errors=True)
    kept = [b for b in backups if b.backup_id not in doomed]
    oldest = wal_needed_from(kept)
    return doomed, delete_wal_before(oldest) if oldest else 0


# --- recovery ---------------------------------------------------------------------------


def choose_base_backups(backups: list[BaseBackup], target: RecoveryTarget) -> list[BaseBackup]:
    """The chain to restore for `target`: the newest verified base backup finished before it
    (for an incremental one, its full one first)."""
    usable = [b for b in backups if b.verified]
    if target.to_time is not None:
        moment = target.to_time
        usable = [b for b in usable if b.finished_at <= moment]
    elif target.to_lsn is not None:
        usable = [b for b in usable if lsn_value(b.stop_lsn) <= lsn_value(target.to_lsn)]
    if not usable:
        oldest = min((b.finished_at for b in backups if b.verified), default=None)
        where = (
            "in " + str(base_dir())
            if not target.to_time and not target.to_lsn
            else (f"finished before {target.describe()}")
        )
        raise PitrError(
            f"no verified base backup {where}"
            + (f" (the oldest finished at {oldest.isoformat()})" if oldest else "")
            + "; take one with `claims-askes run database-backup`"
        )
    chosen = max(usable, key=lambda b: b.finished_at)
    if chosen.kind == "full":
        return [chosen]
    parent = next((b for b in backups if b.backup_id == chosen.parent), None)
    if parent is None:
        raise PitrError(f"base backup {chosen.backup_id} builds on {chosen.parent}, which is gone")
    return [parent, chosen]


def default_data_directory() -> Path:
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"
    return get_settings().resolved_home / "restores" / f"pitr-{stamp}" / "pgdata"


def server_runs_in(data_dir: Path) -> bool:
    """Whether a live postmaster owns `data_dir`: its postmaster.pid names a running process
    (pg_ctl status's own test, with no need to know the server's version first)."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's: the server's
    return True


def refuse_target(data_dir: Path, force: bool) -> None:
    """Never over a running server; over a directory holding data only with `force`. Checked
    before anything else, so that this refusal never waits behind another."""
    if server_runs_in(data_dir):
        raise PitrError(
            f"a server runs in {data_dir}: never recovered over, even with --force; stop it "
            "first (`claims-askes db stop`), or recover into a new --data-directory"
        )
    if data_dir.exists() and any(data_dir.iterdir()) and not force:
        raise PitrError(
            f"{data_dir} is not empty: pass --force to recover over it (the old one is moved "
            "aside), or choose a new --data-directory"
        )


def prepare_target(data_dir: Path, force: bool) -> Path | None:
    """Refuse a data directory in use or holding data without `force`; with it, move the
    old one aside (returned) — never under a running server."""
    refuse_target(data_dir, force)
    if not data_dir.exists() or not any(data_dir.iterdir()):
        return None
    aside = data_dir.with_name(f"{data_dir.name}.replaced-{datetime.now(UTC):%Y%m%dT%H%M%SZ}")
    os.rename(data_dir, aside)
    return aside


def preflight(target: RecoveryTarget, data_directory: Path | None, force: bool) -> None:
    """The refusals of `recover`, checked before a run starts (the command line's one-line
    errors): a running server's directory, a full one without `force`, no base backup for
    the target. Nothing is changed."""
    if data_directory is not None:
        refuse_target(data_directory.resolve(), force)
    choose_base_backups(list_base_backups(), target)


def materialise(chain: list[BaseBackup], data_dir: Path, bin_dir: Path) -> None:
    """The base backup(s) as a data directory: copied, or combined (pg_combinebackup)."""
    data_dir.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if data_dir.exists():
        data_dir.rmdir()  # empty (prepare_target): the tools want to create it
    sources = [str(base_dir() / b.backup_id) for b in chain]
    if len(chain) == 1:
        shutil.copytree(sources[0], data_dir, symlinks=True)
    else:
        _run([str(bin_dir / "pg_combinebackup"), "-o", str(data_dir), *sources], "pg_combinebackup")
    data_dir.chmod(0o700)
    for leftover in ("postmaster.pid", "postmaster.opts", "standby.signal"):
        (data_dir / leftover).unlink(missing_ok=True)
    for lock in data_dir.glob(".s.PGSQL.*.lock"):  # the socket's lock, copied by the backup
        lock.unlink(missing_ok=True)


def recovery_settings(target: RecoveryTarget, restore_point: str | None, port: int) -> str:
    """The postgresql.auto.conf block of a recovery: the target, how to fetch WAL, and a
    server of its own (its port, archiving off, small memory)."""
    lines = [
        RECOVERY_BEGIN,
        f"restore_command = {conf_string(restore_command(repository()))}",
        "recovery_target_action = 'promote'",
        "recovery_target_timeline = 'latest'",
        f"port = {port}",
        "listen_addresses = '127.0.0.1'",
        "archive_mode = off",
        "shared_buffers = '128MB'",
    ]
    if restore_point is not None:
        lines.append(f"recovery_target_name = {conf_string(restore_point)}")
    elif target.to_time is not None:
        lines.append(f"recovery_target_time = {conf_string(target.to_time.isoformat(' '))}")
    elif target.to_lsn is not None:
        lines.append(f"recovery_target_lsn = {conf_string(target.to_lsn)}")
    lines.append(RECOVERY_END)
    return "\n".join(line for line in lines if line) + "\n"


def write_recovery(data_dir: Path, settings: str) -> None:
    with (data_dir / "postgresql.auto.conf").open("a") as fh:
        fh.write("\n" + settings)
    (data_dir / "recovery.signal").write_text("")
    ids = server_os_user_ids()
    if ids is not None:
        for path in [data_dir, *data_dir.rglob("*")]:
            os.lchown(path, *ids)
        parent = data_dir.parent
        os.chown(parent, *ids)
        for ancestor in [parent, *parent.parents]:
            mode = ancestor.stat().st_mode
            if not mode & 0o001:
                ancestor.chmod(mode | 0o001)


def strip_recovery(data_dir: Path) -> None:
    """Remove our recovery block, so the recovered directory starts as a normal server."""
    auto = data_dir / "postgresql.auto.conf"
    text = auto.read_text()
    start, end = text.find(RECOVERY_BEGIN), text.find(RECOVERY_END)
    if start >= 0 and end >= 0:
        auto.write_text(text[:start].rstrip("\n") + "\n" + text[end + len(RECOVERY_END) + 1 :])


@contextmanager
def recovered_server(data_dir: Path, bin_dir: Path, port: int, timeout: float) -> Iterator[None]:
    """Start the recovering server, wait until it has promoted, stop it at the end."""
    log = data_dir / "recovery.log"
    started = _run_as_server_user(
        [
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data_dir),
            "-l",
            str(log),
            "-w",
            "-t",
            str(int(timeout)),
            "-o",
            f"-p {port} -k {data_dir}",
            "start",
        ]
    )
    try:
        if started.returncode != 0:
            tail = _log_tail(log)
            if "before configured recovery target was reached" in tail:
                raise PitrError(
                    "the archive ends before the recovery target: its WAL is not archived yet "
                    "(wait archive_timeout and try again) or is missing; --latest recovers "
                    "everything archived"
                )
            raise PitrError(f"the recovered server did not start: {tail}")
        yield
    finally:
        _run_as_server_user(
            [str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-w", "-m", "fast", "stop"]
        )


def _log_tail(log: Path) -> str:
    try:
        lines = log.read_text().strip().splitlines()
    except OSError:
        return "no log"
    useful = [ln for ln in lines if "FATAL" in ln or "ERROR" in ln] or lines
    return " | ".join(useful[-3:])[-1500:]


def recovered_url(port: int, database: str) -> str:
    params = conninfo.conninfo_to_dict(admin_url())
    params.update(host="127.0.0.1", port=str(port), dbname=database)
    return conninfo.make_conninfo(**{k: str(v) for k, v in params.items() if v is not None})


def wait_promoted(url: str, data_dir: Path, timeout: float) -> str:
    """Wait until recovery has ended and the server accepts writes; the LSN and last commit
    time it recovered to."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
                row = conn.execute(
                    "SELECT pg_is_in_recovery(), pg_current_wal_lsn()::text "
                    "WHERE NOT pg_is_in_recovery()"
                ).fetchone()
                if row is not None:
                    return str(row[1])
        except psycopg.OperationalError:
            if not (data_dir / "postmaster.pid").exists():
                raise PitrError(
                    f"recovery failed: {_log_tail(data_dir / 'recovery.log')}"
                ) from None
        if time.monotonic() > deadline:
            raise PitrError(f"recovery did not finish in {timeout:.0f} s (see recovery.log)")
        time.sleep(0.2)


def check_recovered(
    url: str, chain: list[BaseBackup]
) -> tuple[list[HealthCheck], list[TableCount], list[str]]:
    """The checks of a recovered server: health_check() answers; every table of the base
    backup is there; the total row count is at least half the base backup's (a recovery
    to a moment before a mass delete may hold more, never an empty shell)."""
    with psycopg.connect(url, autocommit=True) as conn:
        health = [
            HealthCheck(check_name=str(r[0]), status=str(r[1]), details=str(r[2]))
            for r in conn.execute(
                "SELECT check_name, status, details FROM common.health_check()"
            ).fetchall()
        ]
        tables = dumped_tables(conn, None)
        counts = count_rows(conn, tables)
    problems = []
    expected = chain[-1].tables
    present = set(tables)
    missing = [t.qualified for t in expected if (t.schema_name, t.table) not in present]
    if missing:
        problems.append(f"tables missing after recovery: {', '.join(missing[:10])}")
    before, after = sum(t.rows for t in expected), sum(t.rows for t in counts)
    if after * 2 < before:
        problems.append(f"{after:,} rows after recovery, {before:,} in the base backup")
    return health, counts, problems


def recover(
    target: RecoveryTarget,
    data_directory: Path | None = None,
    *,
    force: bool = False,
    keep: bool = False,
    timeout: float = 1800.0,
    restore_point: str | None = None,
    inspect: Any = None,
) -> RecoveryReport:
    """Recover to `target` (or to a named restore point) into a new data directory, start it
    as a server of its own, check it, stop it; remove it unless `keep` (or it replaces a
    directory, with `force`). `inspect(url)` runs against the recovered server before it
    stops (the drill's comparison)."""
    began = time.monotonic()
    data_dir = (data_directory or default_data_directory()).resolve()
    refuse_target(data_dir, force)
    backups = list_base_backups()
    chain = choose_base_backups(backups, target)
    major = int(chain[-1].server_version.split(".")[0])
    bin_dir = _bin_dir(major, "pg_ctl")
    aside = prepare_target(data_dir, force)
    keep = keep or aside is not None
    port = free_port()
    try:
        materialise(chain, data_dir, bin_dir)
        write_recovery(data_dir, recovery_settings(target, restore_point, port))
        with recovered_server(data_dir, bin_dir, port, timeout):
            url = recovered_url(port, chain[-1].database)
            lsn = wait_promoted(url, data_dir, timeout)
            health, tables, problems = check_recovered(url, chain)
            if inspect is not None:
                problems.extend(inspect(url))
        strip_recovery(data_dir)
        if keep:
            archive_history(data_dir)
    except BaseException:
        if not keep:
            remove_recovered(data_dir)
        raise
    report = RecoveryReport(
        target=target.describe() if restore_point is None else f"restore point {restore_point}",
        data_directory=str(data_dir),
        base_backups=[b.backup_id for b in chain],
        seconds=round(time.monotonic() - began, 3),
        recovered_to=lsn,
        health=health,
        tables=tables,
        problems=problems,
        kept=keep,
    )
    if not keep:
        remove_recovered(data_dir)
    return report


def archive_history(data_dir: Path) -> None:
    """Put the recovery's new timeline history into the archive (the checked server ran with
    archiving off): a later recovery follows the new timeline only if it finds it there."""
    for history in sorted((data_dir / "pg_wal").glob("*.history")):
        push(history, history.name, wal_dir())
        owned_like_wal(wal_dir() / history.name)
        owned_like_wal(wal_dir() / SUMS)


def remove_recovered(data_dir: Path) -> None:
    """Remove a recovered data directory (and the pitr-* directory made for it)."""
    made_for_it = data_dir.parent.name.startswith("pitr-") and data_dir.name == "pgdata"
    shutil.rmtree(data_dir.parent if made_for_it else data_dir, ignore_errors=True)


def local_data_directory() -> Path:
    """The local server's data directory (a --force recovery over it replaces it)."""
    return LocalServer.from_settings(get_settings()).data_dir


# --- the drill --------------------------------------------------------------------------


def fingerprint(conn: psycopg.Connection) -> dict[str, object]:
    """What a drill compares: every table's rows, the claims' and accumulators' sums, and
    the last audit row."""
    counts = {t.qualified: t.rows for t in count_rows(conn, dumped_tables(conn, None))}
    found: dict[str, object] = {"rows": counts}
    for schema in ("claims_service", "benefit_service", "audit"):
        cursor = conn.execute(queries(schema).pitr_fingerprint)
        row = cursor.fetchone() or (None,) * len(cursor.description or [])
        names = [d.name for d in cursor.description or []]
        found.update(
            {n: (str(v) if isinstance(v, Decimal) else v) for n, v in zip(names, row, strict=True)}
        )
    return found


def differences(live: dict[str, object], recovered: dict[str, object]) -> list[str]:
    out = []
    live_rows = live.get("rows")
    rec_rows = recovered.get("rows")
    assert isinstance(live_rows, dict) and isinstance(rec_rows, dict)
    for table in sorted(set(live_rows) | set(rec_rows)):
        if live_rows.get(table) != rec_rows.get(table):
            out.append(
                f"{table}: {rec_rows.get(table)} rows recovered, {live_rows.get(table)} live"
            )
    for key in sorted(k for k in live if k != "rows"):
        if live[key] != recovered.get(key):
            out.append(f"{key}: {recovered.get(key)} recovered, {live[key]} live")
    return out


def mark_restore_point(lock_timeout_seconds: float = 30.0) -> tuple[str, dict[str, object]]:
    """A named restore point and the live database's fingerprint exactly at it: every table
    is locked against writes (SHARE) while both are taken, so no commit falls between them
    (writers wait for the duration: seconds, once a week). Then the WAL segment is switched
    and archived, so a recovery can reach the point at once."""
    name = f"drill-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    with psycopg.connect(admin_url()) as conn:
        conn.execute(
            sql.SQL("SET LOCAL lock_timeout = {}").format(
                sql.Literal(f"{int(lock_timeout_seconds * 1000)}ms")
            )
        )
        tables = dumped_tables(conn, None)
        conn.execute(
            sql.SQL("LOCK TABLE {} IN SHARE MODE").format(
                sql.SQL(", ").join(sql.Identifier(s, t) for s, t in tables)
            )
        )
        live = fingerprint(conn)
        conn.execute("SELECT pg_create_restore_point(%s)", (name,))
        conn.commit()
        switch_and_wait(conn)
    return name, live


def switch_and_wait(conn: psycopg.Connection, timeout: float = 120.0) -> str:
    """Switch to a new WAL segment and wait until the finished one is archived; its name."""
    conn.autocommit = True
    row = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()
    assert row is not None
    segment = str(row[0])
    deadline = time.monotonic() + timeout
    while True:
        done = conn.execute(
            "SELECT coalesce(last_archived_wal, '') >= %s FROM pg_stat_archiver", (segment,)
        ).fetchone()
        if done and done[0]:
            return segment
        if time.monotonic() > deadline:
            raise PitrError(f"WAL segment {segment} was not archived in {timeout:.0f} s")
        time.sleep(0.1)


def drill(timeout: float = 1800.0) -> tuple[RecoveryReport, list[str]]:
    """Recover the newest base backup with its WAL to a restore point made now, compare the
    recovered database with the live one as of that point. Returns the recovery and the
    differences (empty: the drill passed)."""
    name, live = mark_restore_point()
    found: list[str] = []

    def compare(url: str) -> list[str]:
        with psycopg.connect(url, autocommit=True) as conn:
            found.extend(differences(live, fingerprint(conn)))
        return list(found)

    report = recover(
        RecoveryTarget(latest=True), restore_point=name, inspect=compare, timeout=timeout
    )
    return report, found


# --- monitoring -------------------------------------------------------------------------


def archive_checks(status: dict[str, Any], disk: tuple[int, int] | None) -> list[HealthCheck]:
    """wal_archiving (failing, or segments waiting) and wal_repository_space, from
    pg_stat_archiver and the repository's disk, when the server archives; wal_streaming
    when the streaming slot exists."""
    streaming = stream_check(status.get("stream"))
    if status.get("archive_mode") not in ("on", "always"):
        return streaming
    failed, archived = status.get("last_failed_time"), status.get("last_archived_time")
    ready = status.get("ready")
    if failed is not None and (archived is None or failed > archived):
        archiving = HealthCheck(
            check_name="wal_archiving",
            status="critical",
            details=f"archiving fails: {status.get('last_failed_wal')} at {failed} "
            f"({status.get('failed_count')} failures); the server keeps the WAL and retries",
        )
    elif ready is not None and ready >= READY_WARNING:
        archiving = HealthCheck(
            check_name="wal_archiving",
            status="critical" if ready >= READY_CRITICAL else "warning",
            details=f"{ready} WAL segments wait to be archived (last archived "
            f"{status.get('last_archived_wal')} at {archived})",
        )
    else:
        archiving = HealthCheck(
            check_name="wal_archiving",
            status="healthy",
            details=f"last archived {status.get('last_archived_wal')} at {archived}; "
            f"{ready if ready is not None else 'unknown'} waiting",
        )
    checks = [archiving]
    if disk is not None:
        used, total = disk
        share = used / total if total else 0.0
        status_ = (
            "critical"
            if share >= DISK_CRITICAL
            else "warning"
            if share >= DISK_WARNING
            else "healthy"
        )
        checks.append(
            HealthCheck(
                check_name="wal_repository_space",
                status=status_,
                details=f"{share:.0%} of the repository's disk used ({used / 2**30:,.1f} of "
                f"{total / 2**30:,.1f} GiB)",
            )
        )
    return checks + streaming


def stream_check(stream: dict[str, Any] | None) -> list[HealthCheck]:
    """wal_streaming, from the slot and its receiver: critical when the slot lost WAL, or no
    receiver runs while the slot keeps SLOT_KEEPS_CRITICAL of WAL on the server, or the
    receiver is STREAM_LAG_CRITICAL behind; a warning for a receiver absent (commits are
    then only as safe as archive_timeout) or STREAM_LAG_WARNING behind."""
    if stream is None:
        return []
    keeps, lag = stream.get("retained_bytes") or 0, stream.get("lag_bytes")
    held = f"the slot keeps {keeps / 2**20:,.0f} MiB of WAL on the server"
    if stream.get("wal_status") == "lost":
        status, details = (
            "critical",
            f"slot {STREAM_SLOT} lost WAL its receiver had not fetched "
            "(max_slot_wal_keep_size): the stream has a gap, the archive covers it; restart "
            "`claims-askes db wal-stream` to make the slot again",
        )
    elif not stream.get("active") or lag is None:
        status = "critical" if keeps >= SLOT_KEEPS_CRITICAL else "warning"
        details = (
            f"no WAL receiver on slot {STREAM_SLOT} (`claims-askes db wal-stream` is not "
            f"running): a lost disk loses up to archive_timeout of commits; {held}"
        )
    else:
        status = (
            "critical"
            if lag >= STREAM_LAG_CRITICAL
            else "warning"
            if lag >= STREAM_LAG_WARNING
            else "healthy"
        )
        details = (
            f"receiver flushed to {stream.get('flush_lsn')}, {lag:,} bytes behind the server "
            f"(reply at {stream.get('reply_time')}); {held}"
        )
    return [HealthCheck(check_name="wal_streaming", status=status, details=details)]


def repository_disk() -> tuple[int, int] | None:
    path = repository()
    while not path.exists() and path != path.parent:
        path = path.parent
    usage = shutil.disk_usage(path)
    return usage.used, usage.total


def archiving_status() -> dict[str, Any]:
    """pg_stat_archiver and archive_mode, with the segments waiting (None when this login
    may not read pg_wal), and the streaming slot's status under "stream" (None: no slot)."""
    q = queries("common")
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        cursor = conn.execute(q.archive_status)
        row = cursor.fetchone()
        assert row is not None
        status = dict(zip([d.name for d in cursor.description or []], row, strict=True))
        try:
            ready = conn.execute(q.archive_ready).fetchone()
            status["ready"] = int(ready[0]) if ready else None
        except psycopg.errors.InsufficientPrivilege:
            status["ready"] = None
        cursor = conn.execute(q.stream_status, {"slot": STREAM_SLOT})
        row = cursor.fetchone()
        status["stream"] = (
            None
            if row is None
            else dict(zip([d.name for d in cursor.description or []], row, strict=True))
        )
    return status
