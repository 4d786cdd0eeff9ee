"""Tasks of the benefit service: `benefit_service` only, through its own connection."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pandas as pd

from claims_askes.db.batch import batch_transaction
from claims_askes.db.connections import service_connection
from claims_askes.db.frames import copy_csv, copy_out_frame, fetch_frame, key_and_count_dtypes
from claims_askes.db.sqlfiles import queries
from tasks.base import batch_task

Q = queries("benefit_service")


@dataclass(frozen=True)
class BenefitRules:
    plan_benefits: pd.DataFrame
    exclusions: pd.DataFrame
    cost_sharing: pd.DataFrame
    accumulators: pd.DataFrame


@batch_task(name="read benefit rules and accumulators")
def read_benefit_rules(plan_ids: list[str], member_ids: list[str]) -> BenefitRules:
    with service_connection("benefit") as conn:
        return BenefitRules(
            plan_benefits=fetch_frame(conn, Q.plan_benefits_by_plan, {"plan_ids": plan_ids}),
            exclusions=fetch_frame(conn, Q.exclusions_by_plan, {"plan_ids": plan_ids}),
            cost_sharing=fetch_frame(conn, Q.cost_sharing_by_plan, {"plan_ids": plan_ids}),
            accumulators=fetch_frame(conn, Q.accumulators_by_member, {"member_ids": member_ids}),
        )


POSTING_COLUMNS = [
    "claim_item_id",
    "adjudication_version",
    "entry_type",
    "member_id",
    "benefit_code",
    "year",
    "amount",
    "deductible",
    "oop",
    "visits",
    "days",
]


@dataclass(frozen=True)
class PostingResult:
    entries_inserted: int
    reversals: int
    accumulators_touched: int


@batch_task(name="post to accumulator ledger")
def post_ledger_entries(entries: bytes, flow_run_id: uuid.UUID) -> PostingResult:
    """Post ledger entries (and the reversals of the lines' earlier versions) and their sums
    to the accumulators, exactly once per entry key. `entries`: CSV whose header row names
    POSTING_COLUMNS in order (the claims service's posting queue, as COPY wrote it)."""
    with service_connection("benefit") as conn, batch_transaction(conn):
        conn.execute(Q.create_posting_table)
        copy_csv(conn, "posting_input", entries, POSTING_COLUMNS)
        conn.execute(Q.analyze_posting_table)
        row = conn.execute(Q.post_ledger_entries, {"flow_run_id": flow_run_id}).fetchone()
    assert row is not None
    return PostingResult(int(row[0]), int(row[1]), int(row[2]))


#: the reconciliation's sums per key, in cents (or counts)
RECONCILIATION_COUNTS = [
    f"{side}_{measure}"
    for side in ("accumulator", "opening", "ledger")
    for measure in ("amount_cents", "deductible_cents", "oop_cents", "visits", "days")
]


@batch_task(name="read accumulators, openings and ledger")
def read_reconciliation(member_ids: list[str] | None) -> pd.DataFrame:
    """Per (member, benefit, year): accumulator, opening balance and ledger sums, in cents."""
    with service_connection("benefit") as conn:
        return copy_out_frame(
            conn,
            Q.reconciliation_by_key,
            {"member_ids": member_ids},
            key_and_count_dtypes(RECONCILIATION_COUNTS),
        )
