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
}
#: the service changes these but never deletes them (members; reviewers' decisions and
#: readjustments are records)
NO_DELETE = {
    ("member_service", "member"),
    ("claims_service", "claim_item_override"),
    ("claims_service", "claim_readjustment"),
}


def expected_privilege(role: str, schema: str, table: str, op: str) -> bool:
    """The policy, written out: what each role may do to each table."""
    if role == REPORTING_ROLE and (schema, table) in APPEND_ONLY:
        return op == "SELECT"
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
    with db.admin() as conn:
        a = add_member(conn)
        add_member(conn)
    # A session that declares nothing sees nobody and changes nobody.
    with db.as_role("member_service_user") as conn:
        assert conn.execute("SELECT count(*) FROM member_service.member").fetchone() == (0,)
        updated = conn.execute("UPDATE member_service.member SET status = 'suspended'")
        assert updated.rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            add_member(conn)
    # A member-facing session sees its own member only.
    with db.as_role("member_service_user", options=f"-c claims_askes.member_id={a}") as conn:
        assert conn.execute("SELECT id FROM member_service.member").fetchall() == [(a,)]
    # A batch session sees everyone and may add members, never delete them.
    batch = "-c claims_askes.access=batch"
    with db.as_role("member_service_user", options=batch) as conn:
        assert conn.execute("SELECT count(*) FROM member_service.member").fetchone() == (2,)
        add_member(conn, enrollment=date(2024, 1, 1))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM member_service.member")


def test_database_connect_is_limited_to_our_roles(db: TestDatabase) -> None:
    with db.admin() as conn:
        public_connect = conn.execute(
            "SELECT has_database_privilege('public', current_database(), 'CONNECT')"
        ).fetchone()
    assert public_connect == (False,)
