"""Which pended claims a run takes again (pure pandas).

A pended claim waits for something: its pre-authorization to be decided (R9), or a change
of its member or coverage, or a reviewer's override of one of its lines. A run adjudicates
it again only when one of those changed after the claim was last adjudicated, or when it
has waited longer than the review age (then it is reported). Every other pended claim is
left alone: no lease, no new version, no superseded decision.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

#: Why a pended claim is taken again, in the order a claim with several reasons is shown.
OVERRIDE = "override"
AUTHORIZATION = "authorization"
COVERAGE = "member or coverage"
REVIEW_AGE = "review age"
NEVER_ADJUDICATED = "never adjudicated"

DUE_COLUMNS = ["claim_id", "claim_number", "member_id", "adjudicated_at", "reason"]


def naive_utc(moment: datetime | pd.Timestamp) -> pd.Timestamp:
    """A moment as the frames hold timestamps: naive UTC."""
    stamp = pd.Timestamp(moment)
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp


def changes_since(pended: pd.DataFrame) -> pd.Timestamp | None:
    """The earliest change that can concern a pended claim: its oldest adjudication (None
    when no pended claim was ever adjudicated: then there is nothing to compare with)."""
    oldest = pended["adjudicated_at"].min() if len(pended) else pd.NaT
    return None if pd.isna(oldest) else pd.Timestamp(oldest)


def due_pended_claims(
    pended: pd.DataFrame,
    authorization_changes: pd.DataFrame,
    coverage_changes: pd.DataFrame,
    run_started: datetime,
    review_age: timedelta,
) -> pd.DataFrame:
    """The pended claims due for adjudication, with why (one reason each).

    `pended`: claim_id, claim_number, member_id, adjudicated_at, overridden_at (the latest
    override of its lines, or null). `authorization_changes` and `coverage_changes`:
    member_id, changed_at (the latest change of the member's authorizations; of the member
    or its coverages). Timestamps naive UTC. A change counts when it is later than the
    claim's adjudication; the review age counts from the claim's adjudication to the run's
    start."""
    if pended.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in DUE_COLUMNS})
    adjudicated = pd.to_datetime(pended["adjudicated_at"])
    by_member = pended["member_id"].astype(str)

    def changed(changes: pd.DataFrame) -> pd.Series:
        latest = changes.groupby(changes["member_id"].astype(str))["changed_at"].max()
        at = pd.to_datetime(
            pd.Series(latest.reindex(by_member.to_numpy()).to_numpy(), index=pended.index)
        )
        return (at > adjudicated).fillna(False).astype(bool)

    overridden = pd.to_datetime(pended["overridden_at"])
    reasons = [
        (adjudicated.isna(), NEVER_ADJUDICATED),
        ((overridden > adjudicated).fillna(False).astype(bool), OVERRIDE),
        (changed(authorization_changes), AUTHORIZATION),
        (changed(coverage_changes), COVERAGE),
        ((adjudicated < naive_utc(run_started) - review_age).fillna(False), REVIEW_AGE),
    ]
    reason = pd.Series(pd.NA, index=pended.index, dtype=object)
    for hit, name in reversed(reasons):  # the first reason in the list wins
        reason = reason.mask(hit.to_numpy(dtype=bool), name)
    due = pended.assign(reason=reason)[reason.notna()]
    return due[DUE_COLUMNS].reset_index(drop=True)
