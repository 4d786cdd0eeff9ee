"""Registered batch transactions (issue 14): statement audit instead of row audit.

A batch write transaction of a Prefect flow run registers itself once, through
`common.register_batch_run` (audit 0003): the audit triggers then record one
`audit.statement_log` row per statement and table, for the tables whose row versions are kept
in a versioned record (`audit.statement_audit`), instead of one `audit.audit_log` row per row.
The registration holds for the calling transaction only: outside a flow run nothing is
registered, and the same writes are row-audited, as every other session's. See docs/audit.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg

from claims_askes.db.sqlfiles import queries

Q = queries("audit")


@dataclass(frozen=True)
class BatchRun:
    """The flow run a batch transaction belongs to."""

    flow_run_id: uuid.UUID
    flow_name: str


def current_batch_run() -> BatchRun | None:
    """The Prefect flow run this code runs in; None outside one (a plain call, a CLI command
    that is no flow run), whose writes are then row-audited."""
    from prefect.runtime import flow_run

    run_id = flow_run.id
    if not run_id:
        return None
    return BatchRun(uuid.UUID(str(run_id)), str(flow_run.flow_name or "unknown flow"))


def register_batch_run(conn: psycopg.Connection, run: BatchRun | None) -> int | None:
    """Register `run` for the connection's current transaction (which must be open: in
    autocommit mode the registration would end with its own statement); its id, or None
    when there is no run."""
    if run is None:
        return None
    if conn.autocommit and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
        raise ValueError("register_batch_run needs an open transaction")
    row = conn.execute(
        Q.register_batch_run, {"flow_run_id": run.flow_run_id, "flow_name": run.flow_name}
    ).fetchone()
    assert row is not None
    return int(row[0])


@contextmanager
def batch_transaction(
    conn: psycopg.Connection, run: BatchRun | None = None, *, register: bool = True
) -> Iterator[int | None]:
    """`conn.transaction()`, registered as a batch write of `run` (default: the current flow
    run, if any) before anything is written; yields the registration's id or None."""
    with conn.transaction():
        registered = register_batch_run(conn, run or current_batch_run()) if register else None
        yield registered
