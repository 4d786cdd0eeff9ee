"""Facts about the running flow."""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

#: Seconds Prefect's local (ephemeral) API may take to start. Prefect's default, 20, is too
#: short on a busy 2-core machine: `claims-askes run ...` and the benchmarks then failed with
#: "Timed out while attempting to connect to ephemeral Prefect API server" before any flow ran.
LOCAL_API_STARTUP_SECONDS = 120
_STARTUP_VARIABLE = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"


def current_flow_run_id() -> uuid.UUID:
    """The Prefect flow run's id (a fresh id outside a flow run, e.g. in a plain call)."""
    from prefect.runtime import flow_run

    run_id = flow_run.id
    return uuid.UUID(str(run_id)) if run_id else uuid.uuid4()


#: Prefect's telemetry, off unless the user turns it on: an insurer's batch machines send
#: nothing out, and the local API's telemetry service, writing to Prefect's SQLite file while
#: a flow does, printed a 100-line `sqlite3.OperationalError: database is locked` traceback
#: in the middle of the main job's output, though nothing had failed.
TELEMETRY_OFF = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}


def telemetry_off() -> None:
    """Turn Prefect's telemetry off for this process and those it starts (the local API
    server inherits the environment), keeping any value the user set."""
    for name, value in TELEMETRY_OFF.items():
        os.environ.setdefault(name, value)


@contextmanager
def patient_local_api() -> Iterator[None]:
    """Within the block, Prefect's local API gets LOCAL_API_STARTUP_SECONDS to start, unless
    the user chose a time (the environment variable, or a Prefect profile's setting); its
    telemetry is off (`telemetry_off`)."""
    telemetry_off()
    from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS as setting
    from prefect.settings import temporary_settings

    chosen = _STARTUP_VARIABLE in os.environ or setting.value() != setting.default()
    if chosen:
        yield
        return
    with temporary_settings({setting: LOCAL_API_STARTUP_SECONDS}):
        yield


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


@contextmanager
def quiet_console(level: int = logging.WARNING) -> Iterator[None]:
    """Within the block, Prefect's console shows only warnings and errors: the main job
    prints its own progress and results, while every run's full log still goes to Prefect's
    API (its UI shows them). A user who asked for Prefect's console level keeps it."""
    variable = "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"
    if variable in os.environ:
        yield
        return
    os.environ[variable] = logging.getLevelName(level)  # for logging set up from now on
    import prefect.main  # noqa: F401 - sets up Prefect's logging if nothing has yet
    from prefect.logging.handlers import PrefectConsoleHandler

    handlers = {
        handler
        for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
        if isinstance(logger, logging.Logger)
        for handler in logger.handlers
        if isinstance(handler, PrefectConsoleHandler)
    }
    before = {handler: handler.level for handler in handlers}
    for handler in handlers:
        handler.setLevel(max(level, handler.level))
    try:
        yield
    finally:
        del os.environ[variable]
        for handler, old in before.items():
            handler.setLevel(old)
