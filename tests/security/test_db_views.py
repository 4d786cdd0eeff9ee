"""Issue 15, items 1 and 4: views that hold row-level security, and a masked NIK that cannot
be rebuilt.

Item 1: the member views belonged to the admin role (which RLS does not bind), and the member
role held INSERT/UPDATE/DELETE on v_member_masked: with no purpose declared it read, rewrote,
added and deleted every member through the view. Every view of every schema is tried here as
every role.

Item 4: reporting_user saw the NIK's last four digits beside the date of birth, gender and
city: digits 7-12 of a NIK are the birth date (day + 40 for women), each city has one
regency code and a regency a few districts, which left at most 24 candidates."""

from __future__ import annotations

import uuid
from datetime import date

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from claims_askes.core.services import ALL_SCHEMAS, REPORTING_ROLE, SERVICES
from claims_askes.demo.seed.generate import CITIES
from tests.conftest import TestDatabase

ROLES = [s.role for s in SERVICES] + [REPORTING_ROLE]
MEMBER_ROLE = "member_service_user"
WRITES = ("INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
#: districts per regency in the demo's NIKs (01-24); real regencies have more
DISTRICTS = 24
MIN_CANDIDATES = 1000


def add_members(conn: psycopg.Connection, count: int = 30) -> list[uuid.UUID]:
    """Members built as the demo seed builds them: NIK = regency + district, DDMMYY (day + 40
    for women), serial; each with the city and province of its regency."""
    ids = []
    for i in range(count):
        city, province, regency = CITIES[i % len(CITIES)][:3]
        female = i % 2 == 1
        dob = date(1960 + i, 1 + i % 12, 1 + i % 28)
        day = dob.day + (40 if female else 0)
        nik = f"{regency}{1 + i % DISTRICTS:02d}{day:02d}{dob.month:02d}{dob.year % 100:02d}0001"
        member_id = uuid.uuid4()
        conn.execute(
            """
            INSERT INTO member_service.member (id, member_number, first_name, last_name,
                date_of_birth, gender, national_id, city, state_province, status,
                enrollment_date)
            VALUES (%s, %s, 'Sari', 'Wulan', %s, %s, %s, %s, %s, 'active', '2020-01-01')
            """,
            (member_id, f"M-{i:06d}", dob, "F" if female else "M", nik, city, province),
        )
        ids.append(member_id)
    return ids


def views(conn: psycopg.Connection) -> list[tuple[str, str]]:
    return [
        (r[0], r[1])
        for r in conn.execute(
            "SELECT schemaname, viewname FROM pg_views WHERE schemaname = ANY(%s) ORDER BY 1, 2",
            (list(ALL_SCHEMAS),),
        ).fetchall()
    ]


def ident(schema: str, name: str) -> sql.Identifier:
    return sql.Identifier(schema, name)


def test_every_view_holds_rls_owner_or_invoker(db: TestDatabase) -> None:
    """A view runs with its invoker's rights, or is owned by a role that RLS binds (not a
    superuser, no BYPASSRLS)."""
    with db.admin() as conn:
        assert len(views(conn)) >= 3
        rows = conn.execute(
            """
            SELECT n.nspname, c.relname, r.rolname, r.rolsuper, r.rolbypassrls,
                   coalesce('security_invoker=true' = ANY(c.reloptions)
                            OR 'security_invoker=on' = ANY(c.reloptions), false)
            FROM pg_class AS c
            JOIN pg_namespace AS n ON n.oid = c.relnamespace
            JOIN pg_roles AS r ON r.oid = c.relowner
            WHERE c.relkind = 'v' AND n.nspname = ANY(%s)
            """,
            (list(ALL_SCHEMAS),),
        ).fetchall()
    bypassing = [r[:3] for r in rows if not r[5] and (r[3] or r[4])]
    assert bypassing == []


def test_no_role_may_write_through_any_view(db: TestDatabase) -> None:
    with db.admin() as conn:
        granted = conn.execute(
            """
            SELECT role, v.schemaname, v.viewname, op
            FROM unnest(%s::text[]) AS role, unnest(%s::text[]) AS op, pg_views AS v
            WHERE v.schemaname = ANY(%s)
              AND has_table_privilege(role, format('%%I.%%I', v.schemaname, v.viewname), op)
            """,
            (ROLES, list(WRITES), list(ALL_SCHEMAS)),
        ).fetchall()
        via_info_schema = conn.execute(
            """
            SELECT g.grantee, g.table_schema, g.table_name, g.privilege_type
            FROM information_schema.role_table_grants AS g
            JOIN pg_views AS v ON v.schemaname = g.table_schema AND v.viewname = g.table_name
            WHERE g.table_schema = ANY(%s) AND g.privilege_type <> 'SELECT'
              AND g.grantee = ANY(%s)
            """,
            (list(ALL_SCHEMAS), ROLES),
        ).fetchall()
    assert granted == []
    assert via_info_schema == []


def test_every_view_as_every_role_shows_members_only_to_whom_it_should(
    db: TestDatabase,
) -> None:
    """Each role, with no purpose declared, counts every view. The only view that shows any
    member to a session that declared nothing is reporting's masked view."""
    with db.admin() as conn:
        add_members(conn, 12)
        names = views(conn)
    seen: dict[tuple[str, str, str], object] = {}
    for role in ROLES:
        with db.as_role(role) as conn:
            for schema, view in names:
                try:
                    row = conn.execute(
                        sql.SQL("SELECT count(*) FROM {}").format(ident(schema, view))
                    ).fetchone()
                    seen[(role, schema, view)] = row[0] if row else None
                except psycopg.errors.InsufficientPrivilege:
                    seen[(role, schema, view)] = "denied"
    member_views = {
        ("member_service", "v_member_masked"),
        ("member_service", "v_member_eligibility"),
    }
    showing = {k: v for k, v in seen.items() if (k[1], k[2]) in member_views and v != "denied"}
    assert {k: v for k, v in showing.items() if v != 0} == {
        (REPORTING_ROLE, "member_service", "v_member_masked"): 12,
        (MEMBER_ROLE, "member_service", "v_member_eligibility"): 12,
    }
    # Every other role is refused every member view, except the member role's own view,
    # which it reads as the batch role it is (member-facing sessions have a role of their own,
    # member_portal_user, bound to one member: tests/security/test_roles_member_access.py).
    assert set(showing) == {
        (REPORTING_ROLE, "member_service", "v_member_masked"),
        (MEMBER_ROLE, "member_service", "v_member_eligibility"),
    }


def test_member_role_cannot_read_masked_members_or_write_through_views(
    db: TestDatabase,
) -> None:
    """The attacks of the issue, as member_service_user: it reads members as the batch role
    (by its own table and its own view, under row-level security) but reads nothing through
    the masked view and writes through no view."""
    with db.admin() as conn:
        ids = add_members(conn, 5)
        before = conn.execute(
            "SELECT id, first_name FROM member_service.member ORDER BY id"
        ).fetchall()
    with db.as_role(MEMBER_ROLE) as conn:
        assert conn.execute("SELECT count(*) FROM member_service.member").fetchone() == (len(ids),)
        assert conn.execute(
            "SELECT count(*) FROM member_service.v_member_eligibility"
        ).fetchone() == (len(ids),)
        attacks = [
            "SELECT count(*) FROM member_service.v_member_masked",
            "UPDATE member_service.v_member_masked SET first_name = 'PWNED' WHERE true",
            "INSERT INTO member_service.v_member_masked (member_number, first_name, last_name, "
            "status, enrollment_date) VALUES ('X-1', 'PWNED', 'X', 'active', '2024-01-01')",
            "DELETE FROM member_service.v_member_masked WHERE true",
        ]
        for attack in attacks:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(attack)
        # The eligibility view is not updatable at all (a join); refused either way.
        for attack in (
            "UPDATE member_service.v_member_eligibility SET member_number = 'PWNED' WHERE true",
            "DELETE FROM member_service.v_member_eligibility WHERE true",
        ):
            with pytest.raises(
                (psycopg.errors.InsufficientPrivilege, psycopg.errors.ObjectNotInPrerequisiteState)
            ):
                conn.execute(attack)
    with db.admin() as conn:
        after = conn.execute(
            "SELECT id, first_name FROM member_service.member ORDER BY id"
        ).fetchall()
    assert after == before


def test_reporting_still_reads_every_member_masked(db: TestDatabase) -> None:
    with db.admin() as conn:
        ids = add_members(conn, 8)
    with db.as_role(REPORTING_ROLE) as conn:
        rows = conn.execute(
            "SELECT id, national_id FROM member_service.v_member_masked ORDER BY id"
        ).fetchall()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT national_id FROM member_service.member")
    assert sorted(r[0] for r in rows) == sorted(ids)
    assert all(r[1].startswith("************") and len(r[1]) == 16 for r in rows)


def nik_candidates(row: dict[str, object], regencies_of: dict[str, int]) -> int:
    """How many NIKs agree with what one row shows: the unknown digits of the serial (13-16),
    of the birth date (7-12: DDMMYY, day + 40 for women) and of the region (1-6: regency and
    district), each narrowed by the columns the row has."""
    nik = row.get("national_id")
    shown = sum(ch.isdigit() for ch in nik) if isinstance(nik, str) else 0
    if shown > 4:
        return 1  # more than the serial shown: treat as rebuilt
    serial = 10 ** (4 - shown)
    if "date_of_birth" in row:
        days = 1
    elif "birth_year" in row:
        days = 365
    else:
        days = 365 * 100
    sexes = 1 if "gender" in row else 2
    if "city" in row:
        regencies = 1
    elif "state_province" in row:
        regencies = regencies_of.get(str(row["state_province"]), 1)
    else:
        regencies = len(CITIES)
    return serial * days * sexes * regencies * DISTRICTS


def test_no_view_a_non_member_role_reads_narrows_a_nik_below_1000(db: TestDatabase) -> None:
    regencies_of: dict[str, int] = {}
    for _city, province, *_ in CITIES:
        regencies_of[province] = regencies_of.get(province, 0) + 1
    readers = [r for r in ROLES if r != MEMBER_ROLE]
    with db.admin() as conn:
        add_members(conn, len(CITIES))
        readable = conn.execute(
            """
            SELECT role, v.schemaname, v.viewname
            FROM unnest(%s::text[]) AS role, pg_views AS v
            WHERE v.schemaname = ANY(%s)
              AND has_schema_privilege(role, v.schemaname, 'USAGE')
              AND has_table_privilege(role, format('%%I.%%I', v.schemaname, v.viewname), 'SELECT')
            """,
            (readers, list(ALL_SCHEMAS)),
        ).fetchall()
    checked = 0
    narrowed: list[tuple[str, str, str, int]] = []
    for role, schema, view in readable:
        with db.as_role(role) as conn:
            cur = conn.cursor(row_factory=dict_row)
            cur.execute(sql.SQL("SELECT * FROM {}").format(ident(schema, view)))
            for row in cur.fetchall():
                if "national_id" not in row:
                    continue
                checked += 1
                count = nik_candidates(row, regencies_of)
                if count < MIN_CANDIDATES:
                    narrowed.append((role, schema, view, count))
    assert checked >= len(CITIES)  # reporting reads the masked view
    assert narrowed == []
