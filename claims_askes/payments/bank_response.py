"""What the bank answered: pain.002 status reports, camt.054 notifications and their CSV.

`read_bank_response` reads one file the bank sent back and returns its entries, one per
payment, with a final status: `paid`, `failed` (the bank refused the transfer) or
`returned` (the payee's bank sent the money back). It trusts nothing:

- a file that is not well-formed XML (say, truncated), is neither a pain.002.001.03 nor a
  camt.054.001.02 document nor our CSV, or breaks the XSD outside its entries is unreadable:
  `BankFileUnreadable` names the file, and none of its entries applies;
- an entry that is wrong on its own (an unknown status, no end-to-end id, an amount with
  more than two decimals, an entry that breaks the XSD, the same payment twice in a file)
  becomes an `EntryError` naming the file and the entry, and the other entries still come
  back.

`check_entries` then holds the entries against the payments sent: an end-to-end id we never
sent, an amount that differs from the payment's, or another currency is rejected the same
way. Neither function touches a database: the import flow records what they return.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from lxml import etree

from claims_askes.core.errors import ClaimsAskesError
from claims_askes.payments.iso20022 import CAMT054, NAMESPACE, PAIN002, schema

#: The columns of a response's entries (docs/payments.md, bank responses). `entry` names
#: where in the file the entry came from, for the messages about it.
ENTRY_COLUMNS = (
    "end_to_end_id",
    "status",
    "bank_reference",
    "status_time",
    "amount_cents",
    "currency",
    "reason_code",
    "entry",
)
#: The header of the CSV equivalent of a status report, in this order.
RESPONSE_CSV_COLUMNS = (
    "end_to_end_id",
    "status",
    "bank_reference",
    "status_time",
    "amount",
    "currency",
    "reason_code",
)
STATUSES = ("paid", "failed", "returned")
#: pain.002 transaction statuses: the final ones, and those that only say "not yet".
FINAL_TX_STATUS = {"ACSC": "paid", "RJCT": "failed"}
INTERIM_TX_STATUS = {"ACTC", "ACCP", "ACSP", "ACWC", "PDNG", "RCVD", "PART"}
#: A bank's local times without an offset are Jakarta time.
BANK_TIME_ZONE = ZoneInfo("Asia/Jakarta")
AMOUNT = re.compile(r"^(\d{1,16})(?:\.(\d{1,5}))?$")
CURRENCY = re.compile(r"^[A-Z]{3}$")


class BankFileUnreadable(ClaimsAskesError):
    """A response file that cannot be read as a whole: none of its entries applies."""

    def __init__(self, file_name: str, message: str) -> None:
        super().__init__(f"{file_name}: {message}; nothing in it was applied")
        self.file_name = file_name
        self.message = message


@dataclass(frozen=True)
class EntryError:
    """One entry of a readable file that is rejected; the file's other entries apply."""

    file_name: str
    entry: str
    message: str

    def __str__(self) -> str:
        return f"{self.file_name}, {self.entry}: {self.message}"


@dataclass(frozen=True)
class BankResponse:
    file_name: str
    sha256: str
    #: 'pain.002', 'camt.054' or 'csv'
    kind: str
    entries: pd.DataFrame
    errors: list[EntryError] = field(default_factory=list)


def read_bank_response(data: bytes, file_name: str) -> BankResponse:
    """The entries and the rejected entries of one response file (pain.002, camt.054, CSV)."""
    digest = hashlib.sha256(data).hexdigest()
    if not data.strip():
        raise BankFileUnreadable(file_name, "the file is empty")
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        kind, rows, errors = read_xml(data, file_name)
    else:
        kind, rows, errors = "csv", *read_csv(data, file_name)
    entries, duplicates = unique_entries(rows, file_name)
    return BankResponse(file_name, digest, kind, entries, errors + duplicates)


