"""What each service's session may do, as PostgreSQL enforces it, against its contract.

`session_matrix` opens each service's connection exactly as the flows do
(`service_connection`, in the current configuration) and asks PostgreSQL about the
session's `current_user`: USAGE and CREATE on every schema of the database, and SELECT,
INSERT, UPDATE, DELETE, TRUNCATE on any of its tables. `excess` compares that with the
contract: each service may use its own schema (read and write, never TRUNCATE or CREATE)
and read `common`; the claims service also reads and appends to `archive`. Anything more,
or a session that is not the service's role (the owner, a superuser, a role bypassing
row-level security), is an excess. `claims-askes db check-privileges` prints both.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from claims_askes.core.services import SERVICES, Service
from claims_askes.core.settings import Settings
from claims_askes.db.connections import service_connection

PRIVILEGES = ("USAGE", "SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "CREATE")
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
_READ_WRITE = frozenset({"USAGE", "SELECT", "INSERT", "UPDATE", "DELETE"})


@dataclass
class SessionPrivileges:
    """One service's session: who it is, and per schema what it may do."""

    service: Service
    current_user: str
    session_user: str
    superuser: bool
    bypass_rls: bool
    schemas: dict[str, frozenset[str]] = field(default_factory=dict)


def contract(svc: Service) -> dict[str, frozenset[str]]:
    """The privileges service `svc` may hold, per schema (a schema not named: none)."""
    allowed = {svc.schema: _READ_WRITE, "common": frozenset({"USAGE", "SELECT"})}
    if svc.key == "claims":
        allowed["archive"] = frozenset({"USAGE", "SELECT", "INSERT"})
    return allowed


_SCHEMA_QUERY = """
SELECT n.nspname,
       has_schema_privilege(current_user, n.oid, 'USAGE'),
       has_schema_privilege(current_user, n.oid, 'CREATE'),
       coalesce(bool_or(has_table_privilege(current_user, c.oid, 'SELECT')), false),
       coalesce(bool_or(has_table_privilege(current_user, c.oid, 'INSERT')), false),
       coalesce(bool_or(has_table_privilege(current_user, c.oid, 'UPDATE')), false),
       coalesce(bool_or(has_table_privilege(current_user, c.oid, 'DELETE')), false),
       coalesce(bool_or(has_table_privilege(current_user, c.oid, 'TRUNCATE')), false)
FROM pg_namespace AS n
LEFT JOIN pg_class AS c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
GROUP BY n.oid, n.nspname
ORDER BY n.nspname
"""


def session_privileges(svc: Service, settings: Settings | None = None) -> SessionPrivileges:
    with service_connection(svc.key, settings=settings) as conn:
        who = conn.execute(
            "SELECT current_user, session_user, r.rolsuper, r.rolbypassrls "
            "FROM pg_roles AS r WHERE r.rolname = current_user"
        ).fetchone()
        assert who is not None
        found = SessionPrivileges(
            service=svc,
            current_user=who[0],
            session_user=who[1],
            superuser=bool(who[2]),
            bypass_rls=bool(who[3]),
        )
        for row in conn.execute(_SCHEMA_QUERY).fetchall():
            names = ("USAGE", "CREATE", *TABLE_PRIVILEGES)
            found.schemas[row[0]] = frozenset(n for n, ok in zip(names, row[1:], strict=True) if ok)
        conn.rollback()
    return found


def session_matrix(settings: Settings | None = None) -> list[SessionPrivileges]:
    """Every service's session, in the current configuration."""
    return [session_privileges(svc, settings) for svc in SERVICES]


def excess(found: SessionPrivileges) -> list[str]:
    """What this session may do beyond its service's contract, one line each."""
    svc = found.service
    out: list[str] = []
    if found.current_user != svc.role:
        out.append(f"{svc.key}: the session is {found.current_user!r}, not {svc.role!r}")
    if found.superuser:
        out.append(f"{svc.key}: the session is a superuser")
    if found.bypass_rls:
        out.append(f"{svc.key}: the session bypasses row-level security")
    allowed = contract(svc)
    for schema, privileges in sorted(found.schemas.items()):
        extra = privileges - allowed.get(schema, frozenset())
        if extra:
            ordered = " ".join(p for p in PRIVILEGES if p in extra)
            out.append(f"{svc.key}: {ordered} on schema {schema}")
    return out
