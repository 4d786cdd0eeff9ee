"""Tasks of the eligibility sweep: the steps that touch the database or publish a checkpoint.

Member-service tasks touch `member_service` only, through the member service's connection
(a batch session for the row-level security policies); the one claims-service task reads
`claims_service` only. The flow carries frames between them; what is computed on them
(eligibility, data faults, claims no longer covered) is pure pandas in
claims_askes.eligibility (rules, faults).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import pandas as pd
from prefect.artifacts import create_markdown_artifact

from claims_askes.core.faults import crash_point
from claims_askes.db.batch import batch_transaction
from claims_askes.db.connections import service_connection
from claims_askes.db.frames import copy_frame, copy_out_frame, fetch_frame
from claims_askes.db.sqlfiles import queries
from claims_askes.eligibility.faults import FAULT_KINDS
from claims_askes.eligibility.rules import REASONS, SNAPSHOT_COLUMNS, snapshot_checks
from claims_askes.quality import checkpoints as q
from claims_askes.quality.checkpoints import CheckpointReport, DataQualityError
from tasks.base import batch_task

MQ = queries("member_service")
CQ = queries("claims_service")

BATCH_DATES = ["enrollment_date", "member_termination_date", "effective_date", "termination_date"]
BATCH_TEXT = ["member_id", "member_status", "coverage_id", "plan_id", "coverage_status"]
#: how a sweep batch is read with COPY: every column as text, converted below
BATCH_READ_DTYPES = {column: "str" for column in BATCH_TEXT + BATCH_DATES}


# --- member service ---------------------------------------------------------------------


@batch_task(name="read previous sweep date")
def read_previous_sweep_date(as_of: date) -> date | None:
    with service_connection("member") as conn:
        row = conn.execute(MQ.previous_sweep_date, {"as_of": as_of}).fetchone()
    return row[0] if row else None


@batch_task(name="terminate expired coverages")
def terminate_expired_coverages(as_of: date) -> int:
    """Active coverages whose termination date is before the as-of date become terminated."""
    with service_connection("member") as conn, batch_transaction(conn):
        return conn.execute(MQ.terminate_expired_coverages, {"as_of": as_of}).rowcount


@batch_task(name="read sweep batch")
def read_sweep_batch(after: str | None, batch_size: int) -> pd.DataFrame:
    """The next `batch_size` members after `after`, one row per (member, coverage)."""
    with service_connection("member") as conn:
        batch = copy_out_frame(
            conn, MQ.sweep_batch, {"after": after, "batch_size": batch_size}, BATCH_READ_DTYPES
        )
    for column in BATCH_TEXT:
        batch[column] = batch[column].astype(object).where(batch[column].notna(), None)
    for column in BATCH_DATES:
        batch[column] = pd.to_datetime(batch[column], format="%Y-%m-%d").astype("datetime64[ns]")
    return batch


def _publish_failure(report: CheckpointReport) -> None:
    create_markdown_artifact(
        key=f"checkpoint-{report.name}",
        markdown=report.summary(),
        description=f"Failed data-quality checkpoint {report.name}",
    )


@batch_task(name="check member data faults")
def check_member_faults(flags: pd.DataFrame) -> CheckpointReport:
    """The fault checkpoint: reports, never raises (faults of members do not stop a sweep)."""
    return q.run_checkpoint(
        "eligibility-member-faults",
        flags,
        [q.all_true(column) for column, _ in FAULT_KINDS.values()],
        id_columns=["member_id", "coverage_id"],
        raise_on_failure=False,
    )


@batch_task(name="check eligibility snapshot")
def check_snapshot(snapshot: pd.DataFrame, as_of: date) -> None:
    """The write checkpoint: a failure raises DataQualityError and nothing is written."""
    try:
        q.run_checkpoint(
            "eligibility-snapshot",
            snapshot_checks(snapshot, as_of),
            [
                q.not_null("member_id"),
                q.unique("member_id"),
                q.not_null("is_eligible"),
                q.not_null("reason"),
                q.in_set("reason", REASONS),
                q.all_true("eligible_iff_reason_eligible"),
                q.all_true("eligible_has_coverage"),
                q.all_true("coverage_period_covers_as_of"),
            ],
            id_columns=["member_id"],
        )
    except DataQualityError as exc:
        _publish_failure(exc.result)
        raise


@dataclass(frozen=True)
class SnapshotWrite:
    inserted: int
    updated: int
    first_snapshots: int
    changed: int
    became_eligible: int
    became_ineligible: int


@batch_task(name="write eligibility snapshot")
def write_snapshot(
    snapshot: pd.DataFrame, as_of: date, previous_as_of: date | None, flow_run_id: uuid.UUID
) -> SnapshotWrite:
    """One transaction: COPY the batch's rows into a stage, count the changes against the
    previous sweep date, upsert them into the as-of date's snapshot."""
    with service_connection("member") as conn, batch_transaction(conn):
        conn.execute(MQ.create_snapshot_stage)
        copy_frame(conn, "eligibility_stage", snapshot, SNAPSHOT_COLUMNS)
        conn.execute(MQ.analyze_snapshot_stage)
        changes = conn.execute(MQ.snapshot_changes, {"previous_as_of": previous_as_of}).fetchone()
        written = conn.execute(
            MQ.upsert_snapshot, {"as_of": as_of, "flow_run_id": flow_run_id}
        ).fetchone()
        crash_point("sweep-before-commit")
    assert changes is not None and written is not None
    return SnapshotWrite(
        inserted=int(written[0]),
        updated=int(written[1]),
        first_snapshots=int(changes[0]),
        changed=int(changes[1]),
        became_eligible=int(changes[2]),
        became_ineligible=int(changes[3]),
    )


# --- claims service ---------------------------------------------------------------------


@batch_task(name="read approved claims")
def read_approved_claims(first_member: str, last_member: str, as_of: date) -> pd.DataFrame:
    """Approved claims of the members with ids in [first_member, last_member]."""
    with service_connection("claims") as conn:
        return fetch_frame(
            conn,
            CQ.approved_claims_of_members,
            {"first_member": first_member, "last_member": last_member, "as_of": as_of},
        )
