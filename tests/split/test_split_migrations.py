"""`claims-askes db upgrade` / `db downgrade` on two servers: each server gets `common`,
`audit` and its own services' schemas, the roles with their passwords, and nothing else."""

from __future__ import annotations

import psycopg
import pytest
from typer.testing import CliRunner

from claims_askes.cli.app import app
from claims_askes.core.errors import ConfigError
from claims_askes.core.services import ALL_SCHEMAS, MIGRATION_ORDER, SERVICES, SHARED_SCHEMAS
from claims_askes.core.settings import reset_settings
from claims_askes.db import migrate
from claims_askes.db.connections import server_of, servers, service_connection, with_database
from tests.conftest import Cluster
from tests.split.conftest import SERVER_A_SERVICES, SERVER_B_SERVICES, SplitDatabase

A_SCHEMAS = {*SHARED_SCHEMAS, "archive", *(f"{k}_service" for k in SERVER_A_SERVICES)}
B_SCHEMAS = {*SHARED_SCHEMAS, *(f"{k}_service" for k in SERVER_B_SERVICES)}


def tables(url: str) -> set[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY(%s)",
            (list(ALL_SCHEMAS),),
        ).fetchall()
    return {(r[0], r[1]) for r in rows}


def schemas(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)",
            ([*ALL_SCHEMAS, "member_service_private"],),
        ).fetchall()
    return {r[0] for r in rows}


def test_the_configuration_places_each_service_on_its_server(split_db: SplitDatabase) -> None:
    a, b = servers()
    assert a.admin_url == split_db.a.url and b.admin_url == split_db.b.url
    assert set(a.schemas) == A_SCHEMAS and set(b.schemas) == B_SCHEMAS
    assert set(a.services) == set(SERVER_A_SERVICES) and set(b.services) == set(SERVER_B_SERVICES)
    assert server_of("benefit_service") == b and server_of("common") == a
    assert "@" not in a.name and a.name.endswith(f"/{split_db.a.name}")


def test_each_server_holds_its_own_schemas_only(split_db: SplitDatabase) -> None:
    assert schemas(split_db.a.url) == A_SCHEMAS
    assert schemas(split_db.b.url) == B_SCHEMAS | {"member_service_private"}


def test_the_two_servers_hold_exactly_the_tables_of_one(
    split_db: SplitDatabase, cluster: Cluster, template_db: str
) -> None:
    """No table is lost or doubled by the split, but `common`'s and `audit`'s on both."""
    one = tables(with_database(cluster.admin_url, template_db))
    on_a, on_b = tables(split_db.a.url), tables(split_db.b.url)
    assert on_a | on_b == one
    assert {s for s, _ in on_a & on_b} == set(SHARED_SCHEMAS)


def test_every_service_reads_its_schema_on_its_server_as_its_role(
    split_db: SplitDatabase,
) -> None:
    for s in SERVICES:
        with service_connection(s.key) as conn:
            row = conn.execute(
                "SELECT current_user, current_database(), inet_server_port(),"
                " has_schema_privilege(%s, 'USAGE')",
                (s.schema,),
            ).fetchone()
        expected = split_db.on(s.schema)
        port = int(expected.url.rsplit(":", 1)[1].split("/")[0])
        assert row == (s.role, expected.name, port, True)


def test_db_downgrade_and_upgrade_on_both_servers(split_db: SplitDatabase) -> None:
    before = (tables(split_db.a.url), tables(split_db.b.url))
    runner = CliRunner()
    down = runner.invoke(app, ["db", "downgrade", "--yes"])
    assert down.exit_code == 0, down.output
    assert schemas(split_db.a.url) == set() and schemas(split_db.b.url) == set()
    assert all(v is None for v in migrate.current().values())
    up = runner.invoke(app, ["db", "upgrade"])
    assert up.exit_code == 0, up.output
    assert (tables(split_db.a.url), tables(split_db.b.url)) == before
    revisions = migrate.current()
    assert list(revisions) == list(MIGRATION_ORDER)
    assert all(r is not None and r.startswith(f"{s}_0") for s, r in revisions.items())
    # The roles' passwords were set again on both servers: every service logs in.
    for s in SERVICES:
        with service_connection(s.key) as conn:
            assert conn.execute("SELECT current_user").fetchone() == (s.role,)


def test_upgrade_is_idempotent_on_the_split(split_db: SplitDatabase) -> None:
    before = (tables(split_db.a.url), tables(split_db.b.url))
    migrate.upgrade()
    assert (tables(split_db.a.url), tables(split_db.b.url)) == before


def test_a_further_server_no_service_names_is_refused(
    split_db: SplitDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTHER_DATABASE_URLS", f"{split_db.b.url} postgresql://x@elsewhere/db")
    reset_settings()
    with pytest.raises(ConfigError, match="elsewhere:5432/db"):
        servers()
    monkeypatch.setenv("OTHER_DATABASE_URLS", split_db.a.url)
    reset_settings()
    with pytest.raises(ConfigError, match="named once"):
        servers()
    reset_settings()


def test_database_url_must_be_the_claims_server(
    split_db: SplitDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Partitions and archiving go through DATABASE_URL: swapping the two is refused."""
    monkeypatch.setenv("DATABASE_URL", split_db.b.url)
    monkeypatch.setenv("OTHER_DATABASE_URLS", split_db.a.url)
    reset_settings()
    with pytest.raises(ConfigError, match="DATABASE_URL: must be the claims service's server"):
        migrate.upgrade()
    reset_settings()


def test_member_tokens_are_signed_with_the_member_servers_key(split_db: SplitDatabase) -> None:
    from claims_askes.db.member_tokens import session_key

    with psycopg.connect(split_db.b.url) as conn:
        row = conn.execute("SELECT key FROM member_service_private.session_key").fetchone()
    assert row is not None and session_key() == bytes(row[0])
