"""A claim's trail: every version of the claim, its lines and their records, in time order,
merged from the three places versions are kept (docs/audit.md, "Reading a claim's trail"):

- row audit (`audit.audit_log`): each row-audited write with its old and new content;
- statement audit (`audit.statement_log`): which rows a registered batch statement wrote,
  without content. The content comes from where the per-table decision says it is kept: the
  old content logged by the row's next row-audited change, else `claim_item_decision` for a
  line version a later decision replaced, else the row as it is now (live or archived);
- the versioned records themselves: the posting ledger (posts and reversals).

Pure: the reads are in `tasks/audit.py`, one named statement per schema; this module only
merges what they return, so it is tested without a database too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from schemas.audit import Change, Kind, Source, TrailEntry

CLAIMS = "claims_service"
PAYMENTS = "payment_service"
LEDGER_LOGIN = "benefit_service_user"
#: claims_service tables whose rows belong to one claim (by claim_id), and those of a line
CLAIM_TABLES = (
    "claim",
    "claim_item",
    "claim_status_history",
    "claim_note",
    "claim_payment",
    "claim_readjustment",
    "claim_item_override",
)
#: bookkeeping columns: not a change of content, and not kept by statement audit
BOOKKEEPING = frozenset({"updated_at", "last_updated"})
#: what claim_item_decision keeps of a line version besides its key
NOT_DECISION = frozenset({"claim_item_id", "adjudication_version", "superseded_at",
                          "superseded_by_run"})  # fmt: skip
ACCOUNT_DIGITS = re.compile(r"\d{5,}")
#: a claim's lease and run columns: in its changes, left out of the one-line summary
CLAIM_RUN_COLUMNS = frozenset({"lease_owner", "lease_expires_at", "status_before_lease",
                               "adjudicated_at", "adjudication_run_id", "updated_by"})  # fmt: skip


@dataclass
class TrailInputs:
    """What the reads found for one claim. Rows are dicts as the named statements return
    them (`sql/*/trail.sql`); JSON content with its numbers as Decimal."""

    claim_number: str
    claim_id: str
    #: trail_rows: the newest content of every row of the claim, live or archived
    current: list[dict[str, Any]]
    #: trail_decisions: claim_item_decision versions of the lines
    decisions: list[dict[str, Any]] = field(default_factory=list)
    #: trail_row_audit of claims_service and of payment_service (key `schema_name` added)
    row_audit: list[dict[str, Any]] = field(default_factory=list)
    #: trail_statements of claims_service
    statements: list[dict[str, Any]] = field(default_factory=list)
    #: trail_postings of the benefit service
    postings: list[dict[str, Any]] = field(default_factory=list)
    #: trail_runs: flow_run_id -> {flow_name, logins}
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """One write of one row, from either audit."""

    at: datetime
    seq: int  # order within the same time: audit id or statement id
    source: Source
    schema: str
    table: str
    row_id: str
    operation: str
    login: str | None
    application: str | None
    transaction_id: str | None
    flow_name: str | None
    flow_run_id: str | None
    old: dict[str, Any] | None = None
    new: dict[str, Any] | None = None


def mask_account(value: str) -> str:
    """An account number as its last four digits, like payments show it."""
    return "*" * max(len(value) - 4, 0) + value[-4:]


def masked(content: dict[str, Any] | None) -> dict[str, Any] | None:
    """`content` with every account number not already masked shown by its last 4 digits:
    the trail repeats rows, never more of them than the payment lists show."""
    if content is None:
        return None
    out = dict(content)
    for key, value in content.items():
        if "account" in key and "masked" not in key and isinstance(value, str):
            if ACCOUNT_DIGITS.search(value):
                out[key] = mask_account(value)
    return out


def events_of(inputs: TrailInputs) -> dict[tuple[str, str, str], list[Event]]:
    """Every write of every row, grouped by (schema, table, row id), in the order written."""
    grouped: dict[tuple[str, str, str], list[Event]] = {}
    for r in inputs.row_audit:
        schema = str(r.get("schema_name", CLAIMS))
        event = Event(
            at=r["at"],
            seq=int(r["audit_id"]),
            source="row_audit",
            schema=schema,
            table=str(r["table_name"]),
            row_id=str(r["row_id"]),
            operation=str(r["operation"]),
            login=r["user_name"],
            application=r["application_name"],
            transaction_id=None if r["transaction_id"] is None else str(r["transaction_id"]),
            flow_name=r.get("flow_name"),
            flow_run_id=r.get("flow_run_id"),
            old=r["old_data"],
            new=r["new_data"],
        )
        grouped.setdefault((schema, event.table, event.row_id), []).append(event)
    for s in inputs.statements:
        event = Event(
            at=s["at"],
            seq=int(s["statement_id"]),
            source="statement_audit",
            schema=CLAIMS,
            table=str(s["table_name"]),
            row_id=str(s["row_id"]),
            operation=str(s["operation"]),
            login=s["user_name"],
            application=None,
            transaction_id=None if s["transaction_id"] is None else str(s["transaction_id"]),
            flow_name=s["flow_name"],
            flow_run_id=s["flow_run_id"],
        )
        grouped.setdefault((CLAIMS, event.table, event.row_id), []).append(event)
    for events in grouped.values():
        # Row audit is stamped with its transaction's start, statement audit with its
        # statement's: the same row's writes are serialised by its lock, so time orders them;
        # the ids order writes of one time.
        events.sort(key=lambda e: (e.at, 0 if e.source == "row_audit" else 1, e.seq))
    return grouped


def _decision_overlay(
    before: dict[str, Any] | None, decision: Mapping[str, Any], version: int
) -> dict[str, Any]:
    """The line version `version`: the line before it with the decision's columns."""
    content = dict(before or {})
    content.update({k: v for k, v in decision.items() if k not in NOT_DECISION})
    content["adjudication_version"] = version
    for column in BOOKKEEPING & content.keys():
        content[column] = None  # not kept by statement audit
    return content


