"""Least privilege, enforced by PostgreSQL: every service role against every schema and
operation, the reporting role, masked national IDs and row-level security on members."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest
from psycopg import sql

from claims_askes.core.services import ALL_SCHEMAS, REPORTING_ROLE, SERVICES, Service
from tests.conftest import TestDatabase
from tests.fixtures_sql import add_member

OPERATIONS = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
ROLES = [s.role for s in SERVICES] + [REPORTING_ROLE]
APPEND_ONLY = {
    ("benefit_service", "accumulator_posting"),
    ("benefit_service", "accumulator_opening"),
    ("claims_service", "claim_item_decision"),
    # history and notes: insert-only (claims_service 0013, issue 14); archiving moves them
    # through the owner's archive_claim_records (tests/security/test_db_trace.py)
    ("claims_service", "claim_status_history"),
    ("claims_service", "claim_note"),
    # the records of payments (issue 16): what happened, never rewritten
    ("payment_service", "payment_event"),
    ("payment_service", "batch_approval"),
    ("payment_service", "bank_file"),
    ("payment_service", "bank_response_file"),
    ("payment_service", "bank_response_error"),
    ("payment_service", "payment_offset"),
    ("payment_service", "payment_retry"),  # operators' retries (payment_service 0003)
}
#: the service changes these but never deletes them (members; reviewers' decisions and
#: readjustments are records)
NO_DELETE = {
    ("member_service", "member"),
    ("claims_service", "claim_item_override"),
    ("claims_service", "claim_readjustment"),
    # emptied only by posting, through claims_service.mark_lines_posted()
    ("claims_service", "posting_outbox"),
    # bank accounts are replaced, never deleted (the audit keeps the old ciphertext);
    # payments, batches and offsets change status, never disappear
    ("member_service", "member_bank_account"),
    ("provider_service", "provider_bank_account"),
    ("payment_service", "payment"),
    ("payment_service", "payment_batch"),
    ("payment_service", "payee_offset"),
}
#: reporting_user reads these by column, never the encrypted account number (so no SELECT
#: on the whole table)
REPORTING_COLUMNS_ONLY = {
    ("member_service", "member_bank_account"),
    ("provider_service", "provider_bank_account"),
}
#: tables the service changes but never updates (none left since claims_service 0013 made
#: history and notes insert-only)
NO_UPDATE: set[tuple[str, str]] = set()


def expected_privilege(role: str, schema: str, table: str, op: str) -> bool:
    """The policy, written out: what each role may do to each table."""
    if role == REPORTING_ROLE and (schema, table) in APPEND_ONLY:
        return op == "SELECT"
    if role == REPORTING_ROLE and (schema, table) in REPORTING_COLUMNS_ONLY:
        return False
    if role == REPORTING_ROLE:
        return (
            op == "SELECT" and schema != "audit" and (schema, table) != ("member_service", "member")
        )
    own = role.removesuffix("_user")
    if (schema, table) in APPEND_ONLY:
        return schema == own and op in {"SELECT", "INSERT"}
    if schema == own:
        if op not in {"SELECT", "INSERT", "UPDATE", "DELETE"}:
            return False
        if op == "UPDATE" and (schema, table) in NO_UPDATE:
            return False
        return not (op == "DELETE" and (schema, table) in NO_DELETE)
    if schema == "common":
        return op == "SELECT"
    if schema == "archive" and own == "claims_service":
        return op in {"SELECT", "INSERT"}
    return False


def test_privilege_matrix_of_every_role_schema_table_and_operation(db: TestDatabase) -> None:
    with db.admin() as conn:
        tables = conn.execute(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY(%s) "
            "AND tablename <> 'alembic_version'",
            (list(ALL_SCHEMAS),),
        ).fetchall()
        actual = {
            (r[0], r[1], r[2], r[3]): r[4]
            for r in conn.execute(
                """
                SELECT role, t.schemaname, t.tablename, op,
                       has_table_privilege(role, format('%%I.%%I', t.schemaname, t.tablename), op)
                FROM unnest(%s::text[]) AS role,
                     unnest(%s::text[]) AS op,
                     pg_tables AS t
                WHERE t.schemaname = ANY(%s) AND t.tablename <> 'alembic_version'
                """,
                (ROLES, list(OPERATIONS), list(ALL_SCHEMAS)),
            ).fetchall()
        }
    assert len(tables) > 40
    wrong = sorted(
        key
        for key, allowed in actual.items()
        if allowed != expected_privilege(key[0], key[1], key[2], key[3])
    )
    assert wrong == []


def test_no_role_may_create_objects_in_any_schema(db: TestDatabase) -> None:
    with db.admin() as conn:
        rows = conn.execute(
            "SELECT role, s FROM unnest(%s::text[]) AS role, unnest(%s::text[]) AS s "
            "WHERE has_schema_privilege(role, s, 'CREATE')",
            (ROLES, [*ALL_SCHEMAS, "public"]),
        ).fetchall()
    assert rows == []


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.key)
def test_a_service_reading_another_services_schema_is_refused(
    db: TestDatabase, service: Service
) -> None:
    other = (
        "benefit_service.accumulator"
        if service.schema != "benefit_service"
        else "claims_service.claim"
    )
    with db.as_role(service.role) as conn:
        conn.execute("SELECT count(*) FROM common.reason_code")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(*other.split(".")))
            )


def test_reporting_sees_masked_national_ids_only(db: TestDatabase) -> None:
    with db.admin() as conn:
        m = add_member(conn, national_id="3174051506850001")
    with db.as_role(REPORTING_ROLE) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT national_id FROM member_service.member")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO common.service_type VALUES ('x', 'x', 'x')")
        masked = conn.execute(
            "SELECT national_id FROM member_service.v_member_masked WHERE id = %s", (m,)
        ).fetchone()
    assert masked == ("************0001",)


def test_row_level_security_on_members(db: TestDatabase) -> None:
    """Purposes are roles (member_service 0003): the batch role reads every member, adds
    members and deletes none; the member-facing role reads nobody until its session is bound
    (tests/security/test_roles_member_access.py performs the attacks)."""
    with db.admin() as conn:
        add_member(conn)
        add_member(conn)
    with db.as_role("member_service_user") as conn:
        assert conn.execute("SELECT count(*) FROM member_service.member").fetchone() == (2,)
        add_member(conn, enrollment=date(2024, 1, 1))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM member_service.member")


@pytest.mark.usefixtures("service_configuration")
def test_every_service_session_keeps_to_the_matrix_in_this_configuration(
    db: TestDatabase,
) -> None:
    """The matrix above, asked of each service's session as the flows open it (issue 15,
    item 3): with service passwords, and with DATABASE_URL alone (owner login, role taken at
    session start). The session is the service's role, never the owner."""
    from claims_askes.db.connections import service_connection

    for svc in SERVICES:
        with service_connection(svc.key) as conn:
            who = conn.execute(
                "SELECT current_user, r.rolsuper, r.rolbypassrls FROM pg_roles AS r "
                "WHERE r.rolname = current_user"
            ).fetchone()
            assert who == (svc.role, False, False)
            actual = {
                (svc.role, r[0], r[1], r[2]): r[3]
                for r in conn.execute(
                    """
                    SELECT n.nspname, c.relname, op, has_table_privilege(current_user, c.oid, op)
                    FROM unnest(%s::text[]) AS op, pg_class AS c
                    JOIN pg_namespace AS n ON n.oid = c.relnamespace
                    WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p')
                      AND c.relname <> 'alembic_version'
                    """,
                    (list(OPERATIONS), list(ALL_SCHEMAS)),
                ).fetchall()
            }
            creates = conn.execute(
                "SELECT s FROM unnest(%s::text[]) AS s "
                "WHERE has_schema_privilege(current_user, s, 'CREATE')",
                ([*ALL_SCHEMAS, "public"],),
            ).fetchall()
        assert len(actual) > 40 * len(OPERATIONS)
        wrong = sorted(k for k, ok in actual.items() if ok != expected_privilege(*k))
        assert wrong == []
        assert creates == []


def test_database_connect_is_limited_to_our_roles(db: TestDatabase) -> None:
    with db.admin() as conn:
        public_connect = conn.execute(
            "SELECT has_database_privilege('public', current_database(), 'CONNECT')"
        ).fetchone()
    assert public_connect == (False,)
