"""Tasks of the eligibility sweep, and the pure frame functions they rest on.

Member-service tasks touch `member_service` only, through the member service's connection
(a batch session for the row-level security policies); the one claims-service task reads
`claims_service` only. The flow carries frames between them and matches them here, in pandas.

The rules are those of check_eligibility (ADJUDICATION.md R2-R3):
- enrolled: not suspended and enrollment_date <= as_of <= termination_date (null: open);
- the covering coverage: status active or terminated (never cancelled) with
  effective_date <= as_of <= termination_date; of several, the latest effective_date, then
  the greatest id;
- reason: MEMBER_NOT_ELIGIBLE if not enrolled, else ELIGIBLE with a covering coverage, else
  COVERAGE_NOT_STARTED if the member's first non-cancelled coverage starts after as_of,
  else COVERAGE_TERMINATED (also when there is no coverage at all).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from claims_askes import quality as q
from claims_askes.db import service_connection
from claims_askes.faults import crash_point
from claims_askes.frames_io import copy_frame, copy_out_frame, fetch_frame
from claims_askes.quality import CheckpointReport, DataQualityError
from claims_askes.sqlfiles import queries

MQ = queries("member_service")
CQ = queries("claims_service")

#: coverage statuses that count for R3 (a cancelled coverage never covers)
COUNTED = ("active", "terminated")
REASONS = ("ELIGIBLE", "MEMBER_NOT_ELIGIBLE", "COVERAGE_NOT_STARTED", "COVERAGE_TERMINATED")
#: the columns of the member_eligibility snapshot the sweep computes (plus as_of, run id)
SNAPSHOT_COLUMNS = ["member_id", "is_eligible", "reason", "coverage_id", "plan_id",
                    "coverage_effective_date", "coverage_termination_date"]
BATCH_DATES = ["enrollment_date", "member_termination_date", "effective_date",
               "termination_date"]
BATCH_TEXT = ["member_id", "member_status", "coverage_id", "plan_id", "coverage_status"]
#: how a sweep batch is read with COPY: every column as text, converted below
BATCH_READ_DTYPES = {column: "str" for column in BATCH_TEXT + BATCH_DATES}
#: one check per fault kind: the column of fault_flags that must be true, what it means
FAULT_KINDS = {
    "overlapping_coverage": (
        "no_overlap", "two non-cancelled coverages of the member cover the same day"),
    "coverage_outside_enrollment": (
        "within_enrollment", "a non-cancelled coverage starts before the member's enrollment "
                             "or ends after (or outlasts) the member's termination date"),
    "active_coverage_of_terminated_member": (
        "not_active_for_terminated_member", "the member is terminated but a coverage is still "
                                            "active and not ended by the as-of date"),
}
FAR_FUTURE = pd.Timestamp.max


# --- pure frame functions ---------------------------------------------------------------


def _day(as_of: date) -> pd.Timestamp:
    return pd.Timestamp(as_of)


def members_of(batch: pd.DataFrame) -> pd.DataFrame:
    """One row per member of a sweep batch (the batch is ordered by member)."""
    return batch.drop_duplicates("member_id")[
        ["member_id", "member_status", "enrollment_date", "member_termination_date"]]


def compute_snapshot(batch: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Every member's eligibility as of the date, by check_eligibility's rules (vectorised).

    `batch` is a sweep batch: one row per (member, coverage), ordered by member, effective
    date and coverage id. Coverage columns are filled whenever a coverage covers the date,
    even for a member who is not enrolled (as check_eligibility's coverage_details)."""
    day = _day(as_of)
    members = members_of(batch)
    ids = members["member_id"]
    ends = members["member_termination_date"]
    enrolled = ((members["member_status"] != "suspended") & (members["enrollment_date"] <= day)
                & (ends.isna() | (ends >= day))).to_numpy(dtype=bool)
    counted = batch[batch["coverage_status"].isin(COUNTED)]
    covers = counted[(counted["effective_date"] <= day)
                     & (counted["termination_date"].isna() | (counted["termination_date"] >= day))]
    # Ordered by effective date then id within a member: the last one is the latest.
    chosen = covers.drop_duplicates("member_id", keep="last").set_index("member_id").reindex(ids)
    first = counted.groupby("member_id", sort=False)["effective_date"].min().reindex(ids)
    has_coverage = chosen["coverage_id"].notna().to_numpy(dtype=bool)
    not_started = (first > day).to_numpy(dtype=bool)  # no coverage at all: NaT, False
    reason = np.select([~enrolled, has_coverage, not_started],
                       ["MEMBER_NOT_ELIGIBLE", "ELIGIBLE", "COVERAGE_NOT_STARTED"],
                       "COVERAGE_TERMINATED")
    return pd.DataFrame({
        "member_id": ids.to_numpy(),
        "is_eligible": enrolled & has_coverage,
        "reason": reason,
        "coverage_id": chosen["coverage_id"].to_numpy(),
        "plan_id": chosen["plan_id"].to_numpy(),
        "coverage_effective_date": chosen["effective_date"].to_numpy(),
        "coverage_termination_date": chosen["termination_date"].to_numpy(),
    })


