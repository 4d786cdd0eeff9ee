"""Issue 15, item 11: a reviewer's identity is not only free text. Beside the name given
with `--by`, the database records the login of the connection that wrote the override (its
session user), whatever the writer sends; the override's and the EOB's output show both.
Item 14 (second half): a reviewer's note and name keep only printable text."""

from __future__ import annotations

from datetime import date

import pytest
from typer.testing import CliRunner

from claims_askes.cli.app import app
from claims_askes.db.connections import service_connection
from tests.conftest import TestDatabase
from tests.scenario import Line, Scenario

ESC = "\x1b"


def submitted_claim(db: TestDatabase) -> str:
    with db.admin() as conn:
        s = Scenario(conn)
        plan = s.plan("PLAN-IDENTITY")
        s.benefit(plan, "OP_GP", copay_amount=25_000)
        return s.claim(
            s.member(plan),
            s.provider(),
            date(2026, 1, 10),
            [Line("OP_GP", 200_000), Line("OP_GP", 90_000)],
        )


def claims_login() -> str:
    """The login the claims service authenticates as in this configuration."""
    with service_connection("claims") as conn:
        row = conn.execute("SELECT session_user").fetchone()
    assert row is not None
    return str(row[0])


def stored(db: TestDatabase, number: str, line: int) -> tuple[str, str | None, str]:
    with db.admin() as conn:
        row = conn.execute(
            "SELECT o.overridden_by, o.overridden_login, o.note "
            "FROM claims_service.claim_item_override AS o "
            "JOIN claims_service.claim_item AS ci ON ci.id = o.claim_item_id "
            "JOIN claims_service.claim AS c ON c.id = ci.claim_id "
            "WHERE c.claim_number = %s AND ci.line_number = %s",
            (number, line),
        ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


def test_the_login_that_wrote_an_override_is_recorded_and_shown(db: TestDatabase) -> None:
    number = submitted_claim(db)
    login = claims_login()
    result = CliRunner().invoke(
        app,
        ["override", number, "1", "--approve", "150000", "--note", "agreed", "--by", "postgres"],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == 0, result.output
    # The name given is a display name; the login is the database's word, not ours.
    assert stored(db, number, 1) == ("postgres", login, "agreed")
    assert login != "postgres"
    assert f"override recorded on {number} line 1 by postgres (login {login})" in result.output
    assert "override of line 1: approved Rp 150.000,00 by postgres (login " + login in (
        result.output
    )
    shown = CliRunner().invoke(app, ["eob", number], env={"COLUMNS": "250"})
    assert shown.exit_code == 0, shown.output
    assert f"by postgres (login {login})" in shown.output


def test_a_writer_cannot_choose_the_recorded_login(db: TestDatabase) -> None:
    """As the claims role itself, straight SQL: the login sent is replaced by the session
    user on insert and on any change of the decision."""
    number = submitted_claim(db)
    with db.as_role("claims_service_user") as conn:
        line_id = conn.execute(
            "SELECT ci.id FROM claims_service.claim_item AS ci JOIN claims_service.claim AS c "
            "ON c.id = ci.claim_id WHERE c.claim_number = %s AND ci.line_number = 2",
            (number,),
        ).fetchone()
        assert line_id is not None
        conn.execute(
            "INSERT INTO claims_service.claim_item_override (claim_item_id, decision, "
            "reason_code, note, overridden_by, overridden_login) "
            "VALUES (%s, 'reject', 'EXCLUDED', 'forged', 'dr.ani', 'postgres')",
            (line_id[0],),
        )
        assert stored(db, number, 2)[1] == "claims_service_user"
        conn.execute(
            "UPDATE claims_service.claim_item_override SET overridden_login = 'postgres', "
            "note = 'forged again' WHERE claim_item_id = %s",
            (line_id[0],),
        )
        assert stored(db, number, 2)[1] == "claims_service_user"
    # The owner writing it is recorded as the owner: the session user, whoever it is.
    with db.admin() as conn:
        owner = conn.execute("SELECT session_user").fetchone()
        conn.execute(
            "UPDATE claims_service.claim_item_override SET note = 'by the owner' "
            "WHERE claim_item_id = %s",
            (line_id[0],),
        )
    assert owner is not None and stored(db, number, 2)[1] == owner[0]


def test_notes_and_names_keep_only_printable_text(db: TestDatabase) -> None:
    number = submitted_claim(db)
    note = f"copay waived{ESC}[2J{ESC}]0;title\x07\n\tby\u202e phone [red]call[/]\x00"
    result = CliRunner().invoke(
        app,
        ["override", number, "1", "--approve", "190000", "--note", note, "--by", f"dr{ESC}[8m.ani"],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == 0, result.output
    by, _, kept = stored(db, number, 1)
    assert kept == "copay waived[2J]0;title by phone [red]call[/]"
    assert by == "dr[8m.ani"
    assert ESC not in result.output
    assert "phone [red]call[/]" in result.output


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--note", f"{ESC}\x07 \n"], "error: --note: say why, in words"),
        (["--note", "ok", "--by", f"{ESC}\x07\u202e"], "error: --by: a name of 1 to 100"),
        (["--note", "ok", "--by", "x" * 101], "error: --by: a name of 1 to 100"),
    ],
)
def test_a_note_or_name_with_nothing_printable_is_refused(
    db: TestDatabase, options: list[str], message: str
) -> None:
    number = submitted_claim(db)
    result = CliRunner().invoke(app, ["override", number, "1", "--approve", "1", *options])
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert result.output.startswith(message), result.output
    with pytest.raises(AssertionError):
        stored(db, number, 1)


def test_the_column_is_archived_with_the_override(db: TestDatabase) -> None:
    """archive_claim_records moves the source's columns by name: the archive has it too."""
    with db.admin() as conn:
        columns = {
            (r[0], r[1])
            for r in conn.execute(
                "SELECT table_schema, data_type FROM information_schema.columns "
                "WHERE table_name = 'claim_item_override' AND column_name = 'overridden_login'"
            )
        }
    assert columns == {("claims_service", "text"), ("archive", "text")}
