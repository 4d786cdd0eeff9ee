"""Tasks of claim archiving: claims_service rows into the `archive` schema, which the claims
service owns (it may insert there, never update or delete).

Rows of `claims_service.claim` and its children move in batches through the claims
service's own connection, one transaction per batch: stage the batch's claim ids, read
count and checksum of every table's batch rows, move them (DELETE ... RETURNING into
INSERT), read count and checksum in the archive, compare (a data-quality checkpoint), log,
commit. A run killed anywhere loses its open batch's transaction and nothing else. The
records the service may not delete itself (line decisions, overrides, readjustments, status
history, notes) move through the owner's `claims_service.archive_claim_records`, which takes
settled claims only.

Whole months of `claim_partitioned` are detached and moved with the admin connection: only
the table owner may detach a partition or change its schema.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
import psycopg
from psycopg import errors, sql

from claims_askes.core.errors import ClaimsAskesError
from claims_askes.core.faults import crash_point
from claims_askes.db.batch import batch_transaction
from claims_askes.db.connections import admin_connection, service_connection
from claims_askes.db.sqlfiles import queries
from claims_askes.operations.common import (
    ArchiveConflictError,
    columns_sql,
    set_lock_timeout,
    try_session_lock,
)
from claims_askes.quality import checkpoints as q
from claims_askes.quality.checkpoints import DataQualityError
from tasks.base import batch_task
from tasks.partitions import read_partitions

Q = queries("claims_service")
A = queries("archive")
LOCK_NAME = "claim-archiving"


@dataclass(frozen=True)
class ArchivedTable:
    """A table whose rows move with their claims: `key` holds the id staged in
    `staged`.`staged_key` (the claim's, or for rows hanging off a line, the line's);
    `row_key` identifies a row; `owner_moves`: the service may not delete these rows, the
    owner's archive_claim_records moves them."""

    name: str
    key: str = "claim_id"
    staged: str = "archive_batch"
    staged_key: str = "claim_id"
    row_key: tuple[str, ...] = ("id",)
    owner_moves: bool = False


def _by_line(name: str, row_key: tuple[str, ...] = ("id",)) -> ArchivedTable:
    return ArchivedTable(
        name,
        key="claim_item_id",
        staged="archive_batch_item",
        staged_key="claim_item_id",
        row_key=row_key,
        owner_moves=True,
    )


# Children first, the claim last: the children's foreign keys point at it (and the lines'
# decisions and overrides at the lines).
TABLES: tuple[ArchivedTable, ...] = (
    _by_line("claim_item_decision", ("claim_item_id", "adjudication_version")),
    _by_line("claim_item_override"),
    ArchivedTable("claim_payment"),  # before its readjustment (fk_claim_payment_readjustment)
    ArchivedTable("claim_readjustment", owner_moves=True),
    ArchivedTable("claim_item"),
    ArchivedTable("claim_status_history", owner_moves=True),
    ArchivedTable("claim_note", owner_moves=True),
    ArchivedTable("claim_document"),
    ArchivedTable("claim", key="id"),
)
ARCHIVE_ONLY = {"archived_at", "archive_run_id"}
#: columns the source table no longer has (claims_service 0007 moved the posting mark of a
#: line to posting_outbox); the archive keeps what rows archived before said, NULL since
RETIRED = {"claim_item": {"posted_at", "posted_version"}}


@contextmanager
def archiving_lock(lock_timeout_seconds: float) -> Iterator[psycopg.Connection]:
    """The run's claims-service session: holds the advisory lock (one archiving run at a time)
    for as long as the run lasts, and is the connection the batches use."""
    with service_connection("claims", autocommit=True) as conn:
        try_session_lock(conn, LOCK_NAME)
        set_lock_timeout(conn, lock_timeout_seconds)
        yield conn


def _columns(conn: psycopg.Connection, schema: str, table: str) -> dict[str, str]:
    rows = conn.execute(Q.table_columns, {"schema": schema, "table": table}).fetchall()
    return {r[0]: r[1] for r in rows}


def archived_columns(conn: psycopg.Connection) -> dict[str, list[str]]:
    """Per table, the columns to move. Refuses when the archive lacks a column of the source
    or types differ: a row must never be archived with part of it missing."""
    out: dict[str, list[str]] = {}
    for archived in TABLES:
        table = archived.name
        source = _columns(conn, "claims_service", table)
        target = _columns(conn, "archive", table)
        missing = [c for c in source if c not in target]
        changed = [c for c in source if c in target and target[c] != source[c]]
        extra = [
            c
            for c in target
            if c not in source and c not in ARCHIVE_ONLY and c not in RETIRED.get(table, set())
        ]
        if not source or missing or changed or extra:
            raise ClaimsAskesError(
                f"archive.{table} does not match claims_service.{table} (missing {missing}, "
                f"changed {changed}, extra {extra}): migrate the archive first"
            )
        out[table] = list(source)
    return out


