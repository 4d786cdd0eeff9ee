"""`claims-askes db ...`: the local server, migrations and connection URLs."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from claims_askes.cli.common import console, err_console, error_line, plain, shown, user_errors


def _settings() -> Any:
    from claims_askes.core.settings import get_settings

    return get_settings()


def _local_server(start: bool) -> Any:
    from claims_askes.core.errors import ConfigError
    from claims_askes.db.connections import local_server, uses_local_server

    settings = _settings()
    if not uses_local_server(settings):
        raise ConfigError(
            "DATABASE_URL: set, so the local server is not used; unset it to manage the local one"
        )
    return local_server(settings, start=start)


@user_errors
def db_start() -> None:
    """Start the local PostgreSQL server (initialising it on first use)."""
    server = _local_server(start=True)
    console.print(
        f"local server running on 127.0.0.1:{server.port} (data: {shown(server.data_dir)})"
    )


@user_errors
def db_stop() -> None:
    """Stop the local PostgreSQL server."""
    server = _local_server(start=False)
    server.stop()
    console.print("local server stopped")


@user_errors
def db_status() -> None:
    """Show whether the local server runs, where its data lives and its version."""
    server = _local_server(start=False)
    table = Table(show_header=False, box=None)
    for key, value in server.status().items():
        table.add_row(shown(key), shown(value))
    console.print(table)


@user_errors
def db_url(
    service: Annotated[
        str | None,
        typer.Option(
            help="A service key (claims, member, ...): its own URL instead of the admin one."
        ),
    ] = None,
) -> None:
    """Print the connection URL (admin by default), e.g. `psql "$(claims-askes db url)"`."""
    from claims_askes.db.connections import admin_url, service_url

    typer.echo(service_url(service) if service else admin_url())


@user_errors
def db_upgrade(
    target: Annotated[str, typer.Option(help="Alembic target revision of every schema.")] = "head",
) -> None:
    """Apply every schema's migrations in dependency order and set the roles' passwords."""
    from claims_askes.db import migrate

    with console.status("migrating") as status:
        migrate.upgrade(target=target, progress=lambda s: status.update(f"migrating {shown(s)}"))
    console.print("database migrated: " + shown(json.dumps(migrate.current())))


@user_errors
def db_downgrade(
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this drops every table.")] = False,
) -> None:
    """Undo every migration (drops all data). Login roles are kept."""
    from claims_askes.db import migrate

    if not yes:
        typer.confirm("This drops every schema and all their data. Continue?", abort=True)
    with console.status("downgrading") as status:
        migrate.downgrade(progress=lambda s: status.update(f"downgrading {shown(s)}"))
    console.print("every schema downgraded and dropped")


@user_errors
def db_current() -> None:
    """Show the applied migration of each schema."""
    from claims_askes.db import migrate

    table = Table("schema", "revision")
    for schema, revision in migrate.current().items():
        table.add_row(shown(schema), shown(revision or "-"))
    console.print(table)


@user_errors
def db_check_privileges() -> None:
    """Print what each service's session may do, as PostgreSQL enforces it in the current
    configuration; exit 1 naming anything beyond a service's contract (its own schema, and
    reading `common`)."""
    from claims_askes.db import privileges

    sessions = privileges.session_matrix(_settings())
    width = max(len(schema) for f in sessions for schema in f.schemas)
    for found in sessions:
        allowed = privileges.contract(found.service)
        typer.echo(
            f"{plain(found.service.key)}: session role {plain(found.current_user)} "
            f"(login {plain(found.session_user)})"
        )
        for schema, granted in sorted(found.schemas.items()):
            if not granted:
                continue
            ok = [p for p in privileges.PRIVILEGES if p in granted and p in allowed.get(schema, ())]
            extra = [p for p in privileges.PRIVILEGES if p in granted and p not in ok]
            line = f"  {plain(schema):<{width}}  {' '.join(ok)}"
            if extra:
                line += f"  EXCESS: {' '.join(extra)}"
            typer.echo(line.rstrip())
    problems = [line for found in sessions for line in privileges.excess(found)]
    shared = sorted({f.service.key for f in sessions if f.session_user != f.current_user})
    if shared:
        console.print(
            "note: "
            + shown(", ".join(shared))
            + " take their role at session start from the owner login (no <SERVICE>_DB_PASSWORD):"
            " least privilege holds, but such a session could SET ROLE back; per-service"
            " passwords are the strict configuration",
            highlight=False,
        )
    if problems:
        for line in problems:
            err_console.print(error_line(f"excess privilege: {line}"), highlight=False)
        raise typer.Exit(1)
    console.print(f"every service within its contract ({len(sessions)} sessions checked)")


@user_errors
def db_member_token(
    member_id: Annotated[str, typer.Argument(help="The member's id (a UUID).")],
    minutes: Annotated[
        int, typer.Option(min=1, max=24 * 60, help="Minutes until the token expires.")
    ] = 15,
) -> None:
    """Mint a token binding a member-facing session (member_portal_user) to one member:
    `SELECT member_service.bind_member_session('<token>')`. Needs the admin connection."""
    from datetime import timedelta
    from uuid import UUID

    from claims_askes.core.errors import ConfigError
    from claims_askes.db.member_tokens import mint_member_token

    try:
        member = UUID(member_id)
    except ValueError:
        raise ConfigError("MEMBER_ID: not a UUID") from None
    typer.echo(mint_member_token(member, ttl=timedelta(minutes=minutes), settings=_settings()))
