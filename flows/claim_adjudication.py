"""Claim adjudication batch: every `submitted` and `pended` claim, by the rules of
ADJUDICATION.md, in chunks of whole members.

Per chunk: lease the claims (claims_service), read what the rules need from each service
through its own connection, check the input, adjudicate (a pure vectorised function), check
the decisions, write them in one claims_service transaction, then post the accumulators
through the ledger. A run killed anywhere leaves either nothing written for the chunk (its
lease expires and the next run takes the claims again) or the whole chunk written, with its
unposted lines posted by the next run before it adjudicates anything.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Annotated

import numpy as np
import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import Field

from claims_askes.adjudication import (
    EngineInput,
    EngineResult,
    adjudicate,
    invalid_claim_details,
)
from claims_askes.faults import crash_point
from claims_askes.frames_io import uuid_array
from claims_askes.overrides import apply_overrides
from claims_askes.runtime import Stopwatch, current_flow_run_id
from claims_askes.settings import get_settings
from flows.accumulator_posting import post_all_unposted
from schemas.parameters import AdjudicationParameters
from schemas.reports import AdjudicationSummary, ReasonCount, StatusTotal
from tasks.authorizations import read_authorizations
from tasks.benefits import read_benefit_rules
from tasks.claims import (
    Lease,
    WriteResult,
    lease_claims,
    read_leased_claims,
    read_leased_effective_postings,
    read_leased_overrides,
    read_queue_clock,
    read_reason_codes,
    release_lease,
    write_decisions,
)
from tasks.members import read_members_and_coverages
from tasks.providers import read_contracts_and_fee_schedules
from tasks.quality import check_decisions, check_leased_input


def gather_inputs(run_id: uuid.UUID) -> EngineInput:
    """Read the chunk's claims and everything the rules need, service by service."""
    claims, lines, prior = read_leased_claims(run_id)
    member_ids = uuid_array(claims["member_id"])
    members, coverages = read_members_and_coverages(member_ids)
    contracts, fees, known = read_contracts_and_fee_schedules(uuid_array(claims["provider_id"]))
    submitted = pd.to_datetime(claims["submission_date"], utc=True)
    claims = claims.assign(provider_known=claims["provider_id"].astype(str).isin(known),
                           submitted_in_future=submitted > pd.Timestamp.now(tz="UTC"))
    rules = read_benefit_rules(uuid_array(coverages["plan_id"]), member_ids)
    accumulators = without_own_postings(rules.accumulators,
                                        read_leased_effective_postings(run_id))
    return EngineInput(
        claims=claims, lines=lines, members=members, coverages=coverages,
        contracts=contracts, fee_schedules=fees, plan_benefits=rules.plan_benefits,
        exclusions=rules.exclusions, cost_sharing=rules.cost_sharing,
        accumulators=accumulators, authorizations=read_authorizations(member_ids),
        prior_lines=prior,
    )


ACCUMULATOR_KEY = ["member_id", "benefit_code", "year"]
ACCUMULATOR_MEASURES = ["amount_used_cents", "deductible_used_cents", "oop_used_cents",
                        "visits_used", "days_used"]


def without_own_postings(accumulators: pd.DataFrame, own: pd.DataFrame) -> pd.DataFrame:
    """The accumulators minus what the leased claims themselves posted earlier: a claim
    adjudicated again is judged as if it had never been counted (its posting is reversed
    when the new decision is posted)."""
    if own.empty:
        return accumulators
    merged = accumulators.merge(own, on=ACCUMULATOR_KEY, how="left", suffixes=("", "_own"))
    for measure in ACCUMULATOR_MEASURES:
        merged[measure] = merged[measure] - merged[f"{measure}_own"].fillna(0).astype("int64")
    return merged[accumulators.columns]


