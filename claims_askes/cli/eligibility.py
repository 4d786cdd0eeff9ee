"""`claims-askes run eligibility-sweep`."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from claims_askes.cli.common import (
    console,
    err_console,
    json_option,
    option,
    parameters_error,
    shown,
    user_errors,
)
from schemas.eligibility import EligibilitySweepParameters as Sweep

COMMAND = "eligibility-sweep"


def print_sweep_summary(summary: Any) -> None:
    previous = summary.previous_as_of.isoformat() if summary.previous_as_of else "none"
    table = Table(
        "measure",
        "value",
        title=f"eligibility sweep as of {summary.as_of.isoformat()}: "
        f"{summary.members_swept:,} members, {summary.batches} batches, "
        f"{summary.seconds:.1f} s",
    )
    table.add_row("eligible / not eligible", f"{summary.eligible:,} / {summary.not_eligible:,}")
    for reason, members in sorted(summary.by_reason.items()):
        table.add_row(f"  {shown(reason)}", f"{members:,}")
    table.add_row(
        f"eligibility changes since {previous}",
        f"{summary.eligibility_changes:,} (+{summary.became_eligible:,} eligible, "
        f"-{summary.became_ineligible:,} ineligible)",
    )
    table.add_row(
        "snapshot rows inserted / replaced / unchanged",
        f"{summary.snapshot_rows_inserted:,} / {summary.snapshot_rows_updated:,} / "
        f"{summary.snapshot_rows_unchanged:,}",
    )
    table.add_row("coverages terminated", f"{summary.coverages_terminated:,}")
    table.add_row(
        "claims to re-adjudicate",
        f"{len(summary.claims_to_readjudicate):,} ({summary.readjudication})",
    )
    console.print(table)
    if summary.faults:
        faults = Table("data fault (not fixed)", "members", "e.g.")
        for group in summary.faults:
            faults.add_row(
                shown(group.kind),
                f"{len(group.member_ids):,}",
                shown(", ".join(group.member_ids[:3])),
            )
        console.print(faults)
    if summary.claims_to_readjudicate:
        numbers = shown(", ".join(summary.claims_to_readjudicate[:20]))
        more = len(summary.claims_to_readjudicate) - 20
        console.print(
            f"claims no longer covered: {numbers}" + (f" and {more:,} more" if more > 0 else "")
        )


def register(run_app: typer.Typer) -> None:
    """Add `eligibility-sweep` to `claims-askes run`."""

    @run_app.command(COMMAND)
    @user_errors
    def run_eligibility_sweep(
        as_of: str | None = option(Sweep, "as_of", "--as-of"),
        batch_size: int = option(Sweep, "batch_size"),
        readjudicate: bool = option(Sweep, "readjudicate", "--readjudicate/--no-readjudicate"),
        json_output: bool = json_option(),
    ) -> None:
        """Eligibility of every member as of a date: snapshots, expired coverages terminated,
        data faults reported, approved claims no longer covered re-adjudicated."""
        from pydantic import ValidationError

        try:
            params = Sweep(as_of=as_of, batch_size=batch_size, readjudicate=readjudicate)
        except ValidationError as exc:
            raise parameters_error(exc, option="as_of") from None
        from flows.eligibility_sweep import eligibility_sweep

        with err_console.status(f"sweeping eligibility as of {params.sweep_date.isoformat()}"):
            summary = eligibility_sweep(
                as_of=params.sweep_date, batch_size=batch_size, readjudicate=readjudicate
            )
        if json_output:
            print(summary.model_dump_json())
            return
        print_sweep_summary(summary)
