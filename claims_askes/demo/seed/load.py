"""Write the demo frames into the database, each schema as its own service.

Each schema goes through its own service's connection and role, in one transaction,
with `COPY ... FROM STDIN (FORMAT csv)` fed with CSV text rendered by pandas in blocks
(psycopg's queued writer sends one block while the next is rendered, so the server
works while Python renders). Amounts travel as exact decimal text made from integer
cents. No statement touches two schemas. Schemas load one after the other by default:
on two cores, loading the claims schema beside the others measured no faster (the
server's work, mostly the audit triggers' rows, is the bottleneck), but `workers=2`
still does it.

Exceptions to COPY: `member_service.member` has row-level security, and PostgreSQL refuses
COPY FROM into such a table for a role subject to it, so members are inserted from
arrays (`INSERT ... SELECT FROM unnest(...)`), which the RLS insert policy admits for the
batch session; the claim number counters are upserted so numbering continues after the
seeded claims.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import psycopg
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from claims_askes.core.errors import ClaimsAskesError
from claims_askes.core.services import service
from claims_askes.db.connections import service_connection
from claims_askes.demo.seed.generate import DemoData

Progress = Callable[[str, int, int], None]

CHUNK_ROWS = 100_000
INSERT_CHUNK_ROWS = 25_000
# Schemas in the order they are loaded (claims last: it is started first, on its own).
SCHEMAS = (
    "policy_service",
    "member_service",
    "provider_service",
    "benefit_service",
    "authorization_service",
    "claims_service",
)

# member_service.member columns and their types, for the unnest() insert.
MEMBER_TYPES = {
    "id": "uuid",
    "date_of_birth": "date",
    "enrollment_date": "date",
    "termination_date": "date",
}
RLS_TABLES = {"member_service.member"}
COUNTER_TABLE = "claims_service.claim_number_counter"
# Tables of migrations newer than the seed may run against: written when they exist.
# (benefit_service 0003 adds the accumulators' opening balances.)
OPTIONAL_TABLES = {"benefit_service.accumulator_opening"}


class SeedTargetNotEmptyError(ClaimsAskesError):
    """The database already holds data the demo would collide with."""


def timestamps_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Time-zone-aware columns as ISO 8601 text in UTC: pandas' CSV writer formats them
    element by element in Python (about 20 s for 333,000 claims' three timestamps);
    numpy does it in milliseconds. Other columns are left as they are."""
    tz_cols = [c for c in frame.columns if isinstance(frame[c].dtype, pd.DatetimeTZDtype)]
    if not tz_cols:
        return frame
    out = frame.copy(deep=False)
    for c in tz_cols:
        values = out[c].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[us]")
        micros = values.astype(np.int64)
        whole = values[~np.isnat(values)]
        unit: Literal["s", "us"] = "s" if (whole.astype(np.int64) % 1_000_000 == 0).all() else "us"
        text = np.char.add(np.datetime_as_string(values, unit=unit), "+00")
        col = pd.Series(text, index=out.index, dtype=object)
        col[micros == np.iinfo(np.int64).min] = None  # NaT
        out[c] = col
    return out


_FRACTIONS = np.array([f"{i:02d}" for i in range(100)])


