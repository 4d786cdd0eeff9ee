"""`claims-askes run claim-adjudication | accumulator-posting | claim-readjudication`,
`override` and `eob`: the claims' own commands."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from claims_askes.cli.common import (
    console,
    err_console,
    json_option,
    option,
    parameters,
    rupiah,
    shown,
    user_errors,
)
from schemas.parameters import (
    AdjudicationParameters,
    AdjudicationShardParameters,
    PostingParameters,
    ReadjudicationParameters,
)


def print_adjudication_summary(summary: Any) -> None:
    table = Table(
        "status",
        "claims",
        "charged",
        "approved",
        title=f"claim adjudication: {summary.claims:,} claims, {summary.lines:,} lines, "
        f"{summary.chunks} chunks, {summary.seconds:.1f} s",
    )
    for row in summary.by_status:
        table.add_row(
            shown(row.status), f"{row.claims:,}", rupiah(row.charged), rupiah(row.approved)
        )
    console.print(table)
    if summary.top_reasons:
        reasons = Table("reason", "lines", title="top reasons")
        for reason in summary.top_reasons:
            reasons.add_row(shown(reason.reason_code), f"{reason.lines:,}")
        console.print(reasons)
    console.print(
        f"{summary.lines_posted:,} lines posted to the accumulators; "
        f"{summary.payments:,} payments, {summary.notes:,} notes written"
    )
    if summary.pended_waiting or summary.pended_due:
        from claims_askes.adjudication.summary import pended_in_words

        console.print(shown(pended_in_words(summary)), highlight=False, soft_wrap=True)


A = AdjudicationParameters
P = PostingParameters


@user_errors
def run_claim_adjudication(
    max_claims: int | None = option(A, "max_claims"),
    chunk_size: int = option(A, "chunk_size"),
    lease_seconds: int = option(A, "lease_seconds"),
    shards: int = option(A, "shards"),
    shard: int | None = option(A, "shard"),
    pended_review_hours: int = option(A, "pended_review_hours"),
    fan_out: bool = option(A, "fan_out", "--fan-out/--no-fan-out"),
    json_output: bool = json_option(),
) -> None:
    """Adjudicate every submitted claim, and the pended claims whose authorization, member,
    coverage or override changed or that waited past the review age (docs/adjudication.md),
    then post the accumulators."""
    params = parameters(
        A,
        max_claims=max_claims,
        chunk_size=chunk_size,
        lease_seconds=lease_seconds,
        shards=shards,
        shard=shard,
        pended_review_hours=pended_review_hours,
        fan_out=fan_out,
    )
    from flows.claim_adjudication import claim_adjudication

    with err_console.status("adjudicating claims"):
        summary = claim_adjudication(**params.model_dump())
    if json_output:
        print(summary.model_dump_json())
        return
    print_adjudication_summary(summary)


S = AdjudicationShardParameters


@user_errors
def run_claim_adjudication_shard(
    shard: int = typer.Option(..., help=S.model_fields["shard"].description),
    shards: int = typer.Option(..., help=S.model_fields["shards"].description),
    max_claims: int | None = option(S, "max_claims"),
    chunk_size: int = option(S, "chunk_size"),
    lease_seconds: int = option(S, "lease_seconds"),
    pended_review_hours: int = option(S, "pended_review_hours"),
    json_output: bool = json_option(),
) -> None:
    """Adjudicate one member hash bucket, as a child run of a fanned-out claim-adjudication
    run does (by hand: for a bucket that failed)."""
    params = parameters(
        S,
        shard=shard,
        shards=shards,
        max_claims=max_claims,
        chunk_size=chunk_size,
        lease_seconds=lease_seconds,
        pended_review_hours=pended_review_hours,
    )
    from flows.adjudication_shard import claim_adjudication_shard

    with err_console.status(f"adjudicating shard {shard} of {shards}"):
        summary = claim_adjudication_shard(**params.model_dump())
    if json_output:
        print(summary.model_dump_json())
        return
    print_adjudication_summary(summary)


@user_errors
def run_accumulator_posting(
    batch_size: int = option(P, "batch_size"),
    full_reconciliation: bool = option(
        P, "full_reconciliation", "--full-reconciliation/--no-full-reconciliation"
    ),
    json_output: bool = json_option(),
) -> None:
    """Post every adjudicated, unposted line to the accumulators (exactly once), then prove
    accumulator = opening balance + ledger and ledger = posted lines."""
    params = parameters(P, batch_size=batch_size, full_reconciliation=full_reconciliation)
    from flows.accumulator_posting import accumulator_posting

    with err_console.status("posting accumulators"):
        summary = accumulator_posting(**params.model_dump())
    if json_output:
        print(summary.model_dump_json())
        return
    console.print(
        f"{summary.lines_marked:,} line versions through posting, "
        f"{summary.lines_posted:,} approved lines posted "
        f"({summary.entries_inserted:,} new ledger entries, {summary.reversals:,} "
        f"reversals); {summary.keys_reconciled:,} accumulator keys reconciled"
    )


DECIDED = ("approved", "partially_approved", "rejected")


@user_errors
def run_claim_readjudication(
    claim_numbers: Annotated[
        list[str],
        typer.Argument(help=ReadjudicationParameters.model_fields["claim_numbers"].description),
    ],
    reason: str = option(ReadjudicationParameters, "reason"),
    json_output: bool = json_option(),
) -> None:
    """Adjudicate decided claims again with today's data.

    Earlier postings are reversed, the earlier decision kept, over- and underpayments
    recorded for payment follow-up, and reviewers' overrides kept."""
    params = parameters(ReadjudicationParameters, claim_numbers=claim_numbers, reason=reason)
    from flows.claim_readjudication import claim_readjudication

    with err_console.status("re-adjudicating"):
        summary = claim_readjudication(claim_numbers=params.claim_numbers, reason=params.reason)
    if json_output:
        print(summary.model_dump_json())
        return
    console.print(
        f"{summary.claims:,} of {summary.requested:,} claims re-adjudicated; "
        f"{summary.reversals:,} postings reversed, {summary.readjustments:,} "
        "readjustments for payment follow-up"
    )
    for number, status in summary.statuses.items():
        console.print(f"  {shown(number)}: {shown(status)}")
    for number in summary.not_found:
        err_console.print(f"[red]no claim {shown(number)}[/]")
    if summary.not_taken:
        err_console.print(
            f"{len(summary.not_taken):,} not re-adjudicated: not decided yet, paid or "
            "cancelled, or another run holds the member or its lines wait for posting "
            "(run it again later): " + ", ".join(shown(n) for n in summary.not_taken)
        )


