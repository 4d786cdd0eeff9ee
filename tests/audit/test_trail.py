"""`claims-askes audit trail` on one claim touched by every kind of write (tests/audit/story.py):
submission, a pend and its release, a reviewer's override, a DBA's manual UPDATE,
re-adjudications with their reversals, payments paid by the bank, archiving.

The story runs twice from the same submitted claim: as it runs (batch writes registered:
statement audit) and in a copy whose statement audit the owner switched off for the test (no
decision in audit.statement_audit: everything row-audited, as tests/test_audit.py does). The
copy's row audit is what was written at each version; the trail of the first run, which has
no per-row content for its batch writes, must show exactly those versions, none missing."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from psycopg.types.json import set_json_loads
from typer.testing import CliRunner

from claims_askes.audit.trail import Event, contents, masked
from claims_askes.cli.app import app
from tests.audit.story import MANUAL_EDIT, Story, archive_story, build_story, run_story
from tests.conftest import Cluster, TestDatabase, fresh_database, terminal_width

#: values that are the run's own (times, generated ids, runs, bank references): two runs of
#: one story differ in them, so versions are compared without them
VOLATILE = {
    "id", "created_at", "updated_at", "changed_at", "adjudicated_at", "flow_run_id",
    "adjudication_run_id", "last_updated", "settled_at", "superseded_at", "superseded_by_run",
    "lease_owner", "lease_expires_at", "overridden_at", "claim_payment_id", "batch_id",
    "readjustment_id", "settlement_reference", "reference_number", "end_to_end_id",
    "bank_status_time", "claim_synced_at", "hold_reason",
}  # fmt: skip
#: the tables whose versions the trail shows, and whose rows keep their ids in both runs
TABLES = {
    "claims_service": ("claim", "claim_item", "claim_status_history", "claim_payment",
                       "claim_readjustment", "claim_item_override", "claim_note"),
    "payment_service": ("payment",),
}  # fmt: skip
STABLE_IDS = {"claims_service.claim", "claims_service.claim_item"}


def trail(number: str, *options: str) -> list[dict[str, Any]]:
    """The trail as `--json` prints it."""
    result = CliRunner().invoke(app, ["audit", "trail", number, "--json", *options])
    assert result.exit_code == 0, result.output
    entries = json.loads(result.output)
    assert isinstance(entries, list)
    return entries


def normal(content: dict[str, Any] | None) -> str | None:
    """A version's content without what differs between two runs, as canonical JSON."""
    if content is None:
        return None
    return json.dumps({k: v for k, v in content.items() if k not in VOLATILE}, sort_keys=True)


def shape(entry: dict[str, Any]) -> tuple[Any, ...]:
    """What an entry says, without the run's own values: comparable across the two runs."""
    changes = {k: v for k, v in entry["changes"].items() if k not in VOLATILE}
    return (entry["table"], entry["subject"], entry["kind"], entry["operation"],
            entry["version"], entry["login"], entry["person"], entry["flow_name"],
            json.dumps(changes, sort_keys=True), normal(entry["content"]))  # fmt: skip


def written(db: TestDatabase) -> dict[str, Any]:
    """What row audit recorded as written, per table (per row for the tables whose ids are the
    same in both runs): each INSERT's and UPDATE's new content, in order."""
    out: dict[str, Any] = {}
    with db.admin() as conn:
        set_json_loads(partial(json.loads, parse_float=Decimal), conn)
        for schema, tables in TABLES.items():
            for schema_name, table, row_id, data in conn.execute(
                "SELECT schema_name, table_name, row_id, new_data FROM audit.audit_log "
                "WHERE schema_name = %s AND table_name = ANY(%s) "
                "AND operation IN ('INSERT', 'UPDATE') ORDER BY id",
                (schema, list(tables)),
            ).fetchall():
                key = f"{schema_name}.{table}"
                text = normal(json.loads(json.dumps(data, default=str)))
                if key in STABLE_IDS:
                    out.setdefault(key, {}).setdefault(row_id, []).append(text)
                else:
                    out.setdefault(key, Counter())[text] += 1
    return out


