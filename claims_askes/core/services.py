"""The service schemas, their login roles and the order their migrations run in.

Each service owns exactly one schema (the claims service also owns `archive`, where its
old claims go). Migrations run in the order of `MIGRATION_ORDER`: shared objects first.
"""

from __future__ import annotations

from dataclasses import dataclass

from claims_askes.core.errors import UnknownIdentifierError


@dataclass(frozen=True)
class Service:
    """A service: the key used in settings (`<KEY>_DATABASE_URL`), its schema and role."""

    key: str
    schema: str

    @property
    def role(self) -> str:
        return f"{self.schema}_user"

    @property
    def url_variable(self) -> str:
        return f"{self.key.upper()}_DATABASE_URL"

    @property
    def password_variable(self) -> str:
        return f"{self.key.upper()}_DB_PASSWORD"


SERVICES: tuple[Service, ...] = (
    Service("claims", "claims_service"),
    Service("member", "member_service"),
    Service("provider", "provider_service"),
    Service("benefit", "benefit_service"),
    Service("policy", "policy_service"),
    Service("authorization", "authorization_service"),
    Service("payment", "payment_service"),
    Service("notification", "notification_service"),
    Service("document", "document_service"),
)
SERVICE_BY_KEY = {s.key: s for s in SERVICES}
SERVICE_BY_SCHEMA = {s.schema: s for s in SERVICES}

REPORTING_ROLE = "reporting_user"
# The member service's two purposes are two login roles (row-level security by role, see
# docs/database.md): its batch role (`member_service_user`, what the flows connect as) reads
# every member; the member-facing role reads only the member its session was bound to by a
# signed token (`claims_askes.db.member_tokens`). No flow connects as the member-facing role.
MEMBER_PORTAL_ROLE = "member_portal_user"
SHARED_SCHEMAS = ("common", "audit")
# The 11 schemas of the design, plus `archive` (owned by the claims service).
ALL_SCHEMAS: tuple[str, ...] = (*(s.schema for s in SERVICES), *SHARED_SCHEMAS, "archive")

# Migration folders (migrations/<name>/), in dependency order. Each folder's version table
# lives in its schema.
MIGRATION_ORDER: tuple[str, ...] = (
    "common",
    "audit",
    "policy_service",
    "member_service",
    "provider_service",
    "benefit_service",
    "authorization_service",
    "claims_service",  # also creates and migrates `archive`, which it owns
    "payment_service",
    "notification_service",
    "document_service",
)


def service(key_or_schema: str) -> Service:
    """The service named by its key (`claims`) or schema (`claims_service`)."""
    found = SERVICE_BY_KEY.get(key_or_schema) or SERVICE_BY_SCHEMA.get(key_or_schema)
    if found is None:
        known = ", ".join(s.key for s in SERVICES)
        raise UnknownIdentifierError(f"unknown service {key_or_schema!r}; known: {known}")
    return found


def known_schema(name: str) -> str:
    """Return `name` if it is one of our schemas, else refuse it before it reaches SQL."""
    if name not in ALL_SCHEMAS:
        raise UnknownIdentifierError(f"unknown schema {name!r}; known: {', '.join(ALL_SCHEMAS)}")
    return name
