"""The WAL archive: PostgreSQL's `archive_command` and `restore_command`.

The server runs this file as a script for every WAL segment (so it imports the standard
library only, and starts in a few milliseconds):

    archive_command = 'python3 -I .../walarchive.py push %p %f /repo/wal'
    restore_command = 'python3 -I .../walarchive.py fetch %f %p /repo/wal'

`push` copies the segment under a temporary name, fsyncs it, links it into place, fsyncs
the directory and appends its sha256 to `SHA256SUMS` (fsynced too). A segment already in the
archive with the same content is success (the server retries after a crash between our copy
and its own bookkeeping); one with different content is a failure, never overwritten. Any
failure exits non-zero, so the server keeps the segment and retries.

`fetch` copies a segment (or a timeline history file) out for recovery, after checking its
sha256 against `SHA256SUMS`. A segment not archived yet is taken from the streamed WAL
beside the archive (`../stream`, written by `pg_receivewal`: see walstream.py): a completed
one, or the segment being streamed (`<name>.partial`, zero-filled after its last record),
so that recovery replays commits streamed but not yet in a completed, archived segment.
Those have no sha256 yet (the partial one changes while it streams); each WAL record
carries its own CRC, and recovery stops at the first record that does not check out.
A file found nowhere exits 1: the end of the WAL, which is how recovery learns where to stop.
Any other failure of `fetch` (a damaged segment, a full disk, an unreadable file) exits
RECOVERY_ABORT: PostgreSQL takes every exit status up to 125 as "not archived", ends the
recovery there and promotes without the rest of the WAL, losing the commits after it
silently; above 125 it stops the recovery with an error instead.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

SUMS = "SHA256SUMS"
#: pg_receivewal's directory, beside the archive's `wal` (walstream.py).
STREAM = "stream"
PARTIAL = ".partial"
BLOCK = 1024 * 1024
#: `fetch`'s exit status for a failure (not a missing file): above 125, so that PostgreSQL
#: aborts the recovery rather than take the failure for the end of the WAL.
RECOVERY_ABORT = 255


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def checksums(archive: Path) -> dict[str, str]:
    """name -> sha256 of every archived file (the last line wins: a re-push of equal content)."""
    path = archive / SUMS
    if not path.exists():
        return {}
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        digest, _, name = line.partition("  ")
        if digest and name:
            out[name] = digest
    return out


def _safe_name(name: str) -> str:
    if not name or "/" in name or name.startswith(".") or name == SUMS:
        raise ValueError(f"{name!r} is not a WAL file name")
    return name


def push(source: Path, name: str, archive: Path) -> None:
    """Archive `source` as `name`; raises on any failure (the caller exits non-zero)."""
    _safe_name(name)
    archive.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = archive / name
    digest = sha256_of(source)
    linked = False
    if not target.exists():
        # A temporary name of our own, linked into place: the archiver and the stream's
        # sealer (walstream.py) may push the same segment at the same moment, and a link,
        # unlike a rename, never replaces what the other put there first.
        partial = archive / f".{name}.{os.getpid()}.partial"
        try:
            with source.open("rb") as src, partial.open("wb") as dst:
                while block := src.read(BLOCK):
                    dst.write(block)
                dst.flush()
                os.fsync(dst.fileno())
            os.chmod(partial, 0o600)
            os.link(partial, target)
            linked = True
        except FileExistsError:
            pass
        finally:
            partial.unlink(missing_ok=True)
        _fsync_dir(archive)
    if not linked and sha256_of(target) != digest:
        raise FileExistsError(f"{target} exists with different content: not overwritten")
    if checksums(archive).get(name) == digest:
        return  # archived before (a retry after a crash, or the other pusher): nothing to do
    fd = os.open(archive / SUMS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{digest}  {name}\n".encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def fetch(name: str, destination: Path, archive: Path) -> bool:
    """Copy archived `name` to `destination` for recovery; False when it is not archived.
    Raises when its sha256 differs from the one recorded when it was archived."""
    _safe_name(name)
    source = archive / name
    if not source.exists():
        return _fetch_streamed(name, destination, archive.parent / STREAM)
    expected = checksums(archive).get(name)
    partial = destination.with_name(f".{destination.name}.partial")
    digest = hashlib.sha256()
    with source.open("rb") as src, partial.open("wb") as dst:
        while block := src.read(BLOCK):
            digest.update(block)
            dst.write(block)
    if expected is not None and digest.hexdigest() != expected:
        partial.unlink(missing_ok=True)
        raise ValueError(f"{source}: sha256 differs from {SUMS}: the archive is damaged")
    os.rename(partial, destination)
    return True


def _fetch_streamed(name: str, destination: Path, stream: Path) -> bool:
    """`name` from the streamed WAL: completed but not yet sealed into the archive, or the
    segment being streamed; False when neither is there."""
    for source in (stream / name, stream / f"{name}{PARTIAL}"):
        try:
            src = source.open("rb")
        except FileNotFoundError:
            continue
        partial = destination.with_name(f".{destination.name}.partial")
        with src, partial.open("wb") as dst:
            while block := src.read(BLOCK):
                dst.write(block)
        os.rename(partial, destination)
        return True
    return False


def main(argv: list[str]) -> int:
    """0 done; push: 2 on failure (the server keeps the segment and retries); fetch: 1 when
    the file is in neither the archive nor the stream, RECOVERY_ABORT on any failure."""
    try:
        if len(argv) == 4 and argv[0] == "push":
            push(Path(argv[1]), argv[2], Path(argv[3]))
            return 0
        if len(argv) == 4 and argv[0] == "fetch":
            return 0 if fetch(argv[1], Path(argv[2]), Path(argv[3])) else 1
    except (OSError, ValueError) as exc:
        print(f"walarchive: {argv[0]} {argv[1]}: {exc}", file=sys.stderr)
        return RECOVERY_ABORT if argv[0] == "fetch" else 2
    print("usage: walarchive.py push PATH NAME ARCHIVE | fetch NAME PATH ARCHIVE", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