def contents(
    events: list[Event],
    current: dict[str, Any] | None,
    decisions: Mapping[int, Mapping[str, Any]],
) -> list[dict[str, Any] | None]:
    """The content of the row after each of its writes (None after a delete).

    A row-audited write carries its content. A statement-audited one is recovered: from the
    old content of the next row-audited write of the row, if that comes next; else, for a line
    version a later decision replaced, from its claim_item_decision record; else (nothing but
    a delete after it) from the row as it is now, live or archived."""
    out: list[dict[str, Any] | None] = []
    before: dict[str, Any] | None = None
    for i, event in enumerate(events):
        later = events[i + 1 :]
        after: dict[str, Any] | None
        if event.operation == "DELETE":
            after = None
        elif event.source == "row_audit":
            after = event.new
        elif later and later[0].source == "row_audit" and later[0].old is not None:
            after = later[0].old
        elif event.table == "claim_item" and event.operation == "UPDATE":
            version = int((before or {}).get("adjudication_version") or 0) + 1
            changed_later = any(e.operation != "DELETE" for e in later)
            if not changed_later and current is not None:
                after = current
            elif version in decisions:
                after = _decision_overlay(before, decisions[version], version)
            else:
                after = None  # not recoverable: shown, and a test fails on it
        elif not any(e.operation != "DELETE" for e in later):
            after = current
        else:
            after = None
        out.append(after)
        before = after if after is not None else before
    return out


