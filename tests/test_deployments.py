"""prefect.yaml without a server: every entrypoint is a flow that accepts its parameters,
every schedule parses and fires when the issue says (in Jakarta time), the concurrency rules
are there, and no secret is in the file."""

from __future__ import annotations

import asyncio
import os
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from prefect.flows import Flow
from prefect.server.schemas.schedules import CronSchedule

from claims_askes.core.runtime import TELEMETRY_OFF
from claims_askes.core.settings import SECRET_BLOCKS_VARIABLE
from deployments.project import PREFECT_YAML, WORK_POOL, DeploymentEntry, load_flow, read_project
from deployments.setup import QUEUES, all_secret_variables, block_name, job_template

# Server-independent: not run again in the PostgreSQL 15 pass of dev.py test.
pytestmark = pytest.mark.no_server

ENTRIES = read_project()
JAKARTA = ZoneInfo("Asia/Jakarta")
START = datetime(2026, 1, 20, 12, 7, tzinfo=JAKARTA)  # a Tuesday


def next_dates(schedule: dict[str, Any], n: int = 5) -> list[datetime]:
    """The next n run times after START, computed by the Prefect server's own schedule."""
    parsed = CronSchedule(cron=schedule["cron"], timezone=schedule["timezone"])
    dates = asyncio.run(parsed.get_dates(n=n, start=START))
    return [d.astimezone(JAKARTA) for d in dates]


def _every(minutes: int) -> Any:
    def check(dates: list[datetime]) -> bool:
        return all(
            b - a == timedelta(minutes=minutes) for a, b in zip(dates, dates[1:], strict=False)
        )

    return check


def _daily_at(hour: int, minute: int) -> Any:
    def check(dates: list[datetime]) -> bool:
        return all((d.hour, d.minute) == (hour, minute) for d in dates) and _every(24 * 60)(dates)

    return check


def _weekly(dates: list[datetime]) -> bool:
    return _every(7 * 24 * 60)(dates)


def _monthly_on(day: int | None) -> Any:
    def check(dates: list[datetime]) -> bool:
        months = [(d.year, d.month) for d in dates]
        days = {d.day for d in dates}
        return len(set(months)) == len(dates) and len(days) == 1 and (day is None or days == {day})

    return check


# What the issue asks of each scheduled deployment (Asia/Jakarta wall-clock times).
EXPECTED_SCHEDULES = {
    "claim-adjudication": _every(15),
    "eligibility-sweep": _daily_at(1, 0),
    # the full reconciliation that catches a lost outbox row (issue 15, item 5)
    "accumulator-posting": _daily_at(5, 0),
    "database-backup": _daily_at(2, 30),  # both schedules together: one backup a day
    "partition-maintenance": _monthly_on(25),
    "claim-archiving": _monthly_on(None),
    "database-maintenance": _weekly,
    "database-monitoring": _every(5),
    # the morning dashboard: on the hour, in working hours (07:00-19:00), Monday to Saturday
    "claims-dashboard": lambda dates: all(
        d.minute == 0 and 7 <= d.hour <= 19 and d.weekday() < 6 for d in dates
    ),
    # business days only (Monday to Friday), 10:00: the payment run (issue 16)
    "payment-run": lambda dates: all(
        (d.hour, d.minute) == (10, 0) and d.weekday() < 5 for d in dates
    ),
    # the inbox of bank answers, every half hour of the bank's day, Monday to Saturday
    "bank-response-import": lambda dates: all(
        d.minute in (0, 30) and 7 <= d.hour <= 21 and d.weekday() < 6 for d in dates
    ),
}


def ids(entry: DeploymentEntry) -> str:
    return entry.name


