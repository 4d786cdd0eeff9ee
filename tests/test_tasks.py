"""Every task of the project runs without Prefect's input cache: tasks read and write the
database, so a result is never reused from inputs alone, and hashing inputs of 200k-row
frames cost seconds per call (found in posting: most of its 'mark posted' step)."""

from __future__ import annotations

import importlib
import pkgutil

from prefect import Task
from prefect.cache_policies import NO_CACHE

import tasks


def project_tasks() -> dict[str, Task]:
    found = {}
    for module_info in pkgutil.iter_modules(tasks.__path__):
        module = importlib.import_module(f"tasks.{module_info.name}")
        for name, value in vars(module).items():
            if isinstance(value, Task) and value.fn.__module__ == module.__name__:
                found[f"{module.__name__}.{name}"] = value
    return found


def test_no_task_hashes_its_inputs_for_a_cache() -> None:
    found = project_tasks()
    assert len(found) > 40
    cached = sorted(name for name, t in found.items() if t.cache_policy is not NO_CACHE)
    assert cached == []
