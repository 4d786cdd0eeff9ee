"""Bank response import: the bank's answers to our payment files applied once.

Per file (named, or every file of the inbox): read it (pain.002, camt.054 or the CSV
equivalent; a file that cannot be read as a whole applies nothing and is reported by name);
check its entries against the payments they name (unknown reference, other amount, other
currency: rejected, each with a message naming the file and entry; the good entries apply);
then, in one payment-service transaction: the file recorded by its SHA-256 (a file recorded
before changes nothing), its rejected entries, the payments paid, failed or returned with the
bank's reference and time (failed or returned: back for a later batch up to `max_attempts`,
then the exception list), and every batch whose payments are all final completed. Last, the
claims service takes the payments' state over through its own connection (claim payments
paid). Killed anywhere and run again: every answer applies exactly once.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pandas as pd
from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from claims_askes.core.faults import crash_point
from claims_askes.core.parameters import takes
from claims_askes.core.runtime import current_flow_run_id
from claims_askes.payments.bank_response import (
    BankFileUnreadable,
    check_entries,
    read_bank_response,
)
from flows.steps.payments import inbox_dir
from schemas.payments import BankImportReport, BankResponseImportParameters, FileOutcome
from tasks.payments import (
    IMPORT_LOCK,
    apply_response,
    payment_lock,
    read_payments_by_end_to_end,
    response_imported,
    sync_claim_payments,
)

RESPONSE_SUFFIXES = (".xml", ".csv")


def response_files(params: BankResponseImportParameters) -> list[Path]:
    if params.files:
        return [Path(f) for f in params.files]
    inbox = inbox_dir(params.inbox)
    if not inbox.is_dir():
        return []
    return sorted(p for p in inbox.iterdir() if p.is_file() and p.suffix in RESPONSE_SUFFIXES)


def import_file(
    path: Path, max_attempts: int, report: BankImportReport, run_id: uuid.UUID
) -> FileOutcome:
    try:
        data = path.read_bytes()
        response = read_bank_response(data, path.name)
    except OSError as exc:
        return FileOutcome(
            file_name=path.name, outcome="unreadable", errors=[f"{path.name}: {exc.strerror}"]
        )
    except BankFileUnreadable as exc:
        return FileOutcome(file_name=path.name, outcome="unreadable", errors=[str(exc)])
    if response_imported(response.sha256):
        return FileOutcome(
            file_name=path.name,
            sha256=response.sha256,
            kind=response.kind,
            outcome="already imported",
        )
    ids = sorted(set(response.entries["end_to_end_id"].dropna().astype(str)))
    good, rejected = check_entries(response, read_payments_by_end_to_end(ids))
    errors = response.errors + rejected
    result = apply_response(
        response.sha256,
        path.name,
        response.kind,
        good,
        pd.DataFrame(
            {"entry": [e.entry for e in errors], "message": [str(e) for e in errors]},
            columns=["entry", "message"],
        ),
        len(response.entries) + len(response.errors),
        max_attempts,
        run_id,
    )
    report.paid += result.paid
    report.retried += result.retried
    report.exceptions += result.exceptions
    report.batches_completed += result.completed
    return FileOutcome(
        file_name=path.name,
        sha256=response.sha256,
        kind=response.kind,
        outcome="imported" if result.recorded else "already imported",
        applied=len(good),
        rejected=len(errors),
        errors=[str(e) for e in errors],
    )


def publish(report: BankImportReport) -> None:
    create_table_artifact(
        key="bank-response-import",
        table=[
            {
                "file": f.file_name,
                "kind": f.kind or "",
                "outcome": f.outcome,
                "applied": f.applied,
                "rejected": f.rejected,
            }
            for f in report.files
        ],
        description=f"Bank responses of import run {report.run_id}",
    )
    errors = [e for f in report.files for e in f.errors]
    create_markdown_artifact(
        key="bank-response-import-summary",
        markdown=(
            f"# Bank response import\n\n{len(report.files)} files: {report.paid:,} payments "
            f"paid, {report.retried:,} back for a later batch, {report.exceptions:,} to the "
            f"exception list, {report.batches_completed:,} batches completed.\n\n"
            + "".join(f"- {e}\n" for e in errors[:200])
        ),
        description="Bank response import summary",
    )


@flow(name="bank-response-import")
@takes(BankResponseImportParameters)
def bank_response_import(params: BankResponseImportParameters) -> BankImportReport:
    """Apply the bank's status reports (pain.002, camt.054, CSV) to the payments, once."""
    logger = get_run_logger()
    started = time.monotonic()
    run_id = current_flow_run_id()
    report = BankImportReport(run_id=str(run_id))
    with payment_lock(IMPORT_LOCK):
        for path in response_files(params):
            outcome = import_file(path, params.max_attempts, report, run_id)
            report.files.append(outcome)
            for error in outcome.errors[:20]:
                logger.warning("%s", error)
        crash_point("import-after-apply")
        report.synced = sync_claim_payments()
    report.seconds = round(time.monotonic() - started, 3)
    publish(report)
    return report
