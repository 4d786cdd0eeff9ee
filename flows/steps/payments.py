"""Steps of the payment flows that the payment run, the bank-response import and the
command line share: payees read from their services, a batch's decision (automatic, or a
person's through Prefect's pause/suspend with a typed input), approved batches written to
the outbox."""

from __future__ import annotations

import os
import uuid
from datetime import UTC
from decimal import Decimal
from pathlib import Path

import pandas as pd
from prefect import get_run_logger
from prefect.context import FlowRunContext
from prefect.flow_runs import pause_flow_run, suspend_flow_run

from claims_askes.core.errors import ClaimsAskesError
from claims_askes.core.faults import crash_point
from claims_askes.core.settings import get_settings
from claims_askes.payments import batches as payment_batches
from claims_askes.payments.approval import batch_summary
from claims_askes.payments.iso20022 import BatchHeader, write_bulk_csv, write_pain001
from schemas.payments import ApprovalInput
from tasks.payments import (
    bank_key,
    read_accounts_for_file,
    read_batch_payments,
    read_batches_to_send,
    read_draft_batches,
    read_largest_payments,
    read_payee_bank_details,
    record_batch_sent,
    record_decision,
    uuids,
    write_private_file,
)

AUTO_APPROVER = "payment-run (under the approval threshold)"


def outbox_dir(outbox: str | None) -> Path:
    return Path(outbox) if outbox else get_settings().resolved_home / "payments" / "outbox"


def inbox_dir(inbox: str | None) -> Path:
    return Path(inbox) if inbox else get_settings().resolved_home / "payments" / "inbox"


def read_payees(keys: pd.DataFrame) -> pd.DataFrame:
    """Names and masked bank details of the payees (payee_type, payee_id), each read from
    its own service."""
    frames = [
        read_payee_bank_details(
            payee_type, uuids(keys.loc[keys["payee_type"] == payee_type, "payee_id"])
        )
        for payee_type in ("provider", "member")
    ]
    return pd.concat(frames, ignore_index=True)


def _in_deployment() -> bool:
    context = FlowRunContext.get()
    return bool(context and context.flow_run and context.flow_run.deployment_id)


def ask_approver(batch: pd.Series, wait_seconds: int) -> ApprovalInput | None:
    """A person's decision on a batch through Prefect: a deployment's run suspends (it exits
    and holds no worker; resuming runs it again from the start, every step idempotent, and
    this call then returns the input); a run outside a deployment pauses up to
    `wait_seconds`. None when no one decided in time (or wait_seconds is 0 outside a
    deployment): the batch stays a draft for `claims-askes payments approve`."""
    form = ApprovalInput.with_initial_data(
        description=batch_summary(batch, read_largest_payments(batch["batch_number"]))
    )
    key = approval_key(str(batch["batch_number"]))
    if _in_deployment():
        return suspend_flow_run(wait_for_input=form, key=key)
    if wait_seconds <= 0:
        return None
    from prefect.exceptions import FlowPauseTimeout

    try:
        return pause_flow_run(wait_for_input=form, key=key, timeout=wait_seconds, poll_interval=2)
    except FlowPauseTimeout:
        return None


def approval_key(batch_number: str) -> str:
    """The pause key of a batch's approval (Prefect: lowercase, digits, dashes)."""
    return f"approve-{batch_number.lower()}"


def resume_waiting_run(flow_run_id: str | None, batch_number: str, answer: ApprovalInput) -> bool:
    """After a decision given from a shell: resume the run suspended (or paused) for this
    batch's approval with the same typed input, as the Prefect UI would, so that it goes on
    and sends what is approved now. The run finds the batch decided and records nothing
    again. False when no run waits for it (or no Prefect API is configured)."""
    from prefect.settings import PREFECT_API_URL

    if not flow_run_id or not PREFECT_API_URL.value():
        return False
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.flow_runs import resume_flow_run

    try:
        with get_client(sync_client=True) as client:
            run = client.read_flow_run(uuid.UUID(flow_run_id))
    except ObjectNotFound:
        return False
    state = run.state
    if not (
        state and state.is_paused() and state.state_details.pause_key == approval_key(batch_number)
    ):
        return False
    resume_flow_run(run.id, run_input=answer.model_dump(mode="json"))
    return True


def approve_under_threshold(run_id: uuid.UUID) -> int:
    """Approve the run's draft batches at or under the threshold (recorded as `auto`), before
    anyone is asked about the others: they are sent even while the run waits."""
    approved = 0
    for _, batch in read_draft_batches(run_id).iterrows():
        if not batch["approval_required"]:
            _, decided = record_decision(
                str(batch["batch_number"]), "approve", AUTO_APPROVER, None, "auto", run_id
            )
            approved += decided
    return approved


def decide_batches(run_id: uuid.UUID, wait_seconds: int, threshold: Decimal) -> list[str]:
    """Ask a person about each of the run's draft batches above the threshold (one decided
    meanwhile from a shell is no longer a draft, and not asked about). Returns the batches
    still awaiting a decision."""
    logger = get_run_logger()
    waiting: list[str] = []
    for _, batch in read_draft_batches(run_id).iterrows():
        number = str(batch["batch_number"])
        if not batch["approval_required"]:
            continue
        answer = ask_approver(batch, wait_seconds)
        if answer is None:
            logger.info("batch %s awaits approval (above %s)", number, threshold)
            waiting.append(number)
            continue
        status, decided = record_decision(
            number, answer.decision, answer.approver, answer.comment, "ui", run_id
        )
        if decided:
            logger.info("batch %s %s by %s", number, status, answer.approver)
        else:
            logger.info("batch %s was %s before: the first decision stands", number, status)
    return waiting


