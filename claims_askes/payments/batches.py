"""The payment run's decisions, pure: which claim payments become payments and which are
held back, and the checkpoint every batch passes before it is committed."""

from __future__ import annotations

import pandas as pd

from claims_askes.payments.bank_details import BIC
from claims_askes.quality import checkpoints as q

NO_BANK_DETAILS = "no verified bank details"
PAYMENT_STAGE_COLUMNS = (
    "claim_payment_id",
    "claim_id",
    "claim_number",
    "kind",
    "readjustment_id",
    "payee_type",
    "payee_id",
    "payee_name",
    "bank_code",
    "bank_account_masked",
    "amount",
    "currency",
    "hold_reason",
)


PAYEE_STAGE_COLUMNS = ("payee_type", "payee_id", "payee_name", "bank_code", "bank_account_masked")
#: The insurer's account the batches are paid from (overridable in tasks/payments.py).
DEBTOR_NAME = "PT Asuransi Kesehatan Askes"
DEBTOR_BIC = "BMRIIDJA"
DEBTOR_ACCOUNT = "1230009876543"


def cents_text(cents: pd.Series) -> pd.Series:
    """Integer sen as exact rupiah text ('1500.25') for COPY into a DECIMAL column."""
    values = cents.astype("int64")
    magnitude = values.abs()
    text = (magnitude // 100).astype(str) + "." + (magnitude % 100).astype(str).str.zfill(2)
    return text.where(values >= 0, "-" + text)


def hold_reasons(payees: pd.DataFrame) -> pd.Series:
    """Why a payee's payments are held (NULL: they may be paid): bank details missing, or a
    bank code that is not a BIC."""
    bic = payees["bank_bic"].astype("string")
    missing = bic.isna() | payees["account_masked"].isna()
    bad_bic = ~missing & ~bic.fillna("").str.match(BIC.pattern)
    reasons = pd.Series(None, index=payees.index, dtype="object")
    reasons[missing] = NO_BANK_DETAILS
    reasons[bad_bic] = NO_BANK_DETAILS + ": bank code is not a BIC"
    return reasons


def payments_to_stage(claim_payments: pd.DataFrame, payees: pd.DataFrame) -> pd.DataFrame:
    """claim_payments (claim_payment_id, claim_id, kind, readjustment_id, payee_type,
    payee_id, amount_cents, currency) with payees (payee_type, payee_id, payee_name,
    bank_bic, account_masked) -> the payment rows to insert, held back with a reason when
    the payee has no valid bank details or the amount is not positive."""
    info = payees.assign(hold_reason=hold_reasons(payees))
    rows = claim_payments.merge(info, on=["payee_type", "payee_id"], how="left")
    rows.loc[rows["payee_name"].isna(), "hold_reason"] = "payee not found in its service"
    not_positive = rows["amount_cents"] <= 0
    rows.loc[not_positive, "hold_reason"] = "amount is not positive"
    return pd.DataFrame(
        {
            "claim_payment_id": rows["claim_payment_id"],
            "claim_id": rows["claim_id"],
            "claim_number": rows["claim_number"],
            "kind": rows["kind"],
            "readjustment_id": rows["readjustment_id"],
            "payee_type": rows["payee_type"],
            "payee_id": rows["payee_id"],
            "payee_name": rows["payee_name"],
            "bank_code": rows["bank_bic"],
            "bank_account_masked": rows["account_masked"],
            "amount": cents_text(rows["amount_cents"]),
            "currency": rows["currency"],
            "hold_reason": rows["hold_reason"],
        }
    )[list(PAYMENT_STAGE_COLUMNS)]


def released_payees(payees: pd.DataFrame) -> pd.DataFrame:
    """Payees (payee_type, payee_id, payee_name, bank_bic, account_masked) whose held
    payments may go: valid bank details now."""
    ok = payees[hold_reasons(payees).isna() & payees["payee_name"].notna()]
    return pd.DataFrame(
        {
            "payee_type": ok["payee_type"],
            "payee_id": ok["payee_id"],
            "payee_name": ok["payee_name"],
            "bank_code": ok["bank_bic"],
            "bank_account_masked": ok["account_masked"],
        }
    )


def file_rows(payments: pd.DataFrame, accounts: pd.DataFrame) -> pd.DataFrame:
    """A batch's payments (batch_payments_for_file) with the payees' decrypted accounts ->
    the rows of the bank file writers (end_to_end_id, amount_cents, currency, payee_name,
    bank_bic, account_number, remittance_info). The name on the account is the payee's."""
    rows = payments.merge(
        accounts[["payee_id", "bank_bic", "account_holder", "account_number"]].rename(
            columns={"bank_bic": "account_bic"}
        ),
        on="payee_id",
        how="left",
    )
    return pd.DataFrame(
        {
            "end_to_end_id": rows["end_to_end_id"],
            "amount_cents": rows["amount_cents"].astype("int64"),
            "currency": rows["currency"],
            "payee_name": rows["account_holder"].fillna(rows["payee_name"]).str.slice(0, 140),
            "bank_bic": rows["account_bic"].fillna(rows["bank_bic"]),
            "account_number": rows["account_number"].fillna(""),
            "remittance_info": ("Claim " + rows["claim_number"].fillna("")).str.slice(0, 140),
        }
    )


def remittance_payments(payments: pd.DataFrame) -> pd.DataFrame:
    """A batch's payments (batch_payments_for_file) as the remittance advice takes them: one
    row per claim or supplementary payment at its gross amount, and one negative `offset` row
    per payment an overpayment was taken from."""
    base = pd.DataFrame(
        {
            "payment_id": payments["payment_id"],
            "claim_id": payments["claim_id"],
            "claim_number": payments["claim_number"],
            "payee_id": payments["payee_id"],
            "payee_name": payments["payee_name"],
            "kind": payments["kind"],
            "amount_cents": payments["gross_cents"].astype("int64"),
            "bank_reference": None,
            "paid_at": None,
        }
    )
    taken = payments["offset_cents"] > 0
    offsets = base[taken.to_numpy()].assign(
        kind="offset", amount_cents=-payments.loc[taken, "offset_cents"].astype("int64").to_numpy()
    )
    return pd.concat([base, offsets], ignore_index=True)


def check_batches(rows: pd.DataFrame) -> q.CheckpointReport:
    """The checkpoint of a run's batches, one row per payment (batch_check_rows): each
    batch's recorded total and count equal its payments', no payment lacks bank details or
    has a net amount <= 0, and no claim has two live claim payments across batches."""
    return q.run_checkpoint(
        "payment-batches",
        rows,
        [
            q.all_true("total_matches"),
            q.not_null("bank_code"),
            q.not_null("bank_account_masked"),
            q.between("net_cents", min_value=1),
            q.between("claim_payments", max_value=1),
        ],
        id_columns=["batch_number", "payment_id", "claim_id"],
    )
