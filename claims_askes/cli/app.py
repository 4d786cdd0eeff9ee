"""`claims-askes`: the command line of the batch platform, put together from its command
modules. This module is the map of every command; each command lives in the module named.

Every command uses the embedded local server unless DATABASE_URL is set; errors a user can
act on are printed as one line (exit code 2), never as a traceback.
"""

from __future__ import annotations

import typer

from claims_askes.cli import (
    audit,
    claims,
    database,
    demo,
    deploy,
    eligibility,
    operations,
    payments,
    report,
)

app = typer.Typer(
    help="Claims-Askes batch pipelines: local database, migrations, demo data and flows.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(
    help="The database: local server, migrations, connection URLs.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
run_app = typer.Typer(
    help="Run a flow now, in this process (Prefect's local API).", no_args_is_help=True
)
app.add_typer(run_app, name="run")

db_app.command("start")(database.db_start)
db_app.command("stop")(database.db_stop)
db_app.command("status")(database.db_status)
db_app.command("url")(database.db_url)
db_app.command("upgrade")(database.db_upgrade)
db_app.command("downgrade")(database.db_downgrade)
db_app.command("current")(database.db_current)
db_app.command("check-privileges")(database.db_check_privileges)
db_app.command("member-token")(database.db_member_token)

app.command("seed")(demo.seed)
app.command("demo")(demo.demo)

run_app.command("claim-adjudication")(claims.run_claim_adjudication)
run_app.command("claim-adjudication-shard")(claims.run_claim_adjudication_shard)
run_app.command("accumulator-posting")(claims.run_accumulator_posting)
run_app.command("claim-readjudication")(claims.run_claim_readjudication)
eligibility.register(run_app)
operations.register(app, run_app)
payments.register(app, run_app)
app.command("override")(claims.override)
app.command("eob")(claims.eob)
audit.register(app)

deploy.register(app)
app.command("report")(report.report)
report.register(run_app)
