"""`claims-askes`: the command line of the batch platform.

Every command uses the embedded local server unless DATABASE_URL is set; errors a user can
act on are printed as one line (exit code 2), never as a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable, Iterator
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
run_app = typer.Typer(help="Run a flow now, in this process (Prefect's local API).",
                      no_args_is_help=True)
app.add_typer(run_app, name="run")

console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # one-line errors stay one line
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
        except Exception as exc:
            import psycopg

            if not isinstance(exc, psycopg.OperationalError):
                raise
            # The server is unreachable or refuses us: its one-line reason, never the URL.
            reason = " ".join(str(exc).split())
            err_console.print(f"[bold red]error:[/] database: {reason}", highlight=False)
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


@contextlib.contextmanager
def step_progress() -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar per named step, fed by an `advance(step, done, total)` callback (the
    progress hook of seeding and of the operations flows)."""
    tasks: dict[str, Any] = {}
    with progress_bar() as bar:

        def advance(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total)
            bar.update(tasks[step], completed=done, total=total)

        yield advance


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
    keep: Annotated[bool, typer.Option(
        "--keep", help="Keep the database and its data as they are (no new demo data).")]
    = False,
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
    if not keep:
        seed(members=members, claims=claims, seed=seed_value)
    from claims_askes.cli_deploy import DEFAULT_REPORT, print_dashboard_summary
    from claims_askes.main_job import run_all, summary_table
    from claims_askes.report import write_report

    outcomes = run_all(console)
    console.print(summary_table(outcomes))
    adjudication = next((o for o in outcomes if o.name == "claim-adjudication" and o.ok), None)
    if adjudication is not None:
        print_adjudication_summary(adjudication.result)
    path, dashboard = write_report(DEFAULT_REPORT)
    print_dashboard_summary(path, dashboard)
    console.print("The runs are in Prefect: with a server (`.venv/bin/prefect server start`, "
                  "then `export PREFECT_API_URL=http://127.0.0.1:4200/api` before `demo`) "
                  "open http://127.0.0.1:4200. Database: "
                  "`psql \"$(.venv/bin/claims-askes db url)\"`")
    failed = [o.name for o in outcomes if not o.ok]
    if failed:
        raise ClaimsAskesError(f"main job: {', '.join(failed)} failed (see above)")
    console.print("[bold green]demo complete[/]")


def rupiah(value: object) -> str:
    """Rp 1.234.567,89: Indonesian grouping; '-' when not decided yet."""
    if value is None:
        return "-"
    text = f"{value:,.2f}"
    return "Rp " + text.replace(",", "_").replace(".", ",").replace("_", ".")


def print_adjudication_summary(summary: Any) -> None:
    table = Table("status", "claims", "charged", "approved",
                  title=f"claim adjudication: {summary.claims:,} claims, {summary.lines:,} lines, "
                        f"{summary.chunks} chunks, {summary.seconds:.1f} s")
    for row in summary.by_status:
        table.add_row(row.status, f"{row.claims:,}", rupiah(row.charged), rupiah(row.approved))
    console.print(table)
    if summary.top_reasons:
        reasons = Table("reason", "lines", title="top reasons")
        for reason in summary.top_reasons:
            reasons.add_row(reason.reason_code, f"{reason.lines:,}")
        console.print(reasons)
    console.print(f"{summary.lines_posted:,} lines posted to the accumulators; "
                  f"{summary.payments:,} payments, {summary.notes:,} notes written")


