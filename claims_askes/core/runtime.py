"""Facts about the running flow."""

from __future__ import annotations

import ctypes
import importlib.abc
import importlib.machinery
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import types
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

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
    telemetry is off (`telemetry_off`) and it dies with this process (`local_api_dies_with_run`)."""
    telemetry_off()
    local_api_dies_with_run()
    from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS as setting
    from prefect.settings import temporary_settings

    chosen = _STARTUP_VARIABLE in os.environ or setting.value() != setting.default()
    if chosen:
        yield
        return
    with temporary_settings({setting: LOCAL_API_STARTUP_SECONDS}):
        yield


#: Prefect's local API server (uvicorn) is started by this module, in a process of its own.
_PREFECT_SERVER_MODULE = "prefect.server.api.server"
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def local_api_dies_with_run() -> None:
    """Make Prefect's temporary local API server (uvicorn, started by `SubprocessASGIServer`
    in a process of its own) get SIGKILL when this process ends, however it ends: a run
    killed with SIGKILL otherwise leaves it running, an orphan, for ever.

    Prefect starts it with `subprocess.Popen`, looked up in its server module's `subprocess`;
    that name, in that module only, becomes `subprocess` with a `Popen` that sets the
    child's parent-death signal (`popen_dying_with_run`). The module takes 2 s to import, so
    it is not imported here: it is changed as soon as Prefect imports it. Idempotent; for
    the rest of the process. Linux only (elsewhere nothing changes)."""
    if not sys.platform.startswith("linux"):
        return
    module = sys.modules.get(_PREFECT_SERVER_MODULE)
    if module is not None:
        _children_die_with_run(module)
    elif not any(isinstance(finder, _DieWithRunOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _DieWithRunOnImport())


class _SubprocessDyingWithRun(types.ModuleType):
    """`subprocess`, but a process started with `Popen` dies with this one."""

    def __getattr__(self, name: str) -> Any:
        return getattr(subprocess, name)

    @staticmethod
    def Popen(*args: Any, **kwargs: Any) -> subprocess.Popen[Any]:
        return popen_dying_with_run(*args, **kwargs)


def _children_die_with_run(module: types.ModuleType) -> None:
    if not isinstance(getattr(module, "subprocess", None), _SubprocessDyingWithRun):
        module.subprocess = _SubprocessDyingWithRun("subprocess")  # type: ignore[attr-defined]


class _DieWithRunOnImport(importlib.abc.MetaPathFinder):
    """Changes Prefect's server module (`_children_die_with_run`) once it is imported: the
    spec is the other finders', its loader wrapped to do so after executing the module."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _PREFECT_SERVER_MODULE:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _PatchingLoader(spec.loader)
                return spec
        return None


class _PatchingLoader(importlib.abc.Loader):
    """A module's own loader, then `_children_die_with_run` (anything else, e.g. the
    source for tracebacks, is the wrapped loader's)."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        self._loader.exec_module(module)
        _children_die_with_run(module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


def popen_dying_with_run(*args: Any, **kwargs: Any) -> subprocess.Popen[Any]:
    """`subprocess.Popen`, the child getting SIGKILL when this process ends (Linux's
    PR_SET_PDEATHSIG, set in the child before it runs the program). The signal follows the
    *thread* that forked, not the process, and Prefect may start its server from a thread
    that ends (its events or log worker), so the fork is made by a thread that lives as
    long as the process (`_spawner`)."""
    if kwargs.get("preexec_fn") is not None:
        return subprocess.Popen(*args, **kwargs)
    parent = os.getpid()
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved here, not after the fork

    def die_with_parent() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the signal was set
            os._exit(1)

    kwargs["preexec_fn"] = die_with_parent
    return _spawner().call(lambda: subprocess.Popen(*args, **kwargs))


class _Spawner:
    """A daemon thread, alive until the process ends, that runs the calls given to it."""

    def __init__(self) -> None:
        self._calls: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="claims-askes-spawner", daemon=True).start()

    def call(self, fn: Callable[[], T]) -> T:
        future: Future[T] = Future()
        self._calls.put((fn, future))
        return future.result()

    def _serve(self) -> None:
        while True:
            fn, future = self._calls.get()
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the caller
                future.set_exception(exc)


_spawner_lock = threading.Lock()
_spawners: list[_Spawner] = []


def _spawner() -> _Spawner:
    with _spawner_lock:
        if not _spawners:
            _spawners.append(_Spawner())
        return _spawners[0]


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
