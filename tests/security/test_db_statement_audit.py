"""Issue 14: statement audit only for a registered batch transaction, as an attacker sees it.

A service session is statement-audited (one audit.statement_log row per statement, no
per-row content) only in the transaction in which it called common.register_batch_run(),
and only for the tables and operations audit.statement_audit names, under their guards.
Everything tried here without that — settings, a registration row of its own, a
registration of an earlier or another transaction, a guessed run id — is row-audited.
The versioned records that statement audit relies on are append-only for the services."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from claims_askes.db.batch import BatchRun, batch_transaction, register_batch_run
from tests.conftest import TestDatabase

CLAIMS_ROLE = "claims_service_user"
CLAIM = uuid.UUID("00000000-0000-0000-0000-00000000a001")
LINE_1 = uuid.UUID("00000000-0000-0000-0000-00000000b001")
LINE_2 = uuid.UUID("00000000-0000-0000-0000-00000000b002")
RUN = BatchRun(uuid.UUID("00000000-0000-0000-0000-0000000000f1"), "claim-adjudication")


def add_claim(db: TestDatabase) -> None:
    """One claim with two lines: line 1 decided once (version 1), line 2 never (version 0)."""
    with db.admin() as conn:
        conn.execute(
            """
            INSERT INTO claims_service.claim (id, claim_number, member_id, provider_id,
                policy_id, claim_type, service_type, service_date, total_charged_amount,
                status, adjudication_version)
            VALUES (%s, 'CLM-STMT-1', gen_random_uuid(), gen_random_uuid(), gen_random_uuid(),
                    'cashless', 'outpatient', DATE '2026-01-05', 3000, 'approved', 1)""",
            (CLAIM,),
        )
        conn.execute(
            """
            INSERT INTO claims_service.claim_item (id, claim_id, line_number, charged_amount,
                status, approved_amount, adjudicated_at, adjudication_version)
            VALUES (%(l1)s, %(claim)s, 1, 1000, 'approved', 1000, now(), 1),
                   (%(l2)s, %(claim)s, 2, 2000, 'submitted', NULL, NULL, 0)""",
            {"l1": LINE_1, "l2": LINE_2, "claim": CLAIM},
        )


def insert_note(conn: psycopg.Connection, text: str) -> uuid.UUID:
    row = conn.execute(
        "INSERT INTO claims_service.claim_note (claim_id, note_text) VALUES (%s, %s) RETURNING id",
        (CLAIM, text),
    ).fetchone()
    assert row is not None
    return uuid.UUID(str(row[0]))


def row_audited(db: TestDatabase, table: str, row_id: object) -> list[str]:
    """The operations row audit logged for this row."""
    with db.admin() as conn:
        rows = conn.execute(
            "SELECT operation FROM audit.audit_log WHERE table_name = %s AND row_id = %s "
            "ORDER BY id",
            (table, str(row_id)),
        ).fetchall()
    return [r[0] for r in rows]


def statement_rows(db: TestDatabase, table: str) -> list[tuple[str, str, str, str]]:
    """Expanded statement records of a table: (flow name, login, operation, row id)."""
    with db.admin() as conn:
        rows = conn.execute(
            "SELECT flow_name, login, operation, row_id FROM audit.statement_log_rows "
            "WHERE table_name = %s ORDER BY statement_id, row_id",
            (table,),
        ).fetchall()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def test_settings_do_not_switch_to_statement_mode(db: TestDatabase) -> None:
    """Every setting a service session may set, including names that look like a switch, and
    those it may not (refused), leave its writes row-audited."""
    add_claim(db)
    with db.as_role(CLAIMS_ROLE, autocommit=False) as conn:
        for setting in (
            "audit.batch_run",
            "audit.statement_mode",
            "claims_askes.batch_run_id",
            "application_name",
        ):
            conn.execute("SELECT set_config(%s, %s, true)", (setting, str(RUN.flow_run_id)))
        owner = conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'claim'")
        owner_name = str((owner.fetchone() or ("postgres",))[0])
        for refused, value in (("session_replication_role", "replica"), ("role", owner_name)):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                with conn.transaction():
                    conn.execute(f"SET LOCAL {refused} = '{value}'")
        note = insert_note(conn, "set, not registered")
        conn.commit()
    assert row_audited(db, "claim_note", note) == ["INSERT"]
    assert statement_rows(db, "claim_note") == []


def test_no_way_into_audit_but_the_function(db: TestDatabase) -> None:
    """A registration row written directly, a statement record, a decision of its own, or a
    look-up of the internal functions: all refused for lack of privilege."""
    add_claim(db)
    attempts = [
        "INSERT INTO audit.batch_run (flow_run_id, flow_name) "
        "VALUES (gen_random_uuid(), 'claim-adjudication')",
        "INSERT INTO audit.statement_log (batch_run_id, schema_name, table_name, operation, "
        "row_count) VALUES (1, 'claims_service', 'claim_note', 'INSERT', 1)",
        "INSERT INTO audit.statement_audit (schema_name, table_name, operation, record) "
        "VALUES ('claims_service', 'claim', 'UPDATE', 'nothing')",
        "UPDATE audit.statement_audit SET guard = NULL",
        "SELECT * FROM audit.batch_run",
        "SELECT * FROM audit.statement_mode('claims_service', 'claim_note', 'INSERT')",
    ]
    with db.as_role(CLAIMS_ROLE) as conn:
        for attempt in attempts:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(attempt)
        with conn.transaction():
            note = insert_note(conn, "after the attempts")
    assert row_audited(db, "claim_note", note) == ["INSERT"]
    assert db.scalar("SELECT count(*) FROM audit.batch_run") == 0


def test_registration_holds_for_its_own_transaction_only(db: TestDatabase) -> None:
    """Registered, then written in the next transaction (the registration committed), or in a
    savepoint rolled back, or by another session while the registered one is open: row
    audit. Only the write in the registering transaction itself is a statement record."""
    add_claim(db)
    with db.as_role(CLAIMS_ROLE) as conn, db.as_role(CLAIMS_ROLE) as other:
        # Registered in autocommit: the registration's transaction ends with the call.
        conn.execute("SELECT common.register_batch_run(%s, %s)", (RUN.flow_run_id, "x"))
        with conn.transaction():
            after_commit = insert_note(conn, "the transaction after")
        with conn.transaction():
            with pytest.raises(psycopg.errors.DivisionByZero):
                with conn.transaction():  # a savepoint
                    register_batch_run(conn, RUN)
                    conn.execute("SELECT 1 / 0")
            after_rollback = insert_note(conn, "registration rolled back")
        with batch_transaction(conn, RUN):
            with other.transaction():
                concurrent = insert_note(other, "another session, meanwhile")
            registered = insert_note(conn, "registered")
    for note in (after_commit, after_rollback, concurrent):
        assert row_audited(db, "claim_note", note) == ["INSERT"]
    assert row_audited(db, "claim_note", registered) == []
    assert statement_rows(db, "claim_note") == [
        ("claim-adjudication", CLAIMS_ROLE, "INSERT", str(registered))
    ]


def test_a_known_run_id_opens_nothing(db: TestDatabase) -> None:
    """A run id seen in the log (or guessed), given to anything but the function in the
    writing transaction itself, opens nothing; and another login cannot use the claims
    service's registration."""
    add_claim(db)
    with db.as_role(CLAIMS_ROLE) as conn:
        with batch_transaction(conn, RUN) as registration:
            first = insert_note(conn, "registered")
        assert registration is not None
        with conn.transaction():
            for name in ("audit.batch_run_id", "audit.flow_run_id"):
                conn.execute("SELECT set_config(%s, %s, true)", (name, str(registration)))
            conn.execute("SELECT set_config('application_name', %s, true)", (str(RUN.flow_run_id),))
            reused = insert_note(conn, "reused")
    assert row_audited(db, "claim_note", first) == []
    assert row_audited(db, "claim_note", reused) == ["INSERT"]
    # The owner's (an admin session's) registration is its own login's, for its own
    # transaction: a claim_note the owner writes in it is a statement record of the owner.
    with db.admin(autocommit=False) as conn:
        register_batch_run(conn, RUN)
        by_owner = insert_note(conn, "owner, registered")
        conn.commit()
    assert row_audited(db, "claim_note", by_owner) == []


