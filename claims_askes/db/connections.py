"""Connections: one per service, with its own URL and login role.

Resolution for service S (e.g. `claims`):
1. `S_DATABASE_URL` if set (the service may live on a server of its own);
2. with `DATABASE_URL` set: that URL with S's role and `S_DB_PASSWORD` when the password is set,
   else `DATABASE_URL` itself (one owner login for everything: simple, but no least privilege);
3. with nothing set: the embedded local server, as S's role with its generated password.

The admin connection (migrations, partitions, backups) is `DATABASE_URL` or the local superuser.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg

from claims_askes.core.services import REPORTING_ROLE, service
from claims_askes.core.settings import Settings, get_settings
from claims_askes.db.localserver import LocalServer

# member_service.member has row-level security: batch sessions declare their purpose.
SESSION_OPTIONS = {"member": "-c claims_askes.access=batch"}


_started: set[tuple[str, str, int, str]] = set()


def local_server(settings: Settings | None = None, *, start: bool = True) -> LocalServer:
    """The local server of these settings, started (once per process) when `start`."""
    server = LocalServer.from_settings(settings or get_settings())
    key = (str(server.home), str(server.bin_dir), server.port, server.database)
    if start and key not in _started:
        server.start()
        _started.add(key)
    return server


def uses_local_server(settings: Settings | None = None) -> bool:
    return (settings or get_settings()).database_url is None


def with_credentials(url: str, user: str, password: str | None) -> str:
    """`url` with its user (and password) replaced, everything else kept."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port:
        host = f"{host}:{parts.port}"
    auth = quote(user, safe="")
    if password is not None:
        auth += ":" + quote(password, safe="")
    return urlunsplit((parts.scheme, f"{auth}@{host}", parts.path, parts.query, parts.fragment))


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def database_of(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def admin_url(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return local_server(settings).url()


def service_url(key: str, settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    svc = service(key)
    explicit = settings.service_url(svc.key)
    if explicit:
        return explicit
    if settings.database_url is None:
        return local_server(settings).url(role=svc.role)
    base = settings.database_url.get_secret_value()
    password = settings.service_password(svc.key)
    return with_credentials(base, svc.role, password) if password else base


def reporting_url(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    if settings.reporting_database_url is not None:
        return settings.reporting_database_url.get_secret_value()
    if settings.database_url is None:
        return local_server(settings).url(role=REPORTING_ROLE)
    password = settings.reporting_db_password
    if password is None:
        from claims_askes.core.errors import ConfigError

        raise ConfigError("REPORTING_DB_PASSWORD: required for the reporting connection")
    return with_credentials(
        settings.database_url.get_secret_value(), REPORTING_ROLE, password.get_secret_value()
    )


def sqlalchemy_url(url: str) -> str:
    """The same URL for SQLAlchemy's psycopg 3 dialect."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def connect_url(
    url: str, *, application: str, options: str = "", autocommit: bool = False
) -> psycopg.Connection:
    return psycopg.connect(
        url,
        autocommit=autocommit,
        application_name=f"claims-askes:{application}",
        options=options or None,
        connect_timeout=15,
    )


@contextmanager
def service_connection(
    key: str, *, autocommit: bool = False, settings: Settings | None = None
) -> Iterator[psycopg.Connection]:
    """A connection as the service's own role; commits on success, rolls back on error."""
    svc = service(key)
    conn = connect_url(
        service_url(svc.key, settings),
        application=svc.key,
        options=SESSION_OPTIONS.get(svc.key, ""),
        autocommit=autocommit,
    )
    try:
        with conn:
            yield conn
    finally:
        conn.close()


@contextmanager
def admin_connection(
    *, autocommit: bool = False, settings: Settings | None = None, database: str | None = None
) -> Iterator[psycopg.Connection]:
    url = admin_url(settings)
    if database:
        url = with_database(url, database)
    conn = connect_url(url, application="admin", autocommit=autocommit)
    try:
        with conn:
            yield conn
    finally:
        conn.close()
