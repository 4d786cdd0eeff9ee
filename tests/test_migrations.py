"""The schema as the seed describes it: every schema, table, function, view, trigger and
index exists; migrations go down and up again cleanly."""

from __future__ import annotations

import pytest

from claims_askes.core.services import ALL_SCHEMAS, MIGRATION_ORDER
from claims_askes.db import migrate
from tests.conftest import TestDatabase

SEED_TABLES = {
    "claims_service": {
        "claim",
        "claim_item",
        "claim_document",
        "claim_status_history",
        "claim_note",
        "claim_payment",
        "claim_partitioned",
    },
    "member_service": {
        "member",
        "member_coverage",
        "member_dependent",
        "member_card",
        "member_eligibility",
    },
    "provider_service": {
        "provider",
        "provider_facility",
        "provider_specialty",
        "provider_contract",
        "provider_fee_schedule",
    },
    "benefit_service": {
        "plan_benefit",
        "benefit_limitation",
        "benefit_exclusion",
        "cost_sharing",
        "accumulator",
    },
    "policy_service": {"plan", "policy"},
    "authorization_service": {"authorization"},
    "payment_service": {"payment", "payment_batch"},
    "notification_service": {"notification", "notification_template"},
    "document_service": {"document"},
    "audit": {"audit_log"},
    "archive": {
        "claim",
        "claim_item",
        "claim_document",
        "claim_status_history",
        "claim_note",
        "claim_payment",
    },
    "common": {
        "benefit_code",
        "service_type",
        "claim_type",
        "status_code",
        "reason_code",
        "icd10_chapter",
    },
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
    "idx_claim_member_id",
    "idx_claim_provider_id",
    "idx_claim_status",
    "idx_claim_service_date",
    "idx_claim_submission_date",
    "idx_claim_member_status_date",
    "idx_claim_pending",
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
    assert (
        db.scalar(
            "SELECT relkind FROM pg_class WHERE oid = 'claims_service.claim_partitioned'::regclass"
        )
        == "p"
    )


def test_every_seed_function_exists(db: TestDatabase) -> None:
    with db.admin() as conn:
        rows = set(
            conn.execute(
                "SELECT n.nspname, p.proname FROM pg_proc p "
                "JOIN pg_namespace n ON n.oid = p.pronamespace"
            ).fetchall()
        )
    assert SEED_FUNCTIONS <= rows


def test_seed_indexes_including_covering_partial_and_brin(db: TestDatabase) -> None:
    with db.admin() as conn:
        rows: dict[str, str] = dict(
            conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'claims_service' "
                "AND tablename = 'claim'"
            ).fetchall()
        )
    assert SEED_INDEXES <= set(rows)
    assert (
        "INCLUDE (total_charged_amount, total_approved_amount)"
        in rows["idx_claim_member_status_date"]
    )
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
    "claims_service.claim",
    "claims_service.claim_item",
    "claims_service.claim_payment",
    "member_service.member",
    "member_service.member_coverage",
    "provider_service.provider",
    "provider_service.provider_contract",
    "benefit_service.accumulator",
    "benefit_service.plan_benefit",
    "benefit_service.cost_sharing",
    "authorization_service.authorization",
    "policy_service.policy",
    "payment_service.payment",
    "payment_service.payment_batch",
]


@pytest.mark.parametrize("table", MONEY_OR_STATUS)
def test_audit_triggers_on_tables_with_money_or_status(db: TestDatabase, table: str) -> None:
    with db.admin() as conn:
        names = {
            r[0]
            for r in conn.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass", (table,)
            ).fetchall()
        }
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


def test_common_0003_down_restores_0002s_health_check_exactly(db: TestDatabase) -> None:
    """common 0003 rewrites health_check()'s archive_backlog; its downgrade gives back the
    function 0002 creates, to the character."""
    from alembic import command

    config = migrate.alembic_config("common", db.url)
    definition = (
        "SELECT pg_get_functiondef('common.health_check(timestamptz, interval, "
        "integer, interval, date)'::regprocedure)"
    )
    head = str(db.scalar(definition))
    command.downgrade(config, "common_0002")
    down = str(db.scalar(definition))
    command.downgrade(config, "common_0001")
    command.upgrade(config, "common_0002")
    assert db.scalar(definition) == down
    assert "ready to archive" in head and "ready to archive" not in down
    command.upgrade(config, "head")
    assert db.scalar(definition) == head
    assert migrate.current(db.url)["common"] == "common_0004"


