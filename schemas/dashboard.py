"""Parameters and outcome of `claims-dashboard`, the operations dashboard."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class DashboardParameters(BaseModel):
    """Parameters of `claims-dashboard`."""

    model_config = ConfigDict(extra="forbid")

    output: str = Field(
        "reports/claims-dashboard.html",
        min_length=1,
        max_length=4096,
        description="Where to write the HTML page (relative paths are from the working directory)",
    )
    window_days: int = Field(
        30, ge=1, le=366, description="Days of submissions and decisions the dashboard covers"
    )
    decision_sla_hours: float = Field(
        72,
        gt=0,
        le=24 * 90,
        description="Service level of a decision: hours from submission to decision",
    )
    payment_sla_days: float = Field(
        14,
        gt=0,
        le=365,
        description="Service level of a payment: days from decision to first payment",
    )
    age_bands_days: list[int] = Field(
        default_factory=lambda: [1, 3, 7, 14, 30],
        min_length=1,
        max_length=12,
        description="Bounds of the backlog's age bands in days, increasing",
    )
    top_providers: int = Field(
        10, ge=1, le=100, description="How many providers with the most rejections to show"
    )
    pended_limit: int = Field(
        50, ge=1, le=1000, description="How many pended claims to list (the longest waiting)"
    )
    failed_runs_hours: int = Field(
        24, ge=1, le=24 * 14, description="Show the flow runs that failed in this many hours"
    )

    @field_validator("age_bands_days")
    @classmethod
    def _increasing(cls, bounds: list[int]) -> list[int]:
        if any(b < 1 or b > 3650 for b in bounds):
            raise ValueError("every age band bound must be between 1 and 3650 days")
        if any(a >= b for a, b in zip(bounds, bounds[1:], strict=False)):
            raise ValueError(f"age band bounds must increase, got {bounds}")
        return bounds


class DashboardOutcome(BaseModel):
    """What one `claims-dashboard` run wrote."""

    path: str
    open_claims: int
    pended_claims: int
    decided: int
    within_decision_sla: int
    paid: int
    failed_runs: int
