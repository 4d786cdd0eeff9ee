"""What a Prefect server needs before `prefect deploy --all` can deploy this project.

`set_up_server` is idempotent (create or update), so `claims-askes deploy` runs it every
time and a changed limit or setting reaches the server on the next deploy:

- the process work pool `claims-askes`, whose job template names the stored Secret blocks
  (CLAIMS_ASKES_SECRET_BLOCKS, names only): a run loads the values it lacks from them when
  it reads its settings (`claims_askes.core.settings.secrets_from_blocks`), so no secret is
  ever part of a deployment, a job template or a worker's command line; runs start as one
  interpreter (ENGINE_COMMAND);
- its queues: `default` (no limit: adjudication runs on every worker at once) and
  `backup-restore` (limit 1: a backup and a restore never run at the same time);
- global concurrency limits the flows take themselves (see `deployments.limits`), which
  also hold for runs started outside a worker (`claims-askes run ...`);
- the Prefect variables prefect.yaml references (`claims_askes_code_dir`,
  `claims_askes_timezone`);
- with `store_secrets`: one Secret block per database secret set in this environment.

All or nothing: the pool's template is checked by the server (created or updated) before any
block is stored, and a failure while storing puts back the blocks and the pool as they were.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from claims_askes.core.settings import (
    SECRET_BLOCKS_VARIABLE,
    read_secret_block,
    secret_block_name,
)
from claims_askes.core.settings import secret_variables as all_secret_variables
from deployments.limits import GLOBAL_LIMITS
from deployments.project import ROOT, WORK_POOL, DeploymentEntry, load_flow

POOL_TYPE = "process"


@dataclass(frozen=True)
class QueueSpec:
    name: str
    concurrency_limit: int | None
    priority: int
    description: str


QUEUES: tuple[QueueSpec, ...] = (
    QueueSpec(
        "default",
        None,
        1,
        "Adjudication, sweeps, archiving, maintenance, monitoring. "
        "No limit: adjudication scales with the number of workers.",
    ),
    QueueSpec(
        "backup-restore",
        1,
        2,
        "Backups, restore drills and restores, one at a time: "
        "a backup and a restore never overlap.",
    ),
)


def secret_variables(environ: dict[str, str] | None = None) -> list[str]:
    """The database secrets set in this environment."""
    env = os.environ if environ is None else environ
    return [n for n in all_secret_variables() if env.get(n)]


block_name = secret_block_name


#: How a worker starts a run: one interpreter, the checkout's own, running Prefect's engine,
#: which runs the deployment's pull step and imports the flow itself. Without a command,
#: Prefect 3.9's process worker starts a "workspace supervisor" interpreter that imports
#: Prefect, runs the pull step, then execs a second interpreter that imports Prefect again:
#: about 1.5 s of CPU more per run (docs/deployment.md, "Start-up time"; bench/startup.py).
#: The path is the checkout the pull step changes to (`claims_askes_code_dir`, resolved by the
#: worker when the run starts), whose `.venv` every worker machine has; quoted, as Prefect
#: splits the command the POSIX shell's way.
ENGINE_COMMAND = (
    "'{{ prefect.variables.claims_askes_code_dir }}/.venv/bin/python' -m prefect.engine"
)


def job_template(secret_vars: Iterable[str]) -> dict[str, Any]:
    """The process worker's default job template, with Prefect's telemetry off, the names of
    the stored Secret blocks in CLAIMS_ASKES_SECRET_BLOCKS, and ENGINE_COMMAND as the default
    command (a deployment's own `command` job variable still wins). Plain strings only:
    Prefect 3.9 refuses a `{{ prefect.blocks... }}` placeholder in a pool's job configuration
    that its variables schema does not declare; a variable's default may hold one."""
    from prefect.workers.process import ProcessWorker

    from claims_askes.core.runtime import TELEMETRY_OFF

    template = ProcessWorker.get_default_base_job_template()
    names = sorted(set(secret_vars))
    env = {SECRET_BLOCKS_VARIABLE: ",".join(names)} if names else {}
    # Telemetry off for every run of the pool (TELEMETRY_OFF); Prefect merges a deployment's
    # own `env` job variables into this dictionary, so theirs are kept.
    template["job_configuration"]["env"] = TELEMETRY_OFF | env
    template["variables"]["properties"]["command"]["default"] = ENGINE_COMMAND
    return template


@dataclass
class SetupReport:
    """What `set_up_server` did, for the command's summary."""

    work_pool: str = ""
    queues: list[str] = field(default_factory=list)
    limits: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)


def _stored_secrets(client: Any, candidates: Iterable[str]) -> list[str]:
    from prefect.exceptions import ObjectNotFound

    found = []
    for variable in candidates:
        try:
            client.read_block_document_by_name(
                block_name(variable), "secret", include_secrets=False
            )
        except ObjectNotFound:
            continue
        found.append(variable)
    return found


def _ensure_pool(client: Any, secret_vars: list[str]) -> str:
    from prefect.client.schemas.actions import WorkPoolCreate, WorkPoolUpdate
    from prefect.exceptions import ObjectNotFound

    template = job_template(secret_vars)
    description = "Claims-Askes batch flows: process workers on the batch machines."
    try:
        pool = client.read_work_pool(WORK_POOL)
    except ObjectNotFound:
        client.create_work_pool(
            WorkPoolCreate(
                name=WORK_POOL, type=POOL_TYPE, base_job_template=template, description=description
            )
        )
        return f"{WORK_POOL} (created)"
    if pool.type != POOL_TYPE:
        from claims_askes.core.errors import ConfigError

        raise ConfigError(
            f"work pool {WORK_POOL!r} exists with type {pool.type!r}; "
            f"this project needs {POOL_TYPE!r} (delete it or rename yours)"
        )
    client.update_work_pool(
        WORK_POOL, WorkPoolUpdate(base_job_template=template, description=description)
    )
    return f"{WORK_POOL} (updated)"


