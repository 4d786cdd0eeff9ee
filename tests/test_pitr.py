"""Point-in-time recovery on a real server that archives its WAL: base backups verified,
recovery to a moment before a bad UPDATE, recovery of everything archived after an
immediate stop, the drill, refusals, retention, and the archiving alerts; and on a server
that streams its WAL (`claims-askes db wal-stream`), recovery of commits in no completed
segment yet, and no flushed commit lost to an immediate kill.

One server for the module (archive_timeout 1 s, so a commit is archived within about a
second), its own repository and home; each recovery starts a second server on a free port.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from claims_askes.core.settings import reset_settings
from claims_askes.db import migrate
from claims_askes.db.localserver import (
    WAL_ARCHIVER,
    LocalServer,
    _run_as_server_user,
    embedded_bin_dir,
    free_port,
)
from claims_askes.operations import pitr, walstream
from claims_askes.operations.pitr import PitrError
from claims_askes.operations.walarchive import SUMS, push
from schemas.ops import BaseBackup, RecoveryTarget, RestoreParameters

# The archiving server's tests build on each other (a base backup, then a recovery onto a
# new timeline, then the drill): `dev.py test` runs a module on one worker, in order.


@dataclass
class PitrServer:
    server: LocalServer
    url: str
    repository: Path

    def execute(self, statement: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def wait_archived(self) -> None:
        """Until every commit so far is in the archive (switch segment, wait for it)."""
        with psycopg.connect(self.url) as conn:
            pitr.switch_and_wait(conn)


@pytest.fixture(scope="module")
def archiving_server(test_env: dict[str, str]) -> Iterator[PitrServer]:
    home = Path(tempfile.mkdtemp(prefix="claims-askes-pitr-"))
    bin_dir = Path(os.environ.get("CLAIMS_ASKES_PG_BIN_DIR") or embedded_bin_dir())
    repository = home / "repository"
    server = LocalServer(
        home=home,
        bin_dir=bin_dir,
        port=free_port(),
        database="claims_askes_pitr",
        wal_archive=repository,
        archive_timeout=1,
    )
    with pytest.MonkeyPatch.context() as patch:
        server.start()
        url = server.url()
        patch.setenv("DATABASE_URL", url)
        patch.setenv("CLAIMS_ASKES_WAL_ARCHIVE", str(repository))
        patch.setenv("CLAIMS_ASKES_HOME", str(home))
        reset_settings()
        migrate.upgrade(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE public.pitr_probe (id int PRIMARY KEY, amount bigint)")
        try:
            yield PitrServer(server=server, url=url, repository=repository)
        finally:
            reset_settings()
            server.destroy()
            shutil.rmtree(home, ignore_errors=True)


def probe(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT id, amount FROM public.pitr_probe ORDER BY id").fetchall()


def test_the_local_server_archives_wal_into_the_repository_with_checksums(
    archiving_server: PitrServer,
) -> None:
    archiving_server.execute("INSERT INTO public.pitr_probe VALUES (0, 0)")
    archiving_server.wait_archived()
    wal = archiving_server.repository / "wal"
    segments = [p.name for p in wal.iterdir() if pitr.SEGMENT.match(p.name)]
    sums = (wal / SUMS).read_text().splitlines()
    assert segments and all(any(line.endswith(f"  {s}") for line in sums) for s in segments)
    archiving_server.execute("DELETE FROM public.pitr_probe")


def test_the_archiver_never_overwrites_a_segment_with_other_content(tmp_path: Path) -> None:
    archive = tmp_path / "wal"
    first, second = tmp_path / "a", tmp_path / "b"
    first.write_bytes(b"one" * 100)
    second.write_bytes(b"two" * 100)
    push(first, "000000010000000000000001", archive)
    push(first, "000000010000000000000001", archive)  # a retry of the same: success
    with pytest.raises(FileExistsError):
        push(second, "000000010000000000000001", archive)
    assert (archive / "000000010000000000000001").read_bytes() == b"one" * 100


def test_fetch_tells_recovery_a_missing_file_from_one_it_could_not_give(tmp_path: Path) -> None:
    """restore_command's exit status, as the server runs it: 1 only for a file in neither the
    archive nor the stream (the end of the WAL); above 125 for a damaged segment or a failed
    copy, which PostgreSQL takes as a reason to abort the recovery, not to end it there."""
    archive, stream, into = tmp_path / "wal", tmp_path / "stream", tmp_path / "pg_wal"
    into.mkdir()
    stream.mkdir()
    source = tmp_path / "segment"
    source.write_bytes(b"wal" * 1000)
    push(source, "000000010000000000000001", archive)
    (stream / "000000010000000000000002.partial").write_bytes(b"streamed" * 100)

    def fetch(name: str, destination: Path) -> int:
        args = [sys.executable, "-I", str(WAL_ARCHIVER), "fetch", name, str(destination)]
        return subprocess.run([*args, str(archive)], capture_output=True, check=False).returncode

    assert fetch("000000010000000000000001", into / "RECOVERYXLOG") == 0
    assert (into / "RECOVERYXLOG").read_bytes() == b"wal" * 1000
    assert fetch("000000010000000000000002", into / "RECOVERYXLOG") == 0  # the partial one
    assert (into / "RECOVERYXLOG").read_bytes() == b"streamed" * 100
    assert fetch("000000010000000000000003", into / "RECOVERYXLOG") == 1  # the end of the WAL
    assert fetch("00000002.history", into / "RECOVERYHISTORY") == 1
    # a copy that cannot be written (as on a full disk), and a damaged archived segment
    assert fetch("000000010000000000000002", tmp_path / "gone" / "RECOVERYXLOG") > 125
    (archive / "000000010000000000000001").write_bytes(b"bad" * 1000)
    assert fetch("000000010000000000000001", into / "RECOVERYXLOG") > 125


def test_recovery_to_a_moment_between_good_rows_and_a_bad_update_has_the_good_rows_only(
    archiving_server: PitrServer,
) -> None:
    backup = pitr.take_base_backup("full")
    assert backup.verified and backup.kind == "full", backup.problems
    assert (archiving_server.repository / "base" / backup.backup_id / "backup_manifest").exists()
    archiving_server.execute(
        "INSERT INTO public.pitr_probe SELECT g, g * 1000 FROM generate_series(1, 50) AS g"
    )
    time.sleep(1.1)
    between = datetime.now(UTC)
    time.sleep(1.1)
    archiving_server.execute("UPDATE public.pitr_probe SET amount = 0")  # the bad UPDATE
    archiving_server.wait_archived()
    seen: list[list[tuple[object, ...]]] = []

    def look(url: str) -> list[str]:
        seen.append(probe(url))
        return []

    report = pitr.recover(RecoveryTarget(to_time=between), inspect=look, timeout=120)
    assert seen == [[(g, g * 1000) for g in range(1, 51)]]
    assert report.base_backups == [backup.backup_id] and not report.problems
    assert {h.check_name for h in report.health}  # health_check() answered
    assert not Path(report.data_directory).exists()  # removed, not kept


def test_latest_recovers_the_gone_server_with_what_was_archived_before_an_immediate_stop(
    archiving_server: PitrServer,
) -> None:
    """The runbook "the server is gone": killed, its data directory deleted, recovered
    --latest into its place and started again (the next tests run on the recovered server,
    on its new timeline, so the drill below also follows a timeline switch)."""
    server = archiving_server.server
    if server.major >= 17:  # incremental on the full one: the recovery combines both
        incremental = pitr.take_base_backup("incremental")
        assert incremental.kind == "incremental" and incremental.verified, incremental.problems
    archiving_server.execute("INSERT INTO public.pitr_probe VALUES (1001, 7), (1002, 8)")
    time.sleep(3)  # > archive_timeout (1 s): the partly filled segment is archived
    _run_as_server_user(
        [str(server.bin_dir / "pg_ctl"), "-D", str(server.data_dir), "-m", "immediate", "stop"]
    )
    shutil.rmtree(server.data_dir)  # the disk is gone
    seen: list[list[tuple[object, ...]]] = []

    def look(url: str) -> list[str]:
        seen.append(probe(url))
        return []

    try:
        report = pitr.recover(
            RecoveryTarget(latest=True), server.data_dir, keep=True, inspect=look, timeout=120
        )
    finally:
        server.start()
    assert (1001, 7) in seen[0] and (1002, 8) in seen[0]
    assert len(report.base_backups) == (2 if server.major >= 17 else 1)
    assert (1001, 7) in probe(archiving_server.url)  # the server is back, with the rows
    assert (archiving_server.repository / "wal" / "00000002.history").exists()


def test_the_drill_recovers_to_a_restore_point_equal_to_the_live_database(
    archiving_server: PitrServer,
) -> None:
    deleted, wal_deleted = pitr.apply_base_retention(1, 0, 1)  # the incremental one goes
    assert all(b.startswith("incremental-") for b in deleted) and wal_deleted > 0
    archiving_server.execute("INSERT INTO public.pitr_probe VALUES (2001, 1)")
    archiving_server.wait_archived()  # archiving goes on after SHA256SUMS was rewritten
    report, found = pitr.drill(timeout=120)
    assert found == [] and report.target.startswith("restore point drill-")
    # the comparison can fail: a recovered copy one row short differs
    live = {"rows": {"public.pitr_probe": 5}, "claims": 1}
    assert pitr.differences(live, {"rows": {"public.pitr_probe": 4}, "claims": 1}) == [
        "public.pitr_probe: 4 rows recovered, 5 live"
    ]


def test_recovery_never_writes_over_a_running_server_nor_a_full_directory_without_force(
    archiving_server: PitrServer, tmp_path: Path, prefect_api: str
) -> None:
    from flows.database_restore import database_restore

    target = RecoveryTarget(latest=True)
    with pytest.raises(PitrError, match="a server runs in"):  # through the flow, with --force
        database_restore(
            latest=True, data_directory=str(archiving_server.server.data_dir), force=True
        )
    occupied = tmp_path / "pgdata"
    occupied.mkdir()
    (occupied / "PG_VERSION").write_text("18\n")
    with pytest.raises(PitrError, match="pass --force"):
        pitr.recover(target, occupied)
    assert (occupied / "PG_VERSION").read_text() == "18\n"


def test_the_command_refuses_a_running_server_and_a_target_without_zone_in_one_line(
    archiving_server: PitrServer,
) -> None:
    from typer.testing import CliRunner

    from claims_askes.cli.app import app

    def run(*args: str) -> str:
        result = CliRunner().invoke(app, ["run", "database-restore", *args], env={"COLUMNS": "250"})
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1, result.output
        return lines[0]

    data_dir = str(archiving_server.server.data_dir)
    assert run("--latest", "--data-directory", data_dir, "--force").startswith(
        f"error: a server runs in {data_dir}: never recovered over, even with --force"
    )
    assert run("--to-time", "2026-12-04 10:15:00") == (
        "error: --to-time: give the time with its zone, e.g. '2026-12-04 10:15:00+07'"
    )
    assert run("--to-time", "2020-01-01 00:00:00+07").startswith(
        "error: no verified base backup finished before time 2020-01-01T00:00:00+07:00"
    )


def test_a_failing_archive_command_is_a_critical_alert(archiving_server: PitrServer) -> None:
    archiving_server.execute("ALTER SYSTEM SET archive_command = 'false'")
    archiving_server.execute("SELECT pg_reload_conf()")
    try:
        time.sleep(0.5)
        archiving_server.execute("INSERT INTO public.pitr_probe VALUES (3001, 1)")
        archiving_server.execute("SELECT pg_switch_wal()")
        deadline = time.monotonic() + 30
        while not pitr.archiving_status()["failed_count"] and time.monotonic() < deadline:
            time.sleep(0.2)
        checks = pitr.archive_checks(pitr.archiving_status(), (1, 100))
    finally:
        archiving_server.execute("ALTER SYSTEM RESET archive_command")
        archiving_server.execute("SELECT pg_reload_conf()")
    assert [(c.check_name, c.status) for c in checks] == [
        ("wal_archiving", "critical"),
        ("wal_repository_space", "healthy"),
    ]
    assert "archiving fails" in checks[0].details
    # The server retries the very segment that failed, now with the good command.
    failed = str(archiving_server.execute("SELECT last_failed_wal FROM pg_stat_archiver")[0][0])
    wait_for(
        lambda: (
            str(
                archiving_server.execute(
                    "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver"
                )[0][0]
            )
            >= failed
        ),
        f"{failed} archived after the failure",
        timeout=120,
    )
    healthy = pitr.archive_checks(pitr.archiving_status(), (95, 100))
    assert [(c.check_name, c.status) for c in healthy] == [
        ("wal_archiving", "healthy"),
        ("wal_repository_space", "warning"),
    ]


def _backup(
    backup_id: str, kind: str, days_ago: int, start_wal: str, **extra: object
) -> BaseBackup:
    at = datetime(2026, 12, 4, tzinfo=UTC) - timedelta(days=days_ago)
    return BaseBackup(
        backup_id=backup_id,
        kind=kind,
        database="d",
        server_version="18.1",
        started_at=at,
        finished_at=at,
        timeline=1,
        start_lsn="0/0",
        stop_lsn="0/0",
        start_wal=start_wal,
        size_bytes=1,
        verified=bool(extra.pop("verified", True)),
        parent=extra.pop("parent", None),
    )


def test_retention_keeps_n_full_m_incremental_the_floor_and_only_the_wal_they_need(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backups = [
        _backup("f1", "full", 30, "000000010000000000000001"),
        _backup("f2", "full", 20, "000000010000000000000005"),
        _backup("f3", "full", 10, "000000010000000000000009"),
        _backup("i1", "incremental", 9, "00000001000000000000000A", parent="f3"),
        _backup("i2", "incremental", 8, "00000001000000000000000B", parent="f3"),
        _backup("i3", "incremental", 7, "00000001000000000000000C", parent="f3"),
        _backup("i0", "incremental", 15, "000000010000000000000006", parent="f2"),
    ]
    assert pitr.plan_base_retention(backups, 2, 2, 1) == ["f1", "i0", "i1"]
    # the floor: with f2 and f3 unverified, f1 is the only verified full one and stays
    weak = [b.model_copy(update={"verified": b.backup_id not in ("f2", "f3")}) for b in backups]
    assert "f1" not in pitr.plan_base_retention(weak, 1, 6, 1)

    monkeypatch.setenv("CLAIMS_ASKES_WAL_ARCHIVE", str(tmp_path))
    reset_settings()
    try:
        for n in range(1, 13):
            source = tmp_path / "segment"
            source.write_bytes(bytes([n]) * 64)
            push(source, f"{1:08X}{0:08X}{n:08X}", tmp_path / "wal")
        push(source, "00000002.history", tmp_path / "wal")
        kept = [b for b in backups if b.backup_id in ("f2", "f3", "i2", "i3")]
        oldest = pitr.wal_needed_from(kept)
        assert oldest == "000000010000000000000005"
        assert pitr.delete_wal_before(oldest) == 4
        left = sorted(p.name for p in (tmp_path / "wal").iterdir() if p.name != SUMS)
        assert left[0] == "000000010000000000000005" and "00000002.history" in left
        assert "000000010000000000000004" not in (tmp_path / "wal" / SUMS).read_text()
    finally:
        reset_settings()


def test_restore_parameters_take_one_recovery_target_with_its_zone() -> None:
    moment = RestoreParameters(to_time="2026-12-04 10:15:00+07")
    assert moment.to_time is not None and moment.to_time.utcoffset() == timedelta(hours=7)
    for bad, words in [
        ({"latest": True, "to_lsn": "0/3000060"}, "give one recovery target"),
        ({"to_time": "2026-12-04 10:15:00"}, "with its zone"),
        ({"latest": True, "target_database": "x"}, "takes no backup id"),
        ({"to_lsn": "nonsense"}, "pattern"),
    ]:
        with pytest.raises(ValueError, match=words):
            RestoreParameters(**bad)  # type: ignore[arg-type]


# --- streaming (pg_receivewal) ----------------------------------------------------------


@dataclass
class StreamingServer(PitrServer):
    receiver: subprocess.Popen[str]

    def stop_receiver(self) -> None:
        """SIGTERM `claims-askes db wal-stream`: it stops pg_receivewal and seals what it has."""
        if self.receiver.poll() is None:
            self.receiver.terminate()
            self.receiver.wait(timeout=30)

    def insert(self, first: int, last: int) -> str:
        """Rows first..last, one transaction each; the WAL insert position after the last."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            for n in range(first, last + 1):
                conn.execute("INSERT INTO public.pitr_probe VALUES (%s, %s)", (n, n * 10))
            row = conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()
        assert row is not None
        return str(row[0])


