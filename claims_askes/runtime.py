"""Facts about the running flow."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


def current_flow_run_id() -> uuid.UUID:
    """The Prefect flow run's id (a fresh id outside a flow run, e.g. in a plain call)."""
    from prefect.runtime import flow_run

    run_id = flow_run.id
    return uuid.UUID(str(run_id)) if run_id else uuid.uuid4()


@dataclass
class Stopwatch:
    """Seconds spent per step, summed over chunks: where a run's time goes (summary, bench)."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    def merge(self, other: Stopwatch) -> None:
        for step, seconds in other.seconds.items():
            self.seconds[step] = self.seconds.get(step, 0.0) + seconds
