"""Issue 15, item 10: a number the program cannot hold is one line naming the option (exit
code 2), never a traceback: amounts that are not finite or do not fit (`--approve 1e30`,
`NaN`, `Infinity`) and ages that reach before the year 1 or past any date
(`--older-than 3000y`, `99999999999999999999d`).

The commands run for real against a real database (and Prefect's API for the flows), where
the values used to get through to a traceback."""

from __future__ import annotations

from datetime import date

import pytest
from typer.testing import CliRunner, Result

from claims_askes.cli.app import app
from tests.conftest import TestDatabase
from tests.scenario import Line, Scenario


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})


def one_error_line(result: Result, option: str) -> str:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"error: {option}: "), result.output
    return lines[0]


def submitted_claim(db: TestDatabase) -> str:
    with db.admin() as conn:
        s = Scenario(conn)
        plan = s.plan("PLAN-NUMBERS")
        s.benefit(plan, "OP_GP", copay_amount=25_000)
        return s.claim(s.member(plan), s.provider(), date(2026, 1, 10), [Line("OP_GP", 200_000)])


@pytest.mark.parametrize(
    "amount", ["1e30", "NaN", "nan", "-NaN", "sNaN", "Infinity", "-Infinity", "inf", "1e-30"]
)
def test_an_amount_that_is_no_amount_is_one_line(db: TestDatabase, amount: str) -> None:
    number = submitted_claim(db)
    result = invoke("override", number, "1", "--approve", amount, "--note", "reviewed")
    line = one_error_line(result, "--approve")
    assert repr(amount) in line
    assert db.scalar("SELECT count(*) FROM claims_service.claim_item_override") == 0


@pytest.mark.parametrize(
    ("command", "option", "age"),
    [
        ("claim-archiving", "--older-than", "3000y"),
        ("claim-archiving", "--older-than", "99999999999999999999d"),
        ("claim-archiving", "--older-than", "99999999999w"),
        ("claim-archiving", "--older-than", "25000m"),
        ("database-monitoring", "--archive-older-than", "3000y"),
        ("database-monitoring", "--archive-older-than", "99999999999999999999d"),
    ],
)
def test_an_age_past_any_date_is_one_line(
    db: TestDatabase, prefect_api: str, command: str, option: str, age: str
) -> None:
    result = invoke("run", command, option, age, "--as-of", "2026-01-10")
    line = one_error_line(result, option)
    assert f"{age!r} is too old: at most" in line


def test_the_oldest_age_allowed_still_runs(db: TestDatabase, prefect_api: str) -> None:
    result = invoke(
        "run", "claim-archiving", "--older-than", "200y", "--as-of", "2026-01-10", "--json"
    )
    assert result.exit_code == 0, result.output
    assert '"cutoff":"1826-01-10"' in result.output
