"""Parameters, inputs and reports of the payment flows (`payment-run`,
`bank-response-import`) and of a batch's approval. Money is rupiah as Decimal here (the
database's DECIMAL(15,2)), integer sen inside the frames."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from prefect.input import RunInput
from pydantic import BaseModel, ConfigDict, Field

DATE_SCHEMA: dict[str, Any] = {"format": "date"}


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PaymentRunParameters(_Params):
    """Parameters of `payment-run`."""

    value_date: date | None = Field(
        None,
        description="Value date of the batches, YYYY-MM-DD (default: today in Jakarta)",
        json_schema_extra=DATE_SCHEMA,
    )
    approval_threshold: Decimal = Field(
        Decimal("500000000"),
        ge=0,
        max_digits=15,
        decimal_places=2,
        description="A batch above this net total (rupiah) needs a person's approval",
    )
    approval_wait_seconds: int = Field(
        0,
        ge=0,
        le=86_400,
        description=(
            "How long a run outside a deployment waits for an approver in the Prefect UI "
            "(0: leave the batch for `claims-askes payments approve`); a deployment's run "
            "suspends instead and holds no worker while it waits"
        ),
    )
    max_batch_payments: int = Field(
        10_000, ge=1, le=1_000_000, description="Payments per batch (and bank file) at most"
    )
    max_payments: int = Field(
        2_000_000, ge=1, description="Claim payments taken into one run at most"
    )
    outbox: str | None = Field(
        None,
        description="Directory of the bank files (default: CLAIMS_ASKES_HOME/payments/outbox)",
    )


class BankResponseImportParameters(_Params):
    """Parameters of `bank-response-import`."""

    files: list[str] = Field(
        default_factory=list,
        description="Response files to import (pain.002, camt.054 or CSV); none: the inbox",
    )
    inbox: str | None = Field(
        None,
        description=(
            "Directory read when no file is named (default: CLAIMS_ASKES_HOME/payments/inbox)"
        ),
    )
    max_attempts: int = Field(
        3, ge=1, le=10, description="Attempts a failed payment gets before the exception list"
    )


class ApprovalInput(RunInput):
    """What an approver gives a payment run waiting for a batch's approval."""

    decision: Literal["approve", "reject"] = Field(description="Approve or reject the batch")
    approver: str = Field(min_length=1, max_length=100, description="Your name")
    comment: str | None = Field(None, max_length=500, description="Why (optional)")


class BatchSummary(BaseModel):
    batch_number: str
    payee_type: str
    payment_count: int
    total: Decimal
    status: str


class PaymentRunReport(BaseModel):
    run_id: str
    value_date: date
    claim_payments_read: int = 0
    payments_created: int = 0
    held: int = 0
    released: int = 0
    offsets_recorded: int = 0
    offset_amount: Decimal = Decimal(0)
    paid_by_offset: int = 0
    readjustments_settled: int = 0
    supplementary_payments: int = 0
    batches: list[BatchSummary] = Field(default_factory=list)
    files_written: list[str] = Field(default_factory=list)
    awaiting_approval: list[str] = Field(default_factory=list)
    synced: int = 0
    seconds: float = 0.0


class FileOutcome(BaseModel):
    file_name: str
    sha256: str | None = None
    kind: str | None = None
    outcome: Literal["imported", "already imported", "unreadable"]
    applied: int = 0
    rejected: int = 0
    errors: list[str] = Field(default_factory=list)


class BankImportReport(BaseModel):
    run_id: str
    files: list[FileOutcome] = Field(default_factory=list)
    paid: int = 0
    retried: int = 0
    exceptions: int = 0
    batches_completed: int = 0
    synced: int = 0
    seconds: float = 0.0
