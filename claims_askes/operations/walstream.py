"""WAL streaming into the point-in-time recovery repository with `pg_receivewal`.

Archiving (`archive_command`) sends a segment only when it is full or `archive_timeout`
has passed: a lost disk loses up to that many seconds of commits. `pg_receivewal` receives
every WAL record once the server has flushed it, through a physical replication slot, and with
`--synchronous` flushes it to disk and tells the server at once. The repository then holds

    stream/<segment>.partial   the segment being streamed (zero-filled after its last record)
    stream/<segment>           a completed one, until it is sealed:
    wal/<segment>, SHA256SUMS  the sealer pushes it like archive_command does (walarchive.push:
                               fsync, rename, sha256; the same content twice is success)

Recovery's `restore_command` (walarchive.fetch) reads `wal/` first, then the streamed
segments, the partial one last: so commits streamed but not yet in a completed segment
are recovered. Archiving stays on beside streaming: it needs no process of ours, base
backups check it, and it covers the gaps of a receiver that was down.

The slot makes the server keep every segment the receiver has not flushed: a receiver
that is down keeps WAL piling up on the server's disk (monitoring's `wal_streaming`,
capped by `max_slot_wal_keep_size`, after which the slot is 'lost' and made again here).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from claims_askes.db.connections import admin_url
from claims_askes.db.localserver import SERVER_OS_USER, server_os_user_ids
from claims_askes.db.sqlfiles import queries
from claims_askes.operations.backup import libpq_env, server_major
from claims_askes.operations.pitr import (
    SEGMENT,
    STREAM_SLOT,
    PitrError,
    _bin_dir,
    owned_like_wal,
    repository,
    wal_dir,
)
from claims_askes.operations.walarchive import PARTIAL, STREAM, SUMS, push

#: The replication slot and the receiver's application_name (pg_stat_replication).
SLOT = STREAM_SLOT
APPLICATION = "claims_askes_stream"
#: Seconds between two looks for completed segments, and before starting a receiver again.
SEAL_EVERY = 0.5
RETRY_AFTER = 5.0


def stream_dir(*, create: bool = False) -> Path:
    path = repository() / STREAM
    if create:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        ids = server_os_user_ids()
        if ids is not None:  # as root the receiver runs as the server's user (see receive)
            os.chown(path, *ids)
    return path


def ensure_slot(url: str) -> bool:
    """The physical replication slot, made if missing (or made again if the server lost its
    WAL); True when it was made now, so the stream directory's old position is stale."""
    q = queries("common")
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(q.stream_slot, {"slot": SLOT}).fetchone()
        if row is not None and row[0] != "physical":
            raise PitrError(f"replication slot {SLOT} exists but is {row[0]}, not physical")
        if row is not None and row[2] != "lost":
            return False
        if row is not None:  # past max_slot_wal_keep_size: streaming has a gap, archive not
            conn.execute(q.drop_stream_slot, {"slot": SLOT})
        try:
            conn.execute(q.create_stream_slot, {"slot": SLOT})
        except psycopg.errors.DuplicateObject:
            return False  # another receiver made it a moment ago
    return True


def retire_stream(directory: Path) -> list[str]:
    """Seal what was streamed before, then move what is left (a partial segment of an
    earlier server or timeline) aside: a new slot starts the stream at the server's current
    position, and pg_receivewal would otherwise try to go on from the old files."""
    seal(directory)
    left = [p for p in directory.iterdir() if p.is_file() and not p.name.startswith(".")]
    if not left:
        return []
    aside = directory / f".retired-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    aside.mkdir(mode=0o700)
    for path in left:
        os.rename(path, aside / path.name)
    return [p.name for p in left]


def seal(directory: Path) -> list[str]:
    """Push every completed segment and timeline history file of the stream into the
    archive (sha256 in SHA256SUMS), then delete the streamed copies but the newest segment
    (pg_receivewal starts again after the newest file it finds). Returns what was pushed."""
    if not directory.is_dir():
        return []
    done = sorted(
        p for p in directory.iterdir() if SEGMENT.match(p.name) or p.name.endswith(".history")
    )
    archive = wal_dir()
    known = _archived_names(archive)
    pushed = []
    for path in done:
        if path.name not in known:
            push(path, path.name, archive)
            owned_like_wal(archive / path.name)
            pushed.append(path.name)
    if pushed:
        owned_like_wal(archive / SUMS)
    segments = [p for p in done if SEGMENT.match(p.name)]
    for path in segments[:-1]:
        path.unlink(missing_ok=True)
    return pushed


