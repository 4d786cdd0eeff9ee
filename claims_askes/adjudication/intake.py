"""The door of adjudication: claims as an intake receives them, stored for the next run.

`submit_claims` checks each claim's shape (schemas/intake.py) and stores every claim that
passes, with its lines, in one statement through the claims service's own connection
(sql/claims_service/intake.sql): status submitted, a new claim number, submission_date the
transaction's clock. A claim whose shape is wrong is refused, never stored, and handed back
with an error naming the claim's position and each field that is wrong, so that the sender
can correct it: nothing is lost in between. Content the adjudication rules judge (dates in
the wrong order, a malformed code) is stored as sent; R1 rejects it with a note.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from pydantic import ValidationError

from claims_askes.core.errors import ClaimsAskesError
from claims_askes.db.connections import service_connection
from claims_askes.db.sqlfiles import queries
from schemas.intake import ClaimSubmission


class IntakeError(ClaimsAskesError):
    """A submitted claim whose shape is wrong: the message names it and each bad field."""


@dataclass(frozen=True)
class Accepted:
    position: int  # in the batch as sent
    claim_id: str
    claim_number: str


@dataclass
class IntakeResult:
    """What became of a batch: claims stored (in order) and claims refused, with why."""

    accepted: list[Accepted] = field(default_factory=list)
    refused: list[IntakeError] = field(default_factory=list)
    lines: int = 0


def _where(loc: tuple[int | str, ...]) -> str:
    """`lines[2].charged_amount` from pydantic's location tuple."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "claim"


def _shown(value: Any, limit: int = 60) -> str:
    """The value as repr (escape bytes shown escaped), cut short."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def validated(raw: Mapping[str, Any], position: int = 0) -> ClaimSubmission:
    """The claim, or IntakeError naming every field that is wrong (and what it holds)."""
    try:
        return ClaimSubmission.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_where(tuple(e['loc']))}: {e['msg']}"
            + ("" if e["type"] == "missing" or not e["loc"] else f" (got {_shown(e['input'])})")
            for e in exc.errors(include_url=False)
        )
        raise IntakeError(f"claim {position} refused, nothing stored: {problems}") from None


def _rows(claims: Sequence[tuple[int, ClaimSubmission]]) -> tuple[str, str]:
    """The statement's two JSON parameters; amounts as decimal strings (never floats)."""
    heads, lines = [], []
    for key, claim in claims:
        heads.append(
            {
                "key": key,
                **claim.model_dump(mode="json", exclude={"lines"}),
                "total_charged_amount": None
                if claim.total_charged is None
                else str(claim.total_charged),
            }
        )
        lines += [
            {"key": key, "line_number": n, **line.model_dump(mode="json")}
            for n, line in enumerate(claim.lines, start=1)
        ]
    return json.dumps(heads), json.dumps(lines)


def store(
    conn: psycopg.Connection, claims: Sequence[tuple[int, ClaimSubmission]], submitted_by: str
) -> list[Accepted]:
    """Inserts validated claims (keyed by position) in the caller's transaction."""
    if not claims:
        return []
    heads, lines = _rows(claims)
    rows = conn.execute(
        queries("claims_service").insert_submitted_claims,
        {"claims": heads, "lines": lines, "submitted_by": submitted_by},
    ).fetchall()
    return [Accepted(int(r[0]), str(r[1]), str(r[2])) for r in rows]


def submit_claims(
    raw_claims: Sequence[Mapping[str, Any]],
    *,
    submitted_by: str = "intake",
    conn: psycopg.Connection | None = None,
) -> IntakeResult:
    """Stores every well-formed claim of the batch in one transaction (the caller's `conn`,
    or the claims service's own connection, committed); refuses the others, each with an
    IntakeError saying what is wrong."""
    result = IntakeResult()
    good: list[tuple[int, ClaimSubmission]] = []
    for position, raw in enumerate(raw_claims):
        try:
            good.append((position, validated(raw, position)))
        except IntakeError as exc:
            result.refused.append(exc)
    result.lines = sum(len(c.lines) for _, c in good)
    if conn is not None:
        result.accepted = store(conn, good, submitted_by)
    else:
        with service_connection("claims") as own:
            result.accepted = store(own, good, submitted_by)
    return result