def shown(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The same, from a trail: the content of each INSERT and UPDATE version it shows."""
    out: dict[str, Any] = {}
    for e in entries:
        if e["operation"] not in ("INSERT", "UPDATE"):
            continue
        text = normal(e["content"])
        if e["table"] in STABLE_IDS:
            out.setdefault(e["table"], {}).setdefault(e["row_id"], []).append(text)
        else:
            out.setdefault(e["table"], Counter())[text] += 1
    return out


@dataclass
class Histories:
    story: Story
    live: list[dict[str, Any]]  # statement audit on, before archiving
    archived: list[dict[str, Any]]  # statement audit on, after archiving
    copy_archived: list[dict[str, Any]]  # statement audit off, after archiving
    copy_written: dict[str, Any]  # what the copy's row audit recorded
    statement_lines: int  # claim_item updates the first run recorded per statement


@pytest.fixture(scope="module")
def histories(
    cluster: Cluster, template_db: str, prefect_api: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Histories]:
    with fresh_database(cluster, template_db) as db:
        with db.admin() as conn:
            story = build_story(conn)
        with fresh_database(cluster, db.name) as copy:
            with copy.admin() as conn:
                conn.execute("DELETE FROM audit.statement_audit")  # the owner's test-only switch
            run_story(story, tmp_path_factory.mktemp("copy"))
            archive_story()
            copy_archived = trail(story.claim_number)
            copy_written = written(copy)
            assert copy.scalar("SELECT count(*) FROM audit.statement_log") == 0
        run_story(story, tmp_path_factory.mktemp("run"))
        live = trail(story.claim_number)
        archive_story()
        archived = trail(story.claim_number)
        lines = db.scalar(
            "SELECT count(*) FROM audit.statement_log_rows WHERE table_name = 'claim_item' "
            "AND operation = 'UPDATE'"
        )
        yield Histories(story, live, archived, copy_archived, copy_written, int(str(lines)))


def test_every_kind_of_write_is_a_version_of_line_1(histories: Histories) -> None:
    line_1 = [e for e in histories.archived if e["line"] == 1]
    kinds = [e["kind"] for e in line_1]
    assert {"submission", "pend", "adjudication", "override", "re-adjudication", "manual edit",
            "posting", "reversal", "archiving"} <= set(kinds)  # fmt: skip
    claim_kinds = {e["kind"] for e in histories.archived if e["subject"] == "claim"}
    assert {"submission", "pend", "payment", "readjustment", "archiving"} <= claim_kinds
    # the line's decisions, in order, as they were made
    decided = [
        (e["version"], e["kind"], e["content"]["status"], e["content"]["reason_code"],
         e["content"]["approved_amount"], e["content"]["diagnosis_code"])
        for e in line_1 if e["table"] == "claims_service.claim_item" and e["content"]
    ]  # fmt: skip
    assert decided == [
        (0, "submission", "submitted", None, None, "J06.9"),
        (1, "pend", "pended", "PREAUTH_PENDING", "0.00", "J06.9"),
        (2, "adjudication", "approved", "COINSURANCE", "280000.00", "J06.9"),
        (3, "re-adjudication", "approved", None, "300000.00", "J06.9"),  # the override's
        (3, "manual edit", "approved", None, "300000.00", "J20.9"),
        (4, "re-adjudication", "approved", None, "300000.00", "J20.9"),
    ]
    manual = next(e for e in line_1 if e["kind"] == "manual edit")
    assert manual["changes"] == {"diagnosis_code": {"before": "J06.9", "after": "J20.9"}}
    assert manual["source"] == "row_audit" and manual["flow_name"] is None
    assert manual["login"] != "claims_service_user"  # the DBA's own login
    override = next(e for e in line_1 if e["kind"] == "override")
    assert (override["person"], override["content"]["approved_amount"]) == ("rina", "300000.00")
    # the ledger: post v2, then reverse v2 / post v3, reverse v3 / post v4
    ledger = [(e["operation"], e["version"]) for e in line_1 if e["source"] == "record"]
    assert ledger == [("POST", 2), ("REVERSE", 2), ("POST", 3), ("REVERSE", 3), ("POST", 4)]
    assert MANUAL_EDIT.startswith("UPDATE claims_service.claim_item")


def test_batch_versions_come_from_statement_audit_and_records(histories: Histories) -> None:
    """The first run's line decisions have no per-row content anywhere in the audit log: the
    trail recovered them (statement audit names them); the copy's are all row-audited."""
    assert histories.statement_lines >= 8  # 4 decisions of 2 lines
    sources = Counter(
        e["source"] for e in histories.archived if e["table"] == "claims_service.claim_item"
    )
    assert sources["statement_audit"] >= 8
    assert {e["source"] for e in histories.copy_archived} == {"row_audit", "record"}
    runs = {e["flow_name"] for e in histories.archived if e["source"] == "statement_audit"}
    assert runs == {"claim-adjudication", "claim-readjudication", "claim-archiving"}


def test_each_version_shows_what_was_written(histories: Histories) -> None:
    """Every version the row-audited copy recorded, with the content it recorded, is in the
    statement-audited run's trail; none missing, none extra."""
    assert shown(histories.archived) == histories.copy_written
    assert shown(histories.copy_archived) == histories.copy_written
    lines = histories.copy_written["claims_service.claim_item"]
    assert sum(len(v) for v in lines.values()) == 2 * 5 + 1  # 2 lines x 5 versions + the edit


def test_trail_equals_the_row_audited_copys(histories: Histories) -> None:
    """Entry by entry (who, run, kind, changes, content), per row: the same trail."""

    def per_row(entries: list[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for e in entries:
            if e["table"] in STABLE_IDS:
                out.setdefault(e["row_id"], []).append(shape(e))
            else:
                out.setdefault(e["table"], Counter())[shape(e)] += 1
        return out

    assert per_row(histories.archived) == per_row(histories.copy_archived)
    assert len(histories.archived) == len(histories.copy_archived)


def test_an_archived_claim_keeps_its_trail(histories: Histories) -> None:
    """After archiving, the same versions as while the claim was live, plus the move of the
    claim and each line by the archiving run."""
    moved = [e for e in histories.archived if e["kind"] == "archiving"]
    assert sorted(e["subject"] for e in moved) == ["claim", "line 1", "line 2"]
    assert {e["flow_name"] for e in moved} == {"claim-archiving"}
    assert [e for e in histories.archived if e["kind"] != "archiving"] == histories.live


def test_line_filters_and_json_matches_the_blocks(
    histories: Histories, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal_width(monkeypatch, 80)
    number = histories.story.claim_number
    line_2 = trail(number, "--line", "2")
    assert line_2 and line_2 == [e for e in histories.archived if e["line"] == 2]
    result = CliRunner().invoke(app, ["audit", "trail", number, "--line", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.count("-- version ") == len(line_2)
    assert f"{len(line_2)} versions" in result.output
    for entry in line_2:
        assert entry["summary"].split(":")[0] in " ".join(result.output.split())
    missing = CliRunner().invoke(app, ["audit", "trail", number, "--line", "3"])
    assert missing.exit_code == 2
    assert missing.output.strip() == f"error: claim {number} has no line 3"


def test_accounts_stay_masked(histories: Histories, monkeypatch: pytest.MonkeyPatch) -> None:
    terminal_width(monkeypatch, 200)
    number = histories.story.claim_number
    text = json.dumps(histories.archived)
    assert "5123456789012" not in text and "*********9012" in text
    wide = CliRunner().invoke(app, ["audit", "trail", number])
    assert wide.exit_code == 0 and "*********9012" in wide.output
    assert "-- version " not in wide.output  # a table, at 200 columns
    assert "5123456789012" not in wide.output


def test_an_account_number_in_a_row_is_masked() -> None:
    row = {"account_number": "5123456789012", "bank_account_masked": "*********9012", "n": 7}
    assert masked(row) == {**row, "account_number": "*********9012"}


def test_unknown_claim_is_one_line_and_exit_2(db: TestDatabase) -> None:
    result = CliRunner().invoke(app, ["audit", "trail", "CLM-0000-00-000000"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: no claim 'CLM-0000-00-000000', live or archived"
    ]


# --- the merge alone ------------------------------------------------------------------------

AT = datetime(2026, 1, 1, tzinfo=UTC)


def event(seq: int, source: str, operation: str, **data: Any) -> Event:
    return Event(at=AT, seq=seq, source=source, schema="claims_service",  # type: ignore[arg-type]
                 table="claim_item", row_id="L1", operation=operation, login="x",
                 application=None, transaction_id=None, flow_name=None, flow_run_id=None,
                 **data)  # fmt: skip


def test_statement_versions_take_the_next_row_audits_old_content_first() -> None:
    """v1 written per statement, then edited by hand (row audit keeps v1 as old content),
    then v2 per statement (its record keeps the edited v1), then archived: v1 is shown as
    written, not as edited; v2 is the row as archived."""
    submitted = {"adjudication_version": 0, "status": "submitted", "diagnosis_code": "A"}
    v1 = {"adjudication_version": 1, "status": "approved", "diagnosis_code": "A"}
    edited = {**v1, "status": "pended", "diagnosis_code": "B"}  # a decision column too
    v2 = {"adjudication_version": 2, "status": "rejected", "diagnosis_code": "B"}
    events = [
        event(1, "row_audit", "INSERT", new=submitted),
        event(1, "statement_audit", "UPDATE"),
        event(2, "row_audit", "UPDATE", old=v1, new=edited),
        event(2, "statement_audit", "UPDATE"),
        event(3, "statement_audit", "DELETE"),
    ]
    # the record of v1, written when v2 replaced it, holds the edited v1
    edited_record = {1: {"claim_item_id": "L1", "adjudication_version": 1, "status": "pended"}}
    assert contents(events, v2, edited_record) == [submitted, v1, edited, v2, None]
    # without the hand edit, v1 comes from its decision record
    record = {1: {"claim_item_id": "L1", "adjudication_version": 1, "status": "approved"}}
    plain = [events[0], events[1], events[3], events[4]]
    assert contents(plain, v2, record) == [
        submitted, {**submitted, "adjudication_version": 1, "status": "approved"}, v2, None
    ]  # fmt: skip
