"""The deployments of `prefect.yaml`, read the way `prefect deploy` reads them.

`claims-askes deploy` and the tests need the same facts about the file: which flows it
deploys, where their code is, on which queue, with which schedules. Reading them here, from
the one file, keeps the file the single source of truth.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from claims_askes.core.errors import ClaimsAskesError

ROOT = Path(__file__).resolve().parent.parent
PREFECT_YAML = ROOT / "prefect.yaml"
WORK_POOL = "claims-askes"


class ProjectFileError(ClaimsAskesError):
    """prefect.yaml is missing, unreadable, or names something that is not there."""


@dataclass(frozen=True)
class DeploymentEntry:
    """One `deployments:` item of prefect.yaml."""

    name: str
    entrypoint: str
    work_pool: str
    work_queue: str
    schedules: list[dict[str, Any]] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    concurrency_limit: int | None = None

    @property
    def path(self) -> Path:
        """The flow's file, relative entrypoints resolved against the repository root."""
        return ROOT / self.entrypoint.rpartition(":")[0]

    @property
    def function(self) -> str:
        return self.entrypoint.rpartition(":")[2]

    @property
    def code_exists(self) -> bool:
        return self.path.is_file()


def _entry(raw: dict[str, Any]) -> DeploymentEntry:
    name = raw.get("name")
    entrypoint = raw.get("entrypoint")
    if not isinstance(name, str) or not isinstance(entrypoint, str) or ":" not in entrypoint:
        raise ProjectFileError(
            f"prefect.yaml: deployment {name!r} needs a name and an "
            "entrypoint 'path/to/file.py:flow_function'"
        )
    pool = raw.get("work_pool") or {}
    limit = raw.get("concurrency_limit")
    return DeploymentEntry(
        name=name,
        entrypoint=entrypoint,
        work_pool=str(pool.get("name", "")),
        work_queue=str(pool.get("work_queue_name") or "default"),
        schedules=list(raw.get("schedules") or []),
        parameters=dict(raw.get("parameters") or {}),
        concurrency_limit=limit.get("limit") if isinstance(limit, dict) else limit,
    )


def read_project(path: Path = PREFECT_YAML) -> list[DeploymentEntry]:
    """Every deployment of the file, in its order (YAML anchors resolved)."""
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ProjectFileError(f"{path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ProjectFileError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("deployments"), list):
        raise ProjectFileError(f"{path}: no 'deployments:' list")
    entries = [_entry(raw) for raw in document["deployments"]]
    names = [e.name for e in entries]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ProjectFileError(f"{path}: deployment names must be unique: {duplicates}")
    return entries


def load_flow(entry: DeploymentEntry) -> Any:
    """The flow the entrypoint names, loaded by Prefect exactly as `prefect deploy` and the
    worker load it (a missing function or a non-flow is an error)."""
    from prefect.flows import load_flow_from_entrypoint

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    try:
        return load_flow_from_entrypoint(f"{entry.path}:{entry.function}")
    except (AttributeError, FileNotFoundError, ImportError, ValueError) as exc:
        raise ProjectFileError(f"{entry.name}: {entry.entrypoint}: {exc}") from None
