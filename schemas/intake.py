"""A claim as an intake receives it: the shape checked at the door.

Only what the database could not store, or could store only by guessing, is refused here: a
missing or malformed id, an unknown claim type, no lines, a charge with fractional cents or
too many digits, a charge given as a float, an unknown field. Whatever the claim's content
says (dates in the wrong order, a negative charge, a quantity of 0, a malformed procedure
code, a member without coverage) is stored as sent and decided by adjudication (rule R1 and
the others), which writes a note saying why: a rejection nobody sees at the door would be a
claim lost.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: The most lines one claim may carry (far above any real claim; a guard against a runaway).
MAX_LINES = 999
#: The largest amount a DECIMAL(15,2) column holds (the claim's total is one).
LARGEST_AMOUNT = Decimal("9999999999999.99")


class ClaimLineSubmission(BaseModel):
    """One line of a submitted claim."""

    model_config = ConfigDict(extra="forbid")

    benefit_code: str | None = Field(None, max_length=50)
    procedure_code: str | None = Field(None, max_length=20)
    diagnosis_code: str | None = Field(None, max_length=10)
    quantity: int = Field(1, ge=-(2**31), le=2**31 - 1)  # an INTEGER; R1 judges its value
    charged_amount: Decimal = Field(max_digits=15, decimal_places=2)  # R1 judges a negative

    @field_validator("charged_amount", mode="before")
    @classmethod
    def _no_float(cls, value: Any) -> Any:
        """Money is never a float: 0.1 + 0.2 is not 0.3 in binary. Send a string or Decimal."""
        if isinstance(value, float):
            raise ValueError("give the amount as a string or Decimal, not a float")
        return value


class ClaimSubmission(BaseModel):
    """One submitted claim with its lines (numbered 1, 2, ... in the order given)."""

    model_config = ConfigDict(extra="forbid")

    member_id: uuid.UUID
    provider_id: uuid.UUID
    policy_id: uuid.UUID
    claim_type: Literal["cashless", "reimbursement"]
    service_type: str = Field(min_length=1, max_length=20)
    service_date: date
    admission_date: date | None = None
    discharge_date: date | None = None
    lines: list[ClaimLineSubmission] = Field(min_length=1, max_length=MAX_LINES)

    @property
    def total_charged(self) -> Decimal | None:
        """The claim's total as stored: the lines' sum, never below 0 (the column's check;
        R1 rejects the negative line), or None when it does not fit DECIMAL(15,2)."""
        total = max(sum((line.charged_amount for line in self.lines), Decimal("0")), Decimal("0"))
        return total if total <= LARGEST_AMOUNT else None
