"""Database restore: a backup, whole or one schema, into a named database; or a
point-in-time recovery (`to_time`, `to_lsn`, `latest`) into a new data directory, started
as a server of its own on a free port and checked (it starts, health_check() answers, the
row counts are plausible), then removed unless kept. A recovery never writes over a
running server's data directory, and over any other non-empty one only with `force` (the
old one is moved aside).

A restore writes only into a new database unless `force`: without it, an existing database
(the configured one included) is refused and nothing is ever dropped. The server's own
databases, `postgres` and the templates (`template*`, or any marked as a template), are
refused even with `force`. With `force`, what is replaced is kept until the restore checks
out: a database is restored into a staging database and swapped in, a schema's old version
is renamed aside and dropped only after. Every restored table's row count must equal the
manifest's (a data-quality checkpoint), or the run fails naming them. With services on
several servers, a backup is restored on the server its manifest came from.
"""

from __future__ import annotations

import time

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from claims_askes.core.errors import ClaimsAskesError
from claims_askes.core.parameters import takes
from claims_askes.db.connections import on_server
from claims_askes.operations import backup as b
from schemas.ops import RecoveryTarget, RestoreParameters, RestoreReport
from tasks.backups import (
    configured_database,
    database_exists,
    database_has_data,
    is_template_database,
    recover_to,
    restore_database,
    restore_schema,
    schema_exists,
)


class RestoreRefused(ClaimsAskesError):
    """The target is the server's own database, or exists and `force` was not given."""


#: The server's maintenance database: restoring into it would hand its contents (and the
#: service roles' CONNECT grants) to whatever connects there by default.
MAINTENANCE_DATABASES = frozenset({"postgres"})


def check_target(target: str, schema: str | None, force: bool) -> bool:
    """Refuse a target a restore must not write into; returns whether it exists.

    Refused always: the maintenance database and templates. Refused unless `force`: the
    configured database and any other existing database (a restore into one replaces it,
    or one of its schemas)."""
    if target in MAINTENANCE_DATABASES:
        raise RestoreRefused(
            f"{target} is the server's maintenance database: never a restore target, even "
            "with --force; restore into a database of its own (--target-database)"
        )
    if target.startswith("template") or is_template_database(target):
        raise RestoreRefused(
            f"{target} is a template database: never a restore target, even with --force; "
            "restore into a database of its own (--target-database)"
        )
    if force:
        return database_exists(target)
    if target == configured_database():
        raise RestoreRefused(
            f"{target} is the configured database (the flows' own); pass --force to restore over it"
        )
    if not database_exists(target):
        return False
    what = f"schema {schema} into it" if schema else "over it"
    occupied = database_has_data(target, schema)
    if occupied:
        raise RestoreRefused(
            f"database {target} has data ({', '.join(occupied[:5])}"
            f"{'…' if len(occupied) > 5 else ''}); pass --force to restore {what}"
        )
    raise RestoreRefused(f"database {target} exists; pass --force to restore {what}")


def recover(params: RestoreParameters) -> RestoreReport:
    """Point-in-time recovery into a new data directory; fails when its checks fail."""
    target = RecoveryTarget(to_time=params.to_time, to_lsn=params.to_lsn, latest=params.latest)
    report = recover_to(
        target, params.data_directory, params.force, params.keep, params.recovery_timeout_seconds
    )
    create_markdown_artifact(
        key="database-recovery",
        markdown=(
            f"# Point-in-time recovery to {report.target}\n\nFrom "
            f"{', '.join(report.base_backups)} into `{report.data_directory}` "
            f"({'kept' if report.kept else 'removed after its checks'}) in "
            f"{report.seconds:.1f} s; recovered to {report.recovered_to}.\n\n"
            f"{sum(t.rows for t in report.tables):,} rows in {len(report.tables)} tables; "
            + ("checks passed" if not report.problems else "PROBLEMS: ")
            + "; ".join(report.problems)
            + "\n"
        ),
        description=f"Point-in-time recovery to {report.target}",
    )
    if report.problems:
        raise ClaimsAskesError("recovered server failed its checks: " + "; ".join(report.problems))
    return RestoreReport(
        backup_id=None,
        target_database=None,
        schema_name=None,
        tables_checked=len(report.tables),
        seconds=report.seconds,
        recovery=report,
    )


@flow(name="database-restore")
@takes(RestoreParameters)
def database_restore(params: RestoreParameters) -> RestoreReport:
    """Restore `backup_id` into `target_database` (returns the row-count comparison), or
    recover to a moment (returns the recovery and its checks)."""
    if params.given:
        return recover(params)
    assert params.backup_id is not None
    # With services on several servers, a backup is restored on the server it came from.
    with on_server(b.server_of_backup(params.backup_id)):
        return restore_backup(params)


def restore_backup(params: RestoreParameters) -> RestoreReport:
    """Restore `backup_id` into `target_database` on the current server, checked."""
    assert params.backup_id is not None and params.target_database is not None
    logger = get_run_logger()
    started = time.monotonic()
    entry = b.read_entry(b.backup_directory(), params.backup_id)
    manifest = entry.manifest
    if (
        params.schema_name
        and manifest.scope == "schema"
        and (manifest.schema_name != params.schema_name)
    ):
        raise ClaimsAskesError(
            f"backup {params.backup_id} holds schema "
            f"{manifest.schema_name}, not {params.schema_name}"
        )
    target = params.target_database
    schema = params.schema_name
    exists = check_target(target, schema, params.force)
    # Only with force (check_target) does an existing database, or schema, get replaced.
    present = exists and (schema is None or schema_exists(target, schema))
    if not exists:
        b.create_database(target)  # fails if made meanwhile: never restores over it
        logger.info("created database %s", target)
    if schema is None:
        mismatches = restore_database(manifest, target, present)
        checked = len(manifest.tables)
    else:
        mismatches = restore_schema(manifest, target, schema, present)
        checked = sum(t.schema_name == schema for t in manifest.tables)
    report = RestoreReport(
        backup_id=params.backup_id,
        target_database=params.target_database,
        schema_name=params.schema_name,
        tables_checked=checked,
        mismatches=mismatches,
        seconds=round(time.monotonic() - started, 3),
    )
    create_markdown_artifact(
        key="database-restore",
        markdown=(
            f"# Restore of {params.backup_id} into {params.target_database}\n\n"
            f"{checked} tables checked; "
            f"{'row counts equal the manifest' if not mismatches else 'MISMATCHES: '}"
            + "; ".join(mismatches)
            + "\n"
        ),
        description=f"Restore of {params.backup_id} into {params.target_database}",
    )
    if mismatches:
        raise ClaimsAskesError(
            "restored row counts differ from the manifest: " + "; ".join(mismatches[:10])
        )
    return report
