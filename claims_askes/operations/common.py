"""Helpers shared by the database operations flows: business dates, locks, identifiers."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql

from claims_askes.core.errors import ClaimsAskesError
from claims_askes.core.settings import get_settings


class HealthCheckFailed(ClaimsAskesError):
    """A check found a critical state; the flow did its work, then fails with the reason."""


class OperationLocked(ClaimsAskesError):
    """Another run of the same operation holds its advisory lock."""


class ArchiveConflictError(ClaimsAskesError):
    """Rows about to be archived are already in the archive: nothing moved, nothing dropped."""


def business_today() -> date:
    """Today in the business time zone (Jakarta): months and cutoffs follow it."""
    return datetime.now(ZoneInfo(get_settings().timezone)).date()


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """The first of the month `months` after `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def lock_key(name: str) -> int:
    """A stable advisory-lock key for an operation name (crc32: same in every process)."""
    return 72_000_000_000 + zlib.crc32(name.encode())


def try_session_lock(conn: psycopg.Connection, name: str) -> None:
    """Take the operation's session advisory lock or refuse: one run at a time. The lock goes
    with the session, so a killed run never leaves it behind."""
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_key(name),)).fetchone()
    if not row or not row[0]:
        raise OperationLocked(f"another {name} run is in progress (advisory lock held)")


def set_lock_timeout(conn: psycopg.Connection, seconds: float) -> None:
    """Bound every lock wait of this session: DDL waiting behind a long query would
    otherwise block every query queued behind it."""
    conn.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(f"{int(seconds * 1000)}ms")))


def columns_sql(names: Iterable[str], prefix: str | None = None) -> sql.Composable:
    """A comma-separated list of column identifiers (optionally qualified by `prefix`)."""
    if prefix:
        return sql.SQL(", ").join(sql.Identifier(prefix, n) for n in names)
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


# --- progress: the command line shows a bar; a flow reports through this hook -------------

ProgressHook = Callable[[str, int, int], None]
_progress: list[ProgressHook] = []


@contextmanager
def progress_to(hook: ProgressHook) -> Iterator[None]:
    """Send the operations' progress (step, done, total) to `hook` while inside."""
    _progress.append(hook)
    try:
        yield
    finally:
        _progress.remove(hook)


def progress(step: str, done: int, total: int) -> None:
    """Report progress of long work to whoever listens (the CLI's bar); no-op otherwise."""
    for hook in _progress:
        hook(step, done, total)
