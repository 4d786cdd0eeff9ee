"""Tasks of the claims service: each touches `claims_service` only (and reads `common`),
through the claims service's own connection."""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
import psycopg

from claims_askes.core.errors import ClaimsAskesError
from claims_askes.core.faults import crash_point
from claims_askes.db.batch import batch_transaction
from claims_askes.db.connections import service_connection
from claims_askes.db.frames import (
    CsvRows,
    cents_to_text,
    copy_frame,
    copy_out_csv,
    copy_out_frame,
    fetch_frame,
    frame_from_csv,
    key_and_count_dtypes,
    uuid_array,
)
from claims_askes.db.sqlfiles import queries
from tasks.base import batch_task

Q = queries("claims_service")
LEASE_LOCK_SPACE = 71_001  # advisory-lock namespace of member leases
LEASE_ATTEMPTS = 8  # a lease that loses a deadlock is tried again, up to this many times
CHANGED_BY = "claim-adjudication"


class LeaseLostError(ClaimsAskesError):
    """The run's lease on some claims expired and another run took them: nothing written."""


@dataclass(frozen=True)
class Lease:
    run_id: uuid.UUID
    claims: int
    members: int


@batch_task(name="read queue clock")
def read_queue_clock() -> datetime:
    """The claims database's time at the start of a run: claims this run pends after it are
    not leased again by the same run."""
    with service_connection("claims") as conn:
        row = conn.execute(Q.queue_clock).fetchone()
    assert row is not None
    return row[0]


@batch_task(name="lease claims")
def lease_claims(
    run_id: uuid.UUID,
    run_started: datetime,
    max_claims: int,
    lease_seconds: int,
    shard: int = 0,
    shards: int = 1,
    pended_due: list[str] | None = None,
) -> Lease:
    """Lease the next chunk of whole members' adjudicable claims for this run.

    Runs leasing at the same moment can deadlock: each holds some claim rows it locked
    (SKIP LOCKED) and, having won a member's advisory lock, waits for that member's other
    rows, which another run locked. PostgreSQL then rolls one statement back whole (nothing
    is leased by it); that run waits a little, at random, and leases again.

    A member another run holds, or whose decided lines wait for posting, is left for later:
    its accumulators are not settled. The second statement re-checks that with a fresh
    snapshot, under the advisory locks the first took (see give_back_contested_members).

    Pended claims are leased only if named in `pended_due` (the run's due pended claims,
    claims_askes.adjudication.pends): the others are not touched."""
    params = {
        "run_id": run_id,
        "run_started": run_started,
        "max_claims": max_claims,
        "lease_seconds": lease_seconds,
        "shard": shard,
        "shards": shards,
        "lock_space": LEASE_LOCK_SPACE,
        "pended_due": pended_due or [],
    }
    for attempt in range(1, LEASE_ATTEMPTS + 1):
        try:
            with service_connection("claims") as conn, batch_transaction(conn):
                conn.execute(Q.lease_claims, params)
                row = conn.execute(Q.give_back_contested_members, {"run_id": run_id}).fetchone()
            assert row is not None
            return Lease(run_id, int(row[0]), int(row[1]))
        except psycopg.errors.DeadlockDetected:
            if attempt == LEASE_ATTEMPTS:
                raise
            time.sleep(random.uniform(0.02, 0.1) * attempt)
    raise AssertionError("unreachable")


@batch_task(name="read pended claims")
def read_pended_claims(run_started: datetime) -> pd.DataFrame:
    """The pended claims not pended by this run: id, number, member, when last adjudicated
    and when one of its lines was last overridden."""
    with service_connection("claims") as conn:
        return fetch_frame(conn, Q.pended_claims, {"run_started": run_started})


@batch_task(name="release lease")
def release_lease(run_id: uuid.UUID) -> int:
    """Give the run's leased claims back to the queue unchanged."""
    with service_connection("claims") as conn, batch_transaction(conn):
        return conn.execute(Q.release_lease, {"run_id": run_id}).rowcount