def check_entries(
    response: BankResponse, payments: pd.DataFrame
) -> tuple[pd.DataFrame, list[EntryError]]:
    """The entries that belong to payments we sent, in amount and currency; the others as
    errors. `payments`: end_to_end_id, amount_cents, currency, status."""
    entries = response.entries
    known = payments.drop_duplicates("end_to_end_id").set_index(
        payments["end_to_end_id"].drop_duplicates().astype("string")
    )
    sent = entries["end_to_end_id"].isin(known.index)
    ids = entries.loc[sent, "end_to_end_id"]
    amount = pd.Series(pd.NA, index=entries.index, dtype="Int64")
    currency = pd.Series(pd.NA, index=entries.index, dtype="string")
    amount[sent] = pd.array(known.loc[ids, "amount_cents"].astype("int64"), dtype="Int64")
    currency[sent] = known.loc[ids, "currency"].astype("string").to_numpy()
    wrong_amount = sent & entries["amount_cents"].notna() & entries["amount_cents"].ne(amount)
    wrong_currency = sent & entries["currency"].notna() & entries["currency"].ne(currency)
    wrong_amount = wrong_amount.fillna(False).astype(bool)
    wrong_currency = wrong_currency.fillna(False).astype(bool)
    errors: list[EntryError] = []
    good = sent & ~wrong_amount & ~wrong_currency
    for index, row in entries[~good].iterrows():  # the rejected ones only: few
        if not sent.at[index]:
            message = f"end-to-end id {row['end_to_end_id']!r} is not a payment we sent"
        elif wrong_amount.at[index]:
            message = (
                f"amount {money(row['amount_cents'])} differs from the payment's "
                f"{money(amount.at[index])}"
            )
        else:
            message = f"currency {row['currency']} differs from the payment's {currency.at[index]}"
        errors.append(EntryError(response.file_name, str(row["entry"]), message))
    return entries[good].reset_index(drop=True), errors


def money(cents: Any) -> str:
    return "?" if pd.isna(cents) else f"IDR {int(cents) // 100:,}.{int(cents) % 100:02d}"


# -- XML ----------------------------------------------------------------------------------


def read_xml(data: bytes, file_name: str) -> tuple[str, list[dict[str, Any]], list[EntryError]]:
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as err:
        raise BankFileUnreadable(file_name, f"not well-formed XML (truncated?): {err}") from None
    name = etree.QName(root)
    message = (name.namespace or "").removeprefix(NAMESPACE)
    if name.localname != "Document" or message not in (PAIN002, CAMT054):
        raise BankFileUnreadable(
            file_name,
            f"not a {PAIN002} or {CAMT054} document (root {name.text!r}); "
            "ask the bank for one of those or the CSV",
        )
    ns = {"d": name.namespace}
    kind, entry_path = (
        ("pain.002", ".//d:TxInfAndSts") if message == PAIN002 else ("camt.054", ".//d:Ntry")
    )
    entry_elements = root.findall(entry_path, ns)
    invalid = xsd_problems(root, message, entry_elements, file_name)
    reader = pain002_entries if message == PAIN002 else camt054_entries
    rows: list[dict[str, Any]] = []
    errors: list[EntryError] = []
    for label, element, fields in reader(root, ns, entry_elements):
        # the XSD's verdict on an entry comes first, then what reading it found
        problem = invalid.get(element, fields if isinstance(fields, str) else None)
        if problem is not None or isinstance(fields, str):
            errors.append(EntryError(file_name, label, problem or str(fields)))
        else:
            rows.append({**fields, "entry": label})
    return kind, rows, errors


def xsd_problems(
    root: etree._Element, message: str, entries: list[etree._Element], file_name: str
) -> dict[etree._Element, str]:
    """The XSD's complaint about each entry that breaks it; BankFileUnreadable when the file
    breaks it outside its entries (its header, say)."""
    xsd = schema(message)
    if xsd.validate(root):
        return {}
    spans = [(e.sourceline or 0, max(d.sourceline or 0 for d in e.iter()), e) for e in entries]
    out: dict[etree._Element, str] = {}
    for error in xsd.error_log:
        text = error.message.replace(f"{{{NAMESPACE}{message}}}", "")
        problem = f"does not validate against the {message} XSD: {text}"
        owners = [e for start, end, e in spans if start <= error.line <= end]
        if len(owners) != 1:
            # outside every entry (the header, say), or on a line several entries share
            raise BankFileUnreadable(file_name, f"line {error.line} {problem}")
        out.setdefault(owners[0], problem)
    return out


def pain002_entries(
    root: etree._Element, ns: dict[str, str], entries: list[etree._Element]
) -> Iterator[tuple[str, etree._Element, dict[str, Any] | str]]:
    report_id = text(root, "d:CstmrPmtStsRpt/d:GrpHdr/d:MsgId", ns) or ""
    created = text(root, "d:CstmrPmtStsRpt/d:GrpHdr/d:CreDtTm", ns)
    for number, element in enumerate(entries, start=1):
        e2e = text(element, "d:OrgnlEndToEndId", ns)
        label = f"TxInfAndSts {number}" + (f" ({e2e})" if e2e else "")
        yield label, element, pain002_fields(element, ns, e2e, report_id, created)