@pytest.mark.parametrize("entry", ENTRIES, ids=ids)
def test_entrypoint_is_a_flow_that_takes_its_parameters(entry: DeploymentEntry) -> None:
    if not entry.code_exists:
        pytest.skip(f"{entry.entrypoint}: the flow's file is not written yet")
    flow = load_flow(entry)
    assert isinstance(flow, Flow), f"{entry.entrypoint} is not a Prefect flow"
    assert entry.name == flow.name, "a deployment is named after its flow"
    # Prefect validates a run's parameters against the signature (the deployment's
    # parameter schema): each name of the file must be the flow's, and a scheduled run
    # (nobody at the UI to fill in the rest) must have every required parameter.
    known = set(flow.parameters.properties)
    for schedule in entry.schedules or [{}]:
        parameters = {**entry.parameters, **schedule.get("parameters", {})}
        assert set(parameters) <= known, set(parameters) - known
        if entry.schedules:
            flow.validate_parameters(parameters)


def test_adjudication_defaults_pass_the_pydantic_model() -> None:
    from schemas.parameters import AdjudicationParameters

    entry = next(e for e in ENTRIES if e.name == "claim-adjudication")
    AdjudicationParameters(**entry.parameters)


@pytest.mark.parametrize("entry", ENTRIES, ids=ids)
def test_schedules_parse_in_jakarta_time(entry: DeploymentEntry) -> None:
    expected = EXPECTED_SCHEDULES.get(entry.name)
    if expected is None:
        assert entry.schedules == [], f"{entry.name} runs ad hoc only"
        return
    assert entry.schedules and all(s["timezone"] == "Asia/Jakarta" for s in entry.schedules)
    dates = sorted(d for s in entry.schedules for d in next_dates(s, 8))[:5]
    assert dates[0] > START and expected(dates), f"{entry.name}: {dates}"


def test_the_restore_drill_is_sundays_backup() -> None:
    backup = next(e for e in ENTRIES if e.name == "database-backup")
    drills = [s for s in backup.schedules if s.get("parameters", {}).get("drill") == "always"]
    (drill,) = drills
    dates = next_dates(drill)
    assert _weekly(dates) and {d.weekday() for d in dates} == {6}  # Sunday
    others = [s for s in backup.schedules if s is not drill]
    assert all(s["parameters"]["drill"] == "never" for s in others)
    assert all(d.weekday() != 6 for s in others for d in next_dates(s, 12))


def test_the_daily_posting_run_reconciles_every_member() -> None:
    """Issue 15, item 5: the reconciliation that catches a lost outbox row runs on a
    schedule; a plain posting run reconciles only the members it posted."""
    posting = next(e for e in ENTRIES if e.name == "accumulator-posting")
    (daily,) = posting.schedules
    assert daily["parameters"] == {"full_reconciliation": True}
    assert _daily_at(5, 0)(next_dates(daily))


def test_every_deployment_is_on_the_pool_and_only_leased_work_runs_in_parallel() -> None:
    assert {e.work_pool for e in ENTRIES} == {WORK_POOL}
    assert {e.work_queue for e in ENTRIES} <= {q.name for q in QUEUES}
    unlimited = {e.name for e in ENTRIES if e.concurrency_limit is None}
    # Adjudication and its shard runs share work through leases; a payment run waiting for
    # an approver is suspended and must not keep the next day's run from preparing its own
    # batches (the flow's advisory lock keeps two from working at the same moment).
    assert unlimited == {"claim-adjudication", "claim-adjudication-shard", "payment-run"}
    assert all(e.concurrency_limit == 1 for e in ENTRIES if e.name not in unlimited)
    # Backups and restores share the queue whose limit is 1: they never overlap.
    together = {e.name for e in ENTRIES if e.work_queue == "backup-restore"}
    assert together == {"database-backup", "database-restore"}
    assert next(q for q in QUEUES if q.name == "backup-restore").concurrency_limit == 1


