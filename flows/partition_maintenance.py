"""Partition maintenance of `claims_service.claim_partitioned` (after pg_partman's
run_maintenance): monthly partitions from the oldest data through the current month plus
`premake` months, gaps filled, a default partition kept and watched.

Rows in the default partition belong to a month without a partition; they block creating
that month (PostgreSQL refuses a partition whose rows sit in the default), so they are a
health failure until moved, which `move_default_rows` does month by month, checked by count
and checksum. Idempotent: a second run creates nothing.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from claims_askes.core.parameters import takes
from claims_askes.operations.common import HealthCheckFailed, business_today, month_start
from schemas.ops import PartitionParameters, PartitionReport
from tasks.partitions import maintain_partitions


def publish(report: PartitionReport) -> None:
    create_table_artifact(
        key="partition-maintenance",
        table=[{"partition": name} for name in report.created] or [{"partition": "(none)"}],
        description=f"Partitions created; covered {report.covered_from} to {report.covered_to}",
    )
    status = "healthy" if report.healthy else "**failed**: " + "; ".join(report.problems)
    create_markdown_artifact(
        key="partition-maintenance-summary",
        markdown=(
            f"# Partition maintenance\n\nCovered from {report.covered_from} to "
            f"{report.covered_to} (exclusive); {len(report.created)} partitions created; "
            f"{report.default_rows_moved} default rows moved; {report.default_rows} rows "
            f"left in the default partition.\n\nStatus: {status}\n"
        ),
        description=f"Partition maintenance summary ({'healthy' if report.healthy else 'failed'})",
    )


@flow(name="partition-maintenance")
@takes(PartitionParameters)
def partition_maintenance(params: PartitionParameters) -> PartitionReport:
    """Keep claim_partitioned covered; fails (after its work) while the default has rows."""
    logger = get_run_logger()
    current = month_start(params.as_of or business_today())
    work = maintain_partitions(
        current, params.premake, params.move_default_rows, params.lock_timeout_seconds
    )
    report = PartitionReport(
        covered_from=work.covered_from,
        covered_to=work.covered_to,
        created=work.created,
        default_created=work.default_created,
        default_rows=work.default_rows,
        default_rows_moved=work.moved_rows,
        blocked_months=work.blocked,
    )
    if work.default_rows:
        report.problems.append(
            f"{work.default_rows} rows in the default partition "
            f"(months {', '.join(work.blocked) or 'outside the covered range'}): "
            "rerun with --move-default-rows"
        )
    logger.info(
        "created %s partitions; covered %s to %s",
        len(work.created),
        work.covered_from,
        work.covered_to,
    )
    publish(report)
    if not report.healthy:
        raise HealthCheckFailed("; ".join(report.problems))
    return report
