"""`claims-askes audit trail CLAIM_NUMBER [--line N] [--json]`: every version of a claim and
its lines, in time order, registered on the main CLI by `register` (docs/audit.md, "Reading
a claim's trail")."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from claims_askes.cli.common import console, print_records, shown, user_errors
from claims_askes.core.errors import ClaimsAskesError

TRAIL_COLUMNS = ("at", "subject", "kind", "version", "who", "through", "what")


def _who(entry: Any) -> str:
    if entry.person and entry.login:
        return f"{entry.person} (login {entry.login})"
    return str(entry.person or entry.login or "-")


def _row(entry: Any) -> list[str]:
    return [
        shown(entry.at.isoformat(sep=" ", timespec="seconds")),
        shown(entry.subject),
        shown(entry.kind),
        "-" if entry.version is None else str(entry.version),
        shown(_who(entry)),
        shown(entry.via),
        shown(entry.summary),
    ]


def print_trail(claim_number: str, entries: list[Any]) -> None:
    """A table on a wide terminal; on a narrow one, one block per version (as `psql \\x`),
    so that run ids and amounts stay whole."""
    rows = [_row(e) for e in entries]
    print_records(f"trail of {shown(claim_number)}", TRAIL_COLUMNS, rows, "version")
    console.print(f"{len(rows):,} versions")


def trail(claim_number: str, line: int | None, as_json: bool) -> None:
    from claims_askes.audit.trail import build_trail
    from tasks.audit import read_trail_inputs

    inputs = read_trail_inputs(claim_number)
    if line is not None and not any(
        r["table_name"] == "claim_item" and r["content"].get("line_number") == line
        for r in inputs.current
    ):
        raise ClaimsAskesError(f"claim {claim_number} has no line {line}")
    entries = build_trail(inputs, line=line)
    if as_json:
        # json.dumps escapes every control character: nothing in the data reaches the terminal
        typer.echo(json.dumps([e.model_dump(mode="json") for e in entries], indent=2))
        return
    print_trail(claim_number, entries)


def register(app: typer.Typer) -> None:
    """Add `claims-askes audit trail` to the main CLI."""
    audit_app = typer.Typer(help="The audit of claims: every version, who and when.",
                            no_args_is_help=True)  # fmt: skip
    app.add_typer(audit_app, name="audit")

    @audit_app.command("trail")
    @user_errors
    def trail_command(
        claim_number: Annotated[str, typer.Argument(help="e.g. CLM-2026-01-000123")],
        line: Annotated[
            int | None, typer.Option("--line", min=1, help="Only this line's versions")
        ] = None,
        json_output: Annotated[
            bool, typer.Option("--json", help="Print the versions as a JSON array")
        ] = False,
    ) -> None:
        """Every version of the claim and its lines, in time order: submission,
        adjudications with their outcomes and amounts, pends, overrides, manual edits,
        re-adjudications and reversals, payments, archiving; who wrote each, when, and
        through which run or session. Archived claims too; account numbers masked."""
        trail(claim_number, line, json_output)
