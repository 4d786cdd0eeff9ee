"""Prefect's local API is given time to start on a busy machine, unless the user chose."""

from __future__ import annotations

import os

import pytest
from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS as startup
from prefect.settings import temporary_settings

from claims_askes.core.runtime import LOCAL_API_STARTUP_SECONDS, patient_local_api

VARIABLE = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"


def test_the_local_api_gets_longer_than_prefects_default_to_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(VARIABLE, raising=False)
    assert startup.value() == startup.default() == 20
    with patient_local_api():
        assert startup.value() == LOCAL_API_STARTUP_SECONDS == 120
    assert startup.value() == 20


def test_a_startup_time_chosen_in_a_prefect_profile_is_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(VARIABLE, raising=False)
    with temporary_settings({startup: 45}), patient_local_api():
        assert startup.value() == 45


def test_a_startup_time_chosen_in_the_environment_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    # Even Prefect's own 20, when the user set it: the variable is the user's choice.
    monkeypatch.setenv(VARIABLE, "20")
    with patient_local_api():
        assert startup.value() == 20


def test_prefect_telemetry_is_off_unless_the_user_turned_it_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from claims_askes.core.runtime import TELEMETRY_OFF

    for name in TELEMETRY_OFF:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DO_NOT_TRACK", "0")  # the user's choice is kept
    with patient_local_api():
        pass
    assert os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert os.environ["DO_NOT_TRACK"] == "0"


def test_the_installed_command_runs_main_with_the_patient_local_api() -> None:
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "claims-askes"]
    assert script.value == "claims_askes.cli:main"
    from claims_askes.cli import main

    assert script.load() is main


QUIET_RUN = """
from prefect import flow, get_run_logger
from claims_askes.core.runtime import quiet_console

@flow(name="quiet-check")
def talk() -> None:
    get_run_logger().info("an INFO line of the run")
    get_run_logger().warning("a WARNING line of the run")

if {quiet}:
    with quiet_console():
        talk()
else:
    talk()
"""


@pytest.mark.parametrize("quiet", [True, False])
def test_the_main_jobs_console_shows_warnings_not_prefects_info(
    prefect_api: str, quiet: bool
) -> None:
    """The main job prints its own progress; Prefect's per-task INFO lines (a hundred of them)
    stay in the run's log in Prefect, while warnings still reach the terminal."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"}
    env["PREFECT_API_URL"] = prefect_api
    done = subprocess.run(
        [sys.executable, "-c", QUIET_RUN.format(quiet=quiet)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    output = done.stdout + done.stderr
    assert "a WARNING line of the run" in output
    assert ("an INFO line of the run" in output) is not quiet
    assert ("Finished in state Completed" in output) is not quiet