def pain002_fields(
    element: etree._Element, ns: dict[str, str], e2e: str | None, report: str, created: str | None
) -> dict[str, Any] | str:
    if not e2e:
        return "no OrgnlEndToEndId: cannot tell which payment it is about"
    code = text(element, "d:TxSts", ns) or text(element, "../d:PmtInfSts", ns)
    if code in INTERIM_TX_STATUS:
        return f"status {code} is not final; nothing applied until the bank reports ACSC or RJCT"
    if code not in FINAL_TX_STATUS:
        return f"unknown transaction status {code!r} (expected ACSC or RJCT)"
    when = parse_time(text(element, "d:AccptncDtTm", ns) or created)
    if when is None:
        return "no valid AccptncDtTm or report CreDtTm"
    amount = element.find("d:OrgnlTxRef/d:Amt/d:InstdAmt", ns)
    cents, currency = (None, None) if amount is None else parse_amount(amount)
    if amount is not None and cents is None:
        return f"amount {amount.text!r} is not rupiah with at most two decimals"
    reference = (
        text(element, "d:AcctSvcrRef", ns) or text(element, "d:StsId", ns) or f"{report}/{e2e}"
    )
    return {
        "end_to_end_id": e2e,
        "status": FINAL_TX_STATUS[code],
        "bank_reference": reference[:35],
        "status_time": when,
        "amount_cents": cents,
        "currency": currency,
        "reason_code": text(element, "d:StsRsnInf/d:Rsn/d:Cd", ns)
        or text(element, "d:StsRsnInf/d:Rsn/d:Prtry", ns),
    }


def camt054_entries(
    root: etree._Element, ns: dict[str, str], entries: list[etree._Element]
) -> Iterator[tuple[str, etree._Element, dict[str, Any] | str]]:
    created = text(root, "d:BkToCstmrDbtCdtNtfctn/d:GrpHdr/d:CreDtTm", ns)
    for number, entry in enumerate(entries, start=1):
        details = entry.findall("d:NtryDtls/d:TxDtls", ns)
        status = text(entry, "d:Sts", ns)
        if not details:
            yield f"Ntry {number}", entry, "no TxDtls: cannot tell which payment it is about"
            continue
        for sub, detail in enumerate(details, start=1):
            e2e = text(detail, "d:Refs/d:EndToEndId", ns)
            label = f"Ntry {number}" + (f" TxDtls {sub}" if len(details) > 1 else "")
            label += f" ({e2e})" if e2e else ""
            if status != "BOOK":
                yield label, entry, f"entry status {status} is not booked; nothing applied"
                continue
            yield label, entry, camt054_fields(entry, detail, ns, e2e, len(details), created)


def camt054_fields(
    entry: etree._Element,
    detail: etree._Element,
    ns: dict[str, str],
    e2e: str | None,
    siblings: int,
    created: str | None,
) -> dict[str, Any] | str:
    if not e2e or e2e == "NOTPROVIDED":
        return "no EndToEndId: cannot tell which payment it is about"
    amount = first(
        detail.find("d:AmtDtls/d:TxAmt/d:Amt", ns),
        detail.find("d:AmtDtls/d:InstdAmt/d:Amt", ns),
        entry.find("d:Amt", ns) if siblings == 1 else None,
    )
    cents, currency = (None, None) if amount is None else parse_amount(amount)
    if amount is not None and cents is None:
        return f"amount {amount.text!r} is not rupiah with at most two decimals"
    booked = text(entry, "d:BookgDt/d:DtTm", ns)
    day = text(entry, "d:BookgDt/d:Dt", ns)
    when = parse_time(booked) if booked else parse_day(day) if day else parse_time(created)
    if when is None:
        return "no valid booking date"
    returned = detail.find("d:RtrInf", ns) is not None or text(entry, "d:CdtDbtInd", ns) == "CRDT"
    reference = (
        text(detail, "d:Refs/d:AcctSvcrRef", ns)
        or text(entry, "d:AcctSvcrRef", ns)
        or text(entry, "d:NtryRef", ns)
    )
    if not reference:
        return "no AcctSvcrRef: the bank's reference is needed to record it"
    return {
        "end_to_end_id": e2e,
        "status": "returned" if returned else "paid",
        "bank_reference": reference,
        "status_time": when,
        "amount_cents": cents,
        "currency": currency,
        "reason_code": text(detail, "d:RtrInf/d:Rsn/d:Cd", ns)
        or text(detail, "d:RtrInf/d:Rsn/d:Prtry", ns),
    }


