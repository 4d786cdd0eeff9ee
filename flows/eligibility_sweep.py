"""Eligibility sweep (issue 4): every member's eligibility as of a date.

1. Coverages still `active` past their termination date become `terminated` (one UPDATE).
2. Per batch of members (in id order, keyset), through the member service: read the members
   with all their coverages (the next batch is read while this one is processed); check
   them for data faults (a Great Expectations checkpoint that reports and never stops the
   run or fixes anything); compute the snapshot with check_eligibility's rules (R2-R3,
   vectorised); check what is about to be written (a failing checkpoint stops the write);
   upsert it into member_eligibility in one transaction. The write runs in a task while the
   next batch is checked and computed (see `eligibility_sweep`).
3. Per batch, through the claims service: read the members' approved claims and match them in
   pandas against the coverage frame just read; claims whose service date is no longer
   covered (a retroactive change) are re-adjudicated (the steps of `claim-readjudication`).

Idempotent and restartable: a batch's snapshot rows are upserted (content that differs is
replaced, identical rows are left alone, nothing is duplicated) in one transaction, and the
termination finds nothing the second time; a run killed anywhere and run again ends with the
same snapshot, statuses and report. Eligibility changes are counted against the latest earlier
sweep date, so a rerun counts the same changes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from logging import Logger, LoggerAdapter
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.futures import PrefectFuture

from claims_askes.core.faults import crash_point
from claims_askes.core.parameters import takes
from claims_askes.core.runtime import Stopwatch, current_flow_run_id
from claims_askes.eligibility.faults import FaultTally, fault_flags
from claims_askes.eligibility.rules import compute_snapshot, members_of, uncovered_claims
from claims_askes.quality.checkpoints import CheckpointReport
from flows.steps.readjudication import readjudicate_claims
from schemas.eligibility import EligibilitySweepParameters, EligibilitySweepSummary
from schemas.parameters import ReadjudicationParameters
from tasks.eligibility import (
    SnapshotWrite,
    check_member_faults,
    check_snapshot,
    read_approved_claims,
    read_previous_sweep_date,
    read_sweep_batch,
    terminate_expired_coverages,
    write_snapshot,
)

READJUDICATION_REASON = "retroactive eligibility change"
ARTIFACT_ROWS = 1_000  # rows per artifact table; the summary keeps every id
LOG_IDS = 10  # ids named per fault kind in the log

AnyLogger = Logger | LoggerAdapter[Any]


@dataclass
class BatchWrite:
    """A batch's snapshot write, submitted and not yet collected."""

    future: PrefectFuture[SnapshotWrite]
    snapshot: pd.DataFrame


def send_to_readjudication(
    claim_numbers: list[str], flow_run_id: uuid.UUID
) -> tuple[str, dict[str, Any]]:
    """Re-adjudicate the claims in this run (the steps of `claim-readjudication`)."""
    params = ReadjudicationParameters(claim_numbers=claim_numbers, reason=READJUDICATION_REASON)
    result = readjudicate_claims(params, flow_run_id)
    return "sent", dict(result.model_dump(mode="json"))


def _table(rows: Sequence[dict[str, Any]], what: str) -> tuple[list[dict[str, Any]], str]:
    shown = list(rows[:ARTIFACT_ROWS])
    note = (
        ""
        if len(rows) <= ARTIFACT_ROWS
        else (f" (first {ARTIFACT_ROWS:,} of {len(rows):,}; the flow's summary has them all)")
    )
    return shown, what + note


