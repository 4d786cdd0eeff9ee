"""Tasks of the payment flows. Each touches one service through its own connection:
claims_service (claim payments, readjustments), member_service and provider_service (payees'
names and bank details), payment_service (payments, batches, approvals, files, answers).
The flows move the data between them as frames.

The bank key (`bank_key`) comes from CLAIMS_ASKES_BANK_KEY, else the Prefect Secret block
`claims-askes-bank-key`, else (the embedded local server only) a key file made once under
CLAIMS_ASKES_HOME, readable by its owner only.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg

from claims_askes.core.faults import crash_point
from claims_askes.core.settings import get_settings
from claims_askes.db.connections import service_connection, uses_local_server
from claims_askes.db.frames import copy_frame, fetch_frame, uuid_array
from claims_askes.db.sqlfiles import queries
from claims_askes.operations.common import try_session_lock
from claims_askes.payments import batches as payment_batches
from claims_askes.payments.bank_details import (
    BankDetailsError,
    BankKey,
    decrypt_accounts,
    encrypt_accounts,
)
from claims_askes.payments.retries import RetryOutcome, retry_outcomes, split_references
from claims_askes.payments.settlement import OFFSET_STAGE_COLUMNS, offsets_to_stage
from tasks.base import batch_task

C = queries("claims_service")
P = queries("payment_service")
PAYEE_SERVICE = {"member": "member_service", "provider": "provider_service"}
KEY_VARIABLE = "CLAIMS_ASKES_BANK_KEY"
KEY_BLOCK = "claims-askes-bank-key"
RUN_LOCK = "payment-run"
IMPORT_LOCK = "bank-response-import"


# Bank key and bank details ------------------------------------------------------------------


def _key_from_block() -> str | None:
    try:
        from prefect.blocks.system import Secret

        secret: Any = Secret.load(KEY_BLOCK, _sync=True)  # type: ignore[call-arg]
        return str(secret.get())
    except Exception:  # no API, no block: the next source
        return None


def bank_key() -> BankKey:
    """The key bank account numbers are encrypted with (see the module doc)."""
    text = os.environ.get(KEY_VARIABLE)
    if text:
        return BankKey.from_text(text, KEY_VARIABLE)
    if uses_local_server():
        path = get_settings().resolved_home / "bank.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(BankKey.generate().text())
        return BankKey.from_text(path.read_text(), str(path))
    text = _key_from_block()
    if text:
        return BankKey.from_text(text, f"Prefect Secret block {KEY_BLOCK}")
    raise BankDetailsError(
        f"no bank key: set {KEY_VARIABLE} (32 bytes, base64) or create the Prefect Secret "
        f"block {KEY_BLOCK}"
    )


def _payee_queries(payee_type: str) -> Any:
    if payee_type not in PAYEE_SERVICE:
        raise ValueError(f"unknown payee type {payee_type!r}")
    return queries(PAYEE_SERVICE[payee_type])


@batch_task(name="store bank details")
def store_bank_details(payee_type: str, accounts: pd.DataFrame, key: BankKey) -> int:
    """Encrypt and store payees' bank details (payee_id, bank_bic, bank_name,
    account_holder, account_number), replacing earlier ones."""
    if accounts.empty:
        return 0
    rows = encrypt_accounts(key, accounts)
    rows["account_ciphertext"] = rows["account_ciphertext"].map(lambda b: "\\x" + b.hex())
    q = _payee_queries(payee_type)
    columns = [
        "payee_id",
        "bank_bic",
        "bank_name",
        "account_holder",
        "account_ciphertext",
        "account_masked",
        "key_id",
    ]
    with service_connection(payee_type) as conn:
        conn.execute(q.create_bank_account_stage)
        copy_frame(conn, "bank_account_stage", rows, columns)
        row = conn.execute(q.upsert_bank_accounts).fetchone()
    return int(row[0]) if row else 0


@batch_task(name="read payees without bank details")
def read_payees_without_bank_details(payee_type: str) -> pd.DataFrame:
    with service_connection(payee_type) as conn:
        return fetch_frame(conn, _payee_queries(payee_type).payees_without_bank_details)


@batch_task(name="read payees' bank details")
def read_payee_bank_details(payee_type: str, payee_ids: list[str]) -> pd.DataFrame:
    """Names and masked bank details (payee_type, payee_id, payee_name, bank_bic,
    account_masked) of the payees."""
    columns = ["payee_type", "payee_id", "payee_name", "bank_bic", "account_masked"]
    if not payee_ids:
        return pd.DataFrame(columns=columns)
    with service_connection(payee_type) as conn:
        frame = fetch_frame(
            conn, _payee_queries(payee_type).payee_bank_details, {"payee_ids": payee_ids}
        )
    return frame.assign(payee_type=payee_type)[columns]


@batch_task(name="read accounts for a bank file")
def read_accounts_for_file(payee_type: str, payee_ids: list[str], key: BankKey) -> pd.DataFrame:
    """payee_id, bank_bic, account_holder and the decrypted account_number: only to write a
    bank file, never logged or returned to a reader."""
    with service_connection(payee_type) as conn:
        stored = fetch_frame(
            conn, _payee_queries(payee_type).payee_accounts_for_file, {"payee_ids": payee_ids}
        )
    stored["account_number"] = decrypt_accounts(key, stored)
    return stored.drop(columns=["account_ciphertext", "key_id"])


# Claims service -----------------------------------------------------------------------------


@batch_task(name="settle readjustments in the claims service")
def settle_claims_readjustments() -> tuple[int, int]:
    """no_change readjustments settled; underpayments turned into supplementary claim
    payments (settled by them). Returns (no_change settled, supplementary payments)."""
    with service_connection("claims") as conn:
        no_change = conn.execute(C.settle_no_change_readjustments).rowcount
        row = conn.execute(C.settle_underpayments).fetchone()
    return no_change, int(row[0]) if row else 0


@batch_task(name="read open overpayments")
def read_open_overpayments() -> pd.DataFrame:
    with service_connection("claims") as conn:
        return fetch_frame(conn, C.open_overpayments)


@batch_task(name="settle overpayments in the claims service")
def settle_overpayments(settled: pd.DataFrame) -> int:
    if settled.empty:
        return 0
    with service_connection("claims") as conn:
        return conn.execute(
            C.settle_overpayments,
            {
                "readjustment_ids": list(settled["readjustment_id"]),
                "offset_ids": list(settled["offset_id"]),
                "settlements": list(settled["settlement"]),
            },
        ).rowcount


@batch_task(name="read pending claim payments")
def read_pending_claim_payments(limit: int) -> pd.DataFrame:
    with service_connection("claims") as conn:
        return fetch_frame(conn, C.pending_claim_payments, {"limit": limit})


@batch_task(name="sync claim payments")
def sync_claim_payments(batch_size: int = 50_000) -> int:
    """The claims service takes over what the payment service knows of its claim payments:
    scheduled once copied, paid with the bank's reference and time. Repeated until nothing
    is left; a sync interrupted anywhere is redone by the next."""
    total = 0
    while True:
        with service_connection("payment") as conn:
            rows = fetch_frame(conn, P.payments_to_sync, {"limit": batch_size})
        if rows.empty:
            return total
        stage = pd.DataFrame(
            {
                "claim_payment_id": rows["claim_payment_id"],
                "status": rows["status"].map(lambda s: "paid" if s == "paid" else "scheduled"),
                "reference_number": rows["reference_number"].where(rows["status"] == "paid"),
                "paid_at": rows["paid_at"]
                .dt.strftime("%Y-%m-%d %H:%M:%S.%f+00")
                .where(rows["status"] == "paid"),
            }
        )
        with service_connection("claims") as conn:
            conn.execute(C.create_sync_stage)
            copy_frame(conn, "claim_payment_sync", stage, list(stage.columns))
            conn.execute(C.sync_claim_payments)
        crash_point("payment-sync-before-mark")
        with service_connection("payment") as conn:
            conn.execute(
                P.mark_synced,
                {
                    "payment_ids": list(rows["payment_id"]),
                    "updated_ats": [
                        t.tz_localize("UTC").to_pydatetime() for t in rows["updated_at"]
                    ],
                },
            )
        total += len(rows)


# Payment service ----------------------------------------------------------------------------


@contextmanager
def payment_lock(name: str = RUN_LOCK) -> Iterator[psycopg.Connection]:
    """One payment run (or import) at a time: the session's advisory lock, held while the
    run lasts; a killed run's lock goes with its session."""
    with service_connection("payment", autocommit=True) as conn:
        try_session_lock(conn, name)
        yield conn


