"""Issue 15, item 5: no change without a trace.

The claims role deleted every claim_status_history row and rewrote every claim_note, and
neither was audited; benefit_limitation, benefit_exclusion, member_dependent and
member_eligibility were writable by their services with no audit trigger. Each attack is
made here as the service role that would try it."""

from __future__ import annotations

import uuid
from datetime import date

import psycopg
import pytest
from psycopg import sql

from claims_askes.core.services import ALL_SCHEMAS, SERVICES
from tests.conftest import TestDatabase
from tests.fixtures_sql import add_member
from tests.test_ops_archiving import build_claims

CLAIMS_ROLE = "claims_service_user"
AUDIT_TRIGGERS = {"audit_insert", "audit_update", "audit_delete"}
#: tables a service may change that are not audited, and why
UNAUDITED = {
    # a row is its own record: insert-only for the service, never updated or deleted
    ("claims_service", "claim_item_decision"): "append-only",
    ("benefit_service", "accumulator_posting"): "append-only",
    ("benefit_service", "accumulator_opening"): "append-only",
    # the archive is insert-only; what moves there is audited as it leaves claims_service
    ("archive", "*"): "insert-only archive",
    # a queue and a counter: their content is derived, what they stand for is audited
    ("claims_service", "posting_outbox"): "queue (decisions and the ledger are the record)",
    ("claims_service", "claim_number_counter"): "counter",
}
#: audited since provider_service 0002 and notification_service 0002
PROVIDER_AND_NOTIFICATION = [
    ("notification_service", "notification_template"),
    ("provider_service", "provider_facility"),
    ("provider_service", "provider_specialty"),
]


def audit_rows(db: TestDatabase, schema: str, table: str) -> list[tuple[str, str]]:
    with db.admin() as conn:
        return [
            (r[0], r[1])
            for r in conn.execute(
                "SELECT operation, user_name FROM audit.audit_log "
                "WHERE schema_name = %s AND table_name = %s ORDER BY id",
                (schema, table),
            ).fetchall()
        ]


def unaudited_tables(db: TestDatabase) -> list[tuple[str, str]]:
    roles = [s.role for s in SERVICES]
    with db.admin() as conn:
        rows = conn.execute(
            """
            SELECT DISTINCT t.schemaname, t.tablename,
                   (SELECT array_agg(g.tgname::text) FROM pg_trigger AS g
                    WHERE g.tgrelid = format('%%I.%%I', t.schemaname, t.tablename)::regclass)
            FROM pg_tables AS t, unnest(%s::text[]) AS role, unnest(ARRAY['UPDATE', 'DELETE',
                 'INSERT']) AS op
            WHERE t.schemaname = ANY(%s) AND t.tablename <> 'alembic_version'
              AND has_table_privilege(role, format('%%I.%%I', t.schemaname, t.tablename), op)
              AND NOT EXISTS (SELECT 1 FROM pg_inherits AS i
                              WHERE i.inhrelid = format('%%I.%%I', t.schemaname,
                                                        t.tablename)::regclass)
            """,
            (roles, list(ALL_SCHEMAS)),
        ).fetchall()
    missing = sorted(
        (schema, table)
        for schema, table, triggers in rows
        if not AUDIT_TRIGGERS <= set(triggers or [])
        and (schema, table) not in UNAUDITED
        and (schema, "*") not in UNAUDITED
    )
    return missing


def test_every_table_a_service_may_change_is_audited(db: TestDatabase) -> None:
    unexpected = unaudited_tables(db)
    assert unexpected == [], unexpected


def test_provider_and_notification_tables_are_audited(db: TestDatabase) -> None:
    assert [m for m in unaudited_tables(db) if m in PROVIDER_AND_NOTIFICATION] == []


