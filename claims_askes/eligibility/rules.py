"""Eligibility as of a date, as pure functions over a sweep batch (no database, no Prefect).

A sweep batch is one row per (member, coverage), ordered by member, effective date and
coverage id, with the member's columns repeated (see tasks.eligibility.read_sweep_batch).

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

from datetime import date

import numpy as np
import pandas as pd

#: coverage statuses that count for R3 (a cancelled coverage never covers)
COUNTED = ("active", "terminated")
REASONS = ("ELIGIBLE", "MEMBER_NOT_ELIGIBLE", "COVERAGE_NOT_STARTED", "COVERAGE_TERMINATED")
#: the columns of the member_eligibility snapshot the sweep computes (plus as_of, run id)
SNAPSHOT_COLUMNS = [
    "member_id",
    "is_eligible",
    "reason",
    "coverage_id",
    "plan_id",
    "coverage_effective_date",
    "coverage_termination_date",
]


def as_day(as_of: date) -> pd.Timestamp:
    return pd.Timestamp(as_of)


def members_of(batch: pd.DataFrame) -> pd.DataFrame:
    """One row per member of a sweep batch (the batch is ordered by member)."""
    return batch.drop_duplicates("member_id")[
        ["member_id", "member_status", "enrollment_date", "member_termination_date"]
    ]


def compute_snapshot(batch: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Every member's eligibility as of the date, by check_eligibility's rules (vectorised).

    `batch` is a sweep batch: one row per (member, coverage), ordered by member, effective
    date and coverage id. Coverage columns are filled whenever a coverage covers the date,
    even for a member who is not enrolled (as check_eligibility's coverage_details)."""
    day = as_day(as_of)
    members = members_of(batch)
    ids = members["member_id"]
    ends = members["member_termination_date"]
    enrolled = (
        (members["member_status"] != "suspended")
        & (members["enrollment_date"] <= day)
        & (ends.isna() | (ends >= day))
    ).to_numpy(dtype=bool)
    counted = batch[batch["coverage_status"].isin(COUNTED)]
    covers = counted[
        (counted["effective_date"] <= day)
        & (counted["termination_date"].isna() | (counted["termination_date"] >= day))
    ]
    # Ordered by effective date then id within a member: the last one is the latest.
    chosen = covers.drop_duplicates("member_id", keep="last").set_index("member_id").reindex(ids)
    first = counted.groupby("member_id", sort=False)["effective_date"].min().reindex(ids)
    has_coverage = chosen["coverage_id"].notna().to_numpy(dtype=bool)
    not_started = (first > day).to_numpy(dtype=bool)  # no coverage at all: NaT, False
    reason = np.select(
        [~enrolled, has_coverage, not_started],
        ["MEMBER_NOT_ELIGIBLE", "ELIGIBLE", "COVERAGE_NOT_STARTED"],
        "COVERAGE_TERMINATED",
    )
    return pd.DataFrame(
        {
            "member_id": ids.to_numpy(),
            "is_eligible": enrolled & has_coverage,
            "reason": reason,
            "coverage_id": chosen["coverage_id"].to_numpy(),
            "plan_id": chosen["plan_id"].to_numpy(),
            "coverage_effective_date": chosen["effective_date"].to_numpy(),
            "coverage_termination_date": chosen["termination_date"].to_numpy(),
        }
    )


def uncovered_claims(claims: pd.DataFrame, batch: pd.DataFrame) -> pd.DataFrame:
    """The approved claims (of the batch's members) whose service date the member's current
    enrollment and coverage no longer cover: R2's enrollment period and R3's coverage on the
    service date. A suspension is not dated, so it does not reach back to earlier claims."""
    members = members_of(batch)
    found = claims.merge(members, on="member_id", how="inner")
    sd = found["service_date"]
    ends = found["member_termination_date"]
    enrolled = (found["enrollment_date"] <= sd) & (ends.isna() | (sd <= ends))
    counted = batch.loc[
        batch["coverage_status"].isin(COUNTED), ["member_id", "effective_date", "termination_date"]
    ]
    pairs = found[["claim_number", "member_id", "service_date"]].merge(counted, on="member_id")
    covering = pairs[
        (pairs["effective_date"] <= pairs["service_date"])
        & (pairs["termination_date"].isna() | (pairs["service_date"] <= pairs["termination_date"]))
    ]
    covered = found["claim_number"].isin(set(covering["claim_number"]))
    return found.loc[
        ~(enrolled & covered), ["claim_number", "member_id", "service_date", "status"]
    ].reset_index(drop=True)


def snapshot_checks(snapshot: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """The snapshot with the computed columns its write checkpoint tests."""
    day = as_day(as_of)
    has_coverage = snapshot["coverage_id"].notna()
    eligible = snapshot["is_eligible"].astype("boolean")
    return snapshot.assign(
        eligible_iff_reason_eligible=(eligible == (snapshot["reason"] == "ELIGIBLE"))
        .fillna(False)
        .astype(bool),
        eligible_has_coverage=(
            ~eligible.fillna(False).astype(bool)
            | (
                has_coverage
                & snapshot["plan_id"].notna()
                & snapshot["coverage_effective_date"].notna()
            )
        ),
        coverage_period_covers_as_of=(
            ~has_coverage
            | (
                (snapshot["coverage_effective_date"] <= day)
                & (
                    snapshot["coverage_termination_date"].isna()
                    | (snapshot["coverage_termination_date"] >= day)
                )
            )
        ),
    )
