"""Commands of the payment flows, registered on the main CLI by `register`.

`claims-askes run payment-run | bank-response-import FILE...`, `claims-askes payments
approve|reject BATCH --by NAME [--comment TEXT]` (resuming the run that waits for it),
`claims-askes payments list [--status held|exception]`, `claims-askes payments retry
PAYMENT... --by NAME --reason TEXT` (the exception list back for the next run), and
`claims-askes bank simulate BATCH` (plays the bank: answers a sent batch's file with a
pain.002 and a camt.054 in the inbox, most paid, a few failed or returned).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from claims_askes.cli.common import (
    console,
    flow_progress,
    option,
    parameters,
    print_records,
    shown,
    user_errors,
)
from claims_askes.core.errors import ClaimsAskesError
from schemas.payments import ApprovalInput, BankResponseImportParameters, PaymentRunParameters

ValueDate = Annotated[
    datetime | None,
    typer.Option(
        "--value-date",
        formats=["%Y-%m-%d"],
        help=PaymentRunParameters.model_fields["value_date"].description,
    ),
]


def _rupiah(cents: int) -> str:
    return f"Rp {Decimal(int(cents)) / 100:,.2f}"


def decide(batch: str, decision: str, by: str, comment: str | None) -> None:
    from tasks.payments import record_decision

    checked = ApprovalInput.model_validate(
        {"decision": decision, "approver": by, "comment": comment}
    )
    status, decided = record_decision(
        batch, checked.decision, checked.approver, checked.comment, "cli"
    )
    if status is None:
        raise ClaimsAskesError(f"no batch {batch!r}: see `claims-askes payments list`")
    if not decided:
        raise ClaimsAskesError(
            f"batch {batch} is {status}: it was decided before (the first decision stands)"
        )
    console.print(f"batch {shown(batch)} {status} by {shown(checked.approver)}")
    from flows.steps.payments import resume_waiting_run
    from tasks.payments import batch_flow_run

    if resume_waiting_run(batch_flow_run(batch), batch, checked):
        console.print("the payment run waiting for this decision goes on")


class PaymentStatus(StrEnum):
    held = "held"
    exception = "exception"


def retry_payments(references: list[str], by: str, reason: str) -> None:
    from claims_askes.payments.retries import RETRIED, RETRIED_BEFORE
    from tasks.payments import retry_payments as retry

    if not by.strip() or not reason.strip():
        raise ClaimsAskesError("--by and --reason are recorded with the retry: give both")
    outcomes = retry(references, by.strip()[:100], reason.strip()[:500])
    for o in outcomes:
        console.print(f"{shown(o.reference)}: {o.outcome}, {shown(o.message)}", soft_wrap=True)
    refused = [o.reference for o in outcomes if o.outcome not in (RETRIED, RETRIED_BEFORE)]
    if refused:
        raise ClaimsAskesError(f"not retried: {', '.join(refused)}")


PAYMENT_COLUMNS = (
    "payment",
    "claim",
    "payee",
    "bank",
    "account",
    "amount",
    "attempt",
    "reason",
    "last batch",
)


def _payment_row(p: dict[Any, Any]) -> list[str]:
    def text(value: object) -> str:
        return shown(value if isinstance(value, str) else "-")

    return [
        shown(p["payment_id"]),
        shown(p["claim_number"]),
        shown(f"{p['payee_type']} {p['payee_name']}"),
        text(p["bank_code"]),
        text(p["bank_account_masked"]),
        _rupiah(int(p["net_cents"])),
        str(p["attempt"]),
        text(p["reason"]),
        text(p["batch_number"]),
    ]


def list_payments(status: str, limit: int) -> None:
    """A table on a wide terminal; on a narrow one, one block per payment (as `psql \\x`),
    so that ids and claim numbers stay whole for copying into `payments retry`."""
    from tasks.payments import read_payments_by_status

    rows = [_payment_row(p) for p in read_payments_by_status.fn(status, limit).to_dict("records")]
    print_records(f"payments {status}", PAYMENT_COLUMNS, rows, "payment")
    console.print(
        f"{len(rows):,} payments {status}" + (" (limit reached)" if len(rows) == limit else "")
    )


def register(app: typer.Typer, run_app: typer.Typer) -> None:
    """Add this module's commands to `claims-askes` and `claims-askes run`."""
    payments_app = typer.Typer(
        help="Payment batches and payments: list, approve or reject a batch, retry payments.",
        no_args_is_help=True,
    )
    app.add_typer(payments_app, name="payments")
    bank_app = typer.Typer(help="Play the bank (demo and tests).", no_args_is_help=True)
    app.add_typer(bank_app, name="bank")

    def command(typer_app: typer.Typer, name: str) -> Callable[[Any], Any]:
        def wrap(fn: Any) -> Any:
            return typer_app.command(name)(user_errors(fn))

        return wrap

    @command(run_app, "payment-run")
    def run_payment_run(
        value_date: ValueDate = None,
        approval_threshold: Decimal = option(
            PaymentRunParameters, "approval_threshold", parser=Decimal
        ),
        approval_wait_seconds: int = option(PaymentRunParameters, "approval_wait_seconds"),
        max_batch_payments: int = option(PaymentRunParameters, "max_batch_payments"),
        max_payments: int = option(PaymentRunParameters, "max_payments"),
        outbox: str | None = option(PaymentRunParameters, "outbox"),
    ) -> None:
        """Pay every pending claim payment once: batches, approval, bank files."""
        from flows.payment_run import payment_run

        values = dict(
            value_date=value_date.date() if value_date else None,
            approval_threshold=approval_threshold,
            approval_wait_seconds=approval_wait_seconds,
            max_batch_payments=max_batch_payments,
            max_payments=max_payments,
            outbox=outbox,
        )
        parameters(PaymentRunParameters, **values)
        with flow_progress():
            report = payment_run(**values)
        table = Table("batch", "payee", "payments", "total", "status", title="payment run")
        for b in report.batches:
            table.add_row(
                shown(b.batch_number),
                shown(b.payee_type),
                f"{b.payment_count:,}",
                f"Rp {b.total:,.2f}",
                shown(b.status),
            )
        console.print(table)
        console.print(
            f"{report.payments_created:,} payments ({report.held:,} held back for bank "
            f"details), {len(report.files_written)} files written; awaiting approval: "
            f"{shown(', '.join(report.awaiting_approval) or 'none')}"
        )

    @command(run_app, "bank-response-import")
    def run_bank_response_import(
        files: Annotated[
            list[Path] | None,
            typer.Argument(help=BankResponseImportParameters.model_fields["files"].description),
        ] = None,
        inbox: str | None = option(BankResponseImportParameters, "inbox"),
        max_attempts: int = option(BankResponseImportParameters, "max_attempts"),
    ) -> None:
        """Apply the bank's answers (pain.002, camt.054, CSV) to the payments, once."""
        from flows.bank_response_import import bank_response_import

        values = dict(files=[str(f) for f in files or []], inbox=inbox, max_attempts=max_attempts)
        parameters(BankResponseImportParameters, **values)
        with flow_progress():
            report = bank_response_import(**values)
        for f in report.files:
            console.print(
                f"{shown(f.file_name)}: {f.outcome}, {f.applied:,} applied, {f.rejected:,} rejected"
            )
            for error in f.errors[:20]:
                console.print(f"  {shown(error)}")
        console.print(
            f"{report.paid:,} paid, {report.retried:,} back for a later batch, "
            f"{report.exceptions:,} to the exception list, {report.batches_completed:,} "
            "batches completed"
        )
        if any(f.outcome == "unreadable" for f in report.files):
            raise typer.Exit(1)

    @command(payments_app, "approve")
    def approve(
        batch: Annotated[str, typer.Argument(help="Batch number, e.g. PAY-20260401-P-001")],
        by: Annotated[str, typer.Option("--by", help="Your name (recorded)")],
        comment: Annotated[str | None, typer.Option("--comment", help="Why")] = None,
    ) -> None:
        """Approve a draft batch: the next payment run writes its bank files."""
        decide(batch, "approve", by, comment)

    @command(payments_app, "reject")
    def reject(
        batch: Annotated[str, typer.Argument(help="Batch number, e.g. PAY-20260401-P-001")],
        by: Annotated[str, typer.Option("--by", help="Your name (recorded)")],
        comment: Annotated[str | None, typer.Option("--comment", help="Why")] = None,
    ) -> None:
        """Reject a draft batch: its payments are held with the reason."""
        decide(batch, "reject", by, comment)

    @command(payments_app, "retry")
    def retry(
        payments: Annotated[
            list[str],
            typer.Argument(
                metavar="PAYMENT",
                help="Payment ids or end-to-end ids (see `payments list --status`)",
            ),
        ],
        by: Annotated[str, typer.Option("--by", help="Your name (recorded)")],
        reason: Annotated[str, typer.Option("--reason", help="Why (recorded)")],
    ) -> None:
        """Put payments on the exception list, or held by a rejected batch, back for the
        next payment run (recorded once; running it again changes nothing)."""
        retry_payments(payments, by, reason)

    @command(payments_app, "list")
    def list_batches(
        limit: Annotated[int, typer.Option("--limit", min=1, help="Newest batches shown")] = 20,
        status: Annotated[
            PaymentStatus | None,
            typer.Option(
                "--status",
                help="List the payments held back or on the exception list instead of batches",
            ),
        ] = None,
    ) -> None:
        """The newest payment batches with their status and decision; with --status, the
        payments held back or on the exception list (accounts masked)."""
        from tasks.payments import list_batches as read

        if status is not None:
            list_payments(status.value, limit)
            return
        table = Table("batch", "payee", "value date", "status", "payments", "total", "decided by")
        for b in read.fn(limit).to_dict("records"):
            table.add_row(
                shown(b["batch_number"]),
                shown(b["payee_type"]),
                shown(str(b["value_date"])[:10]),
                shown(b["status"]),
                f"{int(b['payment_count']):,}",
                _rupiah(int(b["total_cents"])),
                shown(b["decided_by"] if isinstance(b["decided_by"], str) else "-"),
            )
        console.print(table)

    @command(bank_app, "simulate")
    def simulate(
        batch: Annotated[str, typer.Argument(help="A sent batch's number")],
        seed: Annotated[int, typer.Option("--seed", help="Same seed, same answers")] = 1,
        inbox: Annotated[
            str | None, typer.Option("--inbox", help="Where the answers go (default: the inbox)")
        ] = None,
        outbox: Annotated[
            str | None, typer.Option("--outbox", help="Where the batch's file is")
        ] = None,
    ) -> None:
        """Play the bank: answer a sent batch's pain.001 with a pain.002 and a camt.054."""
        for path in simulate_bank(batch, seed=seed, inbox=inbox, outbox=outbox):
            console.print(f"wrote {shown(path)}")


def simulate_bank(
    batch: str, *, seed: int, inbox: str | None = None, outbox: str | None = None
) -> list[Path]:
    """The bank's answers to a sent batch's pain.001, written to the inbox (0600)."""
    from claims_askes.payments.bank_simulator import simulate_bank_response
    from flows.steps.payments import inbox_dir, outbox_dir
    from tasks.payments import write_private_file

    source = outbox_dir(outbox) / f"{batch}.pain001.xml"
    if not source.is_file():
        raise ClaimsAskesError(
            f"no file {source}: is batch {batch} sent? (claims-askes payments list)"
        )
    answers = simulate_bank_response(source.read_bytes(), seed=seed, at=datetime.now(UTC))
    written = []
    for name, data in answers.items():
        path = inbox_dir(inbox) / name
        write_private_file(path, data)
        written.append(path)
    return written