def count_visits(decided: pd.DataFrame, lines: pd.DataFrame) -> pd.Series:
    """1 on the first approved line of each (claim, benefit): a visit is one claim per
    benefit (R10), and posting adds one visit per claim."""
    approved = decided[["line_id", "claim_id", "status"]].merge(
        lines[["line_id", "line_number", "benefit_code"]], on="line_id", how="left")
    approved = approved[approved["status"] == "approved"].sort_values("line_number")
    first = approved.drop_duplicates(["claim_id", "benefit_code"])["line_id"]
    return decided["line_id"].isin(set(first)).astype("int64")


def rejection_notes(result: EngineResult, lines: pd.DataFrame, reasons: pd.DataFrame,
                    details: pd.Series | None = None) -> pd.Series:
    """A note in words per claim with rejected lines (None for the others), by claim_id.
    ``details``: why R1 found a line invalid, by line_id (``invalid_claim_details``), added
    to its INVALID_CLAIM lines' descriptions."""
    rejected = result.lines.loc[result.lines["status"] == "rejected",
                                ["claim_id", "line_id", "reason_code"]]
    rejected = rejected.merge(lines[["line_id", "line_number", "benefit_code"]], on="line_id",
                              how="left")
    rejected = rejected.merge(reasons, left_on="reason_code", right_on="code", how="left")
    rejected = rejected.sort_values(["claim_id", "line_number"])
    why = (rejected["line_id"].map(details) if details is not None and len(details)
           else pd.Series(None, index=rejected.index, dtype=object))
    why = (": " + why.where(rejected["reason_code"] == "INVALID_CLAIM").astype(object)
           ).fillna("")
    text = ("line " + rejected["line_number"].astype(str) + " ("
            + rejected["benefit_code"].fillna("no benefit code").astype(str) + "): "
            + rejected["description"].fillna("rejected").astype(str) + why + " ["
            + rejected["reason_code"].astype(str) + ", CARC " + rejected["carc"].astype(str)
            + "/" + rejected["group_code"].astype(str) + "]")
    per_claim = text.groupby(rejected["claim_id"]).agg("; ".join)
    status = result.claims.set_index("claim_id")["status"]
    prefix = np.where(status.reindex(per_claim.index) == "rejected", "Claim rejected: ",
                      "Lines rejected: ")
    notes = pd.Series(prefix, index=per_claim.index, dtype=object) + per_claim
    no_lines = result.claims.loc[
        ~result.claims["claim_id"].isin(lines["claim_id"]), "claim_id"].to_numpy()
    invalid = reasons.set_index("code").loc["INVALID_CLAIM"]
    empty = (f"Claim rejected: the claim has no lines [INVALID_CLAIM, CARC {invalid['carc']}/"
             f"{invalid['group_code']}]")
    return pd.concat([notes, pd.Series(empty, index=no_lines, dtype=object)])


@dataclass
class ChunkOutcome:
    result: EngineResult
    written: WriteResult


def adjudicate_chunk(run_id: uuid.UUID, flow_run_id: uuid.UUID, reasons: pd.DataFrame,
                     watch: Stopwatch, reason: str = "re-adjudication") -> ChunkOutcome:
    """Everything of one leased chunk up to its committed write; on any failure before the
    write, the lease is released so that the claims go back to the queue untouched."""
    try:
        with watch.step("read"):
            inputs = gather_inputs(run_id)
        with watch.step("check input"):
            check_leased_input(inputs.claims, inputs.lines)
        with watch.step("engine"):
            timezone = get_settings().timezone
            result = apply_overrides(adjudicate(inputs, timezone=timezone),
                                     read_leased_overrides(run_id), inputs.lines)
            lines = result.lines.assign(visits=count_visits(result.lines, inputs.lines))
            notes = rejection_notes(result, inputs.lines, reasons,
                                    invalid_claim_details(inputs, timezone=timezone))
            claims = result.claims.assign(note=result.claims["claim_id"].map(notes))
        with watch.step("check decisions"):
            check_decisions(lines, claims, inputs.lines)
    except BaseException:
        release_lease(run_id)
        raise
    with watch.step("write"):
        written = write_decisions(run_id, flow_run_id, lines, claims, reason)
    return ChunkOutcome(EngineResult(lines=lines, claims=claims), written)