@batch_task(name="read leased claims")
def read_leased_claims(run_id: uuid.UUID) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The chunk's claims and lines, and the members' earlier non-rejected lines (for R4)."""
    with service_connection("claims") as conn:
        claims = fetch_frame(conn, Q.leased_claims, {"run_id": run_id})
        lines = fetch_frame(conn, Q.leased_lines, {"run_id": run_id})
        prior = fetch_frame(conn, Q.prior_lines, {"member_ids": uuid_array(claims["member_id"])})
    return claims, lines, prior


@batch_task(name="read leased claims' postings")
def read_leased_effective_postings(run_id: uuid.UUID) -> pd.DataFrame:
    """What the leased claims' posted lines count in the accumulators (re-adjudication)."""
    with service_connection("claims") as conn:
        return fetch_frame(conn, Q.leased_effective_postings, {"run_id": run_id})


@batch_task(name="read reason codes")
def read_reason_codes() -> pd.DataFrame:
    with service_connection("claims") as conn:
        return fetch_frame(conn, Q.reason_codes)


LINE_DECISION_COLUMNS = [
    "line_id",
    "status",
    "reason_code",
    "allowed_amount",
    "deductible_amount",
    "copay_amount",
    "coinsurance_amount",
    "network_reduction_amount",
    "limit_amount",
    "approved_amount",
    "member_responsibility",
    "oop_amount",
    "covered_days",
    "visits",
    "in_network",
    "coverage_id",
    "plan_id",
    "benefit_year",
]
CLAIM_DECISION_COLUMNS = [
    "claim_id",
    "status",
    "reason_code",
    "total_charged",
    "total_approved",
    "member_responsibility",
    "note",
]
MONEY = {
    "allowed_amount": "allowed_cents",
    "deductible_amount": "deductible_cents",
    "copay_amount": "copay_cents",
    "coinsurance_amount": "coinsurance_cents",
    "network_reduction_amount": "network_reduction_cents",
    "limit_amount": "limit_cents",
    "approved_amount": "approved_cents",
    "member_responsibility": "member_responsibility_cents",
    "oop_amount": "oop_cents",
}


def line_decision_rows(lines: pd.DataFrame) -> pd.DataFrame:
    """The engine's line frame in the columns and text form of `decision_line`."""
    out = pd.DataFrame(
        {
            "line_id": lines["line_id"],
            "status": lines["status"],
            "reason_code": lines["reason_code"],
        }
    )
    for column, cents in MONEY.items():
        out[column] = cents_to_text(lines[cents])
    out["covered_days"] = lines["covered_days"].astype("int64")
    out["visits"] = lines["visits"].astype("int64")
    out["in_network"] = lines["in_network"].map({True: "t", False: "f"})
    out["coverage_id"] = lines["coverage_id"]
    out["plan_id"] = lines["plan_id"]
    out["benefit_year"] = lines["year"].astype("Int64")
    return out


def claim_decision_rows(claims: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "claim_id": claims["claim_id"],
            "status": claims["status"],
            "reason_code": claims["reason_code"],
            "total_charged": cents_to_text(claims["total_charged_cents"]),
            "total_approved": cents_to_text(claims["total_approved_cents"]),
            "member_responsibility": cents_to_text(claims["member_responsibility_cents"]),
            "note": claims["note"],
        }
    )


@dataclass(frozen=True)
class WriteResult:
    claims: int
    lines: int
    history_rows: int
    notes: int
    payments: int
    readjustments: int = 0


@batch_task(name="write decisions")
def write_decisions(
    run_id: uuid.UUID,
    flow_run_id: uuid.UUID,
    lines: pd.DataFrame,
    claims: pd.DataFrame,
    reason: str = "re-adjudication",
) -> WriteResult:
    """One transaction: lines, claims (ending the lease), status history, notes, payments.
    If the run no longer holds every claim's lease, nothing is written."""
    line_rows = line_decision_rows(lines)
    claim_rows = claim_decision_rows(claims)
    params = {
        "run_id": run_id,
        "flow_run_id": flow_run_id,
        "changed_by": CHANGED_BY,
        "reason": reason,
    }
    with service_connection("claims") as conn, batch_transaction(conn):
        conn.execute(Q.create_decision_tables)
        copy_frame(conn, "decision_line", line_rows, LINE_DECISION_COLUMNS)
        copy_frame(conn, "decision_claim", claim_rows, CLAIM_DECISION_COLUMNS)
        conn.execute(Q.analyze_decision_tables)
        held = conn.execute(Q.lock_leased_claims, {"run_id": run_id}).fetchone()
        if held is None or held[0] != len(claim_rows):
            raise LeaseLostError(
                f"run {run_id} holds {held[0] if held else 0} of {len(claim_rows)} claims' "
                "leases (expired and taken by another run); the chunk was not written"
            )
        written_lines = conn.execute(Q.apply_line_decisions, params).rowcount
        row = conn.execute(Q.apply_claim_decisions, params).fetchone()
        assert row is not None
        notes = conn.execute(Q.insert_decision_notes, params).rowcount
        payments = conn.execute(Q.insert_claim_payments).rowcount
        readjustments = conn.execute(Q.insert_readjustments, params).rowcount
        crash_point("before-commit")
    return WriteResult(int(row[0]), written_lines, int(row[1]), notes, payments, readjustments)