def publish_artifacts(summary: EligibilitySweepSummary, faults: CheckpointReport) -> None:
    reasons = "\n".join(f"| {k} | {v:,} |" for k, v in sorted(summary.by_reason.items()))
    fault_lines = (
        "\n".join(
            f"| {g.kind} | {len(g.member_ids):,} | {len(g.coverage_ids):,} |"
            for g in summary.faults
        )
        or "| none | 0 | 0 |"
    )
    previous = since_previous(summary)
    create_markdown_artifact(
        key="eligibility-sweep-summary",
        markdown=(
            f"# Eligibility sweep as of {summary.as_of.isoformat()}\n\n"
            f"{summary.members_swept:,} members swept in {summary.batches} batches, "
            f"{summary.seconds:.1f} s: {summary.eligible:,} eligible, "
            f"{summary.not_eligible:,} not eligible.\n\n"
            f"| reason | members |\n|---|---|\n{reasons}\n\n"
            f"Snapshot rows: {summary.snapshot_rows_inserted:,} inserted, "
            f"{summary.snapshot_rows_updated:,} replaced, "
            f"{summary.snapshot_rows_unchanged:,} unchanged.\n\n"
            f"Eligibility changes {previous}: {summary.eligibility_changes:,} "
            f"({summary.became_eligible:,} became eligible, {summary.became_ineligible:,} "
            f"became ineligible; {summary.first_snapshots:,} members without an earlier "
            f"snapshot).\n\n"
            f"Coverages terminated (past their termination date): "
            f"{summary.coverages_terminated:,}.\n\n"
            f"## Data faults (reported, not fixed)\n\n| kind | members | coverages |\n"
            f"|---|---|---|\n{fault_lines}\n\n{faults.summary()}\n\n"
            f"## Re-adjudication\n\n{len(summary.claims_to_readjudicate):,} approved claims no "
            f"longer covered: {summary.readjudication}.\n"
        ),
        description=f"Eligibility sweep as of {summary.as_of.isoformat()}",
    )
    fault_rows = [{"kind": g.kind, "member_id": m} for g in summary.faults for m in g.member_ids]
    if fault_rows:
        rows, description = _table(fault_rows, "Members with data faults, by kind")
        create_table_artifact(key="eligibility-sweep-faults", table=rows, description=description)
    if summary.claims_to_readjudicate:
        rows, description = _table(
            [{"claim_number": c} for c in summary.claims_to_readjudicate],
            f"Approved claims no longer covered ({summary.readjudication})",
        )
        create_table_artifact(
            key="eligibility-sweep-readjudication", table=rows, description=description
        )


def since_previous(summary: EligibilitySweepSummary) -> str:
    """The previous sweep's date as "since <date>", or "since the first sweep"."""
    if summary.previous_as_of is None:
        return "since the first sweep"
    return f"since {summary.previous_as_of.isoformat()}"


def log_summary(logger: AnyLogger, summary: EligibilitySweepSummary) -> None:
    logger.info(
        "as of %s: %s members swept, %s eligible, %s not eligible; %s eligibility "
        "changes %s; %s coverages terminated",
        summary.as_of,
        summary.members_swept,
        summary.eligible,
        summary.not_eligible,
        summary.eligibility_changes,
        since_previous(summary),
        summary.coverages_terminated,
    )
    for group in summary.faults:
        logger.warning(
            "data fault %s: %s members (e.g. %s): %s",
            group.kind,
            len(group.member_ids),
            ", ".join(group.member_ids[:LOG_IDS]),
            group.description,
        )
    if summary.claims_to_readjudicate:
        logger.warning(
            "%s approved claims no longer covered (%s): %s",
            len(summary.claims_to_readjudicate),
            summary.readjudication,
            ", ".join(summary.claims_to_readjudicate[:LOG_IDS]),
        )


