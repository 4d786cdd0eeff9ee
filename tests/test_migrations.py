"""The schema as the seed describes it: every schema, table, function, view, trigger and
index exists; migrations go down and up again cleanly."""

from __future__ import annotations

import pytest

from claims_askes import migrate
from claims_askes.services import ALL_SCHEMAS, MIGRATION_ORDER
from tests.conftest import TestDatabase

SEED_TABLES = {
    "claims_service": {"claim", "claim_item", "claim_document", "claim_status_history",
                       "claim_note", "claim_payment", "claim_partitioned"},
    "member_service": {"member", "member_coverage", "member_dependent", "member_card",
                       "member_eligibility"},
    "provider_service": {"provider", "provider_facility", "provider_specialty",
                         "provider_contract", "provider_fee_schedule"},
    "benefit_service": {"plan_benefit", "benefit_limitation", "benefit_exclusion",
                        "cost_sharing", "accumulator"},
    "policy_service": {"plan", "policy"},
    "authorization_service": {"authorization"},
    "payment_service": {"payment", "payment_batch"},
    "notification_service": {"notification", "notification_template"},
    "document_service": {"document"},
    "audit": {"audit_log"},
    "archive": {"claim", "claim_item", "claim_document", "claim_status_history", "claim_note",
                "claim_payment"},
    "common": {"benefit_code", "service_type", "claim_type", "status_code", "reason_code",
               "icd10_chapter"},
}

SEED_FUNCTIONS = {
    ("claims_service", "generate_claim_number"),
    ("claims_service", "create_monthly_partition"),
    ("member_service", "check_eligibility"),
    ("benefit_service", "update_accumulator"),
    ("common", "health_check"),
    ("common", "mask_national_id"),
    ("common", "update_updated_at"),
    ("audit", "log_insert"),
    ("audit", "log_update"),
    ("audit", "log_delete"),
}

SEED_INDEXES = {
    "idx_claim_member_id", "idx_claim_provider_id", "idx_claim_status", "idx_claim_service_date",
    "idx_claim_submission_date", "idx_claim_member_status_date", "idx_claim_pending",
    "idx_claim_service_date_brin",
}


def _tables(db: TestDatabase) -> set[tuple[str, str]]:
    with db.admin() as conn:
        rows = conn.execute(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY(%s)",
            (list(ALL_SCHEMAS),),
        ).fetchall()
    return {(r[0], r[1]) for r in rows}


def test_every_schema_of_the_design_exists(db: TestDatabase) -> None:
    with db.admin() as conn:
        names = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace").fetchall()}
    assert set(ALL_SCHEMAS) <= names
    assert len(ALL_SCHEMAS) == 12  # the seed's 11 plus archive


def test_every_seed_table_exists(db: TestDatabase) -> None:
    tables = _tables(db)
    for schema, names in SEED_TABLES.items():
        for name in names:
            assert (schema, name) in tables or name == "claim_partitioned", (schema, name)
    assert db.scalar("SELECT relkind FROM pg_class WHERE oid = "
                     "'claims_service.claim_partitioned'::regclass") == "p"


def test_every_seed_function_exists(db: TestDatabase) -> None:
    with db.admin() as conn:
        rows = set(conn.execute(
            "SELECT n.nspname, p.proname FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace"
        ).fetchall())
    assert SEED_FUNCTIONS <= rows


def test_seed_indexes_including_covering_partial_and_brin(db: TestDatabase) -> None:
    with db.admin() as conn:
        rows: dict[str, str] = dict(conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'claims_service' "
            "AND tablename = 'claim'"
        ).fetchall())
    assert SEED_INDEXES <= set(rows)
    assert "INCLUDE (total_charged_amount, total_approved_amount)" in rows[
        "idx_claim_member_status_date"]
    assert "WHERE ((status)::text = 'submitted'::text)" in rows["idx_claim_pending"]
    assert "USING brin" in rows["idx_claim_service_date_brin"]


def test_foreign_keys_never_cross_schemas(db: TestDatabase) -> None:
    with db.admin() as conn:
        crossing = conn.execute(
            """
            SELECT c.conname
            FROM pg_constraint c
            JOIN pg_class src ON src.oid = c.conrelid
            JOIN pg_class dst ON dst.oid = c.confrelid
            WHERE c.contype = 'f' AND src.relnamespace <> dst.relnamespace
            """
        ).fetchall()
    assert crossing == []


def test_updated_at_trigger_on_every_table_with_the_column(db: TestDatabase) -> None:
    with db.admin() as conn:
        missing = conn.execute(
            """
            SELECT n.nspname || '.' || c.relname
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'updated_at'
            WHERE n.nspname = ANY(%s) AND n.nspname <> 'archive' AND c.relkind IN ('r', 'p')
              AND NOT c.relispartition
              AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid
                              AND t.tgname = 'update_' || c.relname || '_timestamp')
            """,
            (list(ALL_SCHEMAS),),
        ).fetchall()
    assert missing == []


MONEY_OR_STATUS = [
    "claims_service.claim", "claims_service.claim_item", "claims_service.claim_payment",
    "member_service.member", "member_service.member_coverage", "provider_service.provider",
    "provider_service.provider_contract", "benefit_service.accumulator",
    "benefit_service.plan_benefit", "benefit_service.cost_sharing",
    "authorization_service.authorization", "policy_service.policy",
    "payment_service.payment", "payment_service.payment_batch",
]


@pytest.mark.parametrize("table", MONEY_OR_STATUS)
def test_audit_triggers_on_tables_with_money_or_status(db: TestDatabase, table: str) -> None:
    with db.admin() as conn:
        names = {r[0] for r in conn.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass", (table,)).fetchall()}
    assert {"audit_insert", "audit_update", "audit_delete"} <= names


def test_upgrade_downgrade_upgrade(db: TestDatabase) -> None:
    before = _tables(db)
    migrate.downgrade(db.url)
    assert not any(s in {t[0] for t in _tables(db)} for s in MIGRATION_ORDER)
    assert all(v is None for v in migrate.current(db.url).values())
    migrate.upgrade(db.url)
    assert _tables(db) == before
    assert all(v is not None for v in migrate.current(db.url).values())


def test_upgrade_is_idempotent(db: TestDatabase) -> None:
    before = _tables(db)
    migrate.upgrade(db.url)
    assert _tables(db) == before


def test_version_table_of_each_service_lives_in_its_schema(db: TestDatabase) -> None:
    for schema, revision in migrate.current(db.url).items():
        assert revision is not None and revision.startswith(f"{schema}_0")
