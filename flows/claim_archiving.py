"""Claim archiving: claims whose service date is before the cutoff go to the `archive`
schema with their lines, status history, notes, documents and payments.

The cutoff is computed once, at the start of the run (`older_than` before today in Jakarta),
and passed to every step. Whole months of `claim_partitioned` are detached and moved (no
row churn); rows of `claims_service.claim` move in batches, one transaction each, counted and
checksummed before and after, logged in `archive.archive_run_log`. Only settled claims move
(final status, nothing left to post or pay); the others are counted as held back.
A run killed anywhere and run again ends with every row exactly once, here or there.
"""

from __future__ import annotations

import time

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from claims_askes.core.faults import crash_point
from claims_askes.core.parameters import takes
from claims_askes.core.runtime import current_flow_run_id
from claims_askes.operations.common import business_today, progress
from schemas.ops import ArchiveReport, ArchivingParameters, cutoff_date
from tasks.archive import (
    archive_batch,
    archive_partitions,
    archiving_lock,
    count_before_cutoff,
    count_held_back,
    read_archived_columns,
)


def publish(report: ArchiveReport) -> None:
    create_table_artifact(
        key="claim-archiving",
        table=[{"table": t, "rows moved": n} for t, n in report.rows_moved.items()]
        + [
            {"table": f"partition {p}", "rows moved": "whole month"}
            for p in report.partitions_moved
        ],
        description=f"Rows archived by run {report.run_id} (cutoff {report.cutoff})",
    )
    create_markdown_artifact(
        key="claim-archiving-summary",
        markdown=(
            f"# Claim archiving\n\nCutoff {report.cutoff}: {report.claims_moved:,} claims "
            f"in {report.batches} batches, {len(report.partitions_moved)} partitions, "
            f"{report.seconds:.1f} s. {report.held_back:,} claims past the cutoff are "
            "not settled and stay. Every batch's counts and checksums are in "
            "`archive.archive_run_log`.\n"
        ),
        description=f"Claim archiving summary (cutoff {report.cutoff})",
    )


@flow(name="claim-archiving")
@takes(ArchivingParameters)
def claim_archiving(params: ArchivingParameters) -> ArchiveReport:
    """Archive claims older than `older_than` (Nd, Nw, Nm, Ny); returns what moved."""
    logger = get_run_logger()
    started = time.monotonic()
    cutoff = cutoff_date(params.older_than, params.as_of or business_today())
    run_id = current_flow_run_id()
    report = ArchiveReport(run_id=str(run_id), cutoff=cutoff)
    with archiving_lock(params.lock_timeout_seconds) as conn:
        report.partitions_moved = archive_partitions(run_id, cutoff, params.lock_timeout_seconds, 1)
        columns = read_archived_columns(conn)
        total = count_before_cutoff(conn, cutoff)
        progress("archiving claims", 0, total)
        while params.max_batches is None or report.batches < params.max_batches:
            result = archive_batch(
                conn, run_id, report.batches + 1, cutoff, params.batch_size, columns
            )
            if result.claims == 0:
                break
            crash_point("archive-after-batch")
            report.batches += 1
            report.claims_moved += result.claims
            for table, rows in result.rows.items():
                report.rows_moved[table] = report.rows_moved.get(table, 0) + rows
            progress("archiving claims", report.claims_moved, total)
            logger.info("batch %s: %s claims archived", report.batches, result.claims)
        report.held_back = count_held_back(conn, cutoff)
    report.seconds = round(time.monotonic() - started, 3)
    publish(report)
    return report