def first(*elements: etree._Element | None) -> etree._Element | None:
    """The first element found (an lxml element without children is false: test for None)."""
    return next((e for e in elements if e is not None), None)


def text(element: etree._Element, path: str, ns: dict[str, str]) -> str | None:
    found = element.find(path, ns)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def parse_amount(element: etree._Element) -> tuple[int | None, str | None]:
    return cents_of(element.text or ""), element.get("Ccy")


def cents_of(value: str) -> int | None:
    """'12345.67' -> 1234567 sen; None for anything else, or for a fraction of a sen."""
    match = AMOUNT.fullmatch(value.strip())
    if match is None:
        return None
    whole, fraction = match.group(1), (match.group(2) or "").ljust(2, "0")
    if fraction[2:].strip("0"):
        return None
    return int(whole) * 100 + int(fraction[:2])


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=BANK_TIME_ZONE)


def parse_day(value: str) -> datetime | None:
    try:
        return datetime.combine(date.fromisoformat(value.strip()), time(), BANK_TIME_ZONE)
    except ValueError:
        return None


# -- CSV ----------------------------------------------------------------------------------


def read_csv(data: bytes, file_name: str) -> tuple[list[dict[str, Any]], list[EntryError]]:
    try:
        lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    except (UnicodeDecodeError, csv.Error) as err:
        raise BankFileUnreadable(file_name, f"not a readable UTF-8 CSV: {err}") from None
    header = tuple(c.strip() for c in lines[0]) if lines else ()
    if header != RESPONSE_CSV_COLUMNS:
        raise BankFileUnreadable(
            file_name,
            f"bad CSV header {', '.join(header)[:200]!r}; expected "
            f"{', '.join(RESPONSE_CSV_COLUMNS)}",
        )
    rows: list[dict[str, Any]] = []
    errors: list[EntryError] = []
    for number, values in enumerate(lines[1:], start=2):
        if not any(v.strip() for v in values):
            continue
        e2e = values[0].strip() if values else ""
        label = f"line {number}" + (f" ({e2e})" if e2e else "")
        fields = csv_fields(values)
        if isinstance(fields, str):
            errors.append(EntryError(file_name, label, fields))
        else:
            rows.append({**fields, "entry": label})
    return rows, errors


def csv_fields(values: list[str]) -> dict[str, Any] | str:
    if len(values) != len(RESPONSE_CSV_COLUMNS):
        return f"{len(values)} fields where the header has {len(RESPONSE_CSV_COLUMNS)}"
    e2e, status, reference, at, amount, currency, reason = (v.strip() for v in values)
    if not e2e or len(e2e) > 35:
        return "end_to_end_id must have 1 to 35 characters"
    if status not in STATUSES:
        return f"unknown status {status!r} (expected {', '.join(STATUSES)})"
    if not reference:
        return "no bank_reference"
    when = parse_time(at)
    if when is None:
        return f"status_time {at!r} is not an ISO 8601 time"
    cents = cents_of(amount) if amount else None
    if amount and cents is None:
        return f"amount {amount!r} is not rupiah with at most two decimals"
    if currency and not CURRENCY.fullmatch(currency):
        return f"currency {currency!r} is not a three-letter ISO 4217 code"
    return {
        "end_to_end_id": e2e,
        "status": status,
        "bank_reference": reference,
        "status_time": when,
        "amount_cents": cents,
        "currency": currency or None,
        "reason_code": reason or None,
    }


# -- both ---------------------------------------------------------------------------------


def unique_entries(
    rows: list[dict[str, Any]], file_name: str
) -> tuple[pd.DataFrame, list[EntryError]]:
    """The entries as a frame, the first of each end-to-end id kept; later ones rejected."""
    first: dict[str, str] = {}
    kept: list[dict[str, Any]] = []
    errors: list[EntryError] = []
    for row in rows:
        earlier = first.get(row["end_to_end_id"])
        if earlier is not None:
            errors.append(
                EntryError(file_name, row["entry"], f"duplicate of {earlier} for the payment")
            )
            continue
        first[row["end_to_end_id"]] = row["entry"]
        kept.append(row)
    return entries_frame(kept), errors


def entries_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(ENTRY_COLUMNS))
    for column in ("end_to_end_id", "status", "bank_reference", "currency", "reason_code"):
        frame[column] = frame[column].astype("string")
    frame["entry"] = frame["entry"].astype("string")
    frame["amount_cents"] = pd.array(
        [None if pd.isna(v) else int(v) for v in frame["amount_cents"]], dtype="Int64"
    )
    frame["status_time"] = pd.to_datetime(frame["status_time"], utc=True)
    return frame
