"""Tasks of partition maintenance on `claims_service.claim_partitioned`.

Partition DDL (CREATE TABLE ... PARTITION OF, GRANT) needs the table's owner: the claims
service role owns no table and may not create any, by design. These tasks therefore use the
admin connection, and touch `claims_service` only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import psycopg
from psycopg import sql

from claims_askes.core.errors import ClaimsAskesError
from claims_askes.db.batch import batch_transaction
from claims_askes.db.connections import admin_connection
from claims_askes.db.sqlfiles import queries
from claims_askes.operations.common import (
    add_months,
    columns_sql,
    set_lock_timeout,
    try_session_lock,
)
from claims_askes.quality import checkpoints as q
from tasks.base import batch_task

Q = queries("claims_service")
LOCK_NAME = "partition-maintenance"


@dataclass(frozen=True)
class Partition:
    name: str
    is_default: bool
    lower: date | None
    upper: date | None


def partition_name(month: date) -> str:
    """The seed's naming: claim_YYYY_MM."""
    return f"claim_{month:%Y_%m}"


def read_partitions(conn: psycopg.Connection) -> list[Partition]:
    rows = conn.execute(Q.list_partitions).fetchall()
    foreign = [f"{r[0]}.{r[1]}" for r in rows if r[0] != "claims_service"]
    if foreign:
        raise ClaimsAskesError(f"partitions outside claims_service: {', '.join(foreign)}")
    return [Partition(r[1], bool(r[2]), r[3], r[4]) for r in rows]


def default_partition(parts: Sequence[Partition]) -> Partition | None:
    return next((p for p in parts if p.is_default), None)


def covered(parts: Sequence[Partition], month: date) -> bool:
    end = add_months(month, 1)
    return any(
        p.lower is not None and p.upper is not None and p.lower <= month and p.upper >= end
        for p in parts
    )


def default_rows_by_month(conn: psycopg.Connection, default: Partition | None) -> dict[date, int]:
    if default is None:
        return {}
    stmt = sql.SQL(Q.default_rows_by_month).format(partition=sql.Identifier(default.name))
    return {r[0]: int(r[1]) for r in conn.execute(stmt).fetchall()}


def oldest_data_month(
    conn: psycopg.Connection, parts: Sequence[Partition], default_months: dict[date, int]
) -> date | None:
    """The month of the oldest row: the first non-empty monthly partition (probed oldest
    first, one cheap EXISTS each) or the default partition's oldest month, whichever is older."""
    oldest = min(default_months) if default_months else None
    for part in parts:
        if part.is_default or part.lower is None:
            continue
        if oldest is not None and part.lower >= oldest:
            break
        stmt = sql.SQL(Q.partition_is_empty).format(partition=sql.Identifier(part.name))
        row = conn.execute(stmt).fetchone()
        if row and not row[0]:
            return part.lower.replace(day=1)
    return oldest


def _parent_columns(conn: psycopg.Connection) -> list[str]:
    return [r[0] for r in conn.execute(Q.parent_columns).fetchall()]


def _grant_like_parent(conn: psycopg.Connection, name: str) -> None:
    for grantee, privileges in conn.execute(Q.parent_grants).fetchall():
        conn.execute(
            sql.SQL(Q.grant_on_partition).format(
                privileges=sql.SQL(", ").join(
                    sql.SQL(p)
                    for p in privileges
                    if p
                    in {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"}
                ),
                partition=sql.Identifier(name),
                grantee=sql.Identifier(grantee),
            )
        )


def _create_month(conn: psycopg.Connection, month: date) -> str:
    name = partition_name(month)
    conn.execute(
        sql.SQL(Q.create_partition).format(
            partition=sql.Identifier(name),
            lower=sql.Literal(month),
            upper=sql.Literal(add_months(month, 1)),
        )
    )
    _grant_like_parent(conn, name)
    return name


def _checksum(
    conn: psycopg.Connection, stmt: sql.Composed, params: Mapping[str, object] | None = None
) -> tuple[int, str]:
    row = conn.execute(stmt, params).fetchone()
    assert row is not None
    return int(row[0]), str(row[1])


def _move_month(
    conn: psycopg.Connection, default: Partition, month: date, columns: list[str]
) -> tuple[str, int]:
    """In the caller's transaction: take the month's rows out of the default partition,
    create the month's partition, put them back through the parent; counts and checksums of
    the rows before and after must agree (a data-quality checkpoint) or nothing commits."""
    bounds = {"lower": month, "upper": add_months(month, 1)}
    cols = columns_sql(columns)
    conn.execute(
        sql.SQL(Q.stage_default_rows).format(partition=sql.Identifier(default.name), columns=cols),
        bounds,
    )
    before = _checksum(conn, sql.SQL(Q.checksum_staged_rows).format(columns=cols))
    name = _create_month(conn, month)
    conn.execute(sql.SQL(Q.insert_staged_rows).format(columns=cols))
    after = _checksum(
        conn,
        sql.SQL(Q.checksum_partition_month).format(partition=sql.Identifier(name), columns=cols),
        bounds,
    )
    import pandas as pd  # here only: a run that moves no default rows never loads pandas

    frame = pd.DataFrame(
        [
            {
                "partition": name,
                "rows_before": before[0],
                "rows_after": after[0],
                "same_rows": before == after,
            }
        ]
    )
    q.run_checkpoint(
        "partition-default-rows-moved",
        frame,
        [q.all_true("same_rows")],
        id_columns=["partition", "rows_before", "rows_after"],
    )
    return name, before[0]


@dataclass
class PartitionWork:
    covered_from: date
    covered_to: date
    created: list[str]
    default_created: bool
    moved_rows: int
    blocked: list[str]
    default_rows: int


@batch_task(name="maintain claim partitions")
def maintain_partitions(
    current_month: date, premake: int, move_default_rows: bool, lock_timeout_seconds: float
) -> PartitionWork:
    """Create every missing month from the oldest data through the current month plus
    `premake` (gaps too), keep a default partition, and optionally move default rows into
    their months. One run at a time (advisory lock); each month is its own transaction, so a
    killed run leaves whole months only and the next run carries on."""
    with admin_connection(autocommit=True) as conn:
        try_session_lock(conn, LOCK_NAME)
        set_lock_timeout(conn, lock_timeout_seconds)
        parts = read_partitions(conn)
        default = default_partition(parts)
        default_created = False
        if default is None:
            with conn.transaction():
                conn.execute(Q.create_default_partition)
            default_created = True
            parts = read_partitions(conn)
            default = default_partition(parts)
        assert default is not None
        in_default = default_rows_by_month(conn, default)
        oldest = oldest_data_month(conn, parts, in_default)
        first = min(oldest, current_month) if oldest else current_month
        last = add_months(current_month, premake)  # inclusive
        wanted: list[date] = []
        month = first
        while month <= last:
            wanted.append(month)
            month = add_months(month, 1)
        if move_default_rows:
            wanted = sorted(set(wanted) | set(in_default))
        created: list[str] = []
        blocked: list[str] = []
        moved = 0
        columns = _parent_columns(conn)
        for month in wanted:
            if covered(parts, month):
                continue
            if month in in_default and not move_default_rows:
                blocked.append(f"{month:%Y-%m}")
                continue
            with batch_transaction(conn):
                if month in in_default:
                    name, rows = _move_month(conn, default, month, columns)
                    moved += rows
                else:
                    name = _create_month(conn, month)
            created.append(name)
            parts = read_partitions(conn)
        remaining = sum(default_rows_by_month(conn, default).values())
    return PartitionWork(
        first, add_months(last, 1), created, default_created, moved, blocked, remaining
    )
