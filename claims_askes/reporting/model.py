"""What the dashboard shows, as plain records that neither read nor render anything."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar

STATUS_SERIES: tuple[tuple[str, str, str], ...] = (
    # (column, label, colour)
    ("approved_claims", "approved", "#2e7d32"),
    ("partially_approved_claims", "partially approved", "#9ccc65"),
    ("rejected_claims", "rejected", "#c62828"),
    ("pended_claims", "pended", "#f9a825"),
    ("pending_claims", "submitted / in review", "#90a4ae"),
)
OPEN_STATUSES: tuple[tuple[str, str], ...] = (
    ("submitted", "submitted"),
    ("in_review", "in review"),
    ("pended", "pended"),
)
# Decision-time bands (hours) of the distribution; the service level is added as a bound.
DECISION_BANDS_HOURS: tuple[float, ...] = (4, 24, 48, 72, 120, 168, 336)
PAYMENT_BANDS_DAYS: tuple[float, ...] = (1, 3, 7, 14, 30)


def decision_bands(sla_hours: float) -> list[float]:
    """The decision-time bands (hours), the service level always one of the bounds."""
    return sorted({*DECISION_BANDS_HOURS, float(sla_hours)})


def payment_bands(sla_days: float) -> list[float]:
    """The payment-time bands (hours), the service level always one of the bounds."""
    return sorted({*(d * 24 for d in PAYMENT_BANDS_DAYS), float(sla_days) * 24})


# A record read from a statement's row names in COLUMNS the fields whose column has another
# name (`building.from_row`); every other field is the column of its own name.


@dataclass(frozen=True)
class DayRow:
    """One day of submissions in the window."""

    COLUMNS: ClassVar[dict[str, str]] = {
        "charged": "total_charged",
        "approved": "total_approved",
        "processing_hours": "avg_processing_hours",
    }

    day: date
    counts: dict[str, int]
    charged: Decimal
    approved: Decimal
    processing_hours: Decimal | None

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class ReasonRow:
    COLUMNS: ClassVar[dict[str, str]] = {"code": "reason_code"}

    code: str
    description: str
    carc: str
    group_code: str
    lines: int
    claims: int
    charged: Decimal


@dataclass(frozen=True)
class PendedClaim:
    COLUMNS: ClassVar[dict[str, str]] = {"since": "pended_since", "submitted": "submission_date"}

    claim_number: str
    provider: str
    reason_code: str
    reason: str
    since: datetime
    submitted: datetime
    charged: Decimal


@dataclass(frozen=True)
class DecisionDay:
    day: date
    decided: int
    within_sla: int
    p50_hours: Decimal | None
    p90_hours: Decimal | None


@dataclass(frozen=True)
class TimeSummary:
    """A time distribution against its service level (hours)."""

    count: int
    within_sla: int
    p50_hours: Decimal | None
    p90_hours: Decimal | None
    band_bounds_hours: list[float]
    band_counts: list[int]


@dataclass(frozen=True)
class ProviderRejections:
    provider: str
    lines: int
    claims: int
    reasons: list[tuple[str, int]]


@dataclass(frozen=True)
class FailedRun:
    flow: str
    name: str
    run_id: str
    state: str
    when: datetime | None
    message: str
    url: str | None


@dataclass
class Dashboard:
    generated_at: datetime
    timezone: str
    window_days: int = 30
    decision_sla_hours: float = 72
    payment_sla_days: float = 14
    age_bands_days: list[int] = field(default_factory=lambda: [1, 3, 7, 14, 30])
    days: list[DayRow] = field(default_factory=list)
    reasons: list[ReasonRow] = field(default_factory=list)
    backlog: dict[str, list[int]] = field(default_factory=dict)
    backlog_charged: dict[str, Decimal] = field(default_factory=dict)
    pended: list[PendedClaim] = field(default_factory=list)
    pended_total: int = 0
    decision_days: list[DecisionDay] = field(default_factory=list)
    decision: TimeSummary | None = None
    payment: TimeSummary | None = None  # None: no claim paid in the window yet
    providers: list[ProviderRejections] = field(default_factory=list)
    failed_runs: list[FailedRun] | None = field(default_factory=list)  # None: not read
    runs_note: str = ""
    failed_runs_hours: int = 24

    @property
    def claims(self) -> int:
        return sum(d.total for d in self.days)

    def count(self, column: str) -> int:
        return sum(d.counts[column] for d in self.days)

    @property
    def charged(self) -> Decimal:
        return sum((d.charged for d in self.days), Decimal(0))

    @property
    def approved(self) -> Decimal:
        return sum((d.approved for d in self.days), Decimal(0))

    @property
    def open_claims(self) -> int:
        return sum(sum(v) for v in self.backlog.values())