@dataclass
class Tally:
    """Running totals over chunks (the chunks' frames are not kept: memory stays bounded)."""

    by_status: pd.DataFrame | None = None
    reasons: pd.Series | None = None

    def add(self, result: EngineResult) -> None:
        self._sum(result.claims.groupby("status").agg(
            claims=("claim_id", "size"), charged=("total_charged_cents", "sum"),
            approved=("total_approved_cents", "sum")),
            result.lines["reason_code"].dropna().value_counts())

    def merge(self, other: Tally) -> None:
        """Another tally's totals into this one (a shard's into the run's)."""
        self._sum(other.by_status, other.reasons)

    def _sum(self, by_status: pd.DataFrame | None, reasons: pd.Series | None) -> None:
        if by_status is not None:
            self.by_status = by_status if self.by_status is None else self.by_status.add(
                by_status, fill_value=0)
        if reasons is not None:
            self.reasons = reasons if self.reasons is None else self.reasons.add(
                reasons, fill_value=0)

    def into(self, summary: AdjudicationSummary) -> None:
        if self.by_status is not None:
            summary.by_status = [
                StatusTotal(status=str(status), claims=int(row["claims"]),
                            charged=Decimal(int(row["charged"])) / 100,
                            approved=Decimal(int(row["approved"])) / 100)
                for status, row in self.by_status.iterrows()
            ]
        if self.reasons is not None:
            top = self.reasons.sort_values(ascending=False).head(10)
            summary.top_reasons = [ReasonCount(reason_code=str(k), lines=int(v))
                                   for k, v in top.items()]


def publish_artifacts(summary: AdjudicationSummary) -> None:
    create_table_artifact(
        key="claim-adjudication-by-status",
        table=[{"status": s.status, "claims": s.claims, "charged (Rp)": f"{s.charged:,.2f}",
                "approved (Rp)": f"{s.approved:,.2f}"} for s in summary.by_status],
        description="Claims adjudicated by this run, by status, with charged and approved rupiah",
    )
    reasons = "\n".join(f"| {r.reason_code} | {r.lines:,} |" for r in summary.top_reasons)
    create_markdown_artifact(
        key="claim-adjudication-reasons",
        markdown=(f"# Claim adjudication\n\n{summary.claims:,} claims, {summary.lines:,} lines "
                  f"in {summary.chunks} chunks, {summary.seconds:.1f} s; "
                  f"{summary.lines_posted:,} lines posted to the accumulators.\n\n"
                  f"| reason | lines |\n|---|---|\n{reasons}\n"),
        description="Top reasons (rejections and adjustments)",
    )


# Shards of one run adjudicated at once (threads: the work is I/O and numpy, which releases
# the GIL). More shards than this queue for a thread.
MAX_PARALLEL_SHARDS = 8


class Budget:
    """A run's max_claims, shared by its shards (None: no limit). A shard reserves a chunk's
    worth before leasing and settles with what it wrote, so the run stops near max_claims
    (a chunk may exceed it by the rest of its last member, as before)."""

    def __init__(self, limit: int | None) -> None:
        self._remaining = limit
        self._lock = threading.Lock()

    def reserve(self, want: int) -> int:
        with self._lock:
            if self._remaining is None:
                return want
            granted = max(0, min(want, self._remaining))
            self._remaining -= granted
            return granted

    def settle(self, reserved: int, used: int) -> None:
        with self._lock:
            if self._remaining is not None:
                self._remaining += reserved - used


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