def parameters_error(exc: Exception, option: str | None = None) -> ClaimsAskesError:
    """A pydantic error of a flow's parameters as one line naming the option (`option` for
    a check of the whole model, when it concerns one option)."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"] if p != "__root__") or option
        if not where:  # a check across options (e.g. --shard below --shards)
            return ClaimsAskesError(str(first["msg"]).removeprefix("Value error, "))
        return ClaimsAskesError(f"--{where.replace('_', '-')}: {first['msg']}")
    return ClaimsAskesError(str(exc))


@run_app.command("claim-adjudication")
@user_errors
def run_claim_adjudication(
    max_claims: Annotated[int | None, typer.Option(help="Stop after this many claims.")] = None,
    chunk_size: Annotated[int, typer.Option(help="Claims per chunk (whole members).")] = 20_000,
    lease_seconds: Annotated[int, typer.Option(help="Lease length of a chunk.")] = 900,
    shards: Annotated[int, typer.Option(help="Member hash buckets.")] = 1,
    shard: Annotated[int | None, typer.Option(help="Only this bucket.")] = None,
    json_output: Annotated[bool, typer.Option(
        "--json", help="Print the run's summary as JSON (for scripts).")] = False,
) -> None:
    """Adjudicate every submitted and pended claim (ADJUDICATION.md), then post accumulators."""
    from pydantic import ValidationError

    from schemas.parameters import AdjudicationParameters

    try:
        AdjudicationParameters(max_claims=max_claims, chunk_size=chunk_size,
                               lease_seconds=lease_seconds, shards=shards, shard=shard)
    except ValidationError as exc:
        raise parameters_error(exc) from None
    from flows.claim_adjudication import claim_adjudication

    with err_console.status("adjudicating claims"):
        summary = claim_adjudication(max_claims=max_claims, chunk_size=chunk_size,
                                     lease_seconds=lease_seconds, shards=shards, shard=shard)
    if json_output:
        print(summary.model_dump_json())
        return
    print_adjudication_summary(summary)


@run_app.command("accumulator-posting")
@user_errors
def run_accumulator_posting(
    batch_size: Annotated[int, typer.Option(help="Lines per posting batch.")] = 200_000,
    full_reconciliation: Annotated[bool, typer.Option(
        help="Reconcile every member's accumulators, not only those posted now.")] = False,
    json_output: Annotated[bool, typer.Option(
        "--json", help="Print the run's summary as JSON (for scripts).")] = False,
) -> None:
    """Post every adjudicated, unposted line to the accumulators (exactly once), then prove
    accumulator = opening balance + ledger and ledger = posted lines."""
    from pydantic import ValidationError

    from schemas.parameters import PostingParameters

    try:
        PostingParameters(batch_size=batch_size, full_reconciliation=full_reconciliation)
    except ValidationError as exc:
        raise parameters_error(exc) from None
    from flows.accumulator_posting import accumulator_posting

    with err_console.status("posting accumulators"):
        summary = accumulator_posting(batch_size=batch_size,
                                      full_reconciliation=full_reconciliation)
    if json_output:
        print(summary.model_dump_json())
        return
    console.print(f"{summary.lines_marked:,} lines posted "
                  f"({summary.entries_inserted:,} new ledger entries, {summary.reversals:,} "
                  f"reversals); {summary.keys_reconciled:,} accumulator keys reconciled")


DECIDED = ("approved", "partially_approved", "rejected")


@run_app.command("claim-readjudication")
@user_errors
def run_claim_readjudication(
    claim_numbers: Annotated[list[str], typer.Argument(help="Claims to adjudicate again.")],
    reason: Annotated[str, typer.Option(help="Why (kept on each readjustment).")]
    = "re-adjudication",
    json_output: Annotated[bool, typer.Option(
        "--json", help="Print the run's summary as JSON (for scripts).")] = False,
) -> None:
    """Adjudicate decided claims again with today's data.

    Earlier postings are reversed, the earlier decision kept, over- and underpayments
    recorded for payment follow-up, and reviewers' overrides kept."""
    from flows.claim_readjudication import claim_readjudication

    with err_console.status("re-adjudicating"):
        summary = claim_readjudication(claim_numbers=claim_numbers, reason=reason)
    if json_output:
        print(summary.model_dump_json())
        return
    console.print(f"{summary.claims:,} of {summary.requested:,} claims re-adjudicated; "
                  f"{summary.reversals:,} postings reversed, {summary.readjustments:,} "
                  "readjustments for payment follow-up")
    for number, status in summary.statuses.items():
        console.print(f"  {number}: {status}")
    for number in summary.not_found:
        err_console.print(f"[red]no claim {number}[/]")