def test_registered_statements_name_exactly_the_rows_changed(db: TestDatabase) -> None:
    """One record per statement and table; uuid ids as an array, integer ids as ranges,
    both expanded to exactly the rows written; no audit_log row for them."""
    add_claim(db)
    with db.as_role(CLAIMS_ROLE) as conn, batch_transaction(conn, RUN):
        notes = conn.execute(
            "INSERT INTO claims_service.claim_note (claim_id, note_text) "
            "SELECT %s, 'note ' || g FROM generate_series(1, 5) AS g RETURNING id",
            (CLAIM,),
        ).fetchall()
        history = conn.execute(
            "INSERT INTO claims_service.claim_status_history (claim_id, to_status, changed_by) "
            "SELECT %s, 'approved', 'test' FROM generate_series(1, 4) RETURNING id",
            (CLAIM,),
        ).fetchall()
        # Line 2's first decision (version 0 -> 1) and line 1's second, whose version 1 goes
        # to claim_item_decision in the same statement, as apply_line_decisions does.
        conn.execute(
            """
            WITH superseded AS (
                INSERT INTO claims_service.claim_item_decision
                    (claim_item_id, adjudication_version, status, reason_code,
                     allowed_amount, deductible_amount, copay_amount, coinsurance_amount,
                     network_reduction_amount, limit_amount, approved_amount,
                     member_responsibility, oop_amount, covered_days, visits, adjudicated_at,
                     in_network, coverage_id, plan_id, benefit_year)
                SELECT ci.id, ci.adjudication_version, ci.status, ci.reason_code,
                       ci.allowed_amount, ci.deductible_amount, ci.copay_amount,
                       ci.coinsurance_amount, ci.network_reduction_amount, ci.limit_amount,
                       ci.approved_amount, ci.member_responsibility, ci.oop_amount,
                       ci.covered_days, ci.visits, ci.adjudicated_at, ci.in_network,
                       ci.coverage_id, ci.plan_id, ci.benefit_year
                FROM claims_service.claim_item AS ci
                WHERE ci.claim_id = %(claim)s AND ci.adjudication_version > 0
            )
            UPDATE claims_service.claim_item AS ci
            SET status = 'approved', approved_amount = 500, adjudicated_at = now(),
                adjudication_version = ci.adjudication_version + 1
            WHERE ci.claim_id = %(claim)s""",
            {"claim": CLAIM},
        )
    assert sorted(r for *_, r in statement_rows(db, "claim_note")) == sorted(
        str(n[0]) for n in notes
    )
    assert sorted(int(r) for *_, r in statement_rows(db, "claim_status_history")) == sorted(
        int(h[0]) for h in history
    )
    assert sorted(r for *_, r in statement_rows(db, "claim_item")) == sorted(
        [str(LINE_1), str(LINE_2)]
    )
    with db.admin() as conn:
        records = conn.execute(
            "SELECT table_name, operation, row_count, row_uuids IS NOT NULL, "
            "row_ints IS NOT NULL FROM audit.statement_log ORDER BY id"
        ).fetchall()
        assert records == [
            ("claim_note", "INSERT", 5, True, False),
            ("claim_status_history", "INSERT", 4, False, True),
            ("claim_item", "UPDATE", 2, True, False),
        ]
        assert conn.execute("SELECT count(*) FROM audit.audit_log").fetchone() == (
            # the two lines and the claim of add_claim, inserted by the owner unregistered
            3,
        )


