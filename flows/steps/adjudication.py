"""Adjudicating one leased chunk of claims, up to its committed write: run by claim
adjudication (per chunk of a shard) and re-adjudication (the named claims); and a shard of a
run, chunk after chunk."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd
from prefect import get_run_logger

from claims_askes.adjudication import (
    EngineInput,
    EngineResult,
    adjudicate,
    invalid_claim_details,
)
from claims_askes.adjudication.accumulators import count_visits, without_own_postings
from claims_askes.adjudication.budget import Budget
from claims_askes.adjudication.notes import rejection_notes
from claims_askes.adjudication.overrides import apply_overrides
from claims_askes.adjudication.pends import (
    REVIEW_AGE,
    changes_since,
    due_pended_claims,
)
from claims_askes.adjudication.summary import ShardResult
from claims_askes.core.faults import crash_point
from claims_askes.core.runtime import Stopwatch
from claims_askes.core.settings import get_settings
from claims_askes.db.frames import uuid_array
from flows.steps.posting import post_all_unposted
from tasks.authorizations import read_authorization_changes, read_authorizations
from tasks.base import batch_task
from tasks.benefits import read_benefit_rules
from tasks.claims import (
    Lease,
    WriteResult,
    lease_claims,
    read_leased_claims,
    read_leased_effective_postings,
    read_leased_overrides,
    read_pended_claims,
    release_lease,
    write_decisions,
)
from tasks.members import read_coverage_changes, read_members_and_coverages
from tasks.providers import read_contracts_and_fee_schedules
from tasks.quality import check_decisions, check_leased_input


def gather_inputs(run_id: uuid.UUID) -> EngineInput:
    """Read the chunk's claims and everything the rules need, service by service."""
    claims, lines, prior = read_leased_claims(run_id)
    member_ids = uuid_array(claims["member_id"])
    members, coverages = read_members_and_coverages(member_ids)
    contracts, fees, known = read_contracts_and_fee_schedules(uuid_array(claims["provider_id"]))
    submitted = pd.to_datetime(claims["submission_date"], utc=True)
    claims = claims.assign(
        provider_known=claims["provider_id"].astype(str).isin(known),
        submitted_in_future=submitted > pd.Timestamp.now(tz="UTC"),
    )
    rules = read_benefit_rules(uuid_array(coverages["plan_id"]), member_ids)
    accumulators = without_own_postings(rules.accumulators, read_leased_effective_postings(run_id))
    return EngineInput(
        claims=claims,
        lines=lines,
        members=members,
        coverages=coverages,
        contracts=contracts,
        fee_schedules=fees,
        plan_benefits=rules.plan_benefits,
        exclusions=rules.exclusions,
        cost_sharing=rules.cost_sharing,
        accumulators=accumulators,
        authorizations=read_authorizations(member_ids),
        prior_lines=prior,
    )


@dataclass
class PendedSelection:
    """The run's pended claims: those due (claim_id, claim_number, ..., reason) and how many
    are left alone."""

    due: pd.DataFrame
    waiting: int


def select_pended(run_started: datetime, review_age: timedelta) -> PendedSelection:
    """Which pended claims this run takes again: what changed since each was adjudicated is
    read from the service that owns it (authorizations; members and coverages) for the
    pended claims' members only, and overrides and the review age from the claims service."""
    pended = read_pended_claims(run_started)
    since = changes_since(pended)
    changes = pd.DataFrame({"member_id": pd.Series(dtype=str), "changed_at": pd.Series()})
    authorizations = coverages = changes
    if since is not None:
        members = uuid_array(pended["member_id"])
        moment = since.tz_localize(UTC).to_pydatetime()
        authorizations = read_authorization_changes(members, moment)
        coverages = read_coverage_changes(members, moment)
    due = due_pended_claims(pended, authorizations, coverages, run_started, review_age)
    return PendedSelection(due, len(pended) - len(due))


@dataclass
class ChunkOutcome:
    result: EngineResult
    written: WriteResult


def adjudicate_chunk(
    run_id: uuid.UUID,
    flow_run_id: uuid.UUID,
    reasons: pd.DataFrame,
    watch: Stopwatch,
    reason: str = "re-adjudication",
) -> ChunkOutcome:
    """Everything of one leased chunk up to its committed write; on any failure before the
    write, the lease is released so that the claims go back to the queue untouched."""
    try:
        with watch.step("read"):
            inputs = gather_inputs(run_id)
        with watch.step("check input"):
            check_leased_input(inputs.claims, inputs.lines)
        with watch.step("engine"):
            timezone = get_settings().timezone
            result = apply_overrides(
                adjudicate(inputs, timezone=timezone), read_leased_overrides(run_id), inputs.lines
            )
            lines = result.lines.assign(visits=count_visits(result.lines, inputs.lines))
            notes = rejection_notes(
                result, inputs.lines, reasons, invalid_claim_details(inputs, timezone=timezone)
            )
            claims = result.claims.assign(note=result.claims["claim_id"].map(notes))
        with watch.step("check decisions"):
            check_decisions(lines, claims, inputs.lines)
    except BaseException:
        release_lease(run_id)
        raise
    with watch.step("write"):
        written = write_decisions(run_id, flow_run_id, lines, claims, reason)
    return ChunkOutcome(EngineResult(lines=lines, claims=claims), written)


@batch_task(name="adjudicate shard", task_run_name="shard {shard} of {shards}")
def adjudicate_shard(
    shard: int,
    shards: int,
    chunk_size: int,
    lease_seconds: int,
    run_started: datetime,
    flow_run_id: uuid.UUID,
    reasons: pd.DataFrame,
    budget: Budget,
    pended_due: pd.DataFrame,
) -> ShardResult:
    """Lease, adjudicate, write and post chunks of one member hash bucket until the bucket
    (or the run's budget) is empty. Other shards, runs and workers lease other members:
    the leases keep every claim to one of them. Of the pended claims, only those in
    `pended_due` are leased."""
    logger = get_run_logger()
    result = ShardResult()
    due_ids = pended_due["claim_id"].astype(str).tolist()
    reviewed = pended_due.loc[pended_due["reason"] == REVIEW_AGE].set_index("claim_id")
    while (budget_claims := budget.reserve(chunk_size)) > 0:
        run_id = uuid.uuid4()
        lease: Lease = lease_claims(
            run_id, run_started, budget_claims, lease_seconds, shard, shards, due_ids
        )
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
        chunk_claims = outcome.result.claims["claim_id"].astype(str).tolist()
        result.pended_reviewed += reviewed["claim_number"].reindex(chunk_claims).dropna().tolist()
        with result.watch.step("post"):
            result.lines_posted += post_all_unposted(
                flow_run_id, claim_ids=chunk_claims
            ).lines_posted
        logger.info(
            "shard %s/%s chunk %s: %s claims of %s members adjudicated",
            shard,
            shards,
            result.chunks,
            outcome.written.claims,
            lease.members,
        )
    return result
