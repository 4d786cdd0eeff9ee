"""Per-service Alembic migrations, applied in dependency order.

Each folder `migrations/<schema>/` is its own Alembic environment whose version table
lives in that schema, so a service can be migrated (and later moved to a server of its
own) independently. Revision scripts are thin: their SQL is in `migrations/<schema>/sql/`.

Without a URL, `upgrade`, `downgrade` and `current` work on every server in use
(`claims_askes.db.connections.servers`): each server gets `common`, `audit` and the
schemas of its own services, and the login roles with their passwords and grants.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

from claims_askes.core.services import (
    ALL_SCHEMAS,
    MEMBER_PORTAL_ROLE,
    MIGRATION_ORDER,
    REPORTING_ROLE,
    SERVICES,
)
from claims_askes.core.settings import Settings, get_settings
from claims_askes.db.connections import (
    Server,
    admin_url,
    servers,
    sqlalchemy_url,
    uses_local_server,
)

if TYPE_CHECKING:  # Alembic is imported where it runs: flows import this module for its grants
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
Progress = Callable[[str], None]


def alembic_config(schema: str, url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR / schema))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    cfg.attributes["schema"] = schema
    return cfg


def run_sql_file(path: Path) -> None:
    """Execute a migration's SQL file (several statements) on Alembic's connection."""
    from alembic import op

    # The raw psycopg connection: no parameters, so `%` and several statements are fine.
    driver = op.get_bind().connection.driver_connection
    assert driver is not None
    driver.execute(path.read_text())


def sql_path(revision_file: str, name: str) -> Path:
    return Path(revision_file).resolve().parent.parent / "sql" / name


def _targets(url: str | None) -> list[Server]:
    """The given URL as one server with every schema, else every server in use."""
    if url:
        return [Server(url, (*MIGRATION_ORDER, "archive"))]
    return servers()


def upgrade(url: str | None = None, target: str = "head", progress: Progress | None = None) -> None:
    """Migrate every schema, shared ones first, each on its server; then set the service
    roles' passwords there."""
    from alembic import command

    for server in _targets(url):
        for schema in (s for s in server.schemas if s in MIGRATION_ORDER):
            if progress:
                progress(schema)
            command.upgrade(alembic_config(schema, server.admin_url), target)
        provision_roles(server.admin_url)


def downgrade(url: str | None = None, progress: Progress | None = None) -> None:
    """Undo every migration, last schema first, and drop the emptied schemas, on each server.

    Login roles are cluster-wide and may serve other databases, so they are kept.
    """
    from alembic import command

    for server in _targets(url):
        for schema in reversed([s for s in server.schemas if s in MIGRATION_ORDER]):
            if progress:
                progress(schema)
            command.downgrade(alembic_config(schema, server.admin_url), "base")
        with psycopg.connect(server.admin_url, autocommit=True) as conn:
            for schema in reversed([s for s in ALL_SCHEMAS if s in server.schemas]):
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                )


def current(url: str | None = None) -> dict[str, str | None]:
    """The applied revision of each schema (None = not migrated), read on its server; on a
    split, `common` and `audit` are those of the first server (`DATABASE_URL`)."""
    out: dict[str, str | None] = {}
    for server in reversed(_targets(url)):  # the first server's shared schemas win
        with psycopg.connect(server.admin_url) as conn:
            for schema in (s for s in MIGRATION_ORDER if s in server.schemas):
                out[schema] = _revision(conn, schema)
    return {schema: out.get(schema) for schema in MIGRATION_ORDER}


def _revision(conn: psycopg.Connection, schema: str) -> str | None:
    exists = conn.execute("SELECT to_regclass(%s)", (f"{schema}.alembic_version",)).fetchone()
    if not exists or exists[0] is None:
        return None
    row = conn.execute(
        sql.SQL("SELECT version_num FROM {}.alembic_version").format(sql.Identifier(schema))
    ).fetchone()
    return row[0] if row else None


def role_passwords(settings: Settings | None = None) -> dict[str, str]:
    """Passwords to set on the login roles: generated ones for the local server,
    else those given in the environment (a role without one keeps what it has)."""
    settings = settings or get_settings()
    if uses_local_server(settings):
        from claims_askes.db.connections import local_server

        secrets = local_server(settings).secrets()
        return {role: pw for role, pw in secrets.items() if role != "postgres"}
    out = {s.role: pw for s in SERVICES if (pw := settings.service_password(s.key))}
    if settings.reporting_db_password:
        out[REPORTING_ROLE] = settings.reporting_db_password.get_secret_value()
    return out


def provision_roles(url: str, settings: Settings | None = None) -> None:
    """Set role passwords, make the admin login a member of the service roles and grant
    database-level access (not copied by CREATE DATABASE)."""
    with psycopg.connect(url, autocommit=True) as conn:
        for role, password in role_passwords(settings).items():
            conn.execute(
                sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )
        grant_session_roles(conn)
        grant_database_access(conn)


def grant_session_roles(conn: psycopg.Connection) -> None:
    """Make this (admin) login a member of every service role and reporting_user, so that a
    service without a password of its own connects with the admin's credentials and takes
    its role at session start (`claims_askes.db.connections.with_session_role`). A
    superuser may take any role already."""
    row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    if row and row[0]:
        return
    for role in [s.role for s in SERVICES] + [REPORTING_ROLE]:
        member = conn.execute("SELECT pg_has_role(current_user, %s, 'MEMBER')", (role,)).fetchone()
        if member and member[0]:
            continue
        conn.execute(
            sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), sql.Identifier(_current(conn)))
        )


def _current(conn: psycopg.Connection) -> str:
    row = conn.execute("SELECT current_user").fetchone()
    assert row is not None
    return str(row[0])


def grant_database_access(conn: psycopg.Connection) -> None:
    """Only our roles may connect; services may use temporary tables (set-based writes
    stage their rows in one), reporting may not."""
    db = conn.execute("SELECT current_database()").fetchone()
    assert db is not None
    ident = sql.Identifier(db[0])
    conn.execute(sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(ident))
    services = sql.SQL(", ").join(sql.Identifier(s.role) for s in SERVICES)
    conn.execute(sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(ident, services))
    conn.execute(
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(ident, sql.Identifier(REPORTING_ROLE))
    )
    # The member-facing role (member_service 0003); CONNECT only, no temporary tables.
    portal = conn.execute("SELECT to_regrole(%s) IS NOT NULL", (MEMBER_PORTAL_ROLE,)).fetchone()
    if portal and portal[0]:
        conn.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                ident, sql.Identifier(MEMBER_PORTAL_ROLE)
            )
        )


def run_env() -> None:
    """Body of every `migrations/<schema>/env.py`: online migrations of one schema,
    with its version table inside that schema."""
    from alembic import context
    from sqlalchemy import create_engine, pool, text

    config = context.config
    schema = (
        config.attributes.get("schema")
        or Path(config.get_main_option("script_location") or "").name
    )
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        url = sqlalchemy_url(admin_url())
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        connection.commit()
        context.configure(
            connection=connection,
            target_metadata=None,
            version_table_schema=schema,
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()
