"""Tasks of the remittance advice: the paid claims' lines read from the claims service, and
the advice written as files, one CSV and one HTML page per payee of a batch.

The lines and adjustments come through the claims service's own connection
(`sql/claims_service/remittance.sql`); the payments come from the payment flow as a frame
(the payment service's rows, with the payee names from the provider and member services).
Writing is deterministic and idempotent: the same batch writes the same bytes to the same
names, each file replaced atomically and readable by its owner only (0600).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pandas as pd

from claims_askes.db.connections import service_connection
from claims_askes.db.frames import fetch_frame
from claims_askes.db.sqlfiles import queries
from claims_askes.payments.remittance import build_remittance, remittance_csv, remittance_html
from tasks.base import batch_task

Q = queries("claims_service")
#: A payee id or batch number as part of a file name: anything else becomes '_'.
UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@batch_task(name="read remittance lines")
def read_remittance_lines(claim_ids: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The lines of the claims (charged, allowed, paid in sen) and their adjustments
    (group code, CARC, amount in sen)."""
    ids = sorted({str(c) for c in claim_ids})
    with service_connection("claims") as conn:
        lines = fetch_frame(conn, Q.remittance_lines, {"claim_ids": ids})
        adjustments = fetch_frame(conn, Q.remittance_adjustments, {"claim_ids": ids})
    return lines, adjustments


@batch_task(name="write remittance advice")
def write_remittance_advice(
    batch_number: str,
    payments: pd.DataFrame,
    lines: pd.DataFrame,
    adjustments: pd.DataFrame,
    out_dir: Path,
) -> list[Path]:
    """`<batch>_<payee>.csv` and `.html` per payee of the batch, in `out_dir`; their paths."""
    advice = build_remittance(payments, lines, adjustments)
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    written: list[Path] = []
    for payee_id, one in advice.groupby("payee_id", sort=True):
        name = str(one["payee_name"].iloc[0])
        stem = f"{UNSAFE.sub('_', batch_number)}_{UNSAFE.sub('_', str(payee_id))}"
        one = one.reset_index(drop=True)
        for suffix, data in (
            (".csv", remittance_csv(one)),
            (".html", remittance_html(one, name, batch_number).encode("utf-8")),
        ):
            written.append(replace_file(out_dir / f"{stem}{suffix}", data))
    return written


def replace_file(path: Path, data: bytes) -> Path:
    """Write `data` to `path` atomically (a temporary file renamed over it), mode 0600."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
