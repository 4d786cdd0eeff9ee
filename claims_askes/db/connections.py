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

Servers (`servers()`): with `OTHER_DATABASE_URLS` set, the services live on more than one
server. Each further admin URL holds the services whose `S_DATABASE_URL` names its host,
port and database; `DATABASE_URL` holds every other service. Each server also holds `common`
and `audit`, which every service needs; `DATABASE_URL`'s must hold the claims service
(partitions and archiving use the admin connection). Without `OTHER_DATABASE_URLS` there is
one server, `DATABASE_URL` (or the local server), holding every schema, as always.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg

from claims_askes.core.errors import ConfigError
from claims_askes.core.services import (
    MIGRATION_ORDER,
    REPORTING_ROLE,
    SERVICES,
    SHARED_SCHEMAS,
    service,
)
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
    """`DATABASE_URL` (or the local server's superuser URL); inside `on_server(s)`, the
    admin URL of server `s`, so that one operation (a backup, a health check) covers it."""
    chosen = _chosen_server.get()
    if chosen is not None:
        return chosen.admin_url
    return _configured_admin_url(settings)


def _configured_admin_url(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return local_server(settings).url()


@dataclass(frozen=True)
class Server:
    """One PostgreSQL database of the deployment: its admin URL and the schemas it holds
    (`common` and `audit` on every one), in migration order."""

    admin_url: str
    schemas: tuple[str, ...]

    @property
    def name(self) -> str:
        """host:port/database, for reports and backup sets (never the credentials)."""
        host, port, database = location(self.admin_url)
        return f"{host}:{port}/{database}"

    @property
    def services(self) -> tuple[str, ...]:
        """The keys of the services whose schema is here."""
        return tuple(s.key for s in SERVICES if s.schema in self.schemas)


def location(url: str) -> tuple[str, int, str]:
    """(host, port, database) of a URL: which server and database it names."""
    parts = urlsplit(url)
    return ((parts.hostname or "localhost").lower(), parts.port or 5432, database_of(url))


def servers(settings: Settings | None = None) -> list[Server]:
    """Every server in use, `DATABASE_URL`'s (the local server's) first. A service whose
    own URL names the location of an `OTHER_DATABASE_URLS` entry is on that server; every
    other service stays on the first, as in the one-server configuration."""
    settings = settings or get_settings()
    first = _configured_admin_url(settings)
    others = settings.other_database_urls
    extra = others.get_secret_value().split() if others else []
    by_location = {location(url): url for url in extra}
    if len(by_location) < len(extra) or location(first) in by_location:
        raise ConfigError("OTHER_DATABASE_URLS: each server must be named once")
    placed: dict[str, set[str]] = {url: set(SHARED_SCHEMAS) for url in [first, *extra]}
    for svc in SERVICES:
        own = settings.service_url(svc.key)
        home = by_location.get(location(own)) if own else None
        placed[home or first].add(svc.schema)
    if "claims_service" not in placed[first]:
        # Partition maintenance and archiving work on claims_service and archive through
        # the admin connection: DATABASE_URL.
        raise ConfigError("DATABASE_URL: must be the claims service's server")
    out = []
    for url, schemas in placed.items():
        if url != first and schemas == set(SHARED_SCHEMAS):
            raise ConfigError(
                f"OTHER_DATABASE_URLS: no <SERVICE>_DATABASE_URL names {Server(url, ()).name}"
            )
        ordered = [s for s in MIGRATION_ORDER if s in schemas]
        if "claims_service" in schemas:  # the claims service owns `archive`
            ordered.append("archive")
        out.append(Server(url, tuple(ordered)))
    return out


def server_of(schema: str, settings: Settings | None = None) -> Server:
    """The server holding `schema` (`common` and `audit`: the first, `DATABASE_URL`'s)."""
    found = [s for s in servers(settings) if schema in s.schemas]
    return found[0]


def is_split(settings: Settings | None = None) -> bool:
    """Whether the services live on more than one server (`OTHER_DATABASE_URLS` set)."""
    return (settings or get_settings()).other_database_urls is not None


_chosen_server: ContextVar[Server | None] = ContextVar("claims_askes_server", default=None)


@contextmanager
def on_server(server: Server) -> Iterator[Server]:
    """Admin work inside this block (`admin_url`, `admin_connection`) goes to `server`."""
    token = _chosen_server.set(server)
    try:
        yield server
    finally:
        _chosen_server.reset(token)


def current_server(settings: Settings | None = None) -> Server:
    """The server admin work goes to now: `on_server`'s, else the first."""
    return _chosen_server.get() or servers(settings)[0]


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