@dataclass
class BatchResult:
    claims: int
    rows: dict[str, int] = field(default_factory=dict)


def _checksum(conn: psycopg.Connection, stmt: sql.Composed) -> tuple[int, str]:
    row = conn.execute(stmt).fetchone()
    assert row is not None
    return int(row[0]), str(row[1])


def _log(conn: psycopg.Connection, **values: object) -> None:
    conn.execute(A.log_batch, values)


def row_key_sql(table: str, alias: str | None = None) -> sql.Composable:
    """An expression identifying a row of an archived table as text (its primary key)."""
    keys = next((t.row_key for t in TABLES if t.name == table), ("id",))
    parts = [sql.Identifier(alias, k) if alias else sql.Identifier(k) for k in keys]
    return sql.SQL("concat_ws('/', {})").format(sql.SQL(", ").join(parts))


def _move_table(
    conn: psycopg.Connection, table: ArchivedTable, columns: list[str], run_id: uuid.UUID
) -> tuple[int, str, int, str]:
    """Moves the batch's rows of one table; (rows, checksum) before and after."""
    qualified = columns_sql(columns, "t")
    fmt = {
        "table": sql.Identifier(table.name),
        "key": sql.Identifier(table.key),
        "staged": sql.Identifier(table.staged),
        "staged_key": sql.Identifier(table.staged_key),
    }
    before = _checksum(conn, sql.SQL(Q.source_checksum).format(columns=qualified, **fmt))
    try:
        if table.owner_moves:
            conn.execute(Q.move_records, {"table": table.name, "run_id": run_id})
        else:
            conn.execute(
                sql.SQL(Q.move_rows).format(
                    columns=columns_sql(columns), table=fmt["table"], key=fmt["key"]
                ),
                {"run_id": run_id},
            )
    except errors.UniqueViolation as exc:
        raise ArchiveConflictError(
            f"archive.{table.name} already holds rows of this batch "
            f"({exc.diag.message_detail}); nothing moved"
        ) from None
    after = _checksum(conn, sql.SQL(A.archived_checksum).format(columns=qualified, **fmt))
    return before[0], before[1], after[0], after[1]


def check_moves(frame: pd.DataFrame, name: str) -> None:
    """The checkpoint of a move: per table, rows and checksum after equal those before."""
    checked = frame.assign(
        same_rows=frame["rows_before"] == frame["rows_after"],
        same_checksum=frame["checksum_before"] == frame["checksum_after"],
    )
    q.run_checkpoint(
        name,
        checked,
        [q.all_true("same_rows"), q.all_true("same_checksum")],
        id_columns=["table", "rows_before", "rows_after"],
    )


def _move_batch(
    conn: psycopg.Connection,
    run_id: uuid.UUID,
    batch_number: int,
    cutoff: date,
    batch_size: int,
    columns: dict[str, list[str]],
) -> BatchResult:
    """One batch inside the caller's transaction; raises (so nothing commits) on a conflict
    or a count/checksum mismatch."""
    conn.execute(Q.create_batch_table)
    staged = conn.execute(Q.select_batch, {"cutoff": cutoff, "batch_size": batch_size}).rowcount
    if staged == 0:
        return BatchResult(0)
    conflicts = [r[0] for r in conn.execute(A.batch_conflicts).fetchall()]
    if conflicts:
        raise ArchiveConflictError(
            f"claims already in the archive: {', '.join(conflicts)}; nothing moved"
        )
    conn.execute(Q.create_batch_item_table)
    conn.execute(Q.stage_batch_items)
    checks: list[dict[str, object]] = []
    for table in TABLES:
        rows_before, checksum_before, rows_after, checksum_after = _move_table(
            conn, table, columns[table.name], run_id
        )
        checks.append(
            {
                "table": table.name,
                "rows_before": rows_before,
                "rows_after": rows_after,
                "checksum_before": checksum_before,
                "checksum_after": checksum_after,
            }
        )
    frame = pd.DataFrame(checks)
    check_moves(frame, "archive-batch")
    for row in checks:
        _log(
            conn,
            run_id=run_id,
            batch_number=batch_number,
            table_name=row["table"],
            method="rows",
            outcome="moved",
            cutoff=cutoff,
            source_rows=row["rows_before"],
            source_checksum=row["checksum_before"],
            archived_rows=row["rows_after"],
            archived_checksum=row["checksum_after"],
            detail=None,
        )
    return BatchResult(staged, {str(r["table"]): int(str(r["rows_after"])) for r in checks})


