"""The bank file of a payment batch: an ISO 20022 pain.001.001.03 credit transfer and a CSV.

`write_pain001` turns a batch header and its payments (one row each, money in integer sen)
into the customer credit transfer initiation a bank accepts, and checks its own output
against the official XSD shipped in `claims_askes/payments/xsd/` before returning it.
`write_bulk_csv` writes the same payments for a bank's bulk-upload screen. Both are pure:
the same batch gives the same bytes (payments sorted by end_to_end_id, the creation time
taken from the batch record), so writing a batch again after a crash changes nothing.

Rupiah have no minor unit in practice but ISO 20022 allows decimals, so amounts are written
as rupiah with two decimals formatted from integer sen, never through a float. Account
numbers are never part of an error message: a refused payment is named by its
end_to_end_id only.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any
from xml.sax.saxutils import escape

import pandas as pd
from lxml import etree

from claims_askes.core.errors import ClaimsAskesError

PAIN001 = "pain.001.001.03"
PAIN002 = "pain.002.001.03"
CAMT054 = "camt.054.001.02"
NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:"

#: The columns a batch's payments come in (docs/payments.md, bank files).
PAYMENT_COLUMNS = (
    "end_to_end_id",
    "amount_cents",
    "currency",
    "payee_name",
    "bank_bic",
    "account_number",
    "remittance_info",
)

#: The columns of the bulk-upload CSV, in order.
CSV_COLUMNS = (
    "batch_number",
    "value_date",
    "debtor_account",
    "debtor_bic",
    "end_to_end_id",
    "payee_name",
    "bank_bic",
    "account_number",
    "amount",
    "currency",
    "remittance_info",
)

#: The BIC of a financial institution (ISO 9362), as the XSD's BICIdentifier pattern has it.
BIC = re.compile(r"^[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?$")
#: An account number as a bank file carries it: letters and digits, at most 34 (Max34Text).
ACCOUNT = re.compile(r"^[0-9A-Za-z]{1,34}$")
#: Characters XML 1.0 cannot carry at all (control characters other than tab, LF, CR).
NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
#: A value libxml2 quotes in its complaint ("The value '...'", "'...' is not a valid value").
QUOTED_VALUE = re.compile(r"(?<=The value )'[^']*'|'[^'{]*'(?= is not a valid value)")
#: The repeated elements of the messages, dropped once read while a document is validated.
#: (Events for these only: a Python callback per element would triple the time.)
STREAMED = ("{*}CdtTrfTxInf", "{*}TxInfAndSts", "{*}Ntry")
#: At most this many refused payments are named in one error message.
NAMED = 10


class BankFileError(ClaimsAskesError):
    """A batch cannot become a bank file; the message names the payments and what to fix."""


@dataclass(frozen=True)
class BatchHeader:
    batch_number: str
    #: GrpHdr/MsgId and PmtInf/PmtInfId: at most 35 characters, unique per file sent
    message_id: str
    #: the batch record's creation time (tz-aware), so that the bytes are deterministic
    created_at: datetime
    #: the requested execution date
    value_date: date
    debtor_name: str
    debtor_account: str
    debtor_bic: str
    payee_type: str


@cache
def schema(message: str) -> etree.XMLSchema:
    """The official XSD of one message definition (pain.001.001.03, pain.002.001.03,
    camt.054.001.02), loaded once per process from the package data."""
    source = resources.files("claims_askes.payments").joinpath("xsd", f"{message}.xsd")
    with resources.as_file(source) as path:
        return etree.XMLSchema(etree.parse(str(path)))


def rupiah(cents: int) -> str:
    """Integer sen as an ISO 20022 amount with two decimals: 1234567 -> '12345.67'."""
    if cents < 0:
        return "-" + rupiah(-cents)
    return f"{cents // 100}.{cents % 100:02d}"


def iso_datetime(at: datetime) -> str:
    """An ISODateTime with its offset, to the second: 2026-12-04T09:00:00+07:00."""
    if at.tzinfo is None:
        raise BankFileError(f"time {at.isoformat()} has no time zone; give a tz-aware time")
    return at.replace(microsecond=0).isoformat()


def write_pain001(header: BatchHeader, payments: pd.DataFrame) -> bytes:
    """The pain.001.001.03 customer credit transfer of a batch, validated against the XSD."""
    rows = checked_payments(header, payments)
    total = sum(int(c) for c in rows["amount_cents"].tolist())
    text = "".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>\n',
            f'<Document xmlns="{NAMESPACE}{PAIN001}">\n',
            "<CstmrCdtTrfInitn>\n",
            group_header(header, len(rows), total),
            payment_information(header, len(rows), total),
            *transactions(rows),
            "</PmtInf>\n</CstmrCdtTrfInitn>\n</Document>\n",
        ]
    )
    data = text.encode("utf-8")
    problems = schema_errors(data, PAIN001)
    if problems:
        raise BankFileError(
            f"batch {header.batch_number}: the pain.001 file does not validate against the "
            f"{PAIN001} XSD: {problems[0]}"
        )
    return data


def write_bulk_csv(header: BatchHeader, payments: pd.DataFrame) -> bytes:
    """The batch's payments as a CSV for a bank's bulk upload: a header row, then one row per
    payment sorted by end_to_end_id; amounts in rupiah with two decimals."""
    rows = checked_payments(header, payments)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    value_date = header.value_date.isoformat()
    for e2e, cents, currency, name, bic, account, info in rows[list(PAYMENT_COLUMNS)].itertuples(
        index=False, name=None
    ):
        writer.writerow(
            (
                header.batch_number,
                value_date,
                header.debtor_account,
                header.debtor_bic,
                e2e,
                name,
                bic,
                account,
                rupiah(int(cents)),
                currency,
                info,
            )
        )
    return out.getvalue().encode("utf-8")


def checked_payments(header: BatchHeader, payments: pd.DataFrame) -> pd.DataFrame:
    """The payments sorted by end_to_end_id, or BankFileError naming every refused one."""
    check_header(header)
    missing = [c for c in PAYMENT_COLUMNS if c not in payments.columns]
    if missing:
        raise BankFileError(f"batch {header.batch_number}: payments lack columns {missing}")
    if payments.empty:
        raise BankFileError(f"batch {header.batch_number}: no payments to write")
    rows = payments[list(PAYMENT_COLUMNS)].copy()
    for column in ("end_to_end_id", "currency", "payee_name", "bank_bic", "account_number"):
        rows[column] = rows[column].astype("string").fillna("").str.strip()
    rows["remittance_info"] = rows["remittance_info"].astype("string").fillna("")
    amounts = pd.to_numeric(rows["amount_cents"], errors="coerce")
    whole = amounts.notna() & (amounts == amounts.round())
    e2e = rows["end_to_end_id"]
    reasons = [
        (e2e.eq("") | (e2e.str.len() > 35), "an end_to_end_id of 1 to 35 characters"),
        (e2e.duplicated(keep=False), "an end_to_end_id used once in the batch"),
        (~whole | ~(amounts > 0), "an amount above zero in whole sen"),
        (rows["currency"].ne("IDR"), "currency IDR"),
        (~rows["bank_bic"].str.fullmatch(BIC.pattern).astype(bool), "a valid BIC (8 or 11)"),
        (
            ~rows["account_number"].str.fullmatch(ACCOUNT.pattern).astype(bool),
            "an account number of 1 to 34 letters or digits",
        ),
        (
            rows["payee_name"].eq("") | (rows["payee_name"].str.len() > 140),
            "a payee name of 1 to 140 characters",
        ),
        (rows["remittance_info"].str.len() > 140, "remittance information of at most 140"),
        (
            rows["payee_name"].str.contains(NOT_XML.pattern, regex=True)
            | rows["remittance_info"].str.contains(NOT_XML.pattern, regex=True),
            "text without control characters",
        ),
    ]
    refused: dict[str, list[str]] = {}
    for bad, need in reasons:
        for key in e2e[bad.fillna(True).astype(bool)].tolist():
            refused.setdefault(key or "(empty end_to_end_id)", []).append(need)
    if refused:
        first = sorted(refused.items())[:NAMED]
        named = "; ".join(f"{k}: needs {', '.join(v)}" for k, v in first)
        more = f" (and {len(refused) - NAMED} more)" if len(refused) > NAMED else ""
        raise BankFileError(
            f"batch {header.batch_number}: {len(refused)} payment(s) refused, fix their bank "
            f"details or amounts and write the batch again: {named}{more}"
        )
    rows["amount_cents"] = amounts.astype("int64")
    return rows.sort_values("end_to_end_id", kind="stable").reset_index(drop=True)


def check_header(header: BatchHeader) -> None:
    problems = []
    if not 1 <= len(header.message_id) <= 35:
        problems.append(f"message id {header.message_id!r} must have 1 to 35 characters")
    if not BIC.fullmatch(header.debtor_bic):
        problems.append(f"debtor BIC {header.debtor_bic!r} is not a valid BIC")
    if not ACCOUNT.fullmatch(header.debtor_account):
        problems.append("the debtor account must be 1 to 34 letters or digits")
    if not 1 <= len(header.debtor_name) <= 140 or NOT_XML.search(header.debtor_name):
        problems.append("the debtor name must have 1 to 140 printable characters")
    if header.created_at.tzinfo is None:
        problems.append("created_at must be tz-aware")
    if problems:
        raise BankFileError(f"batch {header.batch_number}: {'; '.join(problems)}")


def group_header(header: BatchHeader, count: int, total: int) -> str:
    return (
        "<GrpHdr>\n"
        f"<MsgId>{x(header.message_id)}</MsgId>\n"
        f"<CreDtTm>{iso_datetime(header.created_at)}</CreDtTm>\n"
        f"<NbOfTxs>{count}</NbOfTxs>\n"
        f"<CtrlSum>{rupiah(total)}</CtrlSum>\n"
        f"<InitgPty><Nm>{x(header.debtor_name)}</Nm></InitgPty>\n"
        "</GrpHdr>\n"
    )


def payment_information(header: BatchHeader, count: int, total: int) -> str:
    """One PmtInf: a batch has one payment method, payee type and value date."""
    return (
        "<PmtInf>\n"
        f"<PmtInfId>{x(header.message_id)}</PmtInfId>\n"
        "<PmtMtd>TRF</PmtMtd>\n"
        "<BtchBookg>true</BtchBookg>\n"
        f"<NbOfTxs>{count}</NbOfTxs>\n"
        f"<CtrlSum>{rupiah(total)}</CtrlSum>\n"
        f"<ReqdExctnDt>{header.value_date.isoformat()}</ReqdExctnDt>\n"
        f"<Dbtr><Nm>{x(header.debtor_name)}</Nm></Dbtr>\n"
        f"<DbtrAcct><Id><Othr><Id>{x(header.debtor_account)}</Id></Othr></Id>"
        "<Ccy>IDR</Ccy></DbtrAcct>\n"
        f"<DbtrAgt><FinInstnId><BIC>{x(header.debtor_bic)}</BIC></FinInstnId></DbtrAgt>\n"
        "<ChrgBr>DEBT</ChrgBr>\n"
    )


def transactions(rows: pd.DataFrame) -> Iterable[str]:
    """One CdtTrfTxInf per payment; the text columns escaped once, column by column."""
    text = {c: escaped(rows[c]) for c in PAYMENT_COLUMNS if c != "amount_cents"}
    cents = rows["amount_cents"].astype("int64")
    amounts = (cents // 100).astype(str) + "." + (cents % 100).astype(str).str.zfill(2)
    remittance = ("<RmtInf><Ustrd>" + text["remittance_info"] + "</Ustrd></RmtInf>").where(
        rows["remittance_info"].ne(""), ""
    )
    for e2e, amount, currency, name, bic, account, info in zip(
        text["end_to_end_id"],
        amounts,
        text["currency"],
        text["payee_name"],
        text["bank_bic"],
        text["account_number"],
        remittance,
        strict=True,
    ):
        yield (
            "<CdtTrfTxInf>"
            f"<PmtId><EndToEndId>{e2e}</EndToEndId></PmtId>"
            f'<Amt><InstdAmt Ccy="{currency}">{amount}</InstdAmt></Amt>'
            f"<CdtrAgt><FinInstnId><BIC>{bic}</BIC></FinInstnId></CdtrAgt>"
            f"<Cdtr><Nm>{name}</Nm></Cdtr>"
            f"<CdtrAcct><Id><Othr><Id>{account}</Id></Othr></Id></CdtrAcct>"
            f"{info}"
            "</CdtTrfTxInf>\n"
        )


def escaped(column: pd.Series) -> pd.Series:
    """A text column escaped for XML elements and double-quoted attributes."""
    return (
        column.astype(str)
        .str.replace("&", "&amp;", regex=False)
        .str.replace("<", "&lt;", regex=False)
        .str.replace(">", "&gt;", regex=False)
        .str.replace('"', "&quot;", regex=False)
    )


def x(value: Any) -> str:
    """Text escaped for an XML element or a double-quoted attribute."""
    return escape(str(value), {'"': "&quot;"})


def schema_errors(data: bytes, message: str) -> list[str]:
    """The XSD's complaints about a document (empty when it validates), read as it streams
    so that a file of a million payments is never held as a tree."""
    xsd = schema(message)
    try:
        for _event, element in etree.iterparse(
            io.BytesIO(data), events=("end",), tag=STREAMED, schema=xsd, huge_tree=True
        ):
            element.clear(keep_tail=True)
            while element.getprevious() is not None:
                del element.getparent()[0]
    except etree.XMLSyntaxError as err:
        # a value quoted in the complaint could be an account number: never repeat values
        return [QUOTED_VALUE.sub("'…'", str(err))]
    return []