def cents_text(cents: pd.Series) -> npt.NDArray[np.object_]:
    """Integer cents as exact decimal text ("-1234.05"), None (NULL) where missing: the
    frames never hold money as floats, so nothing is rounded on the way to DECIMAL."""
    missing = cents.isna().to_numpy()
    values = cents.fillna(0).to_numpy(np.int64)
    size = np.abs(values)
    text = np.char.add(np.char.add(np.where(values < 0, "-", ""), (size // 100).astype(str)), ".")
    out = np.char.add(text, _FRACTIONS[size % 100]).astype(object)
    out[missing] = None
    return out


def amounts_as_text(frame: pd.DataFrame, cents: Sequence[str]) -> pd.DataFrame:
    """The frame with its integer-cent columns as decimal text (others left as they are)."""
    present = [c for c in cents if c in frame.columns]
    if not present:
        return frame
    out = frame.copy(deep=False)
    for c in present:
        out[c] = cents_text(out[c])
    return out


def csv_blocks(
    frame: pd.DataFrame, cents: Sequence[str] = (), rows: int = CHUNK_ROWS
) -> Iterator[tuple[str, int]]:
    """The frame as CSV text (no header), `rows` rows at a time: `cents` columns as exact
    decimals, dates as YYYY-MM-DD, timestamps in UTC, NULL as an unquoted empty field."""
    for start in range(0, len(frame), rows):
        part = amounts_as_text(timestamps_as_text(frame.iloc[start : start + rows]), cents)
        buf = io.StringIO()
        part.to_csv(buf, header=False, index=False, lineterminator="\n")
        yield buf.getvalue(), len(part)


def copy_statement(schema: str, table: str, columns: Sequence[str]) -> sql.Composed:
    return sql.SQL("COPY {}.{} ({}) FROM STDIN (FORMAT csv)").format(
        sql.Identifier(schema),
        sql.Identifier(table),
        sql.SQL(", ").join(sql.Identifier(c) for c in columns),
    )


def copy_frame(
    conn: psycopg.Connection,
    schema: str,
    table: str,
    frame: pd.DataFrame,
    advance: Callable[[int], None] | None = None,
) -> None:
    """COPY every row of the frame into schema.table (columns named by the frame)."""
    cents = DemoData.cents_columns(f"{schema}.{table}")
    with (
        conn.cursor() as cur,
        cur.copy(
            copy_statement(schema, table, list(frame.columns)), writer=QueuedLibpqWriter(cur)
        ) as copy,
    ):
        for text, n in csv_blocks(frame, cents):
            copy.write(text)
            if advance:
                advance(n)


def _sql_array(values: pd.Series, pg_type: str) -> list[str | None]:
    """A column as a list for an array parameter: text, NULL for missing values."""
    if pg_type == "date":
        text = pd.Series(np.datetime_as_string(values.to_numpy("datetime64[s]"), unit="D"))
        return [None if v == "NaT" else v for v in text.tolist()]
    return [
        None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
        for v in values.tolist()
    ]


def insert_frame(
    conn: psycopg.Connection,
    schema: str,
    table: str,
    frame: pd.DataFrame,
    types: Mapping[str, str],
    advance: Callable[[int], None] | None = None,
) -> None:
    """INSERT the frame from one array per column (for tables COPY cannot write)."""
    cols = list(frame.columns)
    stmt = sql.SQL("INSERT INTO {}.{} ({}) SELECT * FROM unnest({})").format(
        sql.Identifier(schema),
        sql.Identifier(table),
        sql.SQL(", ").join(sql.Identifier(c) for c in cols),
        sql.SQL(", ").join(
            sql.SQL("{}::{}[]").format(sql.Placeholder(), sql.SQL(types.get(c, "text")))
            for c in cols
        ),
    )
    with conn.cursor() as cur:
        for start in range(0, len(frame), INSERT_CHUNK_ROWS):
            part = frame.iloc[start : start + INSERT_CHUNK_ROWS]
            cur.execute(stmt, [_sql_array(part[c], types.get(c, "text")) for c in cols])
            if advance:
                advance(len(part))


def table_exists(conn: psycopg.Connection, schema: str, table: str) -> bool:
    row = conn.execute(
        "SELECT to_regclass(%s) IS NOT NULL", [sql.Identifier(schema, table).as_string(conn)]
    ).fetchone()
    return bool(row and row[0])


def upsert_counters(conn: psycopg.Connection, frame: pd.DataFrame) -> None:
    """Move each month's claim number counter past the numbers the seed used."""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO claims_service.claim_number_counter AS c (period, last_value) "
            "VALUES (%s, %s) ON CONFLICT (period) DO UPDATE "
            "SET last_value = greatest(c.last_value, excluded.last_value)",
            [(str(p), int(v)) for p, v in zip(frame["period"], frame["last_value"], strict=True)],
        )


def load_schema(data: DemoData, schema: str, progress: Progress | None = None) -> dict[str, float]:
    """Write one schema's tables in one transaction of its service; seconds per table
    written (a missing optional table is left out)."""
    tables = data.schema_tables(schema)
    total = sum(len(f) for _, f in tables)
    step = f"load {schema}"
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(step, done, total)

    advance(0)
    seconds: dict[str, float] = {}
    with service_connection(service(schema).key) as conn:
        for table, frame in tables:
            name = f"{schema}.{table}"
            t0 = time.perf_counter()
            if name in OPTIONAL_TABLES and not table_exists(conn, schema, table):
                advance(len(frame))
                continue
            if name == COUNTER_TABLE:
                upsert_counters(conn, frame)
                advance(len(frame))
            elif name in RLS_TABLES:
                insert_frame(conn, schema, table, frame, MEMBER_TYPES, advance)
            else:
                copy_frame(conn, schema, table, frame, advance)
            seconds[name] = time.perf_counter() - t0
        t0 = time.perf_counter()
    seconds[f"{schema} commit"] = time.perf_counter() - t0
    return seconds


def load(data: DemoData, progress: Progress | None = None, workers: int = 1) -> dict[str, float]:
    """Load every schema; with `workers` > 1 the claims schema loads beside the others.
    Returns seconds per table. `progress` may be called from worker threads (serialised)."""
    lock = threading.Lock()

    def report(step: str, done: int, total: int) -> None:
        if progress:
            with lock:
                progress(step, done, total)

    def run(schemas: Sequence[str]) -> dict[str, float]:
        out: dict[str, float] = {}
        for schema in schemas:
            out.update(load_schema(data, schema, report))
        return out

    if workers <= 1:
        return run(SCHEMAS)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="seed-load") as pool:
        big = pool.submit(run, ["claims_service"])
        rest = pool.submit(run, [s for s in SCHEMAS if s != "claims_service"])
        seconds = rest.result()
        seconds.update(big.result())
    return seconds


# Tables that must be empty before seeding (keys and numbers would collide).
GUARDED = (
    "policy_service.plan",
    "member_service.member",
    "provider_service.provider",
    "benefit_service.plan_benefit",
    "authorization_service.authorization",
    "claims_service.claim",
)


def ensure_empty() -> None:
    """Refuse to seed over existing data (plan codes, member and claim numbers are unique)."""
    for name in GUARDED:
        schema, table = name.split(".")
        with service_connection(service(schema).key) as conn:
            row = conn.execute(
                sql.SQL("SELECT EXISTS (SELECT 1 FROM {}.{})").format(
                    sql.Identifier(schema), sql.Identifier(table)
                )
            ).fetchone()
        if row and row[0]:
            raise SeedTargetNotEmptyError(
                f"{name} already has rows: the demo data goes into a freshly migrated, "
                "empty database (`claims-askes demo` recreates it; or `claims-askes db "
                "downgrade --yes` then `claims-askes db upgrade`)"
            )


def table_checksums(columns: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Row count and md5 over the given columns of each table, rows in the order of their
    text (so no key is needed), read through each schema's own service, in Jakarta time:
    equal sums mean equal data. For determinism checks; leave out columns defaulting to
    now()."""
    out: dict[str, str] = {}
    for name, cols in columns.items():
        schema, table = name.split(".")
        row_text = sql.SQL("concat_ws('|', {})").format(
            sql.SQL(", ").join(
                sql.SQL("coalesce({}::text, '~')").format(sql.Identifier(c)) for c in cols
            )
        )
        query = sql.SQL(
            "SELECT count(*) || ':' || coalesce(md5(string_agg(r, E'\\n' ORDER BY r)), '-') "
            "FROM (SELECT {} AS r FROM {}.{}) AS t"
        ).format(row_text, sql.Identifier(schema), sql.Identifier(table))
        with service_connection(service(schema).key) as conn:
            conn.execute("SET TIME ZONE 'Asia/Jakarta'")
            row = conn.execute(query).fetchone()
        out[name] = str(row[0]) if row else ""
    return out
