"""A claim's audit trail (`claims-askes audit trail`): one entry per version of the claim, its
lines and the records hanging off them, in time order. `--json` prints a list of `TrailEntry`
(money as Decimal, shown as strings in JSON: never a float)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Source = Literal["row_audit", "statement_audit", "record"]
Kind = Literal[
    "submission",
    "adjudication",
    "pend",
    "re-adjudication",
    "override",
    "manual edit",
    "update",
    "status",
    "note",
    "readjustment",
    "posting",
    "reversal",
    "payment",
    "archiving",
]


class Change(BaseModel):
    """One column of a version: what it was before, what this version wrote."""

    model_config = ConfigDict(extra="forbid")

    before: Any = None
    after: Any = None


class TrailEntry(BaseModel):
    """One version: what was written (`content`, and `changes` against the version before),
    who wrote it (`login`, and the person where the row names one), when, and through which
    run (`flow_name`, `flow_run_id`) or session (`application`, `transaction_id`)."""

    model_config = ConfigDict(extra="forbid")

    at: datetime
    subject: str = Field(description="`claim`, or `line N`")
    line: int | None = None
    kind: Kind
    table: str = Field(description="schema.table of the row")
    row_id: str
    operation: str = Field(description="INSERT, UPDATE, DELETE, or the ledger's POST/REVERSE")
    version: int | None = Field(None, description="the line's adjudication version after it")
    login: str | None = Field(None, description="the database login that wrote it")
    person: str | None = Field(None, description="who the row itself names (a reviewer)")
    flow_name: str | None = None
    flow_run_id: str | None = None
    application: str | None = Field(None, description="the session's application_name")
    transaction_id: str | None = None
    source: Source
    summary: str = Field(description="what changed, in a few words")
    changes: dict[str, Change] = Field(default_factory=dict)
    content: dict[str, Any] | None = Field(
        None, description="the row as this version wrote it (None once deleted)"
    )

    @property
    def via(self) -> str:
        """The run, or else the session, that wrote the version."""
        if self.flow_name:
            return f"{self.flow_name} run {self.flow_run_id}"
        if self.application is not None or self.transaction_id:
            return f"session {self.application or '-'} tx {self.transaction_id or '-'}"
        return "-"
