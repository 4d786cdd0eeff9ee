"""Issue 15, item 6: claims_service.archive_claim_records (SECURITY DEFINER) moved a live
claim's decision history to the archive when the claims role called it outside any run:
`select claims_service.archive_claim_records('claim_item_decision', array[<id>], null)`.

It now takes records only inside an archiving run: a run id, the run recorded in
archive.archive_run_log, and the claims themselves moved to archive.claim under that run in
the same transaction (checked at commit)."""

from __future__ import annotations

import uuid
from datetime import date

import psycopg
import pytest

from tasks.archive import _move_batch, archived_columns
from tests.conftest import TestDatabase
from tests.test_ops_archiving import build_claims

CLAIMS_ROLE = "claims_service_user"
CALL = "SELECT claims_service.archive_claim_records(%s, %s, %s)"


def settled_claim(conn: psycopg.Connection) -> uuid.UUID:
    row = conn.execute(
        "SELECT id FROM claims_service.claim WHERE claim_number = 'CLM-A-00001'"
    ).fetchone()
    assert row
    return row[0]


def decisions(db: TestDatabase) -> tuple[int, int]:
    row = db.scalar(
        "SELECT ROW((SELECT count(*) FROM claims_service.claim_item_decision), "
        "(SELECT count(*) FROM archive.claim_item_decision))::text"
    )
    live, archived = str(row).strip("()").split(",")
    return int(live), int(archived)


def test_no_run_no_move(db: TestDatabase) -> None:
    with db.admin() as conn:
        build_claims(conn, claims=5)
        claim = settled_claim(conn)
    before = decisions(db)
    with db.as_role(CLAIMS_ROLE) as svc:
        for table in ("claim_item_decision", "claim_item_override", "claim_readjustment"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="archiving run"):
                svc.execute(CALL, (table, [claim], None))
    assert decisions(db) == before


def test_a_run_id_that_no_run_recorded_moves_nothing(db: TestDatabase) -> None:
    with db.admin() as conn:
        build_claims(conn, claims=5)
        claim = settled_claim(conn)
    before = decisions(db)
    with db.as_role(CLAIMS_ROLE) as svc:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="not recorded"):
            svc.execute(CALL, ("claim_item_decision", [claim], uuid.uuid4()))
    assert decisions(db) == before


def test_a_forged_run_log_row_does_not_move_a_live_claims_records(db: TestDatabase) -> None:
    """The claims role may insert into archive_run_log; a row it writes itself does not make
    the call legitimate: the claim stays in claims_service, so the commit is refused."""
    run = uuid.uuid4()
    with db.admin() as conn:
        build_claims(conn, claims=5)
        claim = settled_claim(conn)
    before = decisions(db)
    with db.as_role(CLAIMS_ROLE) as svc:
        svc.execute(
            "INSERT INTO archive.archive_run_log (run_id, batch_number, table_name, method, "
            "outcome, cutoff, source_rows, source_checksum, archived_rows, archived_checksum) "
            "VALUES (%s, 1, 'claim_item_decision', 'rows', 'moved', %s, 0, '', 0, '')",
            (run, date(2030, 1, 1)),
        )
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="not archived"):
            svc.execute(CALL, ("claim_item_decision", [claim], run))
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="not archived"):
            with svc.transaction():
                svc.execute("SET CONSTRAINTS ALL IMMEDIATE")
                svc.execute(CALL, ("claim_item_decision", [claim], run))
    assert decisions(db) == before


def test_an_archiving_batch_still_moves_records_with_their_claims(db: TestDatabase) -> None:
    """The archiving flow's own batch, as the claims role, in one transaction: decisions,
    overrides, readjustments, status history and notes move with their claims."""
    run = uuid.uuid4()
    with db.admin() as conn:
        build_claims(conn, claims=20)
    live_before, _ = decisions(db)
    with db.as_role(CLAIMS_ROLE, autocommit=True) as svc:
        columns = archived_columns(svc)
        with svc.transaction():
            result = _move_batch(svc, run, 1, date(2030, 1, 1), 100, columns)
    assert result.claims > 0
    live_after, archived = decisions(db)
    assert archived > 0 and live_after + archived == live_before
    assert db.scalar("SELECT count(*) FROM audit.archive_record_move") == 0
    assert (
        db.scalar(
            "SELECT count(*) FROM archive.claim_status_history WHERE archive_run_id = %s", (run,)
        )
        == result.claims
    )
