"""Every named SQL statement keeps the rules of `sql/`: it touches its own schema (and the
shared `common`, and the archive its claims service owns) and no other service's; its header
says what it does and names every parameter it binds."""

from __future__ import annotations

import re

import pytest

from claims_askes.core.services import ALL_SCHEMAS
from claims_askes.db.sqlfiles import SQL_DIR, Statement, parse_file

QUALIFIED = re.compile(r"\b([a-z_][a-z0-9_]*)\.[a-z_][a-z0-9_]*\b")
PARAMETER = re.compile(r"%\(([a-z_][a-z0-9_]*)\)s")
SHARED = {"common", "pg_catalog", "information_schema"}
ALSO = {"claims_service": {"archive"}, "archive": {"claims_service"}}


def statements() -> list[Statement]:
    found = []
    for directory in sorted(p for p in SQL_DIR.iterdir() if p.is_dir()):
        for path in sorted(directory.glob("*.sql")):
            found.extend(parse_file(path, directory.name))
    return found


STATEMENTS = statements()


def test_there_are_statements_of_every_flow_schema() -> None:
    assert {
        "claims_service",
        "benefit_service",
        "member_service",
        "provider_service",
        "authorization_service",
    } <= {s.schema for s in STATEMENTS}


@pytest.mark.parametrize("stmt", STATEMENTS, ids=lambda s: f"{s.schema}.{s.name}")
def test_statement_stays_in_its_schema(stmt: Statement) -> None:
    assert stmt.schema in ALL_SCHEMAS
    code = "\n".join(line for line in stmt.text.splitlines() if not line.lstrip().startswith("--"))
    allowed = {stmt.schema} | SHARED | ALSO.get(stmt.schema, set())
    others = {m.group(1) for m in QUALIFIED.finditer(code)} & set(ALL_SCHEMAS)
    assert others <= allowed, f"{stmt.path.name}: {stmt.name} reaches {others - allowed}"


@pytest.mark.parametrize("stmt", STATEMENTS, ids=lambda s: f"{s.schema}.{s.name}")
def test_header_says_what_and_names_parameters(stmt: Statement) -> None:
    assert len(stmt.doc) > 20, f"{stmt.name}: the header should say what it does"
    code = "\n".join(line for line in stmt.text.splitlines() if not line.lstrip().startswith("--"))
    missing = {p for p in PARAMETER.findall(code) if p not in stmt.doc}
    assert not missing, f"{stmt.path.name}: {stmt.name} binds {missing} not named in its header"