def _ensure_queue(client: Any, spec: QueueSpec) -> str:
    from prefect.exceptions import ObjectNotFound

    try:
        queue = client.read_work_queue_by_name(spec.name, work_pool_name=WORK_POOL)
    except ObjectNotFound:
        client.create_work_queue(
            spec.name,
            description=spec.description,
            concurrency_limit=spec.concurrency_limit,
            priority=spec.priority,
            work_pool_name=WORK_POOL,
        )
    else:
        client.update_work_queue(
            queue.id, concurrency_limit=spec.concurrency_limit, description=spec.description
        )
    limit = "no limit" if spec.concurrency_limit is None else f"limit {spec.concurrency_limit}"
    return f"{spec.name} ({limit})"


def _ensure_limit(client: Any, name: str, limit: int) -> str:
    from prefect.client.schemas.actions import (
        GlobalConcurrencyLimitCreate,
        GlobalConcurrencyLimitUpdate,
    )
    from prefect.exceptions import ObjectNotFound

    try:
        client.read_global_concurrency_limit_by_name(name)
    except ObjectNotFound:
        client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name=name, limit=limit, active=True)
        )
    else:
        client.update_global_concurrency_limit(
            name, GlobalConcurrencyLimitUpdate(limit=limit, active=True)
        )
    return f"{name} ({limit})"


def _ensure_variable(client: Any, name: str, value: str) -> None:
    from prefect.client.schemas.actions import VariableCreate, VariableUpdate

    if client.read_variable_by_name(name) is None:
        client.create_variable(VariableCreate(name=name, value=value))
    else:
        client.update_variable(VariableUpdate(name=name, value=value))


def store_secret_blocks(
    client: Any, variables: Iterable[str], environ: dict[str, str] | None = None
) -> list[str]:
    """One Secret block per variable, from this environment's value (overwritten). All or
    nothing: on a failure, the blocks this call created are deleted and those it overwrote
    get their previous values back, then the error is raised."""
    from prefect.blocks.system import Secret
    from prefect.exceptions import ObjectNotFound

    env = os.environ if environ is None else environ
    previous: dict[str, str | None] = {}  # block -> its value before this call (None: new)
    try:
        for variable in variables:
            name = block_name(variable)
            try:
                previous[name] = read_secret_block(name)
            except ValueError:
                previous[name] = None
            Secret(value=env[variable]).save(name, overwrite=True, _sync=True)  # type: ignore[call-arg]
    except BaseException:
        for name, value in previous.items():
            if value is None:
                try:
                    block = client.read_block_document_by_name(
                        name, "secret", include_secrets=False
                    )
                    client.delete_block_document(block.id)
                except ObjectNotFound:
                    pass
            else:
                Secret(value=value).save(name, overwrite=True, _sync=True)  # type: ignore[call-arg]
        raise
    return list(previous)


def set_up_server(
    *, code_dir: Path = ROOT, timezone: str = "Asia/Jakarta", store_secrets: bool = False
) -> SetupReport:
    """Create or update everything prefect.yaml relies on, on the current PREFECT_API_URL."""
    from prefect.client.orchestration import get_client

    report = SetupReport()
    with get_client(sync_client=True) as client:
        stored = _stored_secrets(client, all_secret_variables())
        to_store = secret_variables() if store_secrets else []
        # The pool first: the server checks its template before any block exists.
        report.work_pool = _ensure_pool(client, [*stored, *to_store])
        try:
            report.secrets = store_secret_blocks(client, to_store)
        except BaseException:
            _ensure_pool(client, stored)
            raise
        report.queues = [_ensure_queue(client, spec) for spec in QUEUES]
        report.limits = [_ensure_limit(client, lim.name, lim.limit) for lim in GLOBAL_LIMITS]
        report.variables = {
            "claims_askes_code_dir": str(code_dir.resolve()),
            "claims_askes_timezone": timezone,
        }
        for name, value in report.variables.items():
            _ensure_variable(client, name, value)
    return report


def add_cross_field_rules(entries: Iterable[DeploymentEntry]) -> list[str]:
    """After `prefect deploy`: add each flow's rules across fields (a shard below the shard
    count) to its deployment's parameter schema, which Prefect builds one field at a time,
    so that the server refuses a run breaking one when it is created. The deployments whose
    schema got rules."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import DeploymentUpdate

    from claims_askes.core.parameters import cross_field_rules

    updated = []
    with get_client(sync_client=True) as client:
        for entry in entries:
            model = getattr(load_flow(entry).fn, "parameters_model", None)
            rules = cross_field_rules(model) if model is not None else []
            if not rules:
                continue
            deployment = client.read_deployment_by_name(f"{entry.name}/{entry.name}")
            schema = dict(deployment.parameter_openapi_schema or {}) | {"allOf": rules}
            client.update_deployment(
                deployment.id, DeploymentUpdate(parameter_openapi_schema=schema)
            )
            updated.append(entry.name)
    return updated