@batch_task(name="record offsets")
def record_offsets(overpayments: pd.DataFrame) -> int:
    if overpayments.empty:
        return 0
    rows = offsets_to_stage(overpayments)
    with service_connection("payment") as conn:
        conn.execute(P.create_offset_stage)
        copy_frame(conn, "offset_stage", rows, list(OFFSET_STAGE_COLUMNS))
        row = conn.execute(P.insert_offsets).fetchone()
    return int(row[0]) if row else 0


@batch_task(name="read held payees")
def read_held_payees() -> pd.DataFrame:
    with service_connection("payment") as conn:
        return fetch_frame(conn, P.held_payees)


@batch_task(name="insert payments")
def insert_payments(stage: pd.DataFrame, released: pd.DataFrame) -> tuple[int, int, int]:
    """Insert the staged payments (exactly once per claim payment) and release held payments
    whose payees (released: payee_type, payee_id, payee_name, bank_code,
    bank_account_masked) have valid bank details now. Returns (inserted, held, released)."""
    inserted = held = freed = 0
    with service_connection("payment") as conn:
        if not stage.empty:
            conn.execute(P.create_payment_stage)
            copy_frame(conn, "payment_stage", stage, list(payment_batches.PAYMENT_STAGE_COLUMNS))
            row = conn.execute(P.insert_payments).fetchone()
            inserted, held = (int(row[0]), int(row[1])) if row else (0, 0)
        if not released.empty:
            conn.execute(P.create_payee_stage)
            copy_frame(conn, "payee_stage", released, list(payment_batches.PAYEE_STAGE_COLUMNS))
            freed = conn.execute(P.release_held_payments).rowcount
    return inserted, held, freed


