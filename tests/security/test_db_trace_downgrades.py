"""The migrations of issue 15, item 5 that finish the trace (claims_service 0010,
provider_service 0002, notification_service 0002) go down to exactly what their previous
revision made: the same tables, columns, triggers, functions and grants."""

from __future__ import annotations

from typing import Any

from claims_askes.db import migrate
from tests.conftest import TestDatabase

SNAPSHOT = {
    "tables": """
        SELECT n.nspname, c.relname, c.relkind, coalesce(c.relacl::text, '')
        FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p', 'v')
        ORDER BY 1, 2""",
    "columns": """
        SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
               a.attnotnull, a.attgenerated, coalesce(a.attacl::text, '')
        FROM pg_attribute AS a
        JOIN pg_class AS c ON c.oid = a.attrelid
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p', 'v')
          AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY 1, 2, a.attnum""",
    "triggers": """
        SELECT n.nspname, c.relname, t.tgname, pg_get_triggerdef(t.oid)
        FROM pg_trigger AS t
        JOIN pg_class AS c ON c.oid = t.tgrelid
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY(%(schemas)s) AND NOT t.tgisinternal
        ORDER BY 1, 2, 3""",
    "functions": """
        SELECT n.nspname, p.oid::regprocedure::text, pg_get_functiondef(p.oid),
               coalesce(p.proacl::text, '')
        FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
        WHERE n.nspname = ANY(%(schemas)s)
        ORDER BY 1, 2""",
}


def snapshot(db: TestDatabase, schemas: list[str]) -> dict[str, list[Any]]:
    with db.admin() as conn:
        return {
            name: conn.execute(query, {"schemas": schemas}).fetchall()
            for name, query in SNAPSHOT.items()
        }


def test_claims_service_0010_down_gives_back_0009(db: TestDatabase) -> None:
    from alembic import command

    config = migrate.alembic_config("claims_service", db.url)
    schemas = ["claims_service", "audit"]
    head = snapshot(db, schemas)
    command.downgrade(config, "claims_service_0009")
    down = snapshot(db, schemas)
    # 0009 as its own upgrade makes it.
    command.downgrade(config, "claims_service_0008")
    command.upgrade(config, "claims_service_0009")
    assert snapshot(db, schemas) == down
    assert (
        db.scalar(
            "SELECT has_table_privilege('claims_service_user', "
            "'claims_service.posting_outbox', 'DELETE')"
        )
        is True
    )
    assert down != head
    command.upgrade(config, "head")
    assert snapshot(db, schemas) == head
    assert (
        db.scalar(
            "SELECT has_table_privilege('claims_service_user', "
            "'claims_service.posting_outbox', 'DELETE')"
        )
        is False
    )


def test_provider_and_notification_0002_down_give_back_0001(db: TestDatabase) -> None:
    from alembic import command

    for schema in ("provider_service", "notification_service"):
        config = migrate.alembic_config(schema, db.url)
        head = snapshot(db, [schema])
        command.downgrade(config, f"{schema}_0001")
        down = snapshot(db, [schema])
        assert down != head
        # 0001 as its own upgrade makes it (the schema emptied and made again).
        command.downgrade(config, "base")
        command.upgrade(config, f"{schema}_0001")
        assert snapshot(db, [schema]) == down
        command.upgrade(config, "head")
        assert snapshot(db, [schema]) == head