def test_provider_and_notification_changes_are_audited(db: TestDatabase) -> None:
    """As the provider and notification roles: each insert, update and delete of a facility,
    a specialty and a template leaves its row in the audit log (a template keyed by its
    code)."""
    with db.admin() as conn:
        provider = conn.execute(
            "INSERT INTO provider_service.provider (provider_code, name, "
            "provider_type, status) VALUES ('PRV-AUDIT', 'RS Audit', 'hospital', 'active') "
            "RETURNING id"
        ).fetchone()
        assert provider
    role = "provider_service_user"
    with db.as_role(role) as conn:
        conn.execute(
            "INSERT INTO provider_service.provider_facility (provider_id, facility_name) "
            "VALUES (%s, 'Gedung A')",
            (provider[0],),
        )
        conn.execute("UPDATE provider_service.provider_facility SET bed_count = 10")
        conn.execute("DELETE FROM provider_service.provider_facility")
        conn.execute(
            "INSERT INTO provider_service.provider_specialty (provider_id, specialty_code, "
            "specialty_name) VALUES (%s, 'SP.PD', 'Penyakit dalam')",
            (provider[0],),
        )
        conn.execute("UPDATE provider_service.provider_specialty SET is_primary = true")
        conn.execute("DELETE FROM provider_service.provider_specialty")
    expected = [("INSERT", role), ("UPDATE", role), ("DELETE", role)]
    assert audit_rows(db, "provider_service", "provider_facility") == expected
    assert audit_rows(db, "provider_service", "provider_specialty") == expected
    role = "notification_service_user"
    with db.as_role(role) as conn:
        conn.execute(
            "INSERT INTO notification_service.notification_template (code, channel, body) "
            "VALUES ('CLAIM_PAID', 'sms', 'Klaim dibayar')"
        )
        conn.execute(
            "UPDATE notification_service.notification_template SET body = 'PWNED' "
            "WHERE code = 'CLAIM_PAID'"
        )
        conn.execute("DELETE FROM notification_service.notification_template")
    assert audit_rows(db, "notification_service", "notification_template") == [
        ("INSERT", role),
        ("UPDATE", role),
        ("DELETE", role),
    ]
    with db.admin() as conn:
        logged = conn.execute(
            "SELECT row_id, old_data ->> 'body', new_data ->> 'body' FROM audit.audit_log "
            "WHERE table_name = 'notification_template' AND operation = 'UPDATE'"
        ).fetchall()
    assert logged == [("CLAIM_PAID", "Klaim dibayar", "PWNED")]


def test_claims_role_cannot_rewrite_notes_or_history(db: TestDatabase) -> None:
    with db.admin() as conn:
        build_claims(conn, claims=5)
        notes = conn.execute("SELECT id, note_text FROM claims_service.claim_note").fetchall()
    with db.as_role(CLAIMS_ROLE) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE claims_service.claim_note SET note_text = 'PWNED' WHERE true")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "UPDATE claims_service.claim_status_history SET to_status = 'paid' WHERE true"
            )
    with db.admin() as conn:
        assert sorted(
            conn.execute("SELECT id, note_text FROM claims_service.claim_note").fetchall()
        ) == sorted(notes)