def _log_failure(
    conn: psycopg.Connection,
    run_id: uuid.UUID,
    batch_number: int,
    cutoff: date,
    table: str,
    exc: Exception,
) -> None:
    """Best effort: the failed batch rolled back; its log row says why, for the DBA."""
    try:
        with conn.transaction():
            _log(
                conn,
                run_id=run_id,
                batch_number=batch_number,
                table_name=table,
                method="rows",
                outcome="failed",
                cutoff=cutoff,
                source_rows=0,
                source_checksum="",
                archived_rows=0,
                archived_checksum="",
                detail=str(exc)[:2000],
            )
    except psycopg.Error:
        pass


@batch_task(name="archive claim batch")
def archive_batch(
    conn: psycopg.Connection,
    run_id: uuid.UUID,
    batch_number: int,
    cutoff: date,
    batch_size: int,
    columns: dict[str, list[str]],
) -> BatchResult:
    """Move one batch of settled claims before `cutoff`, with their children, in one
    transaction; returns what moved (0 claims: nothing left)."""
    try:
        with batch_transaction(conn):
            result = _move_batch(conn, run_id, batch_number, cutoff, batch_size, columns)
            if result.claims:
                crash_point("archive-batch-before-commit")
    except (ArchiveConflictError, DataQualityError) as exc:
        _log_failure(conn, run_id, batch_number, cutoff, "claim", exc)
        raise
    return result


@batch_task(name="count held-back claims")
def count_held_back(conn: psycopg.Connection, cutoff: date) -> int:
    row = conn.execute(Q.count_held_back, {"cutoff": cutoff}).fetchone()
    return int(row[0]) if row else 0


@batch_task(name="count claims before the cutoff")
def count_before_cutoff(conn: psycopg.Connection, cutoff: date) -> int:
    row = conn.execute(Q.count_before_cutoff, {"cutoff": cutoff}).fetchone()
    return int(row[0]) if row else 0


@batch_task(name="read archived columns")
def read_archived_columns(conn: psycopg.Connection) -> dict[str, list[str]]:
    return archived_columns(conn)


def _partition_columns(conn: psycopg.Connection) -> list[str]:
    return [r[0] for r in conn.execute(Q.parent_columns).fetchall()]


@batch_task(name="archive whole partitions")
def archive_partitions(
    run_id: uuid.UUID, cutoff: date, lock_timeout_seconds: float, first_batch_number: int
) -> list[str]:
    """Detach every month of claim_partitioned that ends on or before the cutoff and move it,
    rows untouched, under archive.claim_partitioned; one transaction per month, checked by
    count and checksum before and after and logged. A month whose name is taken in the
    archive is a conflict: the run stops, the month stays where it is."""
    moved: list[str] = []
    with admin_connection(autocommit=True) as conn:
        set_lock_timeout(conn, lock_timeout_seconds)
        columns = columns_sql(_partition_columns(conn))
        months = [
            p
            for p in read_partitions(conn)
            if not p.is_default and p.upper is not None and p.upper <= cutoff
        ]
        for number, part in enumerate(months, start=first_batch_number):
            ident = sql.Identifier(part.name)
            with batch_transaction(conn):
                taken = conn.execute(A.archive_table_exists, {"table": part.name}).fetchone()
                if taken and taken[0]:
                    raise ArchiveConflictError(
                        f"archive.{part.name} already exists; claims_service.{part.name} "
                        "left in place"
                    )
                before = _checksum(
                    conn,
                    sql.SQL(A.partition_checksum).format(
                        schema=sql.Identifier("claims_service"), partition=ident, columns=columns
                    ),
                )
                conn.execute(sql.SQL(Q.detach_partition).format(partition=ident))
                conn.execute(sql.SQL(Q.move_partition_to_archive).format(partition=ident))
                conn.execute(
                    sql.SQL(A.attach_partition).format(
                        partition=ident,
                        lower=sql.Literal(part.lower),
                        upper=sql.Literal(part.upper),
                    )
                )
                conn.execute(sql.SQL(A.archive_partition_privileges).format(partition=ident))
                after = _checksum(
                    conn,
                    sql.SQL(A.partition_checksum).format(
                        schema=sql.Identifier("archive"), partition=ident, columns=columns
                    ),
                )
                check_moves(
                    pd.DataFrame(
                        [
                            {
                                "table": part.name,
                                "rows_before": before[0],
                                "rows_after": after[0],
                                "checksum_before": before[1],
                                "checksum_after": after[1],
                            }
                        ]
                    ),
                    "archive-partition",
                )
                _log(
                    conn,
                    run_id=run_id,
                    batch_number=number,
                    table_name=part.name,
                    method="partition",
                    outcome="moved",
                    cutoff=cutoff,
                    source_rows=before[0],
                    source_checksum=before[1],
                    archived_rows=after[0],
                    archived_checksum=after[1],
                    detail=None,
                )
                crash_point("archive-partition-before-commit")
            moved.append(part.name)
    return moved
