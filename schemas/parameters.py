"""Flow parameters, validated by pydantic (Prefect validates them the same way when a run is
triggered from the UI or a deployment)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

# A lease of claims, the same for adjudication and re-adjudication.
LEASE_SECONDS: dict[str, Any] = dict(
    default=900,
    ge=5,
    le=86_400,
    description="How long a lease of claims lasts before another run may take them",
)


class AdjudicationParameters(BaseModel):
    """Parameters of `claim-adjudication`."""

    model_config = ConfigDict(extra="forbid")

    max_claims: int | None = Field(None, ge=1, description="Stop after leasing this many claims")
    chunk_size: int = Field(
        20_000,
        ge=1,
        le=1_000_000,
        description="Claims per chunk (whole members; memory stays bounded)",
    )
    lease_seconds: int = Field(**LEASE_SECONDS)
    shards: int = Field(1, ge=1, le=256, description="Member hash buckets")
    shard: int | None = Field(None, ge=0, description="Only this bucket (default: all)")

    @model_validator(mode="after")
    def _shard_in_range(self) -> AdjudicationParameters:
        if self.shard is not None and self.shard >= self.shards:
            raise ValueError(f"shard must be below shards ({self.shards}), got {self.shard}")
        return self


class PostingParameters(BaseModel):
    """Parameters of `accumulator-posting`."""

    model_config = ConfigDict(extra="forbid")

    batch_size: int = Field(200_000, ge=1, le=5_000_000, description="Lines per posting batch")
    full_reconciliation: bool = Field(
        False, description="Reconcile every member's accumulators, not only those posted by the run"
    )


class ReadjudicationParameters(BaseModel):
    """Parameters of `claim-readjudication`."""

    model_config = ConfigDict(extra="forbid")

    claim_numbers: list[str] = Field(
        default_factory=list, max_length=100_000, description="Claims to adjudicate again"
    )
    reason: str = Field(
        "re-adjudication",
        min_length=1,
        max_length=200,
        description="Why (recorded on each readjustment)",
    )
    lease_seconds: int = Field(**LEASE_SECONDS)
