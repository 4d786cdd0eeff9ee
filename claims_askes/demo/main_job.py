"""The main job: every flow once, in the order a night of production runs them, on the
configured database (the demo's, by default), with a progress bar per flow and a summary.

Each step is a plain call of the flow (Prefect's local API, or PREFECT_API_URL's server,
where the runs then show in the UI). A step that fails is shown with its one-line reason and
the job goes on with the others (they are independent), then exits non-zero.

Archiving (and the archive backlog that monitoring checks) uses the retention period, 2
years, unless every claim is younger than that: the demo data spans about 18 months, so the
job then archives the oldest third of the months its claims span (`archive_age`), and
archiving has something to show.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table


@dataclass
class Step:
    name: str
    run: Callable[[], Any]
    describe: Callable[[Any], str]


@dataclass
class Outcome:
    name: str
    ok: bool
    seconds: float
    text: str
    result: Any = None


RETENTION_MONTHS = 24  # the archiving deployment's default age, 2y
#: Payments per batch in the demo: batches stay under the approval threshold, so the demo
#: pays end to end with automatic approval (a bigger batch waits for a person).
DEMO_BATCH_PAYMENTS = 200
MIN_AGE_MONTHS = 3  # never archive younger claims: the dashboard shows the last 30 days


def archive_age(oldest: date | None, today: date) -> str:
    """How old a claim must be for the main job to archive it (an age for `claim_archiving`'s
    `older_than`): the retention period when some claim (`oldest`: the earliest service date)
    is older than that, or no claim is there; else the oldest third of the whole months the
    claims span, and at least `MIN_AGE_MONTHS`."""
    if oldest is None:
        return f"{RETENTION_MONTHS // 12}y"
    span = (today.year * 12 + today.month) - (oldest.year * 12 + oldest.month)
    if span >= RETENTION_MONTHS:
        return f"{RETENTION_MONTHS // 12}y"
    return f"{max(span - span // 3, MIN_AGE_MONTHS)}m"


def demo_archive_age() -> str:
    """`archive_age` of the claims in the configured database (archived ones too), today in
    Jakarta."""
    from claims_askes.db.connections import service_connection
    from claims_askes.db.sqlfiles import queries
    from claims_askes.operations.common import business_today

    with service_connection("claims") as conn:
        row = conn.execute(queries("claims_service").oldest_service_date).fetchone()
    return archive_age(row[0] if row else None, business_today())


def steps() -> list[Step]:
    """The flows of the main job, in their production order."""
    from claims_askes.demo.seed.history import spread_decision_times
    from flows.accumulator_posting import accumulator_posting
    from flows.bank_response_import import bank_response_import
    from flows.claim_adjudication import claim_adjudication
    from flows.claim_archiving import claim_archiving
    from flows.claims_dashboard import claims_dashboard
    from flows.database_backup import database_backup
    from flows.database_maintenance import database_maintenance
    from flows.database_monitoring import database_monitoring
    from flows.eligibility_sweep import eligibility_sweep
    from flows.partition_maintenance import partition_maintenance
    from flows.payment_run import payment_run
    from flows.steps.payments import (
        answer_sent_batches,
        give_demo_bank_details,
        inbox_dir,
        outbox_dir,
    )

    age = functools.cache(demo_archive_age)  # read once, when archiving starts
    started = datetime.now(UTC)  # the demo's decisions are those made after this
    return [
        Step(
            "partition-maintenance",
            lambda: partition_maintenance(premake=4),
            lambda r: (
                f"{len(r.created)} partitions created, covered {r.covered_from} to {r.covered_to}"
            ),
        ),
        Step(
            "eligibility-sweep",
            lambda: eligibility_sweep(),
            lambda r: (
                f"{r.members_swept:,} members swept ({r.eligible:,} eligible), "
                f"{r.eligibility_changes:,} changes"
            ),
        ),
        Step(
            "claim-adjudication",
            lambda: claim_adjudication(shards=2),
            lambda r: f"{r.claims:,} claims, {r.lines:,} lines in {r.chunks} chunks",
        ),
        Step(
            "decision-history (demo)",
            lambda: spread_decision_times(started),
            lambda n: f"{n:,} decisions moved to realistic times after their submission",
        ),
        Step(
            "accumulator-posting",
            lambda: accumulator_posting(full_reconciliation=True),
            lambda r: (
                f"{r.lines_posted:,} lines posted, {r.keys_reconciled:,} accumulator "
                "keys reconciled"
            ),
        ),
        Step(
            "bank details (demo)",
            lambda: give_demo_bank_details(),
            lambda n: f"{n:,} payees given Indonesian bank accounts (encrypted)",
        ),
        Step(
            "payment-run",
            lambda: payment_run(max_batch_payments=DEMO_BATCH_PAYMENTS),
            lambda r: (
                f"{r.payments_created:,} payments in {len(r.batches)} batches, "
                f"{len(r.files_written)} bank files, {r.held:,} held (no bank details), "
                f"{len(r.awaiting_approval)} batches awaiting approval"
            ),
        ),
        Step(
            "bank simulate + bank-response-import",
            lambda: (
                answer_sent_batches(outbox_dir(None), inbox_dir(None), seed=16),
                bank_response_import(),
            )[1],
            lambda r: (
                f"claims paid: {r.paid:,}; {r.retried:,} failed or returned, for the next "
                f"run; {r.batches_completed:,} batches completed"
            ),
        ),
        Step(
            "claim-archiving",
            lambda: claim_archiving(older_than=age()),
            lambda r: (
                f"{r.claims_moved:,} claims before {r.cutoff} ({age()}) archived, "
                f"{r.held_back:,} held back (not settled)"
            ),
        ),
        Step(
            "database-backup",
            lambda: database_backup(drill="always"),
            lambda r: (
                f"backup {r.backup_id} ({r.size_bytes / 2**20:,.1f} MiB) verified"
                + ("" if r.seconds_drill is None else ", restore drill passed")
            ),
        ),
        Step(
            "database-maintenance",
            lambda: database_maintenance(vacuum=True),
            lambda r: "VACUUM (ANALYZE) done, bloat reported",
        ),
        Step(
            "database-monitoring",
            lambda: database_monitoring(archive_older_than=age()),
            lambda r: (
                f"{len(r.checks)} health checks, {r.connections} of {r.max_connections} connections"
            ),
        ),
        Step(
            "claims-dashboard",
            lambda: claims_dashboard(),
            lambda r: (
                f"{r.open_claims:,} open, {r.pended_claims:,} pended, {r.decided:,} decided "
                f"({r.within_decision_sla:,} within the service level), {r.paid:,} paid"
            ),
        ),
    ]


def run_all(console: Console) -> list[Outcome]:
    """Run every step with a bar each; never stop at a failed one."""
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    outcomes: list[Outcome] = []
    plan = steps()
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        tasks = {s.name: bar.add_task(s.name, total=1, status="waiting") for s in plan}
        for step in plan:
            bar.update(tasks[step.name], status="running")
            started = time.perf_counter()
            try:
                result = step.run()
                outcome = Outcome(
                    step.name, True, time.perf_counter() - started, step.describe(result), result
                )
            except Exception as exc:  # a failed flow is reported, the others still run
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                outcome = Outcome(step.name, False, time.perf_counter() - started, first)
            outcomes.append(outcome)
            bar.update(
                tasks[step.name],
                completed=1,
                status="[green]done[/]" if outcome.ok else "[red]failed[/]",
            )
    return outcomes


def summary_table(outcomes: list[Outcome]) -> Table:
    table = Table("flow", "result", "seconds", "what it did", title="main job")
    for o in outcomes:
        table.add_row(
            o.name, "[green]ok[/]" if o.ok else "[red]failed[/]", f"{o.seconds:.1f}", o.text
        )
    return table
