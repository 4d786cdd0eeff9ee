"""Bank details: account numbers encrypted at rest (AES-GCM, bound to the payee), masked for
every reader, decrypted only into the bank file; no unmasked number in a log, an artifact,
an error message or anything reporting_user can read."""

from __future__ import annotations

import pandas as pd
import psycopg
import pytest

from claims_askes.payments.bank_details import (
    DEMO_BANKS,
    BankDetailsError,
    BankKey,
    decrypt_account,
    demo_accounts,
    encrypt_account,
    mask_account,
)
from tests.payments.conftest import Paid
from tests.payments.helpers import ACCOUNTS, KEY, connect
from tests.run_records import run_logs_and_artifacts


def test_an_account_is_masked_to_its_last_four_digits() -> None:
    assert mask_account("1234567890") == "******7890"
    assert mask_account("5123456789012") == "*********9012"


def test_an_account_decrypts_only_for_its_payee_and_key() -> None:
    blob = encrypt_account(KEY, "payee-1", "1234567890")
    assert b"1234567890" not in blob
    assert decrypt_account(KEY, "payee-1", blob, KEY.key_id) == "1234567890"
    with pytest.raises(BankDetailsError, match="does not decrypt") as moved:
        decrypt_account(KEY, "payee-2", blob, KEY.key_id)
    other = BankKey(b"o" * 32)
    with pytest.raises(BankDetailsError, match=f"key {KEY.key_id}") as wrong_key:
        decrypt_account(other, "payee-1", blob, KEY.key_id)
    with pytest.raises(BankDetailsError, match="10 to 16 digits") as bad:
        encrypt_account(KEY, "payee-1", "12345-678")
    for error in (moved, wrong_key, bad):
        assert "1234567890" not in str(error.value) and "12345-678" not in str(error.value)
    assert KEY.key.hex() not in repr(KEY)


def test_a_bad_key_is_named_with_what_to_do() -> None:
    with pytest.raises(BankDetailsError, match="CLAIMS_ASKES_BANK_KEY: the bank key must be 32"):
        BankKey.from_text("not base64!", "CLAIMS_ASKES_BANK_KEY")


def test_demo_bank_details_are_plausible_indonesian_accounts() -> None:
    payees = pd.DataFrame({"payee_id": [f"p{i}" for i in range(50)], "payee_name": ["RS"] * 50})
    accounts = demo_accounts(payees, seed=5)
    assert accounts.equals(demo_accounts(payees, seed=5))
    assert set(accounts["bank_bic"]) <= {b for b, _, _ in DEMO_BANKS}
    assert accounts["account_number"].str.fullmatch(r"[1-9][0-9]{9,15}").all()


def test_stored_accounts_are_ciphertext_and_reporting_reads_only_the_mask(paid: Paid) -> None:
    db, world, *_ = paid
    with connect(db) as conn:
        stored = conn.execute(
            "SELECT account_ciphertext, account_masked FROM provider_service.provider_bank_account "
            "WHERE provider_id = %s",
            (world.hospital,),
        ).fetchone()
        audit = conn.execute(
            "SELECT string_agg(new_data::text, ' ') FROM audit.audit_log"
        ).fetchone()
    assert ACCOUNTS["provider_paid"].encode() not in bytes(stored[0])
    assert stored[1] == mask_account(ACCOUNTS["provider_paid"])
    assert all(number not in (audit[0] or "") for number in ACCOUNTS.values())
    with connect(db, "reporting_user") as conn:
        masked = conn.execute(
            "SELECT account_masked FROM member_service.member_bank_account"
        ).fetchall()
        assert masked == [(mask_account(ACCOUNTS["member_paid"]),)]
        for table in (
            "member_service.member_bank_account",
            "provider_service.provider_bank_account",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT account_ciphertext FROM {table}")  # noqa: S608 (our names)
        readable = conn.execute(
            "SELECT string_agg(t::text, ' ') FROM payment_service.payment AS t"
        ).fetchone()
    assert all(number not in readable[0] for number in ACCOUNTS.values())


def test_no_unmasked_account_in_the_runs_logs_or_artifacts(paid: Paid) -> None:
    _, _, _, first, second = paid
    for report in (first, second):
        text = run_logs_and_artifacts(report.run_id)
        assert all(number not in text for number in ACCOUNTS.values())
        assert all(number not in report.model_dump_json() for number in ACCOUNTS.values())