@app.command("override")
@user_errors
def override(
    claim_number: Annotated[str, typer.Argument(help="e.g. CLM-2026-01-000123")],
    line: Annotated[int, typer.Argument(help="Line number on the claim.", min=1)],
    approve: Annotated[str | None, typer.Option(
        help="Approve the line for this amount in rupiah (e.g. 125000.50).")] = None,
    reject: Annotated[str | None, typer.Option(
        help="Reject the line with this reason code (e.g. EXCLUDED).")] = None,
    note: Annotated[str, typer.Option(help="Why, in words (required).")] = "",
    by: Annotated[str, typer.Option(help="Who decides (default: your login).")] = "",
) -> None:
    """A reviewer's decision on a line; it survives every later adjudication. A decided
    claim is re-adjudicated at once; a waiting one takes it at its adjudication."""
    import getpass
    from decimal import Decimal, InvalidOperation

    from claims_askes.overrides import record_override

    amount = None
    if approve is not None:
        try:
            amount = Decimal(approve)
        except InvalidOperation:
            raise ClaimsAskesError(f"--approve: {approve!r} is not an amount") from None
    status = record_override(claim_number, line, approve=amount, reject=reject, note=note,
                             by=by or getpass.getuser())
    console.print(f"override recorded on {claim_number} line {line}")
    if status in DECIDED:
        from flows.claim_readjudication import claim_readjudication

        with err_console.status("re-adjudicating"):
            claim_readjudication(claim_numbers=[claim_number],
                                 reason=f"manual override of line {line}")
    eob(claim_number)


@app.command("eob")
@user_errors
def eob(claim_number: Annotated[str, typer.Argument(help="e.g. CLM-2026-01-000123")]) -> None:
    """Explanation of benefits: each line's amounts with CARC/group codes, and the totals.

    Per line: charged, allowed, the adjustments (above fee schedule, deductible, copay,
    coinsurance, network reduction, limits; each with its CARC/group code as on an 835
    remittance), plan and member payments, status and reason."""
    from claims_askes.eob import ADJUSTMENTS, read_eob

    doc = read_eob(claim_number)
    head = doc.claim
    console.print(f"[bold]Explanation of benefits[/] {head['claim_number']}  "
                  f"{head['claim_type']} / {head['service_type']}  service {head['service_date']}"
                  f"  status [bold]{head['status']}[/]")
    table = Table("line", "benefit", "qty", "charged", "allowed",
                  *(f"{title}\n{doc.codes.get(code, '')}" for code, title, _ in ADJUSTMENTS),
                  "plan pays", "member pays", "status", "reason (CARC/group)")
    for line in doc.lines:
        reason = "-"
        if line["reason_code"]:
            reason = f"{line['reason_code']} ({line['carc']}/{line['group_code']})"
        qty = str(line["quantity"])
        if line["covered_days"] is not None and line["covered_days"] != line["quantity"]:
            qty += f" ({line['covered_days']} covered)"
        table.add_row(str(line["line_number"]), str(line["benefit_code"] or "-"), qty,
                      rupiah(line["charged_amount"]), rupiah(line["allowed_amount"]),
                      *(rupiah(line[column]) for _, _, column in ADJUSTMENTS),
                      rupiah(line["approved_amount"]), rupiah(line["member_responsibility"]),
                      line["status"], reason)
    # Piped or redirected, the table keeps its amounts whole rather than fit 80 columns.
    (console if console.is_terminal else Console(width=240)).print(table)
    console.print(f"total charged {rupiah(head['total_charged_amount'])}; plan pays "
                  f"{rupiah(head['total_approved_amount'])}; member pays "
                  f"{rupiah(head['member_responsibility'])}")


# Commands of the operations and deployment flows live in their own modules.
from claims_askes import cli_deploy, cli_ops  # noqa: E402
from claims_askes.cli_eligibility import register_eligibility  # noqa: E402
from claims_askes.runtime import patient_local_api  # noqa: E402

cli_ops.register(app, run_app)
cli_deploy.register(app, run_app)
register_eligibility(run_app)


def main() -> None:
    with patient_local_api():
        app()


if __name__ == "__main__":
    main()
