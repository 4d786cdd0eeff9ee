"""`claims-askes db ...`: the local server, migrations and connection URLs."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from claims_askes.cli.common import console, user_errors


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
    console.print(f"local server running on 127.0.0.1:{server.port} (data: {server.data_dir})")


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
        table.add_row(key, str(value))
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
        migrate.upgrade(target=target, progress=lambda s: status.update(f"migrating {s}"))
    console.print("database migrated: " + json.dumps(migrate.current()))


@user_errors
def db_downgrade(
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this drops every table.")] = False,
) -> None:
    """Undo every migration (drops all data). Login roles are kept."""
    from claims_askes.db import migrate

    if not yes:
        typer.confirm("This drops every schema and all their data. Continue?", abort=True)
    with console.status("downgrading") as status:
        migrate.downgrade(progress=lambda s: status.update(f"downgrading {s}"))
    console.print("every schema downgraded and dropped")


@user_errors
def db_current() -> None:
    """Show the applied migration of each schema."""
    from claims_askes.db import migrate

    table = Table("schema", "revision")
    for schema, revision in migrate.current().items():
        table.add_row(schema, revision or "-")
    console.print(table)
