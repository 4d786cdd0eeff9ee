"""Moving frames in and out of PostgreSQL: typed reads, COPY writes, exact money.

Money crosses the boundary as integer cents (`(amount * 100)::bigint` in SQL, exact for
DECIMAL(15,2)) or as decimal text built from cents here, never as a float.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from io import BytesIO, StringIO
from typing import Any

import pandas as pd
import psycopg
from psycopg import sql

DATE_OID, TIMESTAMPTZ_OID, TIMESTAMP_OID = 1082, 1184, 1114
INT_OIDS, BOOL_OID = {20, 21, 23}, 16
COPY_BLOCK_ROWS = 200_000
COPY_BLOCK_BYTES = 8 * 2**20


def fetch_frame(
    conn: psycopg.Connection, query: str, params: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """Run a query; dates become datetime64 (timestamps: naive UTC), nullable integers Int64."""
    with conn.cursor() as cur:
        cur.execute(query, params)
        assert cur.description is not None
        columns = [d.name for d in cur.description]
        types = [d.type_code for d in cur.description]
        rows = cur.fetchall()
    frame = pd.DataFrame.from_records(rows, columns=columns)
    for name, oid in zip(columns, types, strict=True):
        frame[name] = _typed(frame[name], oid)
    return frame


def _typed(column: pd.Series, oid: int) -> pd.Series:
    if oid == DATE_OID:
        return pd.to_datetime(column, errors="coerce").astype("datetime64[ns]")
    if oid in (TIMESTAMPTZ_OID, TIMESTAMP_OID):
        stamps = pd.to_datetime(column, utc=True, errors="coerce")
        return stamps.dt.tz_convert(None).astype("datetime64[ns]")
    if oid in INT_OIDS:
        return column.astype("Int64") if column.isna().any() else column.astype("int64")
    if oid == BOOL_OID:
        return column.astype("boolean") if column.isna().any() else column.astype(bool)
    if column.dtype == object or str(column.dtype).startswith("str"):
        return column.astype(object).where(column.notna(), None)
    return column


def cents_to_text(cents: pd.Series) -> pd.Series:
    """Integer cents as exact decimal text ('-12.05'); nulls stay null."""
    values = cents.astype("Int64")
    magnitude = values.abs()
    text = (magnitude // 100).astype(str) + "." + (magnitude % 100).astype(str).str.zfill(2)
    text = text.where(values >= 0, "-" + text)
    return text.where(values.notna(), None)


@dataclass(frozen=True)
class CsvRows:
    """Rows read with COPY: the CSV as PostgreSQL wrote it (a header row naming the
    columns), to pass on to another service's COPY unchanged, and a frame parsed from the
    columns the flow itself needs."""

    csv: bytes
    frame: pd.DataFrame


def copy_out_csv(conn: psycopg.Connection, query: str, params: Mapping[str, Any] | None) -> bytes:
    """Run a query through COPY ... TO STDOUT (CSV with a header row); its raw text."""
    stmt = sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER true)").format(
        sql.SQL(query.strip().rstrip(";"))
    )
    buffer = BytesIO()
    with conn.cursor() as cur, cur.copy(stmt, params) as copy:
        for block in copy:
            buffer.write(block)
    return buffer.getvalue()


def frame_from_csv(data: bytes, dtype: Mapping[str, str]) -> pd.DataFrame:
    """The columns named in `dtype` of CSV written by copy_out_csv, with those types; give
    money columns "string" (their exact decimal text, never a float). NULLs become missing
    values."""
    return pd.read_csv(
        BytesIO(data),
        usecols=list(dtype),
        dtype=dict(dtype),
        keep_default_na=False,
        na_values={c: [""] for c in dtype},
    )


def copy_out_frame(
    conn: psycopg.Connection, query: str, params: Mapping[str, Any] | None, dtype: Mapping[str, str]
) -> pd.DataFrame:
    """Run a query through COPY ... TO STDOUT (CSV) and parse it with pandas: much faster
    than fetching rows as Python objects for large reads. `dtype` names every column wanted
    and its type (see frame_from_csv)."""
    return frame_from_csv(copy_out_csv(conn, query, params), dtype)


def copy_csv(conn: psycopg.Connection, table: str, data: bytes, columns: Sequence[str]) -> int:
    """COPY CSV written by copy_out_csv into `table` (a bare name, e.g. a temporary table);
    its header row must name exactly `columns`, in order (HEADER MATCH: PostgreSQL refuses
    the COPY otherwise). Returns the number of rows written."""
    stmt = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, HEADER MATCH)").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    with conn.cursor() as cur:
        with cur.copy(stmt) as copy:
            for start in range(0, len(data), COPY_BLOCK_BYTES):
                copy.write(data[start : start + COPY_BLOCK_BYTES])
        return cur.rowcount


def key_and_count_dtypes(counts: Sequence[str]) -> dict[str, str]:
    """COPY read types of a frame keyed by (member_id, benefit_code, year) whose other
    columns are integer cents or counts (never NULL)."""
    return {
        "member_id": "string",
        "benefit_code": "string",
        "year": "int64",
        **{c: "int64" for c in counts},
    }


def copy_frame(
    conn: psycopg.Connection, table: str, frame: pd.DataFrame, columns: Sequence[str]
) -> int:
    """COPY the frame's columns into `table` (a bare name, e.g. a temporary table), as CSV in
    blocks. Returns the number of rows written."""
    stmt = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    with conn.cursor() as cur, cur.copy(stmt) as copy:
        for start in range(0, len(frame), COPY_BLOCK_ROWS):
            block = frame.iloc[start : start + COPY_BLOCK_ROWS][list(columns)]
            buffer = StringIO()
            block.to_csv(buffer, header=False, index=False)
            copy.write(buffer.getvalue())
    return len(frame)


def uuid_array(values: pd.Series | Sequence[str]) -> list[str]:
    """Distinct non-null ids for an `= ANY(%(ids)s::uuid[])` parameter."""
    series = pd.Series(values, dtype=object)
    return sorted(set(series.dropna().astype(str)))