def changes_between(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> dict[str, Change]:
    """The columns whose value differs, bookkeeping left out; an insert's every set column."""
    if after is None:
        return {}
    before = before or {}
    keys = [k for k in after if k not in BOOKKEEPING]
    keys += [k for k in before if k not in after and k not in BOOKKEEPING]
    return {
        k: Change(before=before.get(k), after=after.get(k))
        for k in keys
        if before.get(k) != after.get(k)
    }


def _money(value: Any) -> str:
    if value is None:
        return "-"
    amount = Decimal(str(value)).quantize(Decimal("0.01"))
    text = f"{amount:,.2f}"
    return "Rp " + text.replace(",", "_").replace(".", ",").replace("_", ".")


def _kind(event: Event, after: Mapping[str, Any] | None) -> Kind:
    """What kind of write this was, by table, operation and the run or session behind it."""
    table, operation, flow = event.table, event.operation, event.flow_name or ""
    if operation == "DELETE":
        return "archiving"
    if event.schema == PAYMENTS or table == "claim_payment":
        return "payment"
    if table == "claim_item_override":
        return "override"
    if table == "claim_note":
        return "note"
    if table == "claim_readjustment":
        return "readjustment" if operation == "INSERT" else "payment"
    if table == "claim_status_history":
        return "pend" if (after or {}).get("to_status") == "pended" else "status"
    if operation == "INSERT":
        return "submission"
    if flow == "claim-adjudication":
        return "pend" if (after or {}).get("status") == "pended" else "adjudication"
    if flow in ("claim-readjudication", "eligibility-sweep"):
        return "re-adjudication"
    if flow:
        return "update"
    if event.login and event.login.endswith("_service_user"):
        return "update"  # a service's own command, not a batch run
    return "manual edit"


def _summary(
    kind: Kind, table: str, after: Mapping[str, Any] | None, changes: dict[str, Change]
) -> str:
    """What a person reads first: the decision, the status, the amount, or the columns."""
    a = after or {}
    if kind == "archiving":
        return "moved to the archive"
    if table == "claim_item" and kind in ("adjudication", "pend", "re-adjudication"):
        reason = f" ({a.get('reason_code')})" if a.get("reason_code") else ""
        return (
            f"{a.get('status')}{reason}: allowed {_money(a.get('allowed_amount'))}, "
            f"approved {_money(a.get('approved_amount'))}, member "
            f"{_money(a.get('member_responsibility'))}"
        )
    if table == "claim_item_override":
        amount = f" {_money(a.get('approved_amount'))}" if a.get("approved_amount") else ""
        reason = f" {a.get('reason_code')}" if a.get("reason_code") else ""
        return f"{a.get('decision')}{amount}{reason} by {a.get('overridden_by')}: {a.get('note')}"
    if table == "claim_status_history":
        return f"status {a.get('from_status')} -> {a.get('to_status')}"
    if table == "claim_note":
        return str(a.get("note_text") or "")[:120]
    if table == "claim_readjustment" and kind == "readjustment":
        return (
            f"{a.get('kind')} {_money(a.get('difference'))} "
            f"(version {a.get('from_version')} -> {a.get('to_version')}): {a.get('reason')}"
        )
    if table == "claim_readjustment":
        return f"readjustment {a.get('kind')} {a.get('status')} ({a.get('settlement') or '-'})"
    if kind == "payment":
        account = f" to {a['bank_account_masked']}" if a.get("bank_account_masked") else ""
        return f"{a.get('kind') or 'payment'} {_money(a.get('amount'))} {a.get('status')}{account}"
    if kind == "submission":
        if table == "claim_item":
            return f"{a.get('benefit_code')} charged {_money(a.get('charged_amount'))}"
        return f"{a.get('claim_type')} {a.get('service_type')}, charged " + _money(
            a.get("total_charged_amount")
        )
    if table == "claim":
        changes = {k: v for k, v in changes.items() if k not in CLAIM_RUN_COLUMNS} or changes
    shown = [f"{k} {v.before} -> {v.after}" for k, v in changes.items()][:4]
    return ", ".join(shown) + (" ..." if len(changes) > 4 else "")


def _line_of(table: str, after: Mapping[str, Any] | None, row_id: str,
             line_numbers: Mapping[str, int]) -> int | None:  # fmt: skip
    if table == "claim_item":
        return line_numbers.get(row_id)
    if table == "claim_item_override":
        return line_numbers.get(str((after or {}).get("claim_item_id")))
    return None


def _person(table: str, after: Mapping[str, Any] | None) -> str | None:
    a = after or {}
    value = a.get("overridden_by") if table == "claim_item_override" else None
    return None if value is None else str(value)


def row_entries(
    key: tuple[str, str, str],
    events: list[Event],
    current: dict[str, Any] | None,
    decisions: Mapping[int, Mapping[str, Any]],
    line_numbers: Mapping[str, int],
) -> list[TrailEntry]:
    """The trail entries of one row: one per write, archiving only for claims and lines (the
    other rows move with them)."""
    schema, table, row_id = key
    out = []
    before: dict[str, Any] | None = None
    for event, after in zip(events, contents(events, current, decisions), strict=True):
        shown_after = masked(after)
        changes = changes_between(masked(before), shown_after)
        kind = _kind(event, after)
        if after is not None:
            before = after
        if kind == "archiving" and table not in ("claim", "claim_item"):
            continue
        line = _line_of(table, after or before, row_id, line_numbers)
        version = (after or {}).get("adjudication_version") if table == "claim_item" else None
        out.append(
            TrailEntry(
                at=event.at,
                subject="claim" if line is None else f"line {line}",
                line=line,
                kind=kind,
                table=f"{schema}.{table}",
                row_id=row_id,
                operation=event.operation,
                version=None if version is None else int(version),
                login=event.login,
                person=_person(table, after or before),
                flow_name=event.flow_name,
                flow_run_id=event.flow_run_id,
                application=event.application,
                transaction_id=event.transaction_id,
                source=event.source,
                summary=_summary(kind, table, after, changes),
                changes=changes,
                content=shown_after,
            )
        )
    return out


def posting_entries(
    postings: Iterable[Mapping[str, Any]],
    runs: Mapping[str, Mapping[str, Any]],
    line_numbers: Mapping[str, int],
) -> list[TrailEntry]:
    """The ledger's entries of the lines: each post and each reversal, with its flow run."""
    out = []
    for p in postings:
        line = line_numbers.get(str(p["claim_item_id"]))
        run = runs.get(str(p["flow_run_id"]), {})
        logins = str(run.get("logins") or "").split(", ")
        # the ledger is the benefit service's: of the run's logins, the one that wrote it
        login = LEDGER_LOGIN if LEDGER_LOGIN in logins else run.get("logins")
        reverse = p["entry_type"] == "reverse"
        content = {k: p[k] for k in p if k not in ("at",)}
        out.append(
            TrailEntry(
                at=p["at"],
                subject="claim" if line is None else f"line {line}",
                line=line,
                kind="reversal" if reverse else "posting",
                table="benefit_service.accumulator_posting",
                row_id=f"{p['claim_item_id']}/{p['adjudication_version']}/{p['entry_type']}",
                operation="REVERSE" if reverse else "POST",
                version=int(p["adjudication_version"]),
                login=login,
                flow_name=run.get("flow_name"),
                flow_run_id=None if p["flow_run_id"] is None else str(p["flow_run_id"]),
                source="record",
                summary=(
                    f"{'reverse' if reverse else 'post'} version {p['adjudication_version']} "
                    f"{p['benefit_code']} {p['year']}: amount {_money(p['amount'])}, deductible "
                    f"{_money(p['deductible'])}, oop {_money(p['oop'])}"
                ),
                content=content,
            )
        )
    return out


def build_trail(inputs: TrailInputs, line: int | None = None) -> list[TrailEntry]:
    """Every version of the claim and its lines, oldest first; with `line`, that line's."""
    current = {
        (CLAIMS, str(r["table_name"]), str(r["row_id"])): r["content"] for r in inputs.current
    }
    line_numbers = {
        row_id: int(content["line_number"])
        for (_, table, row_id), content in current.items()
        if table == "claim_item"
    }
    decisions: dict[str, dict[int, Mapping[str, Any]]] = {}
    for d in inputs.decisions:
        decisions.setdefault(str(d["claim_item_id"]), {})[int(d["adjudication_version"])] = d[
            "content"
        ]
    entries: list[TrailEntry] = []
    for key, events in events_of(inputs).items():
        entries += row_entries(
            key, events, current.get(key), decisions.get(key[2], {}), line_numbers
        )
    entries += posting_entries(inputs.postings, inputs.runs, line_numbers)
    order = {name: i for i, name in enumerate(CLAIM_TABLES)}
    entries.sort(
        key=lambda e: (e.at, e.line or 0, order.get(e.table.split(".")[1], len(order)), e.row_id)
    )
    if line is not None:
        entries = [e for e in entries if e.line == line]
    return entries
