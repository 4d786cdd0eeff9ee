"""Flow parameters, validated by pydantic (Prefect validates them the same way when a run is
triggered from the UI or a deployment)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

#: JSON Schema `pattern`s the Prefect server checks before a run exists (it does not check
#: `format`). Only in the schema: pydantic checks the same values again when the run starts,
#: with its own words, so a field keeps one error message in the CLI and in the flow.
DATE_SCHEMA: dict[str, Any] = {"pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
AGE_SCHEMA: dict[str, Any] = {"pattern": r"^\s*[0-9]+\s*[dwmy]\s*$"}
IDENTIFIER_SCHEMA: dict[str, Any] = {"pattern": r"^[a-z_][a-z0-9_]{0,62}$"}
MAX_SHARDS = 256

# A lease of claims, the same for adjudication and re-adjudication.
LEASE_SECONDS: dict[str, Any] = dict(
    default=900,
    ge=5,
    le=86_400,
    description="How long a lease of claims lasts before another run may take them",
)
# One definition each for the fields `claim-adjudication` passes on to its shard runs.
MAX_CLAIMS: dict[str, Any] = dict(
    default=None, ge=1, le=100_000_000, description="Stop after leasing this many claims"
)
CHUNK_SIZE: dict[str, Any] = dict(
    default=20_000,
    ge=1,
    le=1_000_000,
    description="Claims per chunk (whole members; memory stays bounded)",
)
PENDED_REVIEW_HOURS: dict[str, Any] = dict(
    default=24,
    ge=1,
    le=8_760,
    description="Adjudicate a pended claim again after this many hours without a change "
    "it waits for (such claims are reported)",
)


def _shard_below_shards(schema: dict[str, Any]) -> None:
    """`shard < shards` in JSON Schema, which cannot compare two fields: for each shard count
    N, "if shards is N then shard is at most N - 1", and when `shards` is not given, the
    default's rule. The server then names `shard` when it refuses a run."""
    default = AdjudicationParameters.model_fields["shards"].default
    schema["allOf"] = [
        {
            "if": {"properties": {"shards": {"const": n}}, "required": ["shards"]},
            "then": {"properties": {"shard": {"maximum": n - 1}}},
        }
        for n in range(1, MAX_SHARDS)
    ] + [
        {
            "if": {"not": {"required": ["shards"]}},
            "then": {"properties": {"shard": {"maximum": default - 1}}},
        }
    ]
    schema["allOf"] += _fan_out_rules()


def _fan_out_rules() -> list[dict[str, Any]]:
    """`shards: 0` (one per worker online) only with `fan_out`, and `fan_out` without
    `shard` (a fanned-out run starts one child run per bucket itself)."""
    fan_out = {"properties": {"fan_out": {"const": True}}, "required": ["fan_out"]}
    return [
        {
            "if": {"properties": {"shards": {"const": 0}}, "required": ["shards"]},
            "then": fan_out,
        },
        {"if": fan_out, "then": {"properties": {"shard": {"type": "null"}}}},
    ]


def _shard_of_shards(schema: dict[str, Any]) -> None:
    """`shard < shards` of a shard run, as in `_shard_below_shards` (both are required)."""
    schema["allOf"] = [
        {
            "if": {"properties": {"shards": {"const": n}}},
            "then": {"properties": {"shard": {"maximum": n - 1}}},
        }
        for n in range(1, MAX_SHARDS)
    ]


class AdjudicationParameters(BaseModel):
    """Parameters of `claim-adjudication`."""

    # `allOf` holds the rules across fields (claims_askes.core.parameters.cross_field_rules).
    model_config = ConfigDict(extra="forbid", json_schema_extra=_shard_below_shards)

    max_claims: int | None = Field(**MAX_CLAIMS)
    chunk_size: int = Field(**CHUNK_SIZE)
    lease_seconds: int = Field(**LEASE_SECONDS)
    shards: int = Field(
        1,
        ge=0,
        le=MAX_SHARDS,
        description="Member hash buckets (0: one per worker online in the pool, with fan_out)",
    )
    shard: int | None = Field(
        None, ge=0, le=MAX_SHARDS - 1, description="Only this bucket, below shards (default: all)"
    )
    pended_review_hours: int = Field(**PENDED_REVIEW_HOURS)

    fan_out: bool = Field(
        False,
        description="Run each bucket as a child run of the claim-adjudication-shard "
        "deployment, so that every worker of the pool takes some (default: threads of this run)",
    )

    @model_validator(mode="after")
    def _shard_in_range(self) -> AdjudicationParameters:
        if self.shards == 0 and not self.fan_out:
            raise ValueError("shards 0 (one per worker online) needs fan_out")
        if self.fan_out and self.shard is not None:
            raise ValueError("fan_out starts a child run per bucket: give no shard")
        if self.shard is not None and self.shard >= self.shards:
            raise ValueError(f"shard must be below shards ({self.shards}), got {self.shard}")
        return self


class AdjudicationShardParameters(BaseModel):
    """Parameters of `claim-adjudication-shard`: one member hash bucket of a fanned-out
    `claim-adjudication` run, which sets them (its own values, its share of max_claims)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_shard_of_shards)

    shard: int = Field(ge=0, le=MAX_SHARDS - 1, description="The bucket, below shards")
    shards: int = Field(ge=1, le=MAX_SHARDS, description="Member hash buckets of the run")
    max_claims: int | None = Field(**MAX_CLAIMS)
    chunk_size: int = Field(**CHUNK_SIZE)
    lease_seconds: int = Field(**LEASE_SECONDS)
    pended_review_hours: int = Field(**PENDED_REVIEW_HOURS)

    @model_validator(mode="after")
    def _shard_in_range(self) -> AdjudicationShardParameters:
        if self.shard >= self.shards:
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

    claim_numbers: list[Annotated[str, StringConstraints(min_length=1, max_length=50)]] = Field(
        default_factory=list, max_length=100_000, description="Claims to adjudicate again"
    )
    reason: str = Field(
        "re-adjudication",
        min_length=1,
        max_length=200,
        description="Why (recorded on each readjustment)",
    )
    lease_seconds: int = Field(**LEASE_SECONDS)