def _archived_names(archive: Path) -> set[str]:
    """Names in the archive with their sha256 recorded (a file without it is pushed again:
    push then checks its content and records it)."""
    sums = archive / SUMS
    if not sums.exists():
        return set()
    return {line.partition("  ")[2] for line in sums.read_text().splitlines()}


def receiver_command(bin_dir: Path, directory: Path, synchronous: bool) -> list[str]:
    """pg_receivewal through the slot into `directory`; it exits on any error (--no-loop)
    and the caller starts it again, so every failure is seen."""
    args = [
        str(bin_dir / "pg_receivewal"),
        f"--directory={directory}",
        f"--slot={SLOT}",
        "--no-loop",
        "--no-password",
    ]
    if synchronous:
        args.append("--synchronous")  # flush each write and report it to the server at once
    return args


def receive(
    stop: threading.Event,
    report: Callable[[str], None],
    *,
    synchronous: bool = True,
    retry_after: float = RETRY_AFTER,
) -> None:
    """Stream until `stop` is set: make the slot, run pg_receivewal, seal completed segments
    every SEAL_EVERY seconds; when the receiver stops (the server restarting, a network
    fault), say why through `report` (once per distinct reason) and start it again."""
    url = admin_url()
    with psycopg.connect(url, autocommit=True) as conn:
        major = server_major(conn)
    bin_dir = _bin_dir(major, "pg_receivewal")
    env, _ = libpq_env(url)
    env["PGAPPNAME"] = APPLICATION
    directory = stream_dir(create=True)
    last_reason = ""
    while not stop.is_set():
        try:
            if ensure_slot(url):
                retire_stream(directory)
            reason = _run_receiver(
                receiver_command(bin_dir, directory, synchronous), env, directory, stop, report
            )
        except (psycopg.Error, OSError, ValueError, PitrError) as exc:
            reason = _first_line(exc)
        sealing = seal_or_say_why(directory)
        if stop.is_set():
            if sealing:
                report(sealing)
            return
        reason = reason or sealing
        if reason and reason != last_reason:
            report(f"WAL streaming stopped: {reason}; starting again every {retry_after:.0f} s")
        last_reason = reason
        stop.wait(retry_after)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else repr(exc)


def seal_or_say_why(directory: Path) -> str:
    """`seal`, and why it could not ('' when it did). A full or failing archive disk must
    not stop the receiver: what is streamed stays in the stream directory, which recovery
    reads too, and is sealed once the archive takes it again."""
    try:
        seal(directory)
    except (OSError, ValueError) as exc:
        return f"sealing streamed WAL into the archive failed: {_first_line(exc)}"
    return ""


def _run_receiver(
    args: list[str],
    env: dict[str, str],
    directory: Path,
    stop: threading.Event,
    report: Callable[[str], None],
) -> str:
    """Run one pg_receivewal until it exits or `stop`; why it exited ('' when stopped)."""
    as_server_user: dict[str, object] = {}
    if os.geteuid() == 0:  # the recovering server (that user) reads the streamed files
        as_server_user = {"user": SERVER_OS_USER, "group": SERVER_OS_USER, "extra_groups": []}
    log = directory / ".receivewal.log"
    with log.open("w") as err:
        process = subprocess.Popen(  # type: ignore[call-overload]
            args,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            **as_server_user,
        )
        try:
            said = ""
            while process.poll() is None and not stop.wait(SEAL_EVERY):
                sealing = seal_or_say_why(directory)
                if sealing and sealing != said:
                    report(f"{sealing}; streaming goes on, sealing is tried again")
                said = sealing
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)  # pg_receivewal's clean stop
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    if stop.is_set():
        return ""
    lines = [ln for ln in log.read_text().splitlines() if ln.strip()]
    return lines[-1] if lines else f"pg_receivewal exited with status {process.returncode}"


def streamed_partial() -> Path | None:
    """The segment being streamed now, if any."""
    directory = stream_dir()
    found = sorted(directory.glob(f"*{PARTIAL}")) if directory.is_dir() else []
    return found[-1] if found else None


def wait_streamed(url: str, lsn: str, timeout: float = 30.0) -> None:
    """Wait until the receiver has flushed WAL up to `lsn` (tests and the benchmark)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while True:
            row = conn.execute(
                queries("common").stream_flushed, {"slot": SLOT, "lsn": lsn}
            ).fetchone()
            if row and row[0]:
                return
            if time.monotonic() > deadline:
                raise PitrError(f"the WAL receiver did not flush {lsn} in {timeout:.0f} s")
            time.sleep(0.05)
