"""Parameters and summary of the `eligibility-sweep` flow (pydantic)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from schemas.parameters import DATE_SCHEMA


def business_zone() -> str:
    """The business time zone (settings.timezone, Asia/Jakarta by default)."""
    from claims_askes.core.settings import get_settings

    return get_settings().timezone


def business_today() -> date:
    """Today in the business time zone."""
    return datetime.now(ZoneInfo(business_zone())).date()


class EligibilitySweepParameters(BaseModel):
    """Parameters of `eligibility-sweep`; `as_of` defaults to today in the business zone."""

    model_config = ConfigDict(extra="forbid")

    as_of: date | None = Field(
        None,
        description="Sweep as of this date (YYYY-MM-DD); default today in "
        "CLAIMS_ASKES_TIMEZONE (Asia/Jakarta). Not in the future: the "
        "sweep terminates coverages that ended before it.",
        json_schema_extra=DATE_SCHEMA,
    )
    batch_size: int = Field(
        250_000, ge=1, le=2_000_000, description="Members per batch (one transaction each)"
    )
    readjudicate: bool = Field(
        True,
        description="Send approved claims no longer covered to claim-readjudication; "
        "otherwise only report them",
    )

    @field_validator("as_of", mode="before")
    @classmethod
    def _parse_date(cls, value: Any) -> Any:
        if value is None or isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise PydanticCustomError(
            "as_of_date",
            "not a date: {value} (expected YYYY-MM-DD, e.g. 2026-03-31)",
            {"value": repr(value)},
        )

    @model_validator(mode="after")
    def _default_and_not_future(self) -> EligibilitySweepParameters:
        today = business_today()
        if self.as_of is None:
            self.as_of = today
        elif self.as_of > today:
            raise PydanticCustomError(
                "as_of_future",
                "{as_of} is after today ({today} in {zone})",
                {
                    "as_of": self.as_of.isoformat(),
                    "today": today.isoformat(),
                    "zone": business_zone(),
                },
            )
        return self

    @property
    def sweep_date(self) -> date:
        assert self.as_of is not None  # set by the validator
        return self.as_of


class FaultGroup(BaseModel):
    """One kind of data fault found in member_service: reported, never fixed by the sweep."""

    kind: str
    description: str
    member_ids: list[str] = Field(default_factory=list)
    coverage_ids: list[str] = Field(default_factory=list)


class EligibilitySweepSummary(BaseModel):
    """The outcome of one `eligibility-sweep` run."""

    flow_run_id: str
    as_of: date
    previous_as_of: date | None = Field(
        None, description="The sweep date eligibility changes are counted against"
    )
    batches: int = 0
    members_swept: int = 0
    eligible: int = 0
    not_eligible: int = 0
    by_reason: dict[str, int] = Field(default_factory=dict)
    snapshot_rows_inserted: int = 0
    snapshot_rows_updated: int = 0
    snapshot_rows_unchanged: int = 0
    first_snapshots: int = Field(0, description="Members without a snapshot on previous_as_of")
    eligibility_changes: int = Field(
        0, description="Members whose eligibility, reason or coverage differs from previous_as_of"
    )
    became_eligible: int = 0
    became_ineligible: int = 0
    coverages_terminated: int = 0
    faults: list[FaultGroup] = Field(default_factory=list)
    claims_to_readjudicate: list[str] = Field(
        default_factory=list,
        description="Approved claims whose service date is no longer "
        "covered (a retroactive change)",
    )
    readjudication: str = Field(
        "none needed",
        description="'sent', 'not available' (flow not installed), 'disabled' or 'none needed'",
    )
    readjudication_summary: dict[str, Any] | None = None
    seconds: float = 0.0
    step_seconds: dict[str, float] = Field(default_factory=dict)

    @property
    def fault_members(self) -> int:
        return len({m for group in self.faults for m in group.member_ids})