@task(name="adjudicate shard", task_run_name="shard {shard} of {shards}", cache_policy=NO_CACHE)
def adjudicate_shard(shard: int, shards: int, chunk_size: int, lease_seconds: int,
                     run_started: datetime, flow_run_id: uuid.UUID, reasons: pd.DataFrame,
                     budget: Budget) -> ShardResult:
    """Lease, adjudicate, write and post chunks of one member hash bucket until the bucket
    (or the run's budget) is empty. Other shards, runs and workers lease other members:
    the leases keep every claim to one of them."""
    logger = get_run_logger()
    result = ShardResult()
    while (budget_claims := budget.reserve(chunk_size)) > 0:
        run_id = uuid.uuid4()
        lease: Lease = lease_claims(run_id, run_started, budget_claims, lease_seconds, shard,
                                    shards)
        if lease.claims == 0:
            budget.settle(budget_claims, 0)
            break
        crash_point("after-lease")
        try:
            outcome = adjudicate_chunk(run_id, flow_run_id, reasons, result.watch)
        except BaseException:
            budget.settle(budget_claims, 0)
            raise
        crash_point("after-write")
        budget.settle(budget_claims, outcome.written.claims)
        result.tally.add(outcome.result)
        result.chunks += 1
        result.claims += outcome.written.claims
        result.lines += outcome.written.lines
        result.history_rows += outcome.written.history_rows
        result.notes += outcome.written.notes
        result.payments += outcome.written.payments
        with result.watch.step("post"):
            chunk_claims = outcome.result.claims["claim_id"].astype(str).tolist()
            result.lines_posted += post_all_unposted(flow_run_id,
                                                     claim_ids=chunk_claims).lines_marked
        logger.info("shard %s/%s chunk %s: %s claims of %s members adjudicated", shard, shards,
                    result.chunks, outcome.written.claims, lease.members)
    return result


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
        watch.merge(r.watch)
        tally.merge(r.tally)
    tally.into(summary)
    return watch


@flow(name="claim-adjudication",
      task_runner=ThreadPoolTaskRunner(max_workers=MAX_PARALLEL_SHARDS))  # type: ignore[arg-type]
def claim_adjudication(
    max_claims: Annotated[int | None, Field(ge=1, description="Stop after leasing this many "
                                                            "claims")] = None,
    chunk_size: Annotated[int, Field(ge=1, le=1_000_000, description="Claims per chunk "
                                                                    "(whole members)")] = 20_000,
    lease_seconds: Annotated[int, Field(ge=5, le=86_400, description="Lease length of a "
                                                                    "chunk")] = 900,
    shards: Annotated[int, Field(ge=1, le=256, description="Member hash buckets, adjudicated "
                                                          "in parallel")] = 1,
    shard: Annotated[int | None, Field(ge=0, description="Only this bucket (default: "
                                                         "all)")] = None,
) -> AdjudicationSummary:
    """Adjudicate every submitted and pended claim; returns a summary of the run.

    The constraints in the signature are those of AdjudicationParameters: Prefect puts them
    in the deployment's parameter schema, so the UI's form and the server refuse a bad value
    before a run exists; the model then checks what spans parameters (shard < shards)."""
    params = AdjudicationParameters(max_claims=max_claims, chunk_size=chunk_size,
                                    lease_seconds=lease_seconds, shards=shards, shard=shard)
    logger = get_run_logger()
    started = time.monotonic()
    flow_run_id = current_flow_run_id()
    summary = AdjudicationSummary(flow_run_id=str(flow_run_id))
    # A batch never starts while adjudicated lines are unposted (a crash after a write).
    recovered = post_all_unposted(flow_run_id)
    if recovered.lines_marked:
        logger.info("posted %s lines left unposted by an earlier run", recovered.lines_marked)
    summary.lines_posted += recovered.lines_marked
    reasons = read_reason_codes()
    run_started = read_queue_clock()
    budget = Budget(params.max_claims)
    shard_list = range(params.shards) if params.shard is None else [params.shard]
    futures = [adjudicate_shard.submit(s, params.shards, params.chunk_size,
                                       params.lease_seconds, run_started, flow_run_id,
                                       reasons, budget) for s in shard_list]
    results = [f.result() for f in futures]
    watch = merge(summary, results)
    summary.seconds = round(time.monotonic() - started, 3)
    summary.step_seconds = {k: round(v, 3) for k, v in watch.seconds.items()}
    publish_artifacts(summary)
    return summary
