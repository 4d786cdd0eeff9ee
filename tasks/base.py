"""The project's task decorator: every task of tasks/ and flows/ is declared with it.

``batch_task`` is Prefect's ``task`` with the project's defaults:

- no input cache (``cache_policy=NO_CACHE``, not overridable): tasks read and write the
  database, so a result is never reused from inputs alone, and hashing the inputs of
  200k-row frames costs seconds per call;
- no retries unless the task says so (``retries=...``): pass them only where running the
  task again after a failure is safe (idempotent, no partial effect left behind).

Every other option of ``prefect.task`` (name, task_run_name, retries, retry_delay_seconds,
timeout_seconds, tags, ...) is passed through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from prefect import Task, task
from prefect.cache_policies import NO_CACHE

P = ParamSpec("P")
R = TypeVar("R")

#: options batch_task sets itself: a task may not ask for others
FIXED_OPTIONS = ("cache_policy", "cache_key_fn", "cache_expiration", "refresh_cache")


def batch_task(
    *, name: str | None = None, **options: Any
) -> Callable[[Callable[P, R]], Task[P, R]]:
    """``@batch_task(name=..., ...)``: a Prefect task with the project's defaults."""
    fixed = sorted(set(options) & set(FIXED_OPTIONS))
    if fixed:
        raise TypeError(
            f"batch_task sets the cache itself (no input cache), not "
            f"{', '.join(fixed)}: see tasks.base"
        )

    def decorate(fn: Callable[P, R]) -> Task[P, R]:
        return task(name=name, cache_policy=NO_CACHE, **options)(fn)

    return decorate
