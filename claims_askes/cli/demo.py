"""`claims-askes seed` and `claims-askes demo`: demo data and the main job end to end."""

from __future__ import annotations

import contextlib
from typing import Annotated

import typer
from rich.table import Table

from claims_askes.cli.claims import print_adjudication_summary
from claims_askes.cli.common import console, step_progress, user_errors
from claims_askes.cli.database import db_start
from claims_askes.cli.report import print_dashboard_outcome
from claims_askes.core.errors import ClaimsAskesError
from claims_askes.core.runtime import quiet_console


@user_errors
def seed(
    members: Annotated[int, typer.Option(min=1, help="Number of members.")] = 1000,
    claims: Annotated[int, typer.Option(min=1, help="Number of claims (1-5 lines each).")] = 10000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data.")] = 42,
) -> None:
    """Load deterministic Indonesian demo data into a migrated database (with COPY)."""
    from claims_askes.demo.seed import seed_demo_data

    with step_progress() as advance:
        report = seed_demo_data(members=members, claims=claims, seed=seed, progress=advance)
    table = Table("table", "rows", title=f"demo data in {report.elapsed_seconds:.1f} s")
    for name, rows in report.row_counts.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)


def recreate_database(yes: bool) -> None:
    """Drop and create the configured database (the demo starts from nothing)."""
    import psycopg
    from psycopg import sql

    from claims_askes.core.errors import ConfigError
    from claims_askes.db.connections import admin_url, database_of, uses_local_server, with_database

    if not uses_local_server() and not yes:
        raise ConfigError(
            "DATABASE_URL: set; `demo` would drop that database. "
            "Pass --yes to confirm, or --keep to load into it as it is"
        )
    url = admin_url()
    name = database_of(url)
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


@user_errors
def demo(
    members: Annotated[int, typer.Option(min=1, help="Demo members.")] = 2000,
    claims: Annotated[int, typer.Option(min=1, help="Demo claims.")] = 20000,
    seed_value: Annotated[int, typer.Option("--seed", help="Random seed.")] = 42,
    keep: Annotated[
        bool,
        typer.Option(
            "--keep", help="Keep the database and its data as they are (no new demo data)."
        ),
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm dropping DATABASE_URL's database.")
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", help="Show Prefect's log of every flow and task run in the terminal."
        ),
    ] = False,
) -> None:
    """The main job end to end: database, migrations, fresh demo data, then every flow."""
    from claims_askes.db import migrate
    from claims_askes.db.connections import admin_url, uses_local_server

    if uses_local_server():
        db_start()
    if not keep:
        with console.status("recreating the database"):
            recreate_database(yes)
    with console.status("migrating") as status:
        migrate.upgrade(admin_url(), progress=lambda s: status.update(f"migrating {s}"))
    console.print("[green]database migrated[/]")
    if not keep:
        seed(members=members, claims=claims, seed=seed_value)
    from claims_askes.demo.main_job import run_all, summary_table

    with contextlib.nullcontext() if verbose else quiet_console():
        outcomes = run_all(console)
    console.print(summary_table(outcomes))
    adjudication = next((o for o in outcomes if o.name == "claim-adjudication" and o.ok), None)
    if adjudication is not None:
        print_adjudication_summary(adjudication.result)
    dashboard = next((o for o in outcomes if o.name == "claims-dashboard" and o.ok), None)
    if dashboard is not None:
        print_dashboard_outcome(dashboard.result)
    console.print(
        "The runs are in Prefect: with a server (`.venv/bin/prefect server start`, "
        "then `export PREFECT_API_URL=http://127.0.0.1:4200/api` before `demo`) "
        "open http://127.0.0.1:4200. Database: "
        '`psql "$(.venv/bin/claims-askes db url)"`'
    )
    failed = [o.name for o in outcomes if not o.ok]
    if failed:
        raise ClaimsAskesError(f"main job: {', '.join(failed)} failed (see above)")
    console.print("[bold green]demo complete[/]")
