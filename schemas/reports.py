"""What flows return and show: pydantic reports."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field


class StatusTotal(BaseModel):
    status: str
    claims: int
    charged: Decimal
    approved: Decimal


class ReasonCount(BaseModel):
    reason_code: str
    lines: int


class AdjudicationSummary(BaseModel):
    """The outcome of one `claim-adjudication` run."""

    flow_run_id: str
    chunks: int = 0
    claims: int = 0
    lines: int = 0
    by_status: list[StatusTotal] = Field(default_factory=list)
    top_reasons: list[ReasonCount] = Field(default_factory=list)
    lines_posted: int = Field(
        0, description="approved line versions whose entry the accumulator ledger received"
    )
    status_history_rows: int = 0
    notes: int = 0
    payments: int = 0
    pended_waiting: int = Field(
        0,
        description="pended claims left alone: nothing they wait for changed (not leased)",
    )
    pended_due: dict[str, int] = Field(
        default_factory=dict,
        description="pended claims found due for adjudication, by why (override, "
        "authorization, member or coverage, review age)",
    )
    pended_reviewed: int = Field(
        0, description="pended claims adjudicated again because the review age passed"
    )
    pended_reviewed_numbers: list[str] = Field(
        default_factory=list,
        description="their claim numbers (the first 100 in order)",
    )
    seconds: float = 0.0
    step_seconds: dict[str, float] = Field(
        default_factory=dict,
        description="seconds per step (read, engine, write...), summed over the chunks",
    )


class PostingSummary(BaseModel):
    """The outcome of posting adjudicated lines to the accumulators."""

    lines_read: int = 0
    entries_inserted: int = 0
    lines_marked: int = 0
    lines_posted: int = Field(
        0, description="approved line versions whose entry the ledger received (not reversals)"
    )
    reversals: int = 0
    keys_reconciled: int = 0
    step_seconds: dict[str, float] = Field(
        default_factory=dict, description="seconds per step, summed over batches"
    )
    members: set[str] = Field(
        default_factory=set,
        exclude=True,
        description="members whose lines were posted (not reported)",
    )


class ReadjudicationSummary(BaseModel):
    """The outcome of one `claim-readjudication` run."""

    flow_run_id: str
    requested: int = 0
    claims: int = 0
    lines: int = 0
    reversals: int = 0
    readjustments: int = 0
    payments: int = 0
    lines_posted: int = 0
    not_found: list[str] = Field(default_factory=list)
    not_taken: list[str] = Field(
        default_factory=list,
        description="requested claims not re-adjudicated: not decided (submitted, in review, "
        "paid, cancelled), or their member is held by another run or waits for posting "
        "(ask again later)",
    )
    statuses: dict[str, str] = Field(
        default_factory=dict, description="status of each requested claim afterwards"
    )
    seconds: float = 0.0