#: what the flow itself reads of the posting queue (the rest passes to the benefit service
#: as CSV): line, version, member
QUEUE_DTYPES = {"claim_item_id": "string", "adjudication_version": "int64", "member_id": "string"}
POSTED_COLUMNS = ["claim_item_id", "adjudication_version"]


@batch_task(name="read unposted lines")
def read_unposted_lines(limit: int, claim_ids: list[str] | None = None) -> CsvRows:
    """Decided line versions not yet through posting (the posting queue), all or of the
    given claims: the CSV of posting's input columns (money as exact decimal text) and a
    frame of line, version and member."""
    with service_connection("claims") as conn:
        data = copy_out_csv(conn, Q.unposted_lines, {"limit": limit, "claim_ids": claim_ids})
    return CsvRows(data, frame_from_csv(data, QUEUE_DTYPES))


@batch_task(name="mark lines posted")
def mark_lines_posted(lines: pd.DataFrame) -> int:
    """Take these line versions (claim_item_id, adjudication_version) out of the posting
    queue (a line decided again meanwhile stays queued)."""
    with service_connection("claims") as conn, batch_transaction(conn):
        conn.execute(Q.create_posted_table)
        copy_frame(conn, "posted_line", lines, POSTED_COLUMNS)
        return conn.execute(Q.mark_lines_posted).rowcount


@batch_task(name="count unposted lines")
def count_unposted_lines() -> int:
    with service_connection("claims") as conn:
        row = conn.execute(Q.count_unposted_lines).fetchone()
    return int(row[0]) if row else 0


LINE_TOTAL_COUNTS = [
    "lines_amount_cents",
    "lines_deductible_cents",
    "lines_oop_cents",
    "lines_visits",
    "lines_days",
]


@batch_task(name="read posted line totals")
def read_posted_line_totals(member_ids: list[str] | None) -> pd.DataFrame:
    """Per (member, benefit, year): sums of the approved lines already posted, in cents."""
    with service_connection("claims") as conn:
        return copy_out_frame(
            conn,
            Q.posted_line_totals,
            {"member_ids": member_ids},
            key_and_count_dtypes(LINE_TOTAL_COUNTS),
        )


@batch_task(name="lease claims for re-adjudication")
def lease_for_readjudication(
    run_id: uuid.UUID, claim_numbers: list[str], lease_seconds: int
) -> tuple[Lease, list[str]]:
    """Lease the named decided claims (all their lines posted) for one re-adjudication, and
    the numbers of those leased. A claim whose member another run holds, or left unposted,
    is not taken (as in `lease_claims`), nor one that is not decided."""
    params = {
        "run_id": run_id,
        "claim_numbers": claim_numbers,
        "lease_seconds": lease_seconds,
        "lock_space": LEASE_LOCK_SPACE,
    }
    with service_connection("claims") as conn, batch_transaction(conn):
        conn.execute(Q.lease_for_readjudication, params)
        row = conn.execute(Q.give_back_contested_members, {"run_id": run_id}).fetchone()
        numbers = [r[0] for r in conn.execute(Q.leased_claim_numbers, {"run_id": run_id})]
    assert row is not None
    return Lease(run_id, int(row[0]), int(row[1])), numbers


@batch_task(name="read claim statuses")
def read_claim_statuses(claim_numbers: list[str]) -> dict[str, str]:
    with service_connection("claims") as conn:
        rows = conn.execute(Q.claims_by_number, {"claim_numbers": claim_numbers}).fetchall()
    return {str(number): str(status) for number, status in rows}


@batch_task(name="read overrides")
def read_leased_overrides(run_id: uuid.UUID) -> pd.DataFrame:
    """Reviewers' manual decisions on the leased lines (they win over the engine's)."""
    with service_connection("claims") as conn:
        return fetch_frame(conn, Q.leased_overrides, {"run_id": run_id})
