"""Test database fixtures, after pypi/warehouse's: one server per test session, one
migrated template database, and a fresh database per test made from the template.

The server is the embedded one (or the binaries of CLAIMS_ASKES_PG_BIN_DIR, e.g. Debian's
PostgreSQL 15), started in a temporary directory; or the server of TEST_DATABASE_URL (an
admin URL), where the databases are created and dropped. Tests always run with DATABASE_URL
set to their own database and the service passwords in the environment, exactly as a
deployment against a server of the user's would.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from claims_askes.core.services import REPORTING_ROLE, SERVICES
from claims_askes.core.settings import reset_settings
from claims_askes.db import migrate
from claims_askes.db.connections import with_credentials, with_database
from claims_askes.db.localserver import LocalServer, embedded_bin_dir, free_port

TEMPLATE = "claims_askes_template"


@dataclass
class Cluster:
    """A server the tests may create databases on."""

    # Secrets stay out of reprs (hypothesis and pytest print fixtures of failing examples).
    admin_url: str = field(repr=False)  # to its maintenance database
    passwords: dict[str, str] = field(repr=False)  # role -> password, every service role


@dataclass
class TestDatabase:
    __test__ = False
    """One test's database, with helpers to connect as owner, a service or reporting."""

    name: str
    url: str = field(repr=False)
    cluster: Cluster = field(repr=False)

    def admin(self, autocommit: bool = True) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=autocommit)

    def role_url(self, role: str) -> str:
        return with_credentials(self.url, role, self.cluster.passwords[role])

    def as_role(
        self, role: str, autocommit: bool = True, options: str | None = None
    ) -> psycopg.Connection:
        return psycopg.connect(self.role_url(role), autocommit=autocommit, options=options)

    def scalar(self, query: str, params: tuple[object, ...] = ()) -> object:
        with self.admin() as conn:
            row = conn.execute(query, params).fetchone()
            return row[0] if row else None


def run_in_threads(target: Callable[[int], None], count: int) -> None:
    """Run target(0) .. target(count - 1) in threads at once and wait for them all."""
    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _service_env(passwords: dict[str, str]) -> dict[str, str]:
    env = {s.password_variable: passwords[s.role] for s in SERVICES}
    env["REPORTING_DB_PASSWORD"] = passwords[REPORTING_ROLE]
    return env


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    roles = [s.role for s in SERVICES] + [REPORTING_ROLE]
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        yield Cluster(admin_url=external, passwords={r: secrets.token_urlsafe(18) for r in roles})
        return
    home = Path(tempfile.mkdtemp(prefix="claims-askes-test-"))
    bin_dir = Path(os.environ.get("CLAIMS_ASKES_PG_BIN_DIR") or embedded_bin_dir())
    server = LocalServer(
        home=home, bin_dir=bin_dir, port=free_port(), database="postgres", fast_unsafe=True
    )
    server.start()
    try:
        passwords = {r: pw for r, pw in server.secrets().items() if r in roles}
        yield Cluster(admin_url=server.url(database="postgres"), passwords=passwords)
    finally:
        server.destroy()
        shutil.rmtree(home, ignore_errors=True)


def _create_database(admin_url: str, name: str, template: str | None = None) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            stmt = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        conn.execute(stmt)


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def test_env(cluster: Cluster) -> Iterator[dict[str, str]]:
    """The environment every test runs in (service passwords; no local server)."""
    saved = dict(os.environ)
    os.environ.update(_service_env(cluster.passwords))
    os.environ.pop("DATABASE_URL", None)
    for s in SERVICES:
        os.environ.pop(s.url_variable, None)
    reset_settings()
    try:
        yield _service_env(cluster.passwords)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        reset_settings()


@pytest.fixture(scope="session")
def template_db(cluster: Cluster, test_env: dict[str, str]) -> Iterator[str]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"{TEMPLATE}_{worker}"
    _create_database(cluster.admin_url, name)
    url = with_database(cluster.admin_url, name)
    os.environ["DATABASE_URL"] = url
    reset_settings()
    migrate.upgrade(url)
    os.environ.pop("DATABASE_URL")
    reset_settings()
    yield name
    drop_database(cluster.admin_url, name)


@pytest.fixture
def db(cluster: Cluster, template_db: str) -> Iterator[TestDatabase]:
    """A fresh, migrated database for this test; DATABASE_URL points at it."""
    with fresh_database(cluster, template_db) as database:
        yield database