@dataclass
class BatchingResult:
    offset_pieces: int = 0
    offset_amount: Decimal = Decimal(0)
    paid_by_offset: int = 0
    batches: int = 0
    payments: int = 0


@batch_task(name="prepare batches")
def prepare_batches(
    value_date: date, max_batch_payments: int, threshold: Decimal, flow_run_id: uuid.UUID
) -> BatchingResult:
    """In one transaction: offsets taken from the pending payments, payments the offsets took
    whole paid, offsets with nothing due listed for recovery, the rest grouped into draft
    batches with their totals, and the batches checked (a failed check commits nothing)."""
    result = BatchingResult()
    with service_connection("payment") as conn:
        row = conn.execute(P.apply_offsets).fetchone()
        if row:
            result.offset_pieces, result.offset_amount = int(row[0]), Decimal(row[1])
        row = conn.execute(P.settle_offset_payments).fetchone()
        result.paid_by_offset = int(row[0]) if row else 0
        conn.execute(P.list_offsets_for_recovery)
        row = conn.execute(
            P.create_batches,
            {
                "value_date": value_date,
                "max_batch_payments": max_batch_payments,
                "threshold": threshold,
                "flow_run_id": flow_run_id,
            },
        ).fetchone()
        if row:
            result.batches, result.payments = int(row[0]), int(row[1])
        conn.execute(P.no_nested_loops_for_the_check)
        checked = fetch_frame(conn, P.batch_check_rows, {"flow_run_id": flow_run_id})
        payment_batches.check_batches(checked)
        crash_point("payment-batch-before-commit")
    return result


@batch_task(name="read recorded offsets")
def read_offsets(readjustment_ids: list[str]) -> pd.DataFrame:
    with service_connection("payment") as conn:
        return fetch_frame(conn, P.offsets_to_settle, {"readjustment_ids": readjustment_ids})


@batch_task(name="read batches awaiting a decision")
def read_draft_batches(flow_run_id: uuid.UUID | None) -> pd.DataFrame:
    with service_connection("payment") as conn:
        return fetch_frame(
            conn,
            P.batches_awaiting_decision,
            {"flow_run_id": str(flow_run_id) if flow_run_id else None},
        )


@batch_task(name="read a batch's largest payments")
def read_largest_payments(batch_number: str, limit: int = 10) -> pd.DataFrame:
    with service_connection("payment") as conn:
        return fetch_frame(conn, P.largest_payments, {"batch_number": batch_number, "limit": limit})


def record_decision(
    batch_number: str,
    decision: str,
    decided_by: str,
    comment: str | None,
    source: str,
    flow_run_id: uuid.UUID | None = None,
) -> tuple[str | None, bool]:
    """Record a decision on a draft batch; (the batch's status after, whether this call
    decided it). The first decision stands."""
    with service_connection("payment") as conn:
        row = conn.execute(
            P.record_decision,
            {
                "batch_number": batch_number,
                "decision": decision,
                "decided_by": decided_by,
                "comment": comment,
                "source": source,
                "flow_run_id": flow_run_id,
            },
        ).fetchone()
    if row is None:
        return None, False
    return row[0], bool(row[1])


def batch_flow_run(batch_number: str) -> str | None:
    """The flow run that made a batch (and may be waiting for its decision)."""
    with service_connection("payment") as conn:
        row = conn.execute(P.batch_flow_run, {"batch_number": batch_number}).fetchone()
    return str(row[0]) if row and row[0] else None


@batch_task(name="list batches")
def list_batches(limit: int) -> pd.DataFrame:
    with service_connection("payment") as conn:
        return fetch_frame(conn, P.list_batches, {"limit": limit})


@batch_task(name="read batches to send")
def read_batches_to_send() -> pd.DataFrame:
    with service_connection("payment") as conn:
        return fetch_frame(conn, P.batches_to_send)


@batch_task(name="read a batch's payments")
def read_batch_payments(batch_number: str) -> pd.DataFrame:
    with service_connection("payment") as conn:
        return fetch_frame(conn, P.batch_payments_for_file, {"batch_number": batch_number})


