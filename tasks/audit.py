"""The reads of a claim's audit trail (`claims-askes audit trail`): plain functions, one named
statement per schema through that schema's own connection; the merge is
`claims_askes.audit.trail.build_trail`.

- `claims_service` and `archive` (the claim, its rows, the lines' decisions): the claims
  service's connection, which reads its archive;
- `benefit_service` (the posting ledger) and `payment_service` (the payments): their own;
- `audit` (row audit, statement audit, the registered runs): only the admin role may read it
  (no service role has any right on `audit`, and `reporting_user` none either), so the
  admin connection, as for every other read of the audit log.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from functools import partial
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import set_json_loads

from claims_askes.audit.trail import CLAIM_TABLES, CLAIMS, PAYMENTS, TrailInputs
from claims_askes.core.errors import ClaimsAskesError
from claims_askes.db.connections import admin_connection, service_connection
from claims_askes.db.sqlfiles import queries

#: JSON content with its amounts as Decimal: money never goes through a float
_exact_json = partial(json.loads, parse_float=Decimal)


def _rows(conn: psycopg.Connection, query: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    set_json_loads(_exact_json, conn)
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return list(cur.fetchall())


def read_trail_inputs(claim_number: str) -> TrailInputs:
    """Everything the trail of `claim_number` merges; a claim that is neither live nor
    archived is a ClaimsAskesError."""
    q = queries("claims_service")
    with service_connection("claims") as conn:
        found = _rows(conn, q.trail_claim, {"claim_number": claim_number})
        if not found:
            raise ClaimsAskesError(f"no claim {claim_number!r}, live or archived")
        claim_id = str(found[0]["claim_id"])
        current = _rows(conn, q.trail_rows, {"claim_id": claim_id})
        decisions = _rows(conn, q.trail_decisions, {"claim_id": claim_id})
    line_ids = [str(r["row_id"]) for r in current if r["table_name"] == "claim_item"]
    with service_connection("benefit") as conn:
        postings = _rows(conn, queries("benefit_service").trail_postings, {"line_ids": line_ids})
    with service_connection("payment") as conn:
        payments = _rows(conn, queries("payment_service").trail_payments, {"claim_id": claim_id})
    uuids = [str(r["row_id"]) for r in current if r["table_name"] != "claim_status_history"]
    ints = [int(r["row_id"]) for r in current if r["table_name"] == "claim_status_history"]
    a = queries("audit")
    with admin_connection() as conn:
        row_audit = _rows(
            conn,
            a.trail_row_audit,
            {
                "schema_name": CLAIMS,
                "tables": list(CLAIM_TABLES),
                "row_ids": [str(r["row_id"]) for r in current],
            },
        )
        for r in row_audit:
            r["schema_name"] = CLAIMS
        row_audit += [
            {**r, "schema_name": PAYMENTS}
            for r in _rows(
                conn,
                a.trail_row_audit,
                {
                    "schema_name": PAYMENTS,
                    "tables": ["payment"],
                    "row_ids": [str(p["payment_id"]) for p in payments],
                },
            )
        ]
        # The claim's INSERT is always row-audited (no statement decision for it): nothing
        # wrote its rows before it, so older statements need not be read. Without it (a log
        # trimmed by retention, say) every statement is read.
        since = min(
            (
                r["at"]
                for r in row_audit
                if r["table_name"] == "claim"
                and r["operation"] == "INSERT"
                and r["schema_name"] == CLAIMS
            ),
            default=None,
        )
        statements = _rows(
            conn,
            a.trail_statements,
            {
                "schema_name": CLAIMS,
                "tables": list(CLAIM_TABLES),
                "uuids": uuids,
                "ints": ints,
                "since": since,
            },
        )
        run_ids = sorted({str(p["flow_run_id"]) for p in postings if p["flow_run_id"]})
        runs = {
            str(r["flow_run_id"]): r for r in _rows(conn, a.trail_runs, {"flow_run_ids": run_ids})
        }
    return TrailInputs(
        claim_number=claim_number,
        claim_id=claim_id,
        current=current,
        decisions=decisions,
        row_audit=row_audit,
        statements=statements,
        postings=postings,
        runs=runs,
    )