def debtor() -> tuple[str, str, str]:
    """The insurer's account the batches are paid from: name, BIC, account number
    (CLAIMS_ASKES_DEBTOR_NAME, _BIC, _ACCOUNT, else the demo's)."""
    return (
        os.environ.get("CLAIMS_ASKES_DEBTOR_NAME", payment_batches.DEBTOR_NAME),
        os.environ.get("CLAIMS_ASKES_DEBTOR_BIC", payment_batches.DEBTOR_BIC),
        os.environ.get("CLAIMS_ASKES_DEBTOR_ACCOUNT", payment_batches.DEBTOR_ACCOUNT),
    )


def write_batch_remittance(batch: pd.Series, payments: pd.DataFrame, outbox: Path) -> list[Path]:
    """The remittance advice of a provider batch: per provider, each claim and line paid
    with charged, allowed, the adjustments with their CARC/group codes, offsets taken, and
    paid; CSV and HTML under outbox/remittance."""
    if batch["payee_type"] != "provider":
        return []
    from tasks.remittance import read_remittance_lines, write_remittance_advice

    lines, adjustments = read_remittance_lines(list(payments["claim_id"].astype(str)))
    return write_remittance_advice(
        str(batch["batch_number"]),
        payment_batches.remittance_payments(payments),
        lines,
        adjustments,
        outbox / "remittance",
    )


def batch_files(batch: pd.Series) -> dict[str, bytes]:
    """The pain.001 XML and the CSV of one batch, the same bytes every time: the account
    numbers are decrypted here, only for the writers, and never leave this call but in the
    bytes."""
    payments = read_batch_payments(str(batch["batch_number"]))
    if payments.empty:
        raise ClaimsAskesError(f"batch {batch['batch_number']}: no payments to send")
    key = bank_key()
    accounts = pd.concat(
        [
            read_accounts_for_file(
                payee_type,
                uuids(payments.loc[payments["payee_type"] == payee_type, "payee_id"]),
                key,
            )
            for payee_type in payments["payee_type"].unique()
        ],
        ignore_index=True,
    )
    rows = payment_batches.file_rows(payments, accounts)
    name, bic, account = debtor()
    created = pd.Timestamp(batch["created_at"])
    header = BatchHeader(
        batch_number=str(batch["batch_number"]),
        message_id=str(batch["message_id"]),
        created_at=(created.tz_localize(UTC) if created.tzinfo is None else created.tz_convert(UTC))
        .floor("s")
        .to_pydatetime(),
        value_date=pd.Timestamp(batch["value_date"]).date(),
        debtor_name=name,
        debtor_account=account,
        debtor_bic=bic,
        payee_type=str(batch["payee_type"]),
    )
    return {"pain.001": write_pain001(header, rows), "csv": write_bulk_csv(header, rows)}


def send_approved_batches(outbox: Path) -> list[Path]:
    """Every approved batch into the outbox: its files written (0600, through a rename),
    then recorded with their hashes and the batch marked sent. A run killed between the two
    writes the same bytes again."""
    written: list[Path] = []
    for _, batch in read_batches_to_send().iterrows():
        number = str(batch["batch_number"])
        files: dict[str, tuple[Path, str, int]] = {}
        for fmt, data in batch_files(batch).items():
            suffix = "pain001.xml" if fmt == "pain.001" else "csv"
            path = outbox / f"{number}.{suffix}"
            files[fmt] = (path, write_private_file(path, data), len(data))
            written.append(path)
        write_batch_remittance(batch, read_batch_payments(number), outbox)
        crash_point("payment-after-file")
        record_batch_sent(number, files)
    return written


def give_demo_bank_details(seed: int = 16) -> int:
    """The demo's payees get plausible Indonesian bank details (a bank of DEMO_BANKS, an
    account number of its length), encrypted like any: every provider and member
    without any. Returns how many were stored."""
    from claims_askes.payments.bank_details import demo_accounts
    from tasks.payments import read_payees_without_bank_details, store_bank_details

    key = bank_key()
    stored = 0
    for offset, payee_type in enumerate(("provider", "member")):
        payees = read_payees_without_bank_details(payee_type)
        if not payees.empty:
            stored += store_bank_details(payee_type, demo_accounts(payees, seed + offset), key)
    return stored


def answer_sent_batches(outbox: Path, inbox: Path, seed: int) -> int:
    """Play the bank for every batch file of the outbox not answered yet: its pain.002 and
    camt.054 into the inbox (most paid, a few failed or returned). Returns files written."""
    from datetime import datetime

    from claims_askes.payments.bank_simulator import simulate_bank_response

    written = 0
    for number, source in enumerate(sorted(outbox.glob("*.pain001.xml"))):
        marker = inbox / "answered" / source.name
        if marker.exists():
            continue
        answers = simulate_bank_response(
            source.read_bytes(), seed=seed + number, at=datetime.now(UTC)
        )
        for name, data in answers.items():
            write_private_file(inbox / name, data)
            written += 1
        write_private_file(marker, b"")
    return written
