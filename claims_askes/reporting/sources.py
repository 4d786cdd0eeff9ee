"""What the dashboard reads, one function per schema, each through the read-only reporting
connection (`reporting_user`): a report can never change a claim. The named statements are
`sql/<schema>/dashboard.sql`; nothing reads across schemas: the dashboard combines the
parts (claims with providers, payments with decisions) in Python.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row

from claims_askes.core.settings import Settings, get_settings
from claims_askes.db.connections import connect_url, reporting_url
from claims_askes.db.sqlfiles import queries
from claims_askes.reporting.model import decision_bands
from schemas.dashboard import DashboardParameters


@contextmanager
def reporting(settings: Settings | None = None) -> Iterator[psycopg.Connection[Any]]:
    """A read-only reporting_user session whose days are the business time zone's."""
    settings = settings or get_settings()
    conn = connect_url(reporting_url(settings), application="report")
    try:
        conn.read_only = True  # besides the role's grants: the session itself cannot write
        conn.execute("SELECT set_config('TimeZone', %s, false)", (settings.timezone,))
        yield conn
    finally:
        conn.close()


def _rows(conn: psycopg.Connection[Any], text: str, args: dict[str, Any]) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(text, args).fetchall()


@dataclass
class ClaimsFacts:
    """Everything the dashboard reads from claims_service (and common's reason words)."""

    daily: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[dict[str, Any]] = field(default_factory=list)
    backlog: list[dict[str, Any]] = field(default_factory=list)
    pended: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    decision_summary: dict[str, Any] = field(default_factory=dict)
    provider_rejections: list[dict[str, Any]] = field(default_factory=list)


def read_claims(
    params: DashboardParameters, settings: Settings | None = None, *, reasons: int = 10
) -> ClaimsFacts:
    """The window's claims by day, reasons, backlog, pended claims, decisions and the
    providers' rejections (claims_service), as `params` bound them."""
    q = queries("claims_service")
    window = {"window_days": params.window_days}
    sla = {**window, "sla_hours": params.decision_sla_hours}
    with reporting(settings) as conn:
        summary = _rows(
            conn,
            q.dashboard_decision_summary,
            {
                **sla,
                "bounds": [Decimal(str(b)) for b in decision_bands(params.decision_sla_hours)],
            },
        )
        return ClaimsFacts(
            daily=_rows(conn, q.dashboard_daily, window),
            reasons=_rows(conn, q.dashboard_rejection_reasons, {**window, "limit": reasons}),
            backlog=_rows(conn, q.dashboard_backlog, {"bounds": params.age_bands_days}),
            pended=_rows(conn, q.dashboard_pended, {"limit": params.pended_limit}),
            decisions=_rows(conn, q.dashboard_decisions, sla),
            decision_summary=summary[0] if summary else {},
            provider_rejections=_rows(
                conn, q.dashboard_provider_rejections, {**window, "limit": params.top_providers}
            ),
        )


def read_decided_at(claim_ids: list[str], settings: Settings | None = None) -> dict[str, datetime]:
    """claim id -> when it was decided (claims_service)."""
    if not claim_ids:
        return {}
    with reporting(settings) as conn:
        rows = _rows(conn, queries("claims_service").dashboard_decided_at, {"claim_ids": claim_ids})
    return {str(r["claim_id"]): r["adjudicated_at"] for r in rows if r["adjudicated_at"]}


def read_payments(window_days: int, settings: Settings | None = None) -> list[dict[str, Any]]:
    """Claims paid in the window, with their first payment's time (payment_service)."""
    with reporting(settings) as conn:
        rows = _rows(conn, queries("payment_service").dashboard_paid, {"window_days": window_days})
    return [{**r, "claim_id": str(r["claim_id"])} for r in rows]


def read_providers(ids: list[str], settings: Settings | None = None) -> dict[str, dict[str, str]]:
    """provider id -> code and name (provider_service)."""
    if not ids:
        return {}
    with reporting(settings) as conn:
        rows = _rows(conn, queries("provider_service").dashboard_providers, {"ids": ids})
    return {str(r["id"]): {"code": r["provider_code"], "name": r["name"]} for r in rows}