def test_common_0004_bloat_is_dead_space_autovacuum_left_for_an_hour(db: TestDatabase) -> None:
    """A queue table emptied since its last vacuum minutes ago is healthy (under continuous
    intake posting_outbox always is); a table no vacuum reached is still critical. The
    downgrade gives back 0003's function, to the character."""
    import psycopg
    from alembic import command
    from psycopg import sql

    def bloat() -> str:
        with psycopg.connect(db.url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT status FROM common.health_check() WHERE check_name = 'table_bloat'"
            ).fetchone()
        assert row is not None
        return str(row[0])

    def empty(table: str, vacuum_first: bool) -> None:
        name = sql.Identifier("public", table)
        with psycopg.connect(db.url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE TABLE {} (id int) WITH (autovacuum_enabled = false)").format(name)
            )
            conn.execute(sql.SQL("INSERT INTO {} SELECT generate_series(1, 5000)").format(name))
            if vacuum_first:
                conn.execute(sql.SQL("VACUUM {}").format(name))
            conn.execute(sql.SQL("DELETE FROM {}").format(name))
            conn.execute("SELECT pg_stat_force_next_flush()")

    assert bloat() == "healthy"
    empty("queue_probe", vacuum_first=True)  # all dead, vacuumed a moment ago
    assert bloat() == "healthy"
    empty("forgotten_probe", vacuum_first=False)  # all dead, never vacuumed
    assert bloat() == "critical"

    config = migrate.alembic_config("common", db.url)
    definition = (
        "SELECT pg_get_functiondef('common.health_check(timestamptz, interval, "
        "integer, interval, date)'::regprocedure)"
    )
    head = str(db.scalar(definition))
    command.downgrade(config, "common_0003")
    down = str(db.scalar(definition))
    assert "last_autovacuum" in head and "last_autovacuum" not in down
    command.downgrade(config, "common_0002")
    command.upgrade(config, "common_0003")
    assert db.scalar(definition) == down
    command.upgrade(config, "head")
    assert db.scalar(definition) == head


def test_posting_outbox_backfill_and_back(db: TestDatabase) -> None:
    """claims_service 0007 puts every decided line version not yet posted (posted_at NULL)
    into posting_outbox, and none other; its downgrade marks the others posted again."""
    from alembic import command

    config = migrate.alembic_config("claims_service", db.url)
    command.downgrade(config, "claims_service_0006")
    with db.admin() as conn:
        conn.execute("""
            INSERT INTO claims_service.claim (id, claim_number, member_id, provider_id,
                policy_id, claim_type, service_type, service_date, total_charged_amount,
                status, adjudication_version)
            VALUES ('00000000-0000-0000-0000-0000000000c1', 'CLM-OUTBOX-1',
                    gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 'cashless',
                    'outpatient', DATE '2026-01-05', 4000, 'approved', 2)""")
        # line 1: decided, posted; 2: decided (version 2), not posted; 3: rejected, not
        # posted; 4: never decided.
        conn.execute("""
            INSERT INTO claims_service.claim_item (id, claim_id, line_number, charged_amount,
                status, adjudicated_at, adjudication_version, posted_at, posted_version)
            VALUES
              ('00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-0000000000c1',
               1, 1000, 'approved', now(), 1, now(), 1),
              ('00000000-0000-0000-0000-000000000002', '00000000-0000-0000-0000-0000000000c1',
               2, 1000, 'approved', now(), 2, NULL, NULL),
              ('00000000-0000-0000-0000-000000000003', '00000000-0000-0000-0000-0000000000c1',
               3, 1000, 'rejected', now(), 1, NULL, NULL),
              ('00000000-0000-0000-0000-000000000004', '00000000-0000-0000-0000-0000000000c1',
               4, 1000, 'submitted', NULL, 0, NULL, NULL)""")
    command.upgrade(config, "head")
    with db.admin() as conn:
        queued = conn.execute(
            "SELECT claim_item_id::text, adjudication_version FROM "
            "claims_service.posting_outbox ORDER BY 1"
        ).fetchall()
        assert queued == [
            ("00000000-0000-0000-0000-000000000002", 2),
            ("00000000-0000-0000-0000-000000000003", 1),
        ]
        assert conn.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = "
            "'claims_service' AND table_name = 'claim_item' AND column_name LIKE 'posted%'"
        ).fetchone() == (0,)
        conn.execute(
            "DELETE FROM claims_service.posting_outbox WHERE claim_item_id = "
            "'00000000-0000-0000-0000-000000000003'"
        )  # posted meanwhile
    command.downgrade(config, "claims_service_0006")
    with db.admin() as conn:
        marks = conn.execute(
            "SELECT line_number, posted_at IS NOT NULL, posted_version FROM "
            "claims_service.claim_item WHERE claim_id = "
            "'00000000-0000-0000-0000-0000000000c1' ORDER BY 1"
        ).fetchall()
        assert marks == [(1, True, 1), (2, False, None), (3, True, 1), (4, False, None)]
    command.upgrade(config, "head")
