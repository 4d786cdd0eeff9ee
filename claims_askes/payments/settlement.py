"""How readjustments settle through payments, pure: a no_change one at once (in the claims
service's SQL), an underpayment by a supplementary claim payment (SQL, one statement), an
overpayment by an offset recorded in the payment service; this module turns the recorded
offsets into the claims service's settlements."""

from __future__ import annotations

import pandas as pd

from claims_askes.payments.batches import cents_text

OFFSET_STAGE_COLUMNS = ("readjustment_id", "claim_id", "payee_type", "payee_id", "amount")


def offsets_to_stage(overpayments: pd.DataFrame) -> pd.DataFrame:
    """open_overpayments rows -> payee_offset rows to record (amounts as rupiah text)."""
    return overpayments.assign(amount=cents_text(overpayments["amount_cents"]))[
        list(OFFSET_STAGE_COLUMNS)
    ]


def settlements(offsets: pd.DataFrame) -> pd.DataFrame:
    """Recorded offsets (readjustment_id, offset_id, status) -> the claims service's
    settlement of each: 'recovery' when listed for recovery, else 'offset' (taken, or being
    taken, from the payee's next payments)."""
    return pd.DataFrame(
        {
            "readjustment_id": offsets["readjustment_id"].astype(str),
            "offset_id": offsets["offset_id"].astype(str),
            "settlement": offsets["status"].map(
                lambda s: "recovery" if s == "recovery" else "offset"
            ),
        }
    )
