"""Two PostgreSQL servers, as a deployment whose services live on servers of their own.

Server A is the session's first server (`cluster`, tests/conftest.py); server B is a second
one started the same way. A holds claims, payment, document and notification; B holds
member, provider, benefit, policy and authorization; both hold `common` and `audit`. The
configuration is the documented one: `DATABASE_URL` is A's admin URL, `OTHER_DATABASE_URLS`
B's, and every service has its `<SERVICE>_DATABASE_URL` (its own role and password on its
server). Each server gets a template migrated through `claims-askes db upgrade`'s code, and
each test a fresh database from each template.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from claims_askes.core.services import SERVICES
from claims_askes.core.settings import reset_settings
from claims_askes.db import migrate
from claims_askes.db.connections import with_credentials, with_database
from claims_askes.db.localserver import LocalServer, embedded_bin_dir, free_port
from tests.conftest import Cluster, TestDatabase, _create_database, drop_database

SERVER_A_SERVICES = ("claims", "payment", "document", "notification")
SERVER_B_SERVICES = ("member", "provider", "benefit", "policy", "authorization")
TEMPLATE_A = "claims_askes_split_a"
TEMPLATE_B = "claims_askes_split_b"
#: Every variable the split configuration sets; restored after each use.
SPLIT_VARIABLES = ("DATABASE_URL", "OTHER_DATABASE_URLS", *(s.url_variable for s in SERVICES))


@dataclass
class SplitDatabase:
    """One test's pair of databases: `a` on server A, `b` on server B."""

    a: TestDatabase = field(repr=False)
    b: TestDatabase = field(repr=False)

    def on(self, schema: str) -> TestDatabase:
        """The database holding `schema` (its service's server; `common`, `audit`: A's)."""
        owner = schema.removesuffix("_service")
        return self.b if owner in SERVER_B_SERVICES else self.a


def split_environment(url_a: str, url_b: str, passwords: dict[str, str]) -> dict[str, str | None]:
    """The variables of the split: admin URLs and every service's own URL on its server."""
    env: dict[str, str | None] = {"DATABASE_URL": url_a, "OTHER_DATABASE_URLS": url_b}
    for s in SERVICES:
        home = url_a if s.key in SERVER_A_SERVICES else url_b
        env[s.url_variable] = with_credentials(home, s.role, passwords[s.role])
    return env


def one_server_environment(url: str) -> dict[str, str | None]:
    """The one-server configuration of the same variables: `DATABASE_URL` alone."""
    return {var: url if var == "DATABASE_URL" else None for var in SPLIT_VARIABLES}


@contextlib.contextmanager
def environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """The variables set (None: unset), every other left as it is; then restored."""
    saved = {var: os.environ.get(var) for var in SPLIT_VARIABLES}
    for var, value in values.items():
        if value is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = value
    reset_settings()
    try:
        yield
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
        reset_settings()


@pytest.fixture(scope="session")
def cluster_b(test_env: dict[str, str]) -> Iterator[Cluster]:
    """Server B: a second server on a port of its own, started like the first."""
    home = Path(tempfile.mkdtemp(prefix="claims-askes-test-b-"))
    bin_dir = Path(os.environ.get("CLAIMS_ASKES_PG_BIN_DIR") or embedded_bin_dir())
    server = LocalServer(
        home=home, bin_dir=bin_dir, port=free_port(), database="postgres", fast_unsafe=True
    )
    server.start()
    try:
        # The roles' passwords are those of the first server: `db upgrade` sets the same
        # <SERVICE>_DB_PASSWORD on every server.
        yield Cluster(admin_url=server.url(database="postgres"), passwords={})
    finally:
        server.destroy()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def split_templates(cluster: Cluster, cluster_b: Cluster) -> Iterator[tuple[str, str]]:
    """A template on each server, migrated by `migrate.upgrade()` in the split's
    configuration: each gets only its own services' schemas."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    names = (f"{TEMPLATE_A}_{worker}", f"{TEMPLATE_B}_{worker}")
    _create_database(cluster.admin_url, names[0])
    _create_database(cluster_b.admin_url, names[1])
    url_a = with_database(cluster.admin_url, names[0])
    url_b = with_database(cluster_b.admin_url, names[1])
    with environment(split_environment(url_a, url_b, cluster.passwords)):
        migrate.upgrade()
    yield names
    drop_database(cluster.admin_url, names[0])
    drop_database(cluster_b.admin_url, names[1])


@contextlib.contextmanager
def fresh_split(
    cluster: Cluster, cluster_b: Cluster, templates: tuple[str, str]
) -> Iterator[SplitDatabase]:
    """A database from each template, with the split's variables pointing at them."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    _create_database(cluster.admin_url, name, template=templates[0])
    _create_database(cluster_b.admin_url, name, template=templates[1])
    url_a = with_database(cluster.admin_url, name)
    url_b = with_database(cluster_b.admin_url, name)
    b_cluster = Cluster(admin_url=cluster_b.admin_url, passwords=cluster.passwords)
    for url in (url_a, url_b):
        with psycopg.connect(url, autocommit=True) as conn:
            migrate.grant_database_access(conn)
    try:
        with environment(split_environment(url_a, url_b, cluster.passwords)):
            yield SplitDatabase(
                a=TestDatabase(name=name, url=url_a, cluster=cluster),
                b=TestDatabase(name=name, url=url_b, cluster=b_cluster),
            )
    finally:
        drop_database(cluster.admin_url, name)
        drop_database(cluster_b.admin_url, name)


@pytest.fixture
def split_db(
    cluster: Cluster, cluster_b: Cluster, split_templates: tuple[str, str]
) -> Iterator[SplitDatabase]:
    """A fresh pair of migrated databases for this test, configured as the split."""
    with fresh_split(cluster, cluster_b, split_templates) as split:
        yield split