@pytest.mark.parametrize(
    "update",
    [
        # a decision that keeps no record of the version it replaces
        "SET approved_amount = 1, adjudication_version = adjudication_version + 1",
        # a change of the submitted line, with the version bumped as a decision would
        "SET charged_amount = 1, adjudication_version = adjudication_version + 1 "
        "WHERE line_number = 2",
        # a change of content without a new version
        "SET approved_amount = 1",
    ],
)
def test_line_update_without_its_record_is_row_audited(db: TestDatabase, update: str) -> None:
    """A registered update of claim_item that the guard cannot tie to claim_item_decision
    (the replaced version recorded with the same content, nothing but the decision changed,
    one version up) is row-audited, old and new content."""
    add_claim(db)
    where = "" if "WHERE" in update else " WHERE true"
    with db.as_role(CLAIMS_ROLE) as conn, batch_transaction(conn, RUN):
        changed = conn.execute(
            f"UPDATE claims_service.claim_item {update}{where} RETURNING id"
        ).fetchall()
    assert changed
    for (line,) in changed:
        assert row_audited(db, "claim_item", line) == ["INSERT", "UPDATE"]
    assert statement_rows(db, "claim_item") == []


def test_a_forged_record_does_not_pass_the_guard(db: TestDatabase) -> None:
    """The replaced version written to claim_item_decision with other content than the line
    had (so that the real one would be lost): the update is row-audited."""
    add_claim(db)
    with db.as_role(CLAIMS_ROLE) as conn, batch_transaction(conn, RUN):
        conn.execute(
            "INSERT INTO claims_service.claim_item_decision (claim_item_id, "
            "adjudication_version, status, approved_amount) VALUES (%s, 1, 'approved', 999)",
            (LINE_1,),
        )
        conn.execute(
            "UPDATE claims_service.claim_item SET approved_amount = 1, "
            "adjudication_version = 2 WHERE id = %s",
            (LINE_1,),
        )
    assert row_audited(db, "claim_item", LINE_1) == ["INSERT", "UPDATE"]


APPEND_ONLY_RECORDS = [
    (CLAIMS_ROLE, "claims_service.claim_item_decision"),
    (CLAIMS_ROLE, "claims_service.claim_status_history"),
    (CLAIMS_ROLE, "claims_service.claim_note"),
    (CLAIMS_ROLE, "archive.claim_item_decision"),
    (CLAIMS_ROLE, "archive.claim_item"),
    (CLAIMS_ROLE, "archive.claim_status_history"),
    ("benefit_service_user", "benefit_service.accumulator_posting"),
]


@pytest.mark.parametrize(("role", "table"), APPEND_ONLY_RECORDS)
@pytest.mark.parametrize("statement", ["UPDATE {} SET {} = {} WHERE false", "DELETE FROM {}"])
def test_versioned_records_are_append_only(
    db: TestDatabase, role: str, table: str, statement: str
) -> None:
    """The records statement audit relies on: no UPDATE or DELETE for the services, even in
    a registered transaction."""
    column = "claim_id" if table.endswith(("history", "note", "claim_item")) else "member_id"
    if table.endswith("decision"):
        column = "claim_item_id"
    stmt = statement.format(table, column, column) if "UPDATE" in statement else statement
    stmt = stmt.format(table)
    with db.as_role(role) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            with batch_transaction(conn, RUN):
                conn.execute(stmt)