@user_errors
def override(
    claim_number: Annotated[str, typer.Argument(help="e.g. CLM-2026-01-000123")],
    line: Annotated[int, typer.Argument(help="Line number on the claim.", min=1)],
    approve: Annotated[
        str | None,
        typer.Option(help="Approve the line for this amount in rupiah (e.g. 125000.50)."),
    ] = None,
    reject: Annotated[
        str | None, typer.Option(help="Reject the line with this reason code (e.g. EXCLUDED).")
    ] = None,
    note: Annotated[str, typer.Option(help="Why, in words (required).")] = "",
    by: Annotated[str, typer.Option(help="Who decides (default: your login).")] = "",
) -> None:
    """A reviewer's decision on a line; it survives every later adjudication. A decided
    claim is re-adjudicated at once; a waiting one takes it at its adjudication.

    The database records the login that wrote the decision beside the name given by --by."""
    import getpass

    from claims_askes.adjudication.overrides import parse_amount, record_override

    amount = None if approve is None else parse_amount(approve)
    recorded = record_override(
        claim_number, line, approve=amount, reject=reject, note=note, by=by or getpass.getuser()
    )
    console.print(
        f"override recorded on {shown(claim_number)} line {line} by {shown(recorded.by)} "
        f"(login {shown(recorded.login)})",
        highlight=False,
        soft_wrap=True,
    )
    if recorded.claim_status in DECIDED:
        from flows.claim_readjudication import claim_readjudication

        with err_console.status("re-adjudicating"):
            claim_readjudication(
                claim_numbers=[claim_number], reason=f"manual override of line {line}"
            )
    eob(claim_number)


@user_errors
def eob(claim_number: Annotated[str, typer.Argument(help="e.g. CLM-2026-01-000123")]) -> None:
    """Explanation of benefits: each line's amounts with CARC/group codes, and the totals.

    Per line: charged, allowed, the adjustments (above fee schedule, deductible, copay,
    coinsurance, network reduction, limits; each with its CARC/group code as on an 835
    remittance), plan and member payments, status and reason; then the reviewers' overrides
    with the name given and the login that recorded each. Data is shown as text: markup
    in it is escaped and control characters are left out."""
    from claims_askes.adjudication.eob import ADJUSTMENTS, read_eob

    doc = read_eob(claim_number)
    head = doc.claim
    console.print(
        f"[bold]Explanation of benefits[/] {shown(head['claim_number'])}  "
        f"{shown(head['claim_type'])} / {shown(head['service_type'])}  "
        f"service {shown(head['service_date'])}  status [bold]{shown(head['status'])}[/]"
    )
    table = Table(
        "line",
        "benefit",
        "qty",
        "charged",
        "allowed",
        *(f"{title}\n{shown(doc.codes.get(code, ''))}" for code, title, _ in ADJUSTMENTS),
        "plan pays",
        "member pays",
        "status",
        "reason (CARC/group)",
    )
    for line in doc.lines:
        reason = "-"
        if line["reason_code"]:
            reason = shown(f"{line['reason_code']} ({line['carc']}/{line['group_code']})")
        qty = str(line["quantity"])
        if line["covered_days"] is not None and line["covered_days"] != line["quantity"]:
            qty += f" ({line['covered_days']} covered)"
        table.add_row(
            str(line["line_number"]),
            shown(line["benefit_code"] or "-"),
            qty,
            rupiah(line["charged_amount"]),
            rupiah(line["allowed_amount"]),
            *(rupiah(line[column]) for _, _, column in ADJUSTMENTS),
            rupiah(line["approved_amount"]),
            rupiah(line["member_responsibility"]),
            shown(line["status"]),
            reason,
        )
    # Piped or redirected, the table keeps its amounts and codes whole rather than fit 80
    # columns: it is as wide as its content (a table never pads itself to the width).
    (console if console.is_terminal else Console(width=1000)).print(table)
    console.print(
        f"total charged {rupiah(head['total_charged_amount'])}; plan pays "
        f"{rupiah(head['total_approved_amount'])}; member pays "
        f"{rupiah(head['member_responsibility'])}"
    )
    for o in doc.overrides:
        decided = (
            f"approved {rupiah(o['approved_amount'])}"
            if o["decision"] == "approve"
            else f"rejected {o['reason_code']}"
        )
        login = o["overridden_login"] or "not recorded"
        console.print(
            f"override of line {o['line_number']}: {shown(decided)} by "
            f"{shown(o['overridden_by'])} (login {shown(login)}) at "
            f"{o['overridden_at']:%Y-%m-%d %H:%M %Z}: {shown(o['note'])}",
            highlight=False,
            soft_wrap=True,
        )
