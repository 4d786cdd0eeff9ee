"""Issue 15, item 2: the purpose of a member session is its login role, not a setting.

The batch role (member_service_user, what the flows connect as) reads every member; the
member-facing role (member_portal_user) reads only the member its session was bound to with
a signed token, through member_service.bind_member_session (SECURITY DEFINER). Each test
performs an attack as the role that would try it."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from claims_askes.cli.app import app
from claims_askes.core.services import MEMBER_PORTAL_ROLE, SERVICES
from claims_askes.db.connections import service_connection, with_credentials
from claims_askes.db.member_tokens import mint_member_token, session_key, sign_member_token
from tests.conftest import TestDatabase
from tests.fixtures_sql import add_member

BATCH_ROLE = "member_service_user"
REFUSED = psycopg.errors.InsufficientPrivilege


@pytest.fixture
def portal_url(db: TestDatabase) -> Iterator[str]:
    """A login of the member-facing role (its password is the operator's to set)."""
    password = secrets.token_urlsafe(18)
    with db.admin() as conn:
        conn.execute(
            sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD {}").format(
                sql.Identifier(MEMBER_PORTAL_ROLE), sql.Literal(password)
            )
        )
    yield with_credentials(db.url, MEMBER_PORTAL_ROLE, password)


def members(db: TestDatabase, count: int) -> list[uuid.UUID]:
    with db.admin() as conn:
        return [add_member(conn) for _ in range(count)]


def visible(conn: psycopg.Connection) -> list[uuid.UUID]:
    return [r[0] for r in conn.execute("SELECT id FROM member_service.member ORDER BY id")]


def bind(conn: psycopg.Connection, token: str) -> object:
    row = conn.execute("SELECT member_service.bind_member_session(%s)", (token,)).fetchone()
    return row[0] if row else None


def test_a_portal_session_that_sets_the_old_purpose_settings_sees_nobody(
    db: TestDatabase, portal_url: str
) -> None:
    a, _b = members(db, 2)
    with psycopg.connect(portal_url, autocommit=True) as conn:
        assert visible(conn) == []
        conn.execute("SET claims_askes.access = 'batch'")
        assert visible(conn) == []
        conn.execute(sql.SQL("SET claims_askes.member_id = {}").format(sql.Literal(str(a))))
        assert visible(conn) == []
    options = f"-c claims_askes.access=batch -c claims_askes.member_id={a}"
    with psycopg.connect(portal_url, autocommit=True, options=options) as conn:
        assert visible(conn) == []


def test_forged_tampered_expired_and_malformed_tokens_are_refused(
    db: TestDatabase, portal_url: str
) -> None:
    a, b = members(db, 2)
    later = int(time.time()) + 600
    real = sign_member_token(session_key(), a, later)
    member_part, expiry, signature = real.split(".")
    attacks = {
        "forged with a key of the attacker's": sign_member_token(b"k" * 32, b, later),
        "another member under a's signature": f"{b}.{expiry}.{signature}",
        "a's token with its expiry moved": f"{member_part}.{later + 3600}.{signature}",
        "expired, correctly signed": sign_member_token(session_key(), a, int(time.time()) - 5),
        "malformed": f"{a}.{later}",
        "injection": f"{a}.{later}.{'0' * 64}' OR true --",
        "empty": "",
    }
    for name, token in attacks.items():
        with psycopg.connect(portal_url, autocommit=True) as conn:
            with pytest.raises(REFUSED, match="token refused"):
                bind(conn, token)
            assert visible(conn) == [], name


def test_a_valid_token_shows_exactly_its_member_read_only(
    db: TestDatabase, portal_url: str
) -> None:
    a, _b, _c = members(db, 3)
    with psycopg.connect(portal_url, autocommit=True) as conn:
        assert bind(conn, mint_member_token(a)) == a
        assert visible(conn) == [a]
        assert conn.execute("SELECT member_service.bound_member()").fetchone() == (a,)
        for attack in (
            "UPDATE member_service.member SET first_name = 'PWNED'",
            "DELETE FROM member_service.member",
            "SELECT count(*) FROM member_service.member_coverage",
            "SELECT count(*) FROM member_service.v_member_masked",
        ):
            with pytest.raises(REFUSED):
                conn.execute(attack)
    # The binding is the session's, not the role's: a new session sees nobody.
    with psycopg.connect(portal_url, autocommit=True) as conn:
        assert visible(conn) == []


def test_a_bound_session_cannot_rebind_or_forge_its_binding(
    db: TestDatabase, portal_url: str
) -> None:
    a, b = members(db, 2)
    with psycopg.connect(portal_url, autocommit=True) as conn:
        bind(conn, mint_member_token(a))
        for token in (mint_member_token(b), mint_member_token(a)):
            with pytest.raises(REFUSED, match="already bound"):
                bind(conn, token)
        for attack in (
            "SELECT key FROM member_service_private.session_key",
            "INSERT INTO member_service_private.session_binding "
            "SELECT pg_backend_pid(), now(), gen_random_uuid(), now()",
            "DELETE FROM member_service_private.session_binding",
            "CREATE FUNCTION member_service.bound_member2() RETURNS uuid LANGUAGE sql "
            "AS 'SELECT NULL::uuid'",
        ):
            with pytest.raises(REFUSED):
                conn.execute(attack)
        conn.execute("RESET ALL")
        conn.execute("DISCARD ALL")
        assert visible(conn) == [a]


def test_a_binding_ends_with_its_token(db: TestDatabase, portal_url: str) -> None:
    (a,) = members(db, 1)
    token = sign_member_token(session_key(), a, int(time.time()) + 2)
    with psycopg.connect(portal_url, autocommit=True) as conn:
        bind(conn, token)
        assert visible(conn) == [a]
        time.sleep(2.5)
        assert visible(conn) == []


def test_the_batch_role_reads_every_member_and_cannot_bind_or_read_the_key(
    db: TestDatabase,
) -> None:
    ids = members(db, 3)
    with db.as_role(BATCH_ROLE) as conn:
        assert sorted(visible(conn)) == sorted(ids)
        for attack in (
            "SELECT key FROM member_service_private.session_key",
            f"SELECT member_service.bind_member_session('{mint_member_token(ids[0])}')",
        ):
            with pytest.raises(REFUSED):
                conn.execute(attack)
    # No other service role reads members at all, whatever it sets.
    for svc in SERVICES:
        if svc.role == BATCH_ROLE:
            continue
        options = f"-c claims_askes.access=batch -c claims_askes.member_id={ids[0]}"
        with db.as_role(svc.role, options=options) as conn:
            with pytest.raises(REFUSED):
                conn.execute("SELECT id FROM member_service.member")


def test_the_member_service_connection_of_the_flows_is_the_batch_role(db: TestDatabase) -> None:
    ids = members(db, 2)
    with service_connection("member") as conn:
        assert conn.execute("SELECT current_user").fetchone() == (BATCH_ROLE,)
        assert sorted(visible(conn)) == sorted(ids)


def test_the_member_token_command_mints_a_token_that_binds(
    db: TestDatabase, portal_url: str
) -> None:
    (a,) = members(db, 1)
    result = CliRunner().invoke(app, ["db", "member-token", str(a), "--minutes", "5"])
    assert result.exit_code == 0, result.output
    with psycopg.connect(portal_url, autocommit=True) as conn:
        assert bind(conn, result.output.strip()) == a
        assert visible(conn) == [a]
    bad = CliRunner().invoke(app, ["db", "member-token", "not-a-uuid"])
    assert bad.exit_code == 2
    assert "MEMBER_ID: not a UUID" in bad.output