def stream_status() -> dict[str, object] | None:
    stream = pitr.archiving_status()["stream"]
    assert stream is None or isinstance(stream, dict)
    return stream


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not {what} in {timeout:.0f} s"
        time.sleep(0.1)


@pytest.fixture
def streaming_server(test_env: dict[str, str]) -> Iterator[StreamingServer]:
    """A server whose archive_timeout is an hour (archiving alone would lose every commit
    since the last full segment), streaming into its repository with `claims-askes db
    wal-stream` run as the operator runs it."""
    home = Path(tempfile.mkdtemp(prefix="claims-askes-stream-"))
    bin_dir = Path(os.environ.get("CLAIMS_ASKES_PG_BIN_DIR") or embedded_bin_dir())
    repository = home / "repository"
    server = LocalServer(
        home=home,
        bin_dir=bin_dir,
        port=free_port(),
        database="claims_askes_stream",
        wal_archive=repository,
        archive_timeout=3600,
    )
    with pytest.MonkeyPatch.context() as patch:
        try:
            server.start()
            url = server.url()
            patch.setenv("DATABASE_URL", url)
            patch.setenv("CLAIMS_ASKES_WAL_ARCHIVE", str(repository))
            patch.setenv("CLAIMS_ASKES_HOME", str(home))
            reset_settings()
            migrate.upgrade(url)
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("CREATE TABLE public.pitr_probe (id int PRIMARY KEY, amount bigint)")
            receiver = subprocess.Popen(
                [sys.executable, "-m", "claims_askes.cli", "db", "wal-stream"],
                env=dict(os.environ),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            streaming = StreamingServer(
                server=server, url=url, repository=repository, receiver=receiver
            )
            try:
                wait_for(lambda: bool((stream_status() or {}).get("active")), "streaming")
                yield streaming
            finally:
                streaming.stop_receiver()
        finally:
            reset_settings()
            server.destroy()
            shutil.rmtree(home, ignore_errors=True)
    reset_settings()


def test_latest_and_a_moment_recover_commits_streamed_but_in_no_completed_segment(
    streaming_server: StreamingServer,
) -> None:
    backup = pitr.take_base_backup("full")
    assert backup.verified, backup.problems
    streaming_server.insert(1, 50)
    time.sleep(1.1)
    between = datetime.now(UTC)
    time.sleep(1.1)
    lsn = streaming_server.insert(51, 100)
    walstream.wait_streamed(streaming_server.url, lsn)
    segment = streaming_server.execute("SELECT pg_walfile_name(%s::pg_lsn)", (lsn,))[0][0]
    repository = streaming_server.repository
    assert not (repository / "wal" / str(segment)).exists()  # not archived: archive_timeout 1 h
    assert (repository / "stream" / f"{segment}.partial").exists()
    checks = pitr.archive_checks(pitr.archiving_status(), None)
    assert ("wal_streaming", "healthy") in [(c.check_name, c.status) for c in checks]

    seen: list[list[tuple[object, ...]]] = []

    def look(url: str) -> list[str]:
        seen.append(probe(url))
        return []

    pitr.recover(RecoveryTarget(latest=True), inspect=look, timeout=120)
    pitr.recover(RecoveryTarget(to_time=between), inspect=look, timeout=120)
    assert seen == [
        [(n, n * 10) for n in range(1, 101)],  # --latest: the streamed commits too
        [(n, n * 10) for n in range(1, 51)],  # to the moment, inside the partial segment
    ]
    # completed segments are sealed into the archive with their sha256, like archived ones
    streaming_server.execute("SELECT pg_switch_wal()")
    sums = repository / "wal" / SUMS
    wait_for(lambda: sums.exists() and f"  {segment}" in sums.read_text(), "sealed")

    streaming_server.stop_receiver()
    assert streaming_server.receiver.returncode == 0
    assert streaming_server.receiver.communicate() == ("", "")  # quiet on success
    wait_for(lambda: not (stream_status() or {}).get("active"), "the receiver gone")
    checks = pitr.archive_checks(pitr.archiving_status(), None)
    absent = next(c for c in checks if c.check_name == "wal_streaming")
    assert absent.status == "warning" and "no WAL receiver" in absent.details
    lost = pitr.stream_check({"wal_status": "lost", "active": False, "retained_bytes": 0})
    assert [c.status for c in lost] == ["critical"]


def test_an_immediate_kill_loses_no_commit_the_receiver_had_flushed(
    streaming_server: StreamingServer,
) -> None:
    """Commits go on while the server is killed (`pg_ctl stop -m immediate`) and its data
    directory deleted; every commit whose WAL the receiver had flushed before the kill is
    there after `--latest`. The archive alone (the stream hidden) has none of them; with the
    segment holding them unreadable, the recovery fails instead of promoting without them."""
    assert pitr.take_base_backup("full").verified
    committed: list[tuple[int, str]] = []
    attempted: set[int] = set()  # sent; maybe committed, unacknowledged when killed
    stop = threading.Event()

    def write() -> None:
        try:
            with psycopg.connect(streaming_server.url, autocommit=True) as conn:
                n = 1000
                while not stop.is_set():
                    n += 1
                    attempted.add(n)
                    conn.execute("INSERT INTO public.pitr_probe VALUES (%s, 1)", (n,))
                    row = conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()
                    assert row is not None
                    committed.append((n, str(row[0])))
        except psycopg.OperationalError:
            return  # the kill

    writer = threading.Thread(target=write)
    writer.start()
    wait_for(lambda: len(committed) >= 200, "200 commits")
    status = stream_status()
    assert status is not None and status["flush_lsn"] is not None
    flushed = pitr.lsn_value(str(status["flush_lsn"]))  # the receiver's, read just before
    server = streaming_server.server
    _run_as_server_user(
        [str(server.bin_dir / "pg_ctl"), "-D", str(server.data_dir), "-m", "immediate", "stop"]
    )
    stop.set()
    writer.join()
    streaming_server.stop_receiver()
    shutil.rmtree(server.data_dir)  # the disk is gone
    safe = {n for n, lsn in committed if pitr.lsn_value(lsn) <= flushed}
    assert len(safe) >= 200

    def rows(url: str) -> list[str]:
        found.append({int(str(r[0])) for r in probe(url)})
        return []

    found: list[set[int]] = []
    stream = streaming_server.repository / "stream"
    wal = streaming_server.repository / "wal"
    stream.rename(stream.with_name("stream.hidden"))
    try:
        pitr.recover(RecoveryTarget(latest=True), inspect=rows, timeout=120)
    finally:
        stream.with_name("stream.hidden").rename(stream)
    assert not found[0] & safe  # archiving alone: none of them (archive_timeout 1 h)
    # The segment holding the flushed commits, unreadable (as a full disk, a permission or an
    # I/O error makes it): the recovery stops with an error. It must not take the failure
    # for the end of the WAL and promote without those commits, as it did when the
    # restore_command's failure exit status (2) was one PostgreSQL reads as "not archived".
    last = flushed - 1  # the last flushed byte (a flush position may be a segment's end)
    held = pitr.segment_of(f"{last >> 32:X}/{last & 0xFFFFFFFF:X}", 1)
    places = [
        p
        for p in (wal / held, stream / held, stream / f"{held}.partial")
        if p.exists()  # fetch reads the first; whichever it is, none may be read
    ]
    modes = {p: p.stat().st_mode for p in places}
    for path in places:
        path.chmod(0)
    try:
        with pytest.raises(PitrError, match=f"could not restore file .{held}"):
            pitr.recover(RecoveryTarget(latest=True), inspect=rows, timeout=120)
    finally:
        for path, mode in modes.items():
            path.chmod(mode)
    assert len(found) == 1  # it stopped before anything read a recovered server
    pitr.recover(RecoveryTarget(latest=True), server.data_dir, keep=True, inspect=rows)
    assert safe <= found[1], sorted(safe - found[1])[:10]
    assert found[1] <= attempted  # and nothing that was never written


def test_a_failing_archive_disk_stops_neither_the_stream_nor_the_receiver(
    streaming_server: StreamingServer,
) -> None:
    """The archive's `wal` directory unusable (a file where it should be: every push fails,
    as on a full or failed disk): the receiver goes on streaming, says so once, and seals
    the completed segment once the archive is back."""
    repository = streaming_server.repository
    wal = repository / "wal"
    wal.rename(repository / "wal.away")
    wal.write_text("not a directory: every push into the archive fails\n")
    try:
        lsn = streaming_server.insert(1, 20)
        segment = str(streaming_server.execute("SELECT pg_walfile_name(%s::pg_lsn)", (lsn,))[0][0])
        streaming_server.execute("SELECT pg_switch_wal()")
        stream = repository / "stream"
        wait_for(lambda: (stream / segment).exists(), "the segment streamed whole")
        later = streaming_server.insert(21, 40)
        walstream.wait_streamed(streaming_server.url, later)  # streaming goes on
        time.sleep(walstream.SEAL_EVERY * 4)  # the sealer tries (and fails) a few times
        assert streaming_server.receiver.poll() is None
        assert (stream / segment).exists()  # kept until sealed
    finally:
        wal.unlink()
        (repository / "wal.away").rename(wal)
    sums = wal / SUMS
    wait_for(lambda: sums.exists() and f"  {segment}" in sums.read_text(), "sealed afterwards")
    streaming_server.stop_receiver()
    assert streaming_server.receiver.returncode == 0
    _, err = streaming_server.receiver.communicate()
    assert err.count("sealing streamed WAL into the archive failed") == 1, err
