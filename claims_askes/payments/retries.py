"""An operator's retry of payments, pure: what each payment named on the command line
becomes (retried, retried before, refused with the reason, not found)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pandas as pd

from claims_askes.payments.batches import NO_BANK_DETAILS

RETRIED, RETRIED_BEFORE, REFUSED, NOT_FOUND = "retried", "retried before", "refused", "not found"


@dataclass(frozen=True)
class RetryOutcome:
    reference: str
    outcome: str
    message: str


def split_references(references: list[str]) -> tuple[list[str], list[str]]:
    """Payment ids (UUIDs) and end-to-end ids (anything else), as an operator may give
    either: the list shows the first, the bank's answers the second."""
    ids: list[str] = []
    end_to_end: list[str] = []
    for reference in references:
        try:
            ids.append(str(uuid.UUID(reference)))
        except ValueError:
            end_to_end.append(reference)
    return ids, end_to_end


def _row_of(reference: str, found: pd.DataFrame) -> pd.Series | None:
    ids, _ = split_references([reference])
    by_id = found["reference"].isna() & (found["payment_id"] == (ids[0] if ids else None))
    match = found[by_id] if ids else found[found["reference"] == reference]
    return match.iloc[0] if len(match) else None


def retry_outcomes(
    references: list[str], found: pd.DataFrame, moved: pd.DataFrame
) -> list[RetryOutcome]:
    """found: the payments as they stood, with the end-to-end id that named each
    (payments_for_retry); moved: those the retry put
    back to pending (payment_id, attempt). A payment retried before and still waiting is not
    an error: running the same retry again is harmless."""
    attempts = dict(zip(moved["payment_id"], moved["attempt"], strict=True))
    outcomes = []
    for reference in references:
        row = _row_of(reference, found)
        if row is None:
            outcomes.append(RetryOutcome(reference, NOT_FOUND, "no such payment"))
            continue
        payment = str(row["payment_id"])
        if payment in attempts:
            outcomes.append(
                RetryOutcome(
                    reference,
                    RETRIED,
                    f"back to pending for the next payment run (attempt {attempts[payment]})",
                )
            )
        elif isinstance(row["retried_by"], str) and row["status"] in ("pending", "batched"):
            outcomes.append(
                RetryOutcome(
                    reference,
                    RETRIED_BEFORE,
                    f"retried before by {row['retried_by']} (attempt {row['attempt']}), "
                    f"now {row['status']}: nothing to do",
                )
            )
        elif row["status"] == "held" and str(row["hold_reason"]).startswith(NO_BANK_DETAILS):
            outcomes.append(
                RetryOutcome(
                    reference,
                    REFUSED,
                    f"held for bank details ({row['hold_reason']}): store verified bank "
                    "details for the payee; the next payment run releases it",
                )
            )
        else:
            outcomes.append(
                RetryOutcome(
                    reference,
                    REFUSED,
                    f"is {row['status']}: only a payment on the exception list or held by a "
                    "rejected batch is retried",
                )
            )
    return outcomes
