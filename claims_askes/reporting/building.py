"""The dashboard's records from the parts `sources` read: no statement reads across schemas."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar, get_type_hints
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from claims_askes.reporting.model import (
    OPEN_STATUSES,
    STATUS_SERIES,
    Dashboard,
    DayRow,
    DecisionDay,
    FailedRun,
    PendedClaim,
    ProviderRejections,
    ReasonRow,
    TimeSummary,
    decision_bands,
    payment_bands,
)
from claims_askes.reporting.sources import ClaimsFacts
from schemas.dashboard import DashboardParameters

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def _same(value: Any) -> Any:
    return value


# How a column becomes a field of its type; a type not listed keeps the column's value.
CASTS: dict[Any, Callable[[Any], Any]] = {int: int, Decimal: Decimal, Decimal | None: _dec}


def from_row(cls: type[R], row: dict[str, Any], **given: Any) -> R:
    """A record from a statement's row: each field not `given` is the column its class's
    COLUMNS names (else its own name), cast to the field's type. One place where columns
    meet fields, rather than a constructor call spelled out per record."""
    hints = get_type_hints(cls)
    renamed: dict[str, str] = getattr(cls, "COLUMNS", {})
    values = {
        f.name: CASTS.get(hints[f.name], _same)(row[renamed.get(f.name, f.name)])
        for f in fields(cls)
        if f.name not in given
    }
    return cls(**values, **given)


def payment_times(
    payments: list[dict[str, Any]], decided_at: dict[str, datetime], sla_days: float
) -> TimeSummary | None:
    """Hours from a claim's decision to its first payment, against `sla_days`; None when no
    claim was paid in the window (payments may not exist yet)."""
    if not payments:
        return None
    paid = pd.DataFrame(payments)
    paid["decided_at"] = paid["claim_id"].map(decided_at)
    paid = paid.dropna(subset=["decided_at", "paid_at"])
    if paid.empty:
        return None
    seconds = (
        pd.to_datetime(paid["paid_at"], utc=True) - pd.to_datetime(paid["decided_at"], utc=True)
    ).dt.total_seconds()
    hours = np.maximum(seconds.to_numpy(dtype=np.float64), 0.0) / 3600
    bounds = payment_bands(sla_days)
    counts = np.bincount(np.searchsorted(bounds, hours, side="right"), minlength=len(bounds) + 1)
    return TimeSummary(
        count=len(hours),
        within_sla=int((hours <= sla_days * 24).sum()),
        p50_hours=Decimal(f"{np.percentile(hours, 50):.2f}"),
        p90_hours=Decimal(f"{np.percentile(hours, 90):.2f}"),
        band_bounds_hours=bounds,
        band_counts=[int(c) for c in counts],
    )


def decision_times(summary: dict[str, Any], sla_hours: float) -> TimeSummary | None:
    """The window's decision times (the statement's summary row) by band; None when no
    claim was decided in the window."""
    if not summary or not summary.get("decided"):
        return None
    bounds = decision_bands(sla_hours)
    bands = summary.get("bands") or {}
    return TimeSummary(
        count=int(summary["decided"]),
        within_sla=int(summary["within_sla"]),
        p50_hours=_dec(summary["p50_hours"]),
        p90_hours=_dec(summary["p90_hours"]),
        band_bounds_hours=bounds,
        band_counts=[int(bands.get(str(i), 0)) for i in range(len(bounds) + 1)],
    )


def backlog(
    rows: list[dict[str, Any]], age_bands_days: list[int]
) -> tuple[dict[str, list[int]], dict[str, Decimal]]:
    """Open claims by status and age band, and their charged amount by status; every open
    status present, with zeros."""
    bands = len(age_bands_days) + 1
    counts = {status: [0] * bands for status, _ in OPEN_STATUSES}
    charged = {status: Decimal(0) for status, _ in OPEN_STATUSES}
    for r in rows:
        status = r["status"]
        counts.setdefault(status, [0] * bands)[int(r["band"])] += int(r["claims"])
        charged[status] = charged.get(status, Decimal(0)) + Decimal(r["charged"])
    return counts, charged


def provider_ids(facts: ClaimsFacts) -> list[str]:
    """The providers the dashboard names (pended claims and rejections)."""
    ids = {str(r["provider_id"]) for r in facts.pended}
    ids |= {str(r["provider_id"]) for r in facts.provider_rejections}
    return sorted(ids)


def build_dashboard(
    facts: ClaimsFacts,
    params: DashboardParameters,
    *,
    providers: dict[str, dict[str, str]],
    payments: list[dict[str, Any]],
    decided_at: dict[str, datetime],
    failed_runs: list[FailedRun] | None,
    runs_note: str,
    timezone: str = "Asia/Jakarta",
    generated_at: datetime | None = None,
) -> Dashboard:
    """The dashboard from its parts (each read from one schema)."""

    def provider(pid: Any) -> str:
        p = providers.get(str(pid))
        return f"{p['name']} ({p['code']})" if p else f"unknown provider {pid}"

    by_provider: dict[str, ProviderRejections] = {}
    for r in facts.provider_rejections:
        key = str(r["provider_id"])
        if key not in by_provider:
            by_provider[key] = ProviderRejections(
                provider(key), int(r["provider_lines"]), int(r["provider_claims"]), []
            )
        by_provider[key].reasons.append((r["reason_code"], int(r["lines"])))

    open_counts, open_charged = backlog(facts.backlog, params.age_bands_days)
    return Dashboard(
        generated_at=generated_at or datetime.now(ZoneInfo(timezone)),
        timezone=timezone,
        window_days=params.window_days,
        decision_sla_hours=params.decision_sla_hours,
        payment_sla_days=params.payment_sla_days,
        age_bands_days=list(params.age_bands_days),
        days=[
            from_row(DayRow, r, counts={c: int(r[c] or 0) for c, _, _ in STATUS_SERIES})
            for r in facts.daily
        ],
        reasons=[from_row(ReasonRow, r) for r in facts.reasons],
        backlog=open_counts,
        backlog_charged=open_charged,
        pended=[
            from_row(PendedClaim, r, provider=provider(r["provider_id"])) for r in facts.pended
        ],
        pended_total=int(facts.pended[0]["total"]) if facts.pended else 0,
        decision_days=[from_row(DecisionDay, r) for r in facts.decisions],
        decision=decision_times(facts.decision_summary, params.decision_sla_hours),
        payment=payment_times(payments, decided_at, params.payment_sla_days),
        providers=list(by_provider.values()),
        failed_runs=failed_runs,
        runs_note=runs_note,
        failed_runs_hours=params.failed_runs_hours,
    )
