"""Payment run: every pending claim payment paid once, in batches, through a bank file.

1. Readjustments: no_change settled; an underpayment becomes a supplementary claim payment
   (claims service, one statement); an overpayment becomes an offset (payment service).
2. Pending claim payments (claims) with their payees' names and masked bank details
   (member, provider services) become payments, once per claim payment; a payee without
   valid bank details is held with the reason; held payees with details now are released.
   The claims service marks the claim payments scheduled.
3. One payment-service transaction: offsets taken from the payees' pending payments (a
   payment they take whole is paid by offset), offsets with nothing due listed for recovery,
   draft batches by payment method, payee type and value date, checked (totals, bank
   details, amounts, no claim paid twice) before the commit. The overpayments settle.
4. Approval: a batch at or under the threshold is approved by the run, and every approved
   batch (this run's or an earlier one's) becomes a pain.001 XML and a CSV in the outbox
   (0600, hashes recorded): batch and payments sent.
5. Above the threshold a person decides (the Prefect UI's resume form, or `claims-askes
   payments approve|reject`, which resumes the waiting run); what is approved then is sent.

Killed anywhere and run again: nothing is paid twice, nothing is lost (see
tests/payments/test_payment_kills.py). A run waiting for approval holds no lock a later run
needs for its own batches: the decision is per batch, and files are written by whichever run
finds the batch approved.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pandas as pd
from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from claims_askes.core.faults import crash_point
from claims_askes.core.parameters import takes
from claims_askes.core.runtime import current_flow_run_id
from claims_askes.operations.common import business_today
from claims_askes.payments.batches import payments_to_stage, released_payees
from claims_askes.payments.settlement import settlements
from flows.steps.payments import (
    approve_under_threshold,
    decide_batches,
    outbox_dir,
    read_payees,
    send_approved_batches,
)
from schemas.payments import BatchSummary, PaymentRunParameters, PaymentRunReport
from tasks.payments import (
    insert_payments,
    list_batches,
    payment_lock,
    prepare_batches,
    read_held_payees,
    read_offsets,
    read_open_overpayments,
    read_pending_claim_payments,
    record_offsets,
    settle_claims_readjustments,
    settle_overpayments,
    sync_claim_payments,
)


def publish(report: PaymentRunReport) -> None:
    create_table_artifact(
        key="payment-run",
        table=[b.model_dump(mode="json") for b in report.batches],
        description=f"Batches of payment run {report.run_id} (value date {report.value_date})",
    )
    create_markdown_artifact(
        key="payment-run-summary",
        markdown=(
            f"# Payment run\n\n{report.payments_created:,} payments from "
            f"{report.claim_payments_read:,} claim payments ({report.held:,} held back for "
            f"bank details, {report.released:,} released), {len(report.batches)} batches, "
            f"{len(report.files_written)} files written, "
            f"{len(report.awaiting_approval)} batches awaiting approval. Readjustments "
            f"settled: {report.readjustments_settled:,} ({report.supplementary_payments:,} "
            f"supplementary payments, {report.offsets_recorded:,} offsets, "
            f"{report.paid_by_offset:,} payments paid by offset).\n"
        ),
        description="Payment run summary",
    )


@flow(name="payment-run")
@takes(PaymentRunParameters)
def payment_run(params: PaymentRunParameters) -> PaymentRunReport:
    """Pay every pending claim payment once, in approved batches written as bank files."""
    logger = get_run_logger()
    started = time.monotonic()
    run_id = current_flow_run_id()
    value_date = params.value_date or business_today()
    report = PaymentRunReport(run_id=str(run_id), value_date=value_date)
    with payment_lock():
        no_change, report.supplementary_payments = settle_claims_readjustments()
        overpayments = read_open_overpayments()
        report.offsets_recorded = record_offsets(overpayments)

        claim_payments = read_pending_claim_payments(params.max_payments)
        held = read_held_payees()
        payees = read_payees(
            pd.concat([claim_payments[["payee_type", "payee_id"]], held], ignore_index=True)
        )
        stage = payments_to_stage(claim_payments, payees)
        held_keys = held.assign(held=True)
        released = released_payees(
            payees.merge(held_keys, on=["payee_type", "payee_id"], how="inner")
        )
        report.claim_payments_read = len(claim_payments)
        report.payments_created, report.held, report.released = insert_payments(stage, released)
        crash_point("payment-after-insert")
        report.synced = sync_claim_payments()

        batching = prepare_batches(
            value_date, params.max_batch_payments, params.approval_threshold, run_id
        )
        report.paid_by_offset = batching.paid_by_offset
        report.offset_amount = batching.offset_amount
        settled = settle_overpayments(
            settlements(read_offsets(list(overpayments["readjustment_id"].astype(str))))
            if not overpayments.empty
            else pd.DataFrame(columns=["readjustment_id", "offset_id", "settlement"])
        )
        report.readjustments_settled = no_change + report.supplementary_payments + settled

    outbox = outbox_dir(params.outbox)
    approve_under_threshold(run_id)
    sent = send_approved_batches(outbox)  # before anyone is asked: a wait delays none of them
    report.awaiting_approval = decide_batches(
        run_id, params.approval_wait_seconds, params.approval_threshold
    )
    sent += send_approved_batches(outbox)
    report.files_written = [str(p) for p in sent]
    report.synced += sync_claim_payments()
    batches = list_batches(200)
    report.batches = [
        BatchSummary(
            batch_number=str(b["batch_number"]),
            payee_type=str(b["payee_type"]),
            payment_count=int(b["payment_count"]),
            total=Decimal(int(b["total_cents"])) / 100,
            status=str(b["status"]),
        )
        for b in batches.to_dict("records")
        if b["flow_run_id"] == str(run_id) or b["batch_number"] in report.awaiting_approval
    ]
    report.seconds = round(time.monotonic() - started, 3)
    logger.info(
        "%s payments created (%s held), %s batches, %s files written",
        report.payments_created,
        report.held,
        batching.batches,
        len(report.files_written),
    )
    publish(report)
    return report
