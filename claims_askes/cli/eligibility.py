"""`claims-askes run eligibility-sweep`: registered on the `run` group by
`register_eligibility(run_app)`.

Until the main CLI registers it, `python -m claims_askes.cli_eligibility run eligibility-sweep
...` runs the same command through the same application.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

COMMAND = "eligibility-sweep"


def print_sweep_summary(summary: Any) -> None:
    from claims_askes.cli import console

    previous = summary.previous_as_of.isoformat() if summary.previous_as_of else "none"
    table = Table("measure", "value",
                  title=f"eligibility sweep as of {summary.as_of.isoformat()}: "
                        f"{summary.members_swept:,} members, {summary.batches} batches, "
                        f"{summary.seconds:.1f} s")
    table.add_row("eligible / not eligible", f"{summary.eligible:,} / {summary.not_eligible:,}")
    for reason, members in sorted(summary.by_reason.items()):
        table.add_row(f"  {reason}", f"{members:,}")
    table.add_row(f"eligibility changes since {previous}",
                  f"{summary.eligibility_changes:,} (+{summary.became_eligible:,} eligible, "
                  f"-{summary.became_ineligible:,} ineligible)")
    table.add_row("snapshot rows inserted / replaced / unchanged",
                  f"{summary.snapshot_rows_inserted:,} / {summary.snapshot_rows_updated:,} / "
                  f"{summary.snapshot_rows_unchanged:,}")
    table.add_row("coverages terminated", f"{summary.coverages_terminated:,}")
    table.add_row("claims to re-adjudicate",
                  f"{len(summary.claims_to_readjudicate):,} ({summary.readjudication})")
    console.print(table)
    if summary.faults:
        faults = Table("data fault (not fixed)", "members", "e.g.")
        for group in summary.faults:
            faults.add_row(group.kind, f"{len(group.member_ids):,}",
                           ", ".join(group.member_ids[:3]))
        console.print(faults)
    if summary.claims_to_readjudicate:
        shown = ", ".join(summary.claims_to_readjudicate[:20])
        more = len(summary.claims_to_readjudicate) - 20
        console.print(f"claims no longer covered: {shown}" + (f" and {more:,} more"
                                                              if more > 0 else ""))


def register_eligibility(run_app: typer.Typer) -> None:
    """Add `eligibility-sweep` to `claims-askes run`."""
    from claims_askes.cli import err_console, parameters_error, user_errors

    @run_app.command(COMMAND)
    @user_errors
    def run_eligibility_sweep(
        as_of: Annotated[str | None, typer.Option(
            "--as-of", help="Sweep as of this date, YYYY-MM-DD (default: today in "
                            "CLAIMS_ASKES_TIMEZONE, Asia/Jakarta).")] = None,
        batch_size: Annotated[int, typer.Option(help="Members per batch.")] = 250_000,
        readjudicate: Annotated[bool, typer.Option(
            "--readjudicate/--no-readjudicate",
            help="Send approved claims no longer covered to claim-readjudication.")] = True,
        json_output: Annotated[bool, typer.Option(
            "--json", help="Print the run's summary as JSON (for scripts).")] = False,
    ) -> None:
        """Eligibility of every member as of a date: snapshots, expired coverages terminated,
        data faults reported, approved claims no longer covered re-adjudicated."""
        from pydantic import ValidationError

        from schemas.eligibility import EligibilitySweepParameters

        try:
            params = EligibilitySweepParameters(as_of=as_of, batch_size=batch_size,
                                                readjudicate=readjudicate)
        except ValidationError as exc:
            raise parameters_error(exc, option="as_of") from None
        from flows.eligibility_sweep import eligibility_sweep

        with err_console.status(f"sweeping eligibility as of {params.sweep_date.isoformat()}"):
            summary = eligibility_sweep(as_of=params.sweep_date, batch_size=batch_size,
                                        readjudicate=readjudicate)
        if json_output:
            print(summary.model_dump_json())
            return
        print_sweep_summary(summary)


def main() -> None:
    """The main CLI with this command registered (if the main CLI does not register it)."""
    from claims_askes.cli import app, run_app

    if not any(c.name == COMMAND for c in run_app.registered_commands):
        register_eligibility(run_app)
    app()


if __name__ == "__main__":
    main()
