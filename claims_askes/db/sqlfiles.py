"""Named SQL statements from `sql/<schema>/*.sql`, after aiosql.

A file holds one or a few statements, each introduced by a header comment:

    -- name: lease_claims
    -- Leases the claims of whole members ... Parameters: %(run_id)s, %(max_claims)s.
    WITH ... SELECT ...

Statements use psycopg's named parameters only. `queries("claims_service").lease_claims`
returns the text; a statement may reference its own schema and `common` (and temporary
tables), never another service's schema: tests check that for every file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from claims_askes.core.services import known_schema

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
NAME_LINE = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Statement:
    name: str
    schema: str
    path: Path
    text: str
    doc: str


@dataclass
class Queries:
    """The named statements of one schema, by attribute or by `[name]`."""

    schema: str
    statements: dict[str, Statement] = field(default_factory=dict)

    def __getattr__(self, name: str) -> str:
        try:
            return self.statements[name].text
        except KeyError:
            raise AttributeError(f"no statement {name!r} in sql/{self.schema}/") from None

    def __getitem__(self, name: str) -> str:
        return self.__getattr__(name)


def parse_file(path: Path, schema: str) -> list[Statement]:
    text = path.read_text()
    matches = list(NAME_LINE.finditer(text))
    if not matches:
        raise ValueError(f"{path}: no '-- name:' header")
    out = []
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        body = text[match.end() : end].strip()
        doc = "\n".join(line[2:].strip() for line in body.splitlines() if line.startswith("--"))
        out.append(Statement(match.group(1), schema, path, body, doc))
    return out


@cache
def queries(schema: str) -> Queries:
    """Every named statement of `sql/<schema>/` (loaded once per process)."""
    known_schema(schema)
    result = Queries(schema)
    for path in sorted((SQL_DIR / schema).glob("*.sql")):
        for stmt in parse_file(path, schema):
            if stmt.name in result.statements:
                raise ValueError(f"{path}: statement {stmt.name!r} defined twice")
            result.statements[stmt.name] = stmt
    return result
