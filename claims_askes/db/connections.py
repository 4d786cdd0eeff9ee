"""Connections: one per service, with its own URL and login role.

Resolution for service S (e.g. `claims`):
1. `S_DATABASE_URL` if set (the service may live on a server of its own);
2. with `DATABASE_URL` set: that URL with S's role and `S_DB_PASSWORD` when the password is set
   (the strict configuration: the session can never be anything but S's role); else
   `DATABASE_URL`'s owner login taking S's role at session start (libpq option
   `-c role=<S's role>`, the owner being a member of every service role): least privilege and
   row-level security hold, but the session could `SET ROLE` back to the owner, so it guards
   against mistakes, not against hostile code. Only `CLAIMS_ASKES_SERVICES_AS_OWNER=yes-i-know`
   runs S as the owner itself, with a warning on stderr;
3. with nothing set: the embedded local server, as S's role with its generated password
   (which must exist: only `claims-askes db start` creates it, see `local_server`).

The admin connection (migrations, partitions, backups) is `DATABASE_URL` or the local superuser.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg

from claims_askes.core.services import REPORTING_ROLE, service
from claims_askes.core.settings import Settings, get_settings
from claims_askes.db.localserver import LocalServer

_warned_as_owner: set[str] = set()


_started: set[tuple[str, str, int, str]] = set()


def local_server(settings: Settings | None = None, *, start: bool | None = None) -> LocalServer:
    """The local server of these settings.

    - `start=True` (`claims-askes db start`, and `demo` through it): started, and what is
      missing created: the cluster under CLAIMS_ASKES_HOME, the database
      CLAIMS_ASKES_DATABASE.
    - default (every other command, through the URLs below): an existing cluster is
      started if stopped; a missing cluster or database is refused in one line naming the
      setting, so a mistyped setting never creates one.
    - `start=False`: as it is (status, stop).

    Started at most once per process."""
    server = LocalServer.from_settings(settings or get_settings())
    key = (str(server.home), str(server.bin_dir), server.port, server.database)
    if start is not False and key not in _started:
        server.start(create=start is True)
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


def with_options(url: str, options: str) -> str:
    """`url` with libpq `options` (e.g. `-c role=x`) added after any it already has."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    given = " ".join(v for k, v in query if k == "options")
    merged = f"{given} {options}".strip()
    query = [(k, v) for k, v in query if k != "options"] + [("options", merged)]
    return urlunsplit(
        (parts.scheme, parts.netloc, parts.path, urlencode(query, quote_via=quote), parts.fragment)
    )


def with_session_role(url: str, role: str) -> str:
    """`url` (an owner login) whose sessions take `role` when they start: PostgreSQL applies
    the `role` setting of the startup packet before the first statement."""
    if not role.replace("_", "").isalnum():  # our role names; nothing that needs quoting
        raise ValueError(f"unexpected role name {role!r}")
    return with_options(url, f"-c role={role}")


def _warn_services_as_owner(key: str) -> None:
    import sys

    if key not in _warned_as_owner:
        _warned_as_owner.add(key)
        print(
            f"WARNING: CLAIMS_ASKES_SERVICES_AS_OWNER=yes-i-know: the {key} service connects as "
            "the database owner: no least privilege, no row-level security",
            file=sys.stderr,
        )


def service_url(key: str, settings: Settings | None = None) -> str:
    """The URL service `key` connects with; its sessions are the service's role in every
    configuration but the explicit CLAIMS_ASKES_SERVICES_AS_OWNER (see the module doc)."""
    settings = settings or get_settings()
    svc = service(key)
    explicit = settings.service_url(svc.key)
    if explicit:
        return explicit
    if settings.database_url is None:
        return local_server(settings).url(role=svc.role)
    base = settings.database_url.get_secret_value()
    password = settings.service_password(svc.key)
    if password:
        return with_credentials(base, svc.role, password)
    if settings.services_as_owner:
        _warn_services_as_owner(svc.key)
        return base
    return with_session_role(base, svc.role)


def reporting_url(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    if settings.reporting_database_url is not None:
        return settings.reporting_database_url.get_secret_value()
    if settings.database_url is None:
        return local_server(settings).url(role=REPORTING_ROLE)
    password = settings.reporting_db_password
    if password is None:
        # As the services: the owner login taking reporting_user's role at session start.
        return with_session_role(settings.database_url.get_secret_value(), REPORTING_ROLE)
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
    # Options are added to the URL's own (which may carry the session's role), never
    # replace them.
    return psycopg.connect(
        with_options(url, options) if options else url,
        autocommit=autocommit,
        application_name=f"claims-askes:{application}",
        connect_timeout=15,
    )


@contextmanager
def service_connection(
    key: str, *, autocommit: bool = False, settings: Settings | None = None
) -> Iterator[psycopg.Connection]:
    """A connection as the service's own role; commits on success, rolls back on error."""
    svc = service(key)
    conn = connect_url(service_url(svc.key, settings), application=svc.key, autocommit=autocommit)
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
