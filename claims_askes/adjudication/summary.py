"""A run's totals of decisions, kept over its chunks and shards (pure pandas), and what
each shard did, merged into the run's summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd

from claims_askes.adjudication.frames import EngineResult
from claims_askes.core.runtime import Stopwatch
from schemas.reports import AdjudicationSummary, ReasonCount, StatusTotal


@dataclass
class Tally:
    """Running totals over chunks (the chunks' frames are not kept: memory stays bounded)."""

    by_status: pd.DataFrame | None = None
    reasons: pd.Series | None = None

    def add(self, result: EngineResult) -> None:
        self._sum(
            result.claims.groupby("status").agg(
                claims=("claim_id", "size"),
                charged=("total_charged_cents", "sum"),
                approved=("total_approved_cents", "sum"),
            ),
            result.lines["reason_code"].dropna().value_counts(),
        )

    def merge(self, other: Tally) -> None:
        """Another tally's totals into this one (a shard's into the run's)."""
        self._sum(other.by_status, other.reasons)

    def _sum(self, by_status: pd.DataFrame | None, reasons: pd.Series | None) -> None:
        if by_status is not None:
            self.by_status = (
                by_status if self.by_status is None else self.by_status.add(by_status, fill_value=0)
            )
        if reasons is not None:
            self.reasons = (
                reasons if self.reasons is None else self.reasons.add(reasons, fill_value=0)
            )

    def into(self, summary: AdjudicationSummary) -> None:
        if self.by_status is not None:
            summary.by_status = [
                StatusTotal(
                    status=str(status),
                    claims=int(row["claims"]),
                    charged=Decimal(int(row["charged"])) / 100,
                    approved=Decimal(int(row["approved"])) / 100,
                )
                for status, row in self.by_status.iterrows()
            ]
        if self.reasons is not None:
            top = self.reasons.sort_values(ascending=False).head(10)
            summary.top_reasons = [
                ReasonCount(reason_code=str(k), lines=int(v)) for k, v in top.items()
            ]


@dataclass
class ShardResult:
    """What one shard did (summed into the run's summary by the flow)."""

    tally: Tally = field(default_factory=Tally)
    watch: Stopwatch = field(default_factory=Stopwatch)
    chunks: int = 0
    claims: int = 0
    lines: int = 0
    history_rows: int = 0
    notes: int = 0
    payments: int = 0
    lines_posted: int = 0
    pended_reviewed: list[str] = field(default_factory=list)


#: At most this many claim numbers of pended claims taken after the review age are listed
#: in a run's summary (the count is always whole).
REVIEWED_LISTED = 100


def note_pended(summary: AdjudicationSummary, due: pd.DataFrame, waiting: int) -> None:
    """The run's pended claims into its summary: how many are left alone, and how many were
    found due, by why."""
    summary.pended_waiting = waiting
    summary.pended_due = {str(k): int(v) for k, v in due["reason"].value_counts().items()}


def pended_in_words(summary: AdjudicationSummary) -> str:
    """The run's pended claims in words: left alone, found due (why), and those taken again
    because the review age passed, by number."""
    due = ", ".join(f"{n:,} {why}" for why, n in sorted(summary.pended_due.items()))
    text = (
        f"Pended claims: {summary.pended_waiting:,} left alone (nothing they wait for "
        f"changed); {sum(summary.pended_due.values()):,} due" + (f" ({due})" if due else "") + "."
    )
    if summary.pended_reviewed:
        listed = ", ".join(summary.pended_reviewed_numbers)
        more = summary.pended_reviewed - len(summary.pended_reviewed_numbers)
        text += (
            f"\n\n{summary.pended_reviewed:,} pended claims taken again after the review age: "
            f"{listed}" + (f" and {more:,} more" if more else "") + "."
        )
    return text


def merge(summary: AdjudicationSummary, results: list[ShardResult]) -> Stopwatch:
    """The shards' counts into the run's summary; their step times summed."""
    watch = Stopwatch()
    tally = Tally()
    for r in results:
        summary.chunks += r.chunks
        summary.claims += r.claims
        summary.lines += r.lines
        summary.status_history_rows += r.history_rows
        summary.notes += r.notes
        summary.payments += r.payments
        summary.lines_posted += r.lines_posted
        summary.pended_reviewed += len(r.pended_reviewed)
        summary.pended_reviewed_numbers += r.pended_reviewed
        watch.merge(r.watch)
        tally.merge(r.tally)
    tally.into(summary)
    summary.pended_reviewed_numbers = sorted(summary.pended_reviewed_numbers)[:REVIEWED_LISTED]
    return watch
