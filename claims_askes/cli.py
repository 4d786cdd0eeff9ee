"""`claims-askes`: the command line of the batch platform.

Every command uses the embedded local server unless DATABASE_URL is set; errors a user can
act on are printed as one line (exit code 2), never as a traceback.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from claims_askes.errors import ClaimsAskesError

app = typer.Typer(
    help="Claims-Askes batch pipelines: local database, migrations, demo data and flows.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The database: local server, migrations, connection URLs.",
                     no_args_is_help=True)
app.add_typer(db_app, name="db")

console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def user_errors(fn: F) -> F:
    """Print a ClaimsAskesError as one red line and exit 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ClaimsAskesError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def _settings() -> Any:
    from claims_askes.settings import get_settings

    return get_settings()


def _local_server(start: bool) -> Any:
    from claims_askes.db import local_server, uses_local_server
    from claims_askes.errors import ConfigError

    settings = _settings()
    if not uses_local_server(settings):
        raise ConfigError(
            "DATABASE_URL: set, so the local server is not used; unset it to manage the local one"
        )
    return local_server(settings, start=start)


@db_app.command("start")
@user_errors
def db_start() -> None:
    """Start the local PostgreSQL server (initialising it on first use)."""
    server = _local_server(start=True)
    console.print(f"local server running on 127.0.0.1:{server.port} (data: {server.data_dir})")


@db_app.command("stop")
@user_errors
def db_stop() -> None:
    """Stop the local PostgreSQL server."""
    server = _local_server(start=False)
    server.stop()
    console.print("local server stopped")


@db_app.command("status")
@user_errors
def db_status() -> None:
    """Show whether the local server runs, where its data lives and its version."""
    server = _local_server(start=False)
    table = Table(show_header=False, box=None)
    for key, value in server.status().items():
        table.add_row(key, str(value))
    console.print(table)


@db_app.command("url")
@user_errors
def db_url(
    service: Annotated[str | None, typer.Option(help="A service key (claims, member, ...): "
                                                     "its own URL instead of the admin one.")]
    = None,
) -> None:
    """Print the connection URL (admin by default), e.g. `psql "$(claims-askes db url)"`."""
    from claims_askes.db import admin_url, service_url

    typer.echo(service_url(service) if service else admin_url())


@db_app.command("upgrade")
@user_errors
def db_upgrade(
    target: Annotated[str, typer.Option(help="Alembic target revision of every schema.")]
    = "head",
) -> None:
    """Apply every schema's migrations in dependency order and set the roles' passwords."""
    from claims_askes import migrate

    with console.status("migrating") as status:
        migrate.upgrade(target=target, progress=lambda s: status.update(f"migrating {s}"))
    console.print("database migrated: " + json.dumps(migrate.current()))


@db_app.command("downgrade")
@user_errors
def db_downgrade(
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this drops every table.")]
    = False,
) -> None:
    """Undo every migration (drops all data). Login roles are kept."""
    from claims_askes import migrate

    if not yes:
        typer.confirm("This drops every schema and all their data. Continue?", abort=True)
    with console.status("downgrading") as status:
        migrate.downgrade(progress=lambda s: status.update(f"downgrading {s}"))
    console.print("every schema downgraded and dropped")


@db_app.command("current")
@user_errors
def db_current() -> None:
    """Show the applied migration of each schema."""
    from claims_askes import migrate

    table = Table("schema", "revision")
    for schema, revision in migrate.current().items():
        table.add_row(schema, revision or "-")
    console.print(table)


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console,
    )


@app.command("seed")
@user_errors
def seed(
    members: Annotated[int, typer.Option(min=1, help="Number of members.")] = 1000,
    claims: Annotated[int, typer.Option(min=1, help="Number of claims (1-5 lines each).")]
    = 10000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data.")]
    = 42,
) -> None:
    """Load deterministic Indonesian demo data into a migrated database (with COPY)."""
    from claims_askes.seed import seed_demo_data

    tasks: dict[str, Any] = {}
    with progress_bar() as bar:

        def advance(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total)
            bar.update(tasks[step], completed=done, total=total)

        report = seed_demo_data(members=members, claims=claims, seed=seed, progress=advance)
    table = Table("table", "rows", title=f"demo data in {report.elapsed_seconds:.1f} s")
    for name, rows in report.row_counts.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)


def recreate_database(yes: bool) -> None:
    """Drop and create the configured database (the demo starts from nothing)."""
    import psycopg
    from psycopg import sql

    from claims_askes.db import admin_url, database_of, uses_local_server, with_database
    from claims_askes.errors import ConfigError

    if not uses_local_server() and not yes:
        raise ConfigError("DATABASE_URL: set; `demo` would drop that database. "
                          "Pass --yes to confirm, or --keep to load into it as it is")
    url = admin_url()
    name = database_of(url)
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


@app.command("demo")
@user_errors
def demo(
    members: Annotated[int, typer.Option(min=1, help="Demo members.")] = 2000,
    claims: Annotated[int, typer.Option(min=1, help="Demo claims.")] = 20000,
    seed_value: Annotated[int, typer.Option("--seed", help="Random seed.")] = 42,
    keep: Annotated[bool, typer.Option("--keep", help="Keep the database as it is.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm dropping DATABASE_URL's database.")]
    = False,
) -> None:
    """The main job end to end: database, migrations, fresh demo data, then every flow."""
    from claims_askes import migrate
    from claims_askes.db import admin_url, uses_local_server

    if uses_local_server():
        db_start()
    if not keep:
        with console.status("recreating the database"):
            recreate_database(yes)
    with console.status("migrating") as status:
        migrate.upgrade(admin_url(), progress=lambda s: status.update(f"migrating {s}"))
    console.print("[green]database migrated[/]")
    seed(members=members, claims=claims, seed=seed_value)
    console.print("[bold green]demo complete[/]: "
                  "connect with `psql \"$(.venv/bin/claims-askes db url)\"`")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