@contextlib.contextmanager
def fresh_database(cluster: Cluster, template: str) -> Iterator[TestDatabase]:
    """A database from the template with DATABASE_URL pointing at it, for any scope."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    _create_database(cluster.admin_url, name, template=template)
    url = with_database(cluster.admin_url, name)
    saved = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    reset_settings()
    with psycopg.connect(url, autocommit=True) as conn:
        migrate.grant_database_access(conn)
    try:
        yield TestDatabase(name=name, url=url, cluster=cluster)
    finally:
        if saved is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = saved
        reset_settings()
        drop_database(cluster.admin_url, name)


@pytest.fixture(scope="module")
def module_db(cluster: Cluster, template_db: str) -> Iterator[TestDatabase]:
    """One database shared by a module's tests (a scenario built and run once)."""
    with fresh_database(cluster, template_db) as database:
        yield database


def module_of(item: pytest.Item) -> str:
    return item.nodeid.partition("::")[0]


#: A slow test (a process kill, a real Prefect server and workers) against a plain one, in the
#: weight that orders modules for the workers: about their ratio in time.
SLOW_WEIGHT = 20


@pytest.hookimpl(trylast=True)  # after `-m` has deselected what this pass does not run
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The heaviest modules first (slow tests weigh SLOW_WEIGHT, others 1). With `--dist
    loadfile` a module runs whole on one worker, in this order (dev.py turns off xdist's
    own, by test count): a long module taken last kept one worker busy for 80 s after the
    other two had finished (2026-12-06)."""
    weight: dict[str, int] = {}
    for item in items:
        each = SLOW_WEIGHT if item.get_closest_marker("slow") else 1
        weight[module_of(item)] = weight.get(module_of(item), 0) + each
    items.sort(key=lambda item: -weight[module_of(item)])


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stops the temporary Prefect API servers that flows run in tests started, while the
    output is still open: Prefect stops them at exit, after the stream its log handler writes
    to is closed, and a green run ended with a logging traceback."""
    if "prefect.server.api.server" not in sys.modules:
        return
    from prefect.server.api.server import SubprocessASGIServer

    for server in list(SubprocessASGIServer._instances.values()):
        server.stop()
    # What Prefect's log and event services still hold (see drain_prefect_services) fails
    # from here on, and each failure would be a traceback on the closed output.
    logging.disable(logging.CRITICAL)


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[str]:
    """A throwaway Prefect API (SQLite) for the flows under test, once per session; its URL,
    for flow runs started in other processes."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    # The throwaway API is SQLite: under load it answers 503 while the file is locked (seen
    # once in CI with two CLI runs of chunk size 1). Clients retry 503; the runs started in
    # other processes get twice Prefect's default retries.
    os.environ.setdefault("PREFECT_CLIENT_MAX_RETRIES", "10")
    with prefect_test_harness(server_startup_timeout=120):
        yield str(PREFECT_API_URL.value())
        drain_prefect_services(timeout=5)


def drain_prefect_services(timeout: float) -> None:
    """Gives the logs and events Prefect still holds at most `timeout` to be sent. The
    flows under test make them faster than the services send them (an event of a task run
    waited 7 min in its queue, 4,638 behind it, 2026-12-06), and the harness drains them
    with no bound: a worker held the session at its last test for minutes. Drained here,
    they leave the harness nothing to wait for. No test reads them after the last test."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    # Their items that fail now are the test API's own, and would print on a green run.
    logging.getLogger("prefect._internal.concurrency").disabled = True
    for service in (APILogWorker, EventsWorker):
        service.drain_all(timeout=timeout)


#: The two ways a deployment gives the services their logins (issue 15, item 3): a password
#: per service role, or `DATABASE_URL` alone (the owner login, each session taking its
#: service's role when it starts).
SERVICE_CONFIGURATIONS = ("service-passwords", "database-url-only")


@pytest.fixture(params=SERVICE_CONFIGURATIONS)
def service_configuration(
    request: pytest.FixtureRequest, test_env: dict[str, str]
) -> Iterator[str]:
    """Run the test in each configuration: `database-url-only` unsets every
    `<SERVICE>_DB_PASSWORD` and `REPORTING_DB_PASSWORD` for the test's duration."""
    saved = {var: os.environ.get(var) for var in test_env}
    if request.param == "database-url-only":
        for var in test_env:
            os.environ.pop(var, None)
    reset_settings()
    try:
        yield str(request.param)
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
        reset_settings()


@pytest.fixture
def backup_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """CLAIMS_ASKES_BACKUP_DIR set to a directory of the test's own (not created yet)."""
    directory = tmp_path / "backups"
    monkeypatch.setenv("CLAIMS_ASKES_BACKUP_DIR", str(directory))
    reset_settings()
    yield directory
    monkeypatch.delenv("CLAIMS_ASKES_BACKUP_DIR")
    reset_settings()


def terminal_width(monkeypatch: pytest.MonkeyPatch, columns: int) -> None:
    """The CLI's console is made at import, so a COLUMNS given to CliRunner never reaches it:
    set its width for this test (a table from 160 columns, blocks below)."""
    from claims_askes.cli.common import console

    monkeypatch.setattr(console, "_width", columns)
