"""Tasks of database maintenance. ANALYZE, VACUUM and REINDEX need the tables' owner, and
other sessions' activity and pg_terminate_backend need more than a service role may have,
so these use the admin connection. Schema and table names come from the catalogue of our
own schemas and reach SQL as identifiers."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from claims_askes.core.services import known_schema
from claims_askes.db.connections import admin_connection
from claims_askes.db.sqlfiles import queries
from claims_askes.operations.common import progress, set_lock_timeout
from tasks.base import batch_task

Q = queries("common")


def records(
    conn: psycopg.Connection, query: str, params: dict[str, Any] | None = None
) -> list[dict[str, object]]:
    # pandas, under fetch_frame, only here: a flow that never reads a report imports none.
    from claims_askes.db.frames import fetch_frame

    frame = fetch_frame(conn, query, params)
    return [{str(k): _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _plain(value: object) -> object:
    """A value an artifact or JSON can hold: numbers, text and booleans as they are, NaN and
    None as None, anything else (timestamps, arrays) as text."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value if isinstance(value, int | float | str | bool) else str(value)


def maintained_tables(conn: psycopg.Connection, schemas: list[str]) -> list[tuple[str, str, str]]:
    rows = conn.execute(
        Q.maintained_tables, {"schemas": [known_schema(s) for s in schemas]}
    ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


@batch_task(name="analyze")
def analyze(schemas: list[str], vacuum: bool) -> list[str]:
    """ANALYZE (or VACUUM (ANALYZE), which cannot run in a transaction: autocommit) each
    table of `schemas`, one statement per table so that progress shows and a lock wait
    stalls one table only."""
    done: list[str] = []
    with admin_connection(autocommit=True) as conn:
        tables = maintained_tables(conn, schemas)
        for number, (schema, table, kind) in enumerate(tables, start=1):
            ident = sql.Identifier(schema, table)
            if vacuum and kind == "r":
                conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(ident))
            else:
                conn.execute(sql.SQL("ANALYZE {}").format(ident))
            done.append(f"{schema}.{table}")
            progress("vacuum" if vacuum else "analyze", number, len(tables))
    return done


@batch_task(name="reindex concurrently")
def reindex(schemas: list[str]) -> list[str]:
    """REINDEX SCHEMA ... CONCURRENTLY: rebuilds without blocking writes (autocommit)."""
    with admin_connection(autocommit=True) as conn:
        for number, schema in enumerate(schemas, start=1):
            conn.execute(
                sql.SQL("REINDEX SCHEMA CONCURRENTLY {}").format(
                    sql.Identifier(known_schema(schema))
                )
            )
            progress("reindex", number, len(schemas))
    return list(schemas)


REPORT_LOCK_TIMEOUT_SECONDS = 5


@batch_task(name="bloat report")
def bloat_report(schemas: list[str]) -> tuple[str, list[dict[str, object]]]:
    """Measured with pgstattuple where installed, else from the statistics collector."""
    with admin_connection() as conn:
        set_lock_timeout(conn, REPORT_LOCK_TIMEOUT_SECONDS)
        row = conn.execute(Q.has_extension, {"name": "pgstattuple"}).fetchone()
        if row and row[0]:
            return "pgstattuple", records(conn, Q.bloat_from_pgstattuple, {"schemas": schemas})
        return "statistics", records(conn, Q.bloat_from_statistics, {"schemas": schemas})


@batch_task(name="sessions and locks")
def sessions(
    long_running_minutes: float, idle_minutes: float
) -> tuple[list[dict[str, object]], list[dict[str, object]], list[dict[str, object]]]:
    """Long-running statements, idle sessions and lock waits of this database."""
    with admin_connection() as conn:
        set_lock_timeout(conn, REPORT_LOCK_TIMEOUT_SECONDS)
        return (
            records(conn, Q.long_running_queries, {"minutes": long_running_minutes}),
            records(conn, Q.idle_sessions, {"minutes": idle_minutes}),
            records(conn, Q.lock_waits),
        )


@batch_task(name="terminate idle sessions")
def terminate(pids: list[int], idle_minutes: float) -> list[int]:
    """Only with the explicit flag; re-checked at the moment of terminating."""
    with admin_connection(autocommit=True) as conn:
        rows = conn.execute(
            Q.terminate_sessions, {"pids": pids, "minutes": idle_minutes}
        ).fetchall()
    return [int(r[0]) for r in rows]