def write_private_file(path: Path, data: bytes) -> str:
    """Write `data` to `path` (0600, through a temporary file and a rename: a reader never
    sees half a file); its SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return hashlib.sha256(data).hexdigest()


@batch_task(name="record a batch sent")
def record_batch_sent(batch_number: str, files: dict[str, tuple[Path, str, int]]) -> int:
    """Record the batch's files (format -> (path, sha256, size)) and mark it and its
    payments sent, in one transaction."""
    with service_connection("payment") as conn:
        for fmt, (path, sha, size) in files.items():
            conn.execute(
                P.record_bank_file,
                {
                    "batch_number": batch_number,
                    "format": fmt,
                    "file_name": path.name,
                    "sha256": sha,
                    "size_bytes": size,
                },
            )
        row = conn.execute(
            P.mark_batch_sent,
            {
                "batch_number": batch_number,
                "pain001_sha256": files["pain.001"][1],
                "csv_sha256": files["csv"][1],
            },
        ).fetchone()
    return int(row[1]) if row else 0


# Operators' actions ------------------------------------------------------------------------


@batch_task(name="read payments by status")
def read_payments_by_status(status: str, limit: int) -> pd.DataFrame:
    """Held or exception payments for an operator, masked (payments_by_status)."""
    with service_connection("payment") as conn:
        return fetch_frame(conn, P.payments_by_status, {"status": status, "limit": limit})


def retry_payments(references: list[str], retried_by: str, reason: str) -> list[RetryOutcome]:
    """An operator's retry of the payments named (payment or end-to-end ids): those on the
    exception list or held by a rejected batch go back to pending for the next run, recorded
    once per payment and attempt; what became of each reference."""
    ids, end_to_end = split_references(references)
    with service_connection("payment") as conn:
        found = fetch_frame(
            conn, P.payments_for_retry, {"payment_ids": ids, "end_to_end_ids": end_to_end}
        )
        moved = fetch_frame(
            conn,
            P.retry_payments,
            {
                "payment_ids": sorted(set(found["payment_id"])),
                "retried_by": retried_by,
                "reason": reason,
            },
        )
    return retry_outcomes(references, found, moved)


# Bank responses ---------------------------------------------------------------------------


@batch_task(name="find an imported response")
def response_imported(sha256: str) -> bool:
    with service_connection("payment") as conn:
        return conn.execute(P.response_file_imported, {"sha256": sha256}).fetchone() is not None


@batch_task(name="read payments named by a response")
def read_payments_by_end_to_end(end_to_end_ids: list[str]) -> pd.DataFrame:
    with service_connection("payment") as conn:
        return fetch_frame(conn, P.payments_by_end_to_end, {"end_to_end_ids": end_to_end_ids})


@dataclass
class ApplyResult:
    recorded: bool = False
    paid: int = 0
    retried: int = 0
    exceptions: int = 0
    completed: int = 0


@batch_task(name="apply a bank response")
def apply_response(
    sha256: str,
    file_name: str,
    kind: str,
    entries: pd.DataFrame,
    errors: pd.DataFrame,
    total_entries: int,
    max_attempts: int,
    flow_run_id: uuid.UUID,
) -> ApplyResult:
    """In one transaction: the file recorded by its hash (a file recorded before changes
    nothing), its rejected entries, its good entries applied, batches completed."""
    result = ApplyResult()
    with service_connection("payment") as conn:
        recorded = conn.execute(
            P.record_response_file,
            {
                "sha256": sha256,
                "file_name": file_name[:255],
                "kind": kind,
                "entries": total_entries,
                "applied": len(entries),
                "rejected": len(errors),
                "flow_run_id": flow_run_id,
            },
        ).rowcount
        if not recorded:
            return result
        result.recorded = True
        if not errors.empty:
            conn.execute(P.create_error_stage)
            copy_frame(conn, "response_error_stage", errors, ["entry", "message"])
            conn.execute(P.record_response_errors, {"sha256": sha256})
        if not entries.empty:
            conn.execute(P.create_entry_stage)
            stage = entries.assign(
                status_time=pd.to_datetime(entries["status_time"], utc=True).dt.strftime(
                    "%Y-%m-%d %H:%M:%S.%f+00"
                )
            )
            copy_frame(
                conn,
                "response_entry_stage",
                stage,
                ["end_to_end_id", "status", "bank_reference", "status_time", "reason_code"],
            )
            row = conn.execute(
                P.apply_entries, {"sha256": sha256, "max_attempts": max_attempts}
            ).fetchone()
            if row:
                result.paid, result.retried, result.exceptions = map(int, row)
        result.completed = conn.execute(P.complete_batches).rowcount
        crash_point("import-before-commit")
    return result


def uuids(values: pd.Series) -> list[str]:
    return uuid_array(values)