def fault_flags(batch: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """One row per non-cancelled coverage with a boolean column per fault kind (True: fine).

    - no_overlap: no other non-cancelled coverage of the member shares a day with it (both
      ends inclusive, a null end open);
    - within_enrollment: it starts on or after the member's enrollment and, when the member
      has a termination date, ends on or before it;
    - not_active_for_terminated_member: not (member terminated, coverage active and not ended
      before the as-of date). Coverages ended before the date are the sweep's to terminate.
    """
    day = _day(as_of)
    cov = batch[batch["coverage_id"].notna() & (batch["coverage_status"] != "cancelled")]
    member = cov["member_id"]
    start = cov["effective_date"]
    end = cov["termination_date"].fillna(FAR_FUTURE)
    # Sorted by start within a member: a coverage overlaps an earlier one iff it starts by the
    # latest end before it, and a later one iff the next start is by its own end.
    earlier_end = end.groupby(member, sort=False).cummax().shift()
    overlaps_earlier = member.eq(member.shift()) & (start <= earlier_end)
    overlaps_later = member.eq(member.shift(-1)) & (start.shift(-1) <= end)
    member_end = cov["member_termination_date"]
    within = (start >= cov["enrollment_date"]) & (member_end.isna() | (end <= member_end))
    still_active = (cov["coverage_status"] == "active") & (end >= day)
    return pd.DataFrame({
        "member_id": member.to_numpy(),
        "coverage_id": cov["coverage_id"].to_numpy(),
        "no_overlap": ~(overlaps_earlier | overlaps_later).to_numpy(dtype=bool),
        "within_enrollment": within.to_numpy(dtype=bool),
        "not_active_for_terminated_member": ~(
            (cov["member_status"] == "terminated") & still_active).to_numpy(dtype=bool),
    })


def uncovered_claims(claims: pd.DataFrame, batch: pd.DataFrame) -> pd.DataFrame:
    """The approved claims (of the batch's members) whose service date the member's current
    enrollment and coverage no longer cover: R2's enrollment period and R3's coverage on the
    service date. A suspension is not dated, so it does not reach back to earlier claims."""
    members = members_of(batch)
    found = claims.merge(members, on="member_id", how="inner")
    sd = found["service_date"]
    ends = found["member_termination_date"]
    enrolled = (found["enrollment_date"] <= sd) & (ends.isna() | (sd <= ends))
    counted = batch.loc[batch["coverage_status"].isin(COUNTED),
                        ["member_id", "effective_date", "termination_date"]]
    pairs = found[["claim_number", "member_id", "service_date"]].merge(counted, on="member_id")
    covering = pairs[(pairs["effective_date"] <= pairs["service_date"])
                     & (pairs["termination_date"].isna()
                        | (pairs["service_date"] <= pairs["termination_date"]))]
    covered = found["claim_number"].isin(set(covering["claim_number"]))
    return found.loc[~(enrolled & covered),
                     ["claim_number", "member_id", "service_date", "status"]].reset_index(
                         drop=True)


def snapshot_checks(snapshot: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """The snapshot with the computed columns its write checkpoint tests."""
    day = _day(as_of)
    has_coverage = snapshot["coverage_id"].notna()
    eligible = snapshot["is_eligible"].astype("boolean")
    return snapshot.assign(
        eligible_iff_reason_eligible=(eligible == (snapshot["reason"] == "ELIGIBLE"))
        .fillna(False).astype(bool),
        eligible_has_coverage=(~eligible.fillna(False).astype(bool)
                               | (has_coverage & snapshot["plan_id"].notna()
                                  & snapshot["coverage_effective_date"].notna())),
        coverage_period_covers_as_of=(~has_coverage | (
            (snapshot["coverage_effective_date"] <= day)
            & (snapshot["coverage_termination_date"].isna()
               | (snapshot["coverage_termination_date"] >= day)))),
    )


# --- member service ---------------------------------------------------------------------


@task(name="read previous sweep date", cache_policy=NO_CACHE)
def read_previous_sweep_date(as_of: date) -> date | None:
    with service_connection("member") as conn:
        row = conn.execute(MQ.previous_sweep_date, {"as_of": as_of}).fetchone()
    return row[0] if row else None


@task(name="terminate expired coverages", cache_policy=NO_CACHE)
def terminate_expired_coverages(as_of: date) -> int:
    """Active coverages whose termination date is before the as-of date become terminated."""
    with service_connection("member") as conn:
        return conn.execute(MQ.terminate_expired_coverages, {"as_of": as_of}).rowcount


@task(name="read sweep batch", cache_policy=NO_CACHE)
def read_sweep_batch(after: str | None, batch_size: int) -> pd.DataFrame:
    """The next `batch_size` members after `after`, one row per (member, coverage)."""
    with service_connection("member") as conn:
        batch = copy_out_frame(conn, MQ.sweep_batch, {"after": after, "batch_size": batch_size},
                               BATCH_READ_DTYPES)
    for column in BATCH_TEXT:
        batch[column] = batch[column].astype(object).where(batch[column].notna(), None)
    for column in BATCH_DATES:
        batch[column] = pd.to_datetime(batch[column], format="%Y-%m-%d").astype("datetime64[ns]")
    return batch


def _publish_failure(report: CheckpointReport) -> None:
    create_markdown_artifact(key=f"checkpoint-{report.name}", markdown=report.summary(),
                             description=f"Failed data-quality checkpoint {report.name}")


@task(name="check member data faults", cache_policy=NO_CACHE)
def check_member_faults(flags: pd.DataFrame) -> CheckpointReport:
    """The fault checkpoint: reports, never raises (faults of members do not stop a sweep)."""
    return q.run_checkpoint("eligibility-member-faults", flags,
                            [q.all_true(column) for column, _ in FAULT_KINDS.values()],
                            id_columns=["member_id", "coverage_id"], raise_on_failure=False)


@task(name="check eligibility snapshot", cache_policy=NO_CACHE)
def check_snapshot(snapshot: pd.DataFrame, as_of: date) -> None:
    """The write checkpoint: a failure raises DataQualityError and nothing is written."""
    try:
        q.run_checkpoint("eligibility-snapshot", snapshot_checks(snapshot, as_of), [
            q.not_null("member_id"), q.unique("member_id"), q.not_null("is_eligible"),
            q.not_null("reason"), q.in_set("reason", REASONS),
            q.all_true("eligible_iff_reason_eligible"), q.all_true("eligible_has_coverage"),
            q.all_true("coverage_period_covers_as_of"),
        ], id_columns=["member_id"])
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


@task(name="write eligibility snapshot", cache_policy=NO_CACHE)
def write_snapshot(snapshot: pd.DataFrame, as_of: date, previous_as_of: date | None,
                   flow_run_id: uuid.UUID) -> SnapshotWrite:
    """One transaction: COPY the batch's rows into a stage, count the changes against the
    previous sweep date, upsert them into the as-of date's snapshot."""
    with service_connection("member") as conn, conn.transaction():
        conn.execute(MQ.create_snapshot_stage)
        copy_frame(conn, "eligibility_stage", snapshot, SNAPSHOT_COLUMNS)
        conn.execute(MQ.analyze_snapshot_stage)
        changes = conn.execute(MQ.snapshot_changes,
                               {"previous_as_of": previous_as_of}).fetchone()
        written = conn.execute(MQ.upsert_snapshot,
                               {"as_of": as_of, "flow_run_id": flow_run_id}).fetchone()
        crash_point("sweep-before-commit")
    assert changes is not None and written is not None
    return SnapshotWrite(inserted=int(written[0]), updated=int(written[1]),
                         first_snapshots=int(changes[0]), changed=int(changes[1]),
                         became_eligible=int(changes[2]), became_ineligible=int(changes[3]))


# --- claims service ---------------------------------------------------------------------


@task(name="read approved claims", cache_policy=NO_CACHE)
def read_approved_claims(first_member: str, last_member: str, as_of: date) -> pd.DataFrame:
    """Approved claims of the members with ids in [first_member, last_member]."""
    with service_connection("claims") as conn:
        return fetch_frame(conn, CQ.approved_claims_of_members, {
            "first_member": first_member, "last_member": last_member, "as_of": as_of})