def test_no_secret_in_the_file() -> None:
    text = PREFECT_YAML.read_text()
    assert not re.search(r"postgres(ql)?(\+\w+)?://", text)
    for variable in all_secret_variables():
        value = os.environ.get(variable)
        assert not value or value not in text, variable
    document = yaml.safe_load(text)
    for raw in document["deployments"]:
        env = (raw.get("work_pool") or {}).get("job_variables", {}).get("env", {})
        for key, value in env.items():
            assert "PASSWORD" not in key and "URL" not in key, key
            assert isinstance(value, str) and value.startswith("{{"), (raw["name"], key)
    (pull,) = document["pull"]
    step = pull["prefect.deployments.steps.set_working_directory"]
    assert step["directory"] == "{{ prefect.variables.claims_askes_code_dir }}"


def test_stored_secrets_reach_runs_by_name_only() -> None:
    """Issue 18, part 1: the pool's template names the stored blocks and holds no
    placeholder (Prefect 3.9 refused `{{ prefect.blocks.secret.* }}` there with a 422)."""
    from prefect.workers.process import ProcessJobConfiguration

    template = job_template(["DATABASE_URL", "CLAIMS_DB_PASSWORD"])
    env = template["job_configuration"]["env"]
    assert env == {
        SECRET_BLOCKS_VARIABLE: "CLAIMS_DB_PASSWORD,DATABASE_URL",
        **TELEMETRY_OFF,
    }
    assert block_name("REPORTING_DB_PASSWORD") == "claims-askes-reporting-db-password"
    assert job_template([])["job_configuration"]["env"] == TELEMETRY_OFF
    # A run of the pool gets the names, the telemetry switch and its deployment's own env.
    config: Any = asyncio.run(
        ProcessJobConfiguration.from_template_and_values(
            template, {"env": {"CLAIMS_ASKES_TIMEZONE": "Asia/Jakarta"}}
        )
    )
    assert config.env[SECRET_BLOCKS_VARIABLE] == "CLAIMS_DB_PASSWORD,DATABASE_URL"
    assert config.env["DO_NOT_TRACK"] == "1"
    assert config.env["CLAIMS_ASKES_TIMEZONE"] == "Asia/Jakarta"


def test_a_run_asks_for_no_block_its_environment_already_has() -> None:
    from claims_askes.core.errors import ConfigError
    from claims_askes.core.settings import secrets_from_blocks

    listed = {SECRET_BLOCKS_VARIABLE: "DATABASE_URL, CLAIMS_DB_PASSWORD"}
    # Both set: no Prefect server is asked (none is configured in this test).
    full = {**listed, "DATABASE_URL": "postgresql://x", "CLAIMS_DB_PASSWORD": "pw"}
    assert secrets_from_blocks(full) == {}
    assert secrets_from_blocks({}) == {}
    with pytest.raises(ConfigError, match="HOME is not a database secret"):
        secrets_from_blocks({SECRET_BLOCKS_VARIABLE: "DATABASE_URL,HOME"})


def test_runs_of_the_pool_have_telemetry_off_and_keep_the_deployments_env() -> None:
    from prefect.workers.process import ProcessJobConfiguration

    template = job_template([])
    config: Any = asyncio.run(
        ProcessJobConfiguration.from_template_and_values(
            template, {"env": {"CLAIMS_ASKES_TIMEZONE": "Asia/Jakarta"}}
        )
    )
    assert config.env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert config.env["DO_NOT_TRACK"] == "1"
    assert config.env["CLAIMS_ASKES_TIMEZONE"] == "Asia/Jakarta"
    assert SECRET_BLOCKS_VARIABLE not in config.env


def test_a_bad_file_is_one_clear_error(tmp_path: Any) -> None:
    from deployments.project import ProjectFileError

    bad = tmp_path / "prefect.yaml"
    bad.write_text("deployments:\n  - name: x\n    entrypoint: flows/x.py\n")
    with pytest.raises(ProjectFileError, match="needs a name and an entrypoint"):
        read_project(bad)
    bad.write_text("deployments: [\n")
    with pytest.raises(ProjectFileError, match="not valid YAML"):
        read_project(bad)
