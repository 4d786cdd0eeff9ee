"""Database restore: a backup, whole or one schema, into a named database.

Refuses to restore over data (any table with a row, in the schema restored or in the whole
database) unless `force`, and over an existing schema unless `clean` (or `force`). What is
replaced is kept until the restore checks out: a database is restored into a staging
database and swapped in, a schema's old version is renamed aside and dropped only after.
Every restored table's row count must equal the manifest's (a data-quality checkpoint), or
the run fails naming them.
"""

from __future__ import annotations

import time

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from claims_askes.core.errors import ClaimsAskesError
from claims_askes.core.parameters import takes
from claims_askes.operations import backup as b
from schemas.ops import RestoreParameters, RestoreReport
from tasks.backups import (
    database_exists,
    database_has_data,
    restore_database,
    restore_schema,
    schema_exists,
)


class RestoreRefused(ClaimsAskesError):
    """The target holds data and `force` was not given."""


@flow(name="database-restore")
@takes(RestoreParameters)
def database_restore(params: RestoreParameters) -> RestoreReport:
    """Restore `backup_id` into `target_database`; returns the row-count comparison."""
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
    exists = database_exists(target)
    present = exists and (schema is None or schema_exists(target, schema))
    if present:
        occupied = database_has_data(target, schema)
        if occupied and not params.force:
            raise RestoreRefused(
                f"database {target} has data ({', '.join(occupied[:5])}"
                f"{'…' if len(occupied) > 5 else ''}); pass --force to restore over it"
            )
        if schema is not None and not (params.clean or params.force):
            raise RestoreRefused(f"schema {schema} exists in {target}; pass --clean to replace it")
    elif not exists:
        b.create_database(target)
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
    )
    if mismatches:
        raise ClaimsAskesError(
            "restored row counts differ from the manifest: " + "; ".join(mismatches[:10])
        )
    return report
