"""Data faults of members' coverages, found in a sweep batch and tallied over a sweep (pure
pandas: the checkpoint that reports them runs in tasks.eligibility)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from claims_askes.eligibility.rules import as_day
from claims_askes.quality.checkpoints import CheckpointReport, ExpectationOutcome
from schemas.eligibility import FaultGroup

#: one check per fault kind: the column of fault_flags that must be true, what it means
FAULT_KINDS = {
    "overlapping_coverage": (
        "no_overlap",
        "two non-cancelled coverages of the member cover the same day",
    ),
    "coverage_outside_enrollment": (
        "within_enrollment",
        "a non-cancelled coverage starts before the member's enrollment "
        "or ends after (or outlasts) the member's termination date",
    ),
    "active_coverage_of_terminated_member": (
        "not_active_for_terminated_member",
        "the member is terminated but a coverage is still active and not ended by the as-of date",
    ),
}
FAR_FUTURE = pd.Timestamp.max


def fault_flags(batch: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """One row per non-cancelled coverage with a boolean column per fault kind (True: fine).

    - no_overlap: no other non-cancelled coverage of the member shares a day with it (both
      ends inclusive, a null end open);
    - within_enrollment: it starts on or after the member's enrollment and, when the member
      has a termination date, ends on or before it;
    - not_active_for_terminated_member: not (member terminated, coverage active and not ended
      before the as-of date). Coverages ended before the date are the sweep's to terminate.
    """
    day = as_day(as_of)
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
    return pd.DataFrame(
        {
            "member_id": member.to_numpy(),
            "coverage_id": cov["coverage_id"].to_numpy(),
            "no_overlap": ~(overlaps_earlier | overlaps_later).to_numpy(dtype=bool),
            "within_enrollment": within.to_numpy(dtype=bool),
            "not_active_for_terminated_member": ~(
                (cov["member_status"] == "terminated") & still_active
            ).to_numpy(dtype=bool),
        }
    )


@dataclass
class FaultTally:
    """The fault checkpoint's findings over the batches: every faulty row, and the
    expectations' counts and first examples merged into one report."""

    rows: int = 0
    faulty: list[pd.DataFrame] = field(default_factory=list)
    outcomes: dict[str, ExpectationOutcome] = field(default_factory=dict)

    def add(self, flags: pd.DataFrame, report: CheckpointReport) -> None:
        self.rows += report.rows
        for outcome in report.outcomes:
            seen = self.outcomes.get(outcome.expectation)
            if seen is None:
                self.outcomes[outcome.expectation] = outcome.model_copy(deep=True)
                continue
            seen.success = seen.success and outcome.success
            seen.unexpected_count += outcome.unexpected_count
            seen.examples = (seen.examples + outcome.examples)[:5]
            seen.error = seen.error or outcome.error
        if not report.success:
            for kind, (column, _) in FAULT_KINDS.items():
                bad = flags.loc[~flags[column], ["member_id", "coverage_id"]]
                if len(bad):
                    self.faulty.append(bad.assign(kind=kind))

    def report(self) -> CheckpointReport:
        outcomes = list(self.outcomes.values())
        return CheckpointReport(
            name="eligibility-member-faults",
            success=all(o.success for o in outcomes),
            rows=self.rows,
            outcomes=outcomes,
        )

    def groups(self) -> list[FaultGroup]:
        if not self.faulty:
            return []
        found = pd.concat(self.faulty, ignore_index=True)
        groups = []
        for kind, (_, description) in FAULT_KINDS.items():
            rows = found[found["kind"] == kind]
            if len(rows):
                groups.append(
                    FaultGroup(
                        kind=kind,
                        description=description,
                        member_ids=sorted(set(rows["member_id"])),
                        coverage_ids=sorted(set(rows["coverage_id"])),
                    )
                )
        return groups