@flow(name="eligibility-sweep")
@takes(EligibilitySweepParameters)
def eligibility_sweep(params: EligibilitySweepParameters) -> EligibilitySweepSummary:
    """Snapshot every member's eligibility as of a date (default today in the business time
    zone), terminate expired coverages, report data faults, and send approved claims that a
    retroactive change left uncovered to re-adjudication.

    Batch k's write (a task, mostly the database's time) runs while batch k+1 is checked for
    faults, computed and checked (this process's time), and while batch k's claims are read.
    That is safe because at most one write is in flight and it is collected before the next
    is submitted: the database gets the same transactions in the same order as one batch at a
    time; a batch is submitted only once its checkpoint passed, so a failing checkpoint still
    stops the run before its batch is written (the batches before it are written, the one in
    flight is waited for); `sweep-after-batch` fires once a write is committed, before the
    next is submitted; the summary counts a batch once its write is done. The writes read
    only the snapshot and the previous sweep date, not what the other steps compute.
    """
    day = params.sweep_date
    logger = get_run_logger()
    started = time.monotonic()
    watch = Stopwatch()
    flow_run_id = current_flow_run_id()
    summary = EligibilitySweepSummary(flow_run_id=str(flow_run_id), as_of=day)
    summary.previous_as_of = read_previous_sweep_date(day)
    with watch.step("terminate"):
        summary.coverages_terminated = terminate_expired_coverages(day)
    faults = FaultTally()
    reasons: pd.Series | None = None
    uncovered: list[pd.DataFrame] = []
    upcoming: PrefectFuture[pd.DataFrame] | None = read_sweep_batch.submit(None, params.batch_size)
    in_flight: BatchWrite | None = None

    def finish_write() -> None:
        """Wait for the batch write in flight, then count it (as committed)."""
        nonlocal in_flight, reasons
        if in_flight is None:
            return
        done, in_flight = in_flight, None
        with watch.step("write (waiting)"):
            written = done.future.result()
        crash_point("sweep-after-batch")
        snapshot = done.snapshot
        summary.batches += 1
        summary.members_swept += len(snapshot)
        summary.eligible += int(snapshot["is_eligible"].sum())
        summary.snapshot_rows_inserted += written.inserted
        summary.snapshot_rows_updated += written.updated
        summary.first_snapshots += written.first_snapshots
        summary.eligibility_changes += written.changed
        summary.became_eligible += written.became_eligible
        summary.became_ineligible += written.became_ineligible
        counts = snapshot["reason"].value_counts()
        reasons = counts if reasons is None else reasons.add(counts, fill_value=0)
        logger.info(
            "batch %s: %s members swept (%s snapshot rows written)",
            summary.batches,
            len(snapshot),
            written.inserted + written.updated,
        )

    try:
        while upcoming is not None:
            with watch.step("read members (waiting)"):
                batch = upcoming.result()
            if batch.empty:
                break
            members = members_of(batch)["member_id"]
            # The next batch is read while this one is checked and written (reads only).
            upcoming = (
                None
                if len(members) < params.batch_size
                else read_sweep_batch.submit(str(members.iloc[-1]), params.batch_size)
            )
            with watch.step("faults"):
                flags = fault_flags(batch, day)
                faults.add(flags, check_member_faults(flags))
            with watch.step("compute"):
                snapshot = compute_snapshot(batch, day)
            with watch.step("check snapshot"):
                check_snapshot(snapshot, day)
            finish_write()  # the previous batch's: one write in flight, in batch order
            in_flight = BatchWrite(
                write_snapshot.submit(snapshot, day, summary.previous_as_of, flow_run_id), snapshot
            )
            with watch.step("claims"):
                claims = read_approved_claims(str(members.iloc[0]), str(members.iloc[-1]), day)
                uncovered.append(uncovered_claims(claims, batch))
    finally:
        finish_write()  # also when a later batch failed: the run stops with it committed
    summary.not_eligible = summary.members_swept - summary.eligible
    summary.snapshot_rows_unchanged = (
        summary.members_swept - summary.snapshot_rows_inserted - summary.snapshot_rows_updated
    )
    if reasons is not None:
        summary.by_reason = {str(k): int(v) for k, v in reasons.items()}
    summary.faults = faults.groups()
    if uncovered:
        found = pd.concat(uncovered, ignore_index=True)
        summary.claims_to_readjudicate = sorted(set(found["claim_number"]))
    if not summary.claims_to_readjudicate:
        summary.readjudication = "none needed"
    elif not params.readjudicate:
        summary.readjudication = "disabled"
    else:
        with watch.step("readjudicate"):
            summary.readjudication, summary.readjudication_summary = send_to_readjudication(
                summary.claims_to_readjudicate, flow_run_id
            )
    summary.seconds = round(time.monotonic() - started, 3)
    summary.step_seconds = {k: round(v, 3) for k, v in watch.seconds.items()}
    report = faults.report()
    publish_artifacts(summary, report)
    log_summary(logger, summary)
    return summary