def test_claims_role_cannot_delete_history_or_notes_of_a_live_claim(db: TestDatabase) -> None:
    """A delete is refused: the claims role has no DELETE on them since claims_service 0013
    (issue 14, they are the versioned records of statement audit); archiving moves them
    through the owner's archive_claim_records, whose delete is still checked at commit
    against the archive (the claim must have gone there too)."""
    with db.admin() as conn:
        build_claims(conn, claims=5)
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM claims_service.claim_status_history), "
            "(SELECT count(*) FROM claims_service.claim_note)"
        ).fetchone()
    with db.as_role(CLAIMS_ROLE) as conn:
        for table in ("claim_status_history", "claim_note"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                conn.execute(
                    sql.SQL("DELETE FROM {} WHERE true").format(
                        sql.Identifier("claims_service", table)
                    )
                )
            # Checking at once instead of at commit refuses too.
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                with conn.transaction():
                    conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    conn.execute(
                        sql.SQL("DELETE FROM {} WHERE true").format(
                            sql.Identifier("claims_service", table)
                        )
                    )
        # Copying into the archive first is not enough: the claim stays live.
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            with conn.transaction():
                conn.execute(
                    "INSERT INTO archive.claim_note (id, claim_id, note_type, note_text, "
                    "created_at) SELECT id, claim_id, note_type, note_text, created_at "
                    "FROM claims_service.claim_note"
                )
                conn.execute("DELETE FROM claims_service.claim_note WHERE true")
    with db.admin() as conn:
        assert (
            conn.execute(
                "SELECT (SELECT count(*) FROM claims_service.claim_status_history), "
                "(SELECT count(*) FROM claims_service.claim_note)"
            ).fetchone()
            == counts
        )


def test_history_and_notes_written_by_the_claims_role_are_audited(db: TestDatabase) -> None:
    claim_id = uuid.uuid4()
    with db.admin() as conn:
        build_claims(conn, claims=1)
        row = conn.execute("SELECT id FROM claims_service.claim").fetchone()
        assert row
        claim_id = row[0]
    with db.as_role(CLAIMS_ROLE) as conn:
        conn.execute(
            "INSERT INTO claims_service.claim_status_history (claim_id, from_status, to_status) "
            "VALUES (%s, 'approved', 'paid')",
            (claim_id,),
        )
        conn.execute(
            "INSERT INTO claims_service.claim_note (claim_id, note_type, note_text) "
            "VALUES (%s, 'general', 'x')",
            (claim_id,),
        )
    assert audit_rows(db, "claims_service", "claim_status_history")[-1:] == [
        ("INSERT", CLAIMS_ROLE)
    ]
    assert audit_rows(db, "claims_service", "claim_note")[-1:] == [("INSERT", CLAIMS_ROLE)]


def test_member_dependents_and_eligibility_changes_are_audited(db: TestDatabase) -> None:
    with db.admin() as conn:
        a = add_member(conn)
        b = add_member(conn)
    role = "member_service_user"
    with db.as_role(role, options="-c claims_askes.access=batch") as conn:
        conn.execute(
            "INSERT INTO member_service.member_dependent (member_id, dependent_member_id, "
            "relationship, effective_date) VALUES (%s, %s, 'child', '2020-01-01')",
            (a, b),
        )
        conn.execute("UPDATE member_service.member_dependent SET relationship = 'spouse'")
        conn.execute("DELETE FROM member_service.member_dependent")
        conn.execute(
            "INSERT INTO member_service.member_eligibility (member_id, as_of_date, is_eligible, "
            "reason) VALUES (%s, %s, true, 'ELIGIBLE')",
            (a, date(2026, 1, 1)),
        )
        conn.execute("UPDATE member_service.member_eligibility SET is_eligible = false")
        conn.execute("DELETE FROM member_service.member_eligibility")
    expected = [("INSERT", role), ("UPDATE", role), ("DELETE", role)]
    assert audit_rows(db, "member_service", "member_dependent") == expected
    assert audit_rows(db, "member_service", "member_eligibility") == expected


def test_benefit_limitations_and_exclusions_changes_are_audited(db: TestDatabase) -> None:
    role = "benefit_service_user"
    with db.admin() as conn:
        benefit = conn.execute(
            "INSERT INTO benefit_service.plan_benefit (plan_id, benefit_code, benefit_name, "
            "effective_date) VALUES (gen_random_uuid(), 'RJTP', 'Rawat jalan', '2020-01-01') "
            "RETURNING id"
        ).fetchone()
        assert benefit
    with db.as_role(role) as conn:
        conn.execute(
            "INSERT INTO benefit_service.benefit_limitation (plan_benefit_id, limitation_type, "
            "limit_value, period) VALUES (%s, 'visits', 12, 'per_year')",
            (benefit[0],),
        )
        conn.execute("UPDATE benefit_service.benefit_limitation SET limit_value = 999")
        conn.execute("DELETE FROM benefit_service.benefit_limitation")
        conn.execute(
            "INSERT INTO benefit_service.benefit_exclusion (plan_id, procedure_code, "
            "effective_date) VALUES (gen_random_uuid(), '99.99', '2020-01-01')"
        )
        conn.execute("UPDATE benefit_service.benefit_exclusion SET procedure_code = '00.00'")
        conn.execute("DELETE FROM benefit_service.benefit_exclusion")
    expected = [("INSERT", role), ("UPDATE", role), ("DELETE", role)]
    assert audit_rows(db, "benefit_service", "benefit_limitation") == expected
    assert audit_rows(db, "benefit_service", "benefit_exclusion") == expected


def test_claim_partitioned_changes_are_audited(db: TestDatabase) -> None:
    """claims_service 0011: writes through the partitioned table are row-audited, whichever
    month's partition holds the row."""
    with db.as_role(CLAIMS_ROLE) as conn:
        conn.execute(
            "INSERT INTO claims_service.claim_partitioned (id, claim_number, member_id, "
            "provider_id, policy_id, claim_type, service_type, service_date, "
            "total_charged_amount, status) VALUES (gen_random_uuid(), 'CLM-P-1', "
            "gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 'cashless', "
            "'outpatient', DATE '2026-01-15', 1000, 'submitted')"
        )
        conn.execute(
            "UPDATE claims_service.claim_partitioned SET status = 'approved' "
            "WHERE claim_number = 'CLM-P-1'"
        )
    assert audit_rows(db, "claims_service", "claim_partitioned") == [
        ("INSERT", CLAIMS_ROLE),
        ("UPDATE", CLAIMS_ROLE),
    ]
