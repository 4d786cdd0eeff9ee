"""Issue 15, item 9: terminal injection. Arguments and data reach the terminal as text:
rich markup in them is shown, not interpreted (nor a crash), escape sequences and other
control characters never reach the terminal, and a validation message keeps its brackets.

Each test runs the real command line (typer's runner, the app's own consoles) against a
real database, as an operator would."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from claims_askes.cli.app import app
from claims_askes.core.settings import reset_settings
from schemas.ops import BACKUP_ID, DATABASE_NAME
from tests.conftest import TestDatabase
from tests.scenario import Line, Scenario

ESC = "\x1b"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})


def one_error_line(result: Result) -> str:
    """The only line the command printed, an `error:` line, with exit code 2."""
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: "), result.output
    return lines[0]


def hostile_claim(db: TestDatabase) -> str:
    """A claim whose number holds markup and whose data holds markup and escape sequences,
    as a compromised or careless intake would store them."""
    with db.admin() as conn:
        s = Scenario(conn)
        plan = s.plan("PLAN-INJECT")
        s.benefit(plan, "OP_GP", copay_amount=25_000)
        number = s.claim(
            s.member(plan),
            s.provider(),
            date(2026, 1, 10),
            [Line("OP_GP", 200_000), Line("OP_GP", 90_000)],
        )
        hostile = "CLM-[/]<b>"
        conn.execute(
            "UPDATE claims_service.claim SET claim_number = %s WHERE claim_number = %s",
            (hostile, number),
        )
        conn.execute(
            "UPDATE claims_service.claim_item AS ci SET benefit_code = %s "
            "FROM claims_service.claim AS c "
            "WHERE c.id = ci.claim_id AND c.claim_number = %s AND ci.line_number = 1",
            (f"{ESC}[31m{ESC}]0;pwned{chr(7)}[red]OP_GP{ESC}[0m", hostile),
        )
        conn.execute(
            "UPDATE claims_service.claim_item AS ci SET benefit_code = %s "
            "FROM claims_service.claim AS c "
            "WHERE c.id = ci.claim_id AND c.claim_number = %s AND ci.line_number = 2",
            ("\u202eLAB[/red]", hostile),
        )
    return hostile


def test_markup_in_an_argument_is_one_error_line_with_the_argument(db: TestDatabase) -> None:
    line = one_error_line(invoke("eob", "[/]"))
    assert line == "error: no claim '[/]'"
    line = one_error_line(invoke("eob", "[bold red]x[/]"))
    assert line == "error: no claim '[bold red]x[/]'"


def test_markup_and_escape_sequences_in_data_are_shown_as_text(db: TestDatabase) -> None:
    number = hostile_claim(db)
    result = invoke("eob", number)
    assert result.exit_code == 0, result.output
    assert ESC not in result.output and "\x07" not in result.output
    assert "\u202e" not in result.output
    assert f"Explanation of benefits {number}" in result.output
    # The benefit codes without their control characters, their brackets shown.
    assert "[31m]0;pwned[red]OP_GP[0m" in result.output
    assert "LAB[/red]" in result.output


def test_validation_messages_keep_their_bracketed_text(db: TestDatabase) -> None:
    line = one_error_line(
        invoke("run", "database-restore", "nope", "--target-database", "restored")
    )
    assert line == f"error: --backup-id: String should match pattern '{BACKUP_ID}'"
    line = one_error_line(
        invoke(
            "run",
            "database-restore",
            "full-20260101T000000Z-abcdef",
            "--target-database",
            "Bad-Name",
        )
    )
    assert line == f"error: --target-database: String should match pattern '{DATABASE_NAME}'"
    assert "'^[a-z_][a-z0-9_]{0,62}$'" in line


def test_an_error_naming_data_shows_its_control_characters_escaped(
    db: TestDatabase, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CLAIMS_ASKES_BACKUP_DIR", str(tmp_path / "backups"))
    reset_settings()
    line = one_error_line(invoke("backup", "verify", f"{ESC}[2J[/]"))
    assert line == "error: '\\x1b[2J[/]' is not a backup id"
