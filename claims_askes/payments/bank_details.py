"""Bank details of payees: account numbers encrypted at rest, masked for every reader.

The database server has no pgcrypto, so the application encrypts: AES-256-GCM with a key of
32 bytes (given base64-encoded in CLAIMS_ASKES_BANK_KEY or a Prefect Secret block, see
`tasks/payments.py`), a fresh 12-byte nonce per value, and the payee's id as associated data
(a ciphertext copied onto another payee does not decrypt). An account number is decrypted
only to write a bank file; everywhere else it is `mask_account`'s last four digits. No error
raised here contains a number.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from claims_askes.core.errors import ClaimsAskesError

ACCOUNT = re.compile(r"^[0-9]{10,16}$")
BIC = re.compile(r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$")
NONCE_BYTES = 12

#: Indonesian banks of the demo: BIC, name, account length.
DEMO_BANKS: tuple[tuple[str, str, int], ...] = (
    ("CENAIDJA", "Bank Central Asia", 10),
    ("BMRIIDJA", "Bank Mandiri", 13),
    ("BNINIDJA", "Bank Negara Indonesia", 10),
    ("BRINIDJA", "Bank Rakyat Indonesia", 15),
    ("BNIAIDJA", "Bank CIMB Niaga", 14),
    ("BBBAIDJA", "Bank Permata", 10),
    ("SYNIIDJ1", "Bank Syariah Indonesia", 10),
)


class BankDetailsError(ClaimsAskesError):
    """A key or an account that cannot be used; the message never holds an account number."""


def mask_account(number: str) -> str:
    """'1234567890' -> '******7890': the last four digits, the rest starred."""
    digits = str(number)
    return "*" * max(len(digits) - 4, 0) + digits[-4:]


@dataclass(frozen=True, repr=False)
class BankKey:
    """An AES-256 key and its id (the first 8 hex digits of its SHA-256, stored with every
    ciphertext so a wrong key is named before anything is decrypted)."""

    key: bytes

    def __repr__(self) -> str:  # never the key
        return f"BankKey(id={self.key_id})"

    @property
    def key_id(self) -> str:
        return hashlib.sha256(self.key).hexdigest()[:8]

    @classmethod
    def from_text(cls, text: str, source: str) -> BankKey:
        try:
            key = base64.b64decode(text.strip(), validate=True)
        except (ValueError, TypeError):
            key = b""
        if len(key) != 32:
            raise BankDetailsError(
                f"{source}: the bank key must be 32 bytes, base64-encoded "
                "(make one with: python -c 'import os,base64;"
                "print(base64.b64encode(os.urandom(32)).decode())')"
            )
        return cls(key)

    @classmethod
    def generate(cls) -> BankKey:
        return cls(os.urandom(32))

    def text(self) -> str:
        return base64.b64encode(self.key).decode()


def valid_account(number: str) -> bool:
    return bool(ACCOUNT.match(str(number)))


def encrypt_account(key: BankKey, payee_id: str, number: str) -> bytes:
    """The nonce and the ciphertext of `number`, bound to `payee_id`."""
    if not valid_account(number):
        raise BankDetailsError(
            f"payee {payee_id}: an account number is 10 to 16 digits "
            f"(got {len(str(number))} characters)"
        )
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key.key).encrypt(nonce, number.encode(), str(payee_id).encode())


def decrypt_account(key: BankKey, payee_id: str, blob: bytes, key_id: str) -> str:
    if key_id != key.key_id:
        raise BankDetailsError(
            f"payee {payee_id}: account encrypted with key {key_id}, "
            f"but CLAIMS_ASKES_BANK_KEY is key {key.key_id}"
        )
    data = bytes(blob)
    try:
        plain = AESGCM(key.key).decrypt(
            data[:NONCE_BYTES], data[NONCE_BYTES:], str(payee_id).encode()
        )
    except InvalidTag:
        raise BankDetailsError(
            f"payee {payee_id}: the account does not decrypt (altered, or not this payee's)"
        ) from None
    return plain.decode()


def encrypt_accounts(key: BankKey, accounts: pd.DataFrame) -> pd.DataFrame:
    """accounts (payee_id, bank_bic, bank_name, account_holder, account_number) -> the rows
    to store: the number replaced by its ciphertext, its mask and the key id."""
    bad_bic = ~accounts["bank_bic"].astype(str).str.match(BIC)
    if bad_bic.any():
        raise BankDetailsError(
            f"payee {accounts.loc[bad_bic, 'payee_id'].iloc[0]}: bank code is not a BIC "
            "(8 or 11 letters and digits)"
        )
    out = accounts.drop(columns=["account_number"]).copy()
    out["account_ciphertext"] = [
        encrypt_account(key, str(p), str(n))
        for p, n in zip(accounts["payee_id"], accounts["account_number"], strict=True)
    ]
    out["account_masked"] = accounts["account_number"].astype(str).map(mask_account)
    out["key_id"] = key.key_id
    return out


def decrypt_accounts(key: BankKey, stored: pd.DataFrame) -> pd.Series:
    """The plaintext account numbers of stored rows (payee_id, account_ciphertext, key_id),
    in their order: for the bank file only."""
    return pd.Series(
        [
            decrypt_account(key, str(p), bytes(c), str(k))
            for p, c, k in zip(
                stored["payee_id"], stored["account_ciphertext"], stored["key_id"], strict=True
            )
        ],
        index=stored.index,
        dtype="object",
    )


def demo_accounts(payees: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Plausible Indonesian bank details for payees (payee_id, payee_name), deterministic for
    a seed: a bank of DEMO_BANKS and an account number of that bank's length."""
    rng = np.random.default_rng(seed)
    n = len(payees)
    banks = rng.integers(0, len(DEMO_BANKS), n)
    numbers = []
    for b in banks:
        length = DEMO_BANKS[b][2]
        first = str(rng.integers(1, 10))
        numbers.append(first + "".join(map(str, rng.integers(0, 10, length - 1))))
    return pd.DataFrame(
        {
            "payee_id": payees["payee_id"].astype(str).to_numpy(),
            "bank_bic": [DEMO_BANKS[b][0] for b in banks],
            "bank_name": [DEMO_BANKS[b][1] for b in banks],
            "account_holder": payees["payee_name"].astype(str).str.slice(0, 140).to_numpy(),
            "account_number": numbers,
        }
    )
