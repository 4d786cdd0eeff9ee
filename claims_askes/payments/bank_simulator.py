"""A bank that answers our pain.001 files, for the demo and the tests.

`simulate_bank_response` reads a credit transfer file and answers as a bank would: a
pain.002.001.03 status report with each payment settled (ACSC) or rejected (RJCT, with an
ISO reason code), and a camt.054.001.02 notification with the payments the payee's bank sent
back (a credit entry with return information). A returned payment is reported in the
camt.054 only, so every payment has exactly one final status across the two files. The
draw is seeded: the same file and seed give the same answer, byte for byte.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from lxml import etree

from claims_askes.payments.bank_response import BankFileUnreadable
from claims_askes.payments.iso20022 import (
    CAMT054,
    NAMESPACE,
    PAIN001,
    PAIN002,
    iso_datetime,
    schema_errors,
    x,
)

#: ISO external status reason codes a simulated bank gives: a rejected transfer, a return.
FAILED_REASONS = ("AC01", "AC04", "AC06")  # incorrect account number, closed, blocked
RETURNED_REASONS = ("AC04", "MD07", "AC06")  # closed account, end customer deceased, blocked


@dataclass(frozen=True)
class Transfer:
    end_to_end_id: str
    amount: str  # as written in the file: rupiah with two decimals
    currency: str


def simulate_bank_response(
    pain001: bytes,
    *,
    seed: int,
    failed_share: float = 0.03,
    returned_share: float = 0.02,
    at: datetime,
) -> dict[str, bytes]:
    """{"<message id>.pain002.xml": ..., "<message id>.camt054.xml": ...} for one file."""
    if not (0 <= failed_share and 0 <= returned_share and failed_share + returned_share <= 1):
        raise ValueError("failed_share and returned_share must be ≥ 0 and add up to at most 1")
    message_id, payment_info_id, debtor_account, transfers = read_pain001(pain001)
    draw = np.random.default_rng(seed).random(len(transfers))
    failed = draw < failed_share
    returned = (draw >= failed_share) & (draw < failed_share + returned_share)
    reasons = np.random.default_rng(seed + 1).integers(0, 3, len(transfers))
    stamp = iso_datetime(at)
    key = hashlib.sha256(pain001 + str(seed).encode()).hexdigest()[:12].upper()
    report = pain002(
        message_id,
        payment_info_id,
        key,
        stamp,
        [
            (t, "RJCT" if f else "ACSC", FAILED_REASONS[r] if f else None)
            for t, f, g, r in zip(transfers, failed, returned, reasons, strict=True)
            if not g
        ],
    )
    notification = camt054(
        debtor_account,
        key,
        stamp,
        at.date().isoformat(),
        [
            (t, RETURNED_REASONS[r])
            for t, g, r in zip(transfers, returned, reasons, strict=True)
            if g
        ],
    )
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in message_id)
    out = {f"{name}.pain002.xml": report, f"{name}.camt054.xml": notification}
    for file_name, data in out.items():
        message = PAIN002 if file_name.endswith("pain002.xml") else CAMT054
        problems = schema_errors(data, message)
        if problems:  # pragma: no cover - a defect of this module, not of its input
            raise AssertionError(f"simulated {file_name} breaks the {message} XSD: {problems}")
    return out


def read_pain001(data: bytes) -> tuple[str, str, str, list[Transfer]]:
    """The message id, payment information id, debtor account and transfers of a pain.001."""
    ns = {"d": NAMESPACE + PAIN001}
    try:
        root = etree.parse(io.BytesIO(data), etree.XMLParser(resolve_entities=False)).getroot()
    except etree.XMLSyntaxError as err:
        raise BankFileUnreadable("pain.001", f"not well-formed XML: {err}") from None
    header = root.find("d:CstmrCdtTrfInitn/d:GrpHdr", ns)
    info = root.find("d:CstmrCdtTrfInitn/d:PmtInf", ns)
    if header is None or info is None:
        raise BankFileUnreadable("pain.001", f"not a {PAIN001} credit transfer")
    transfers = [
        Transfer(
            tx.findtext("d:PmtId/d:EndToEndId", "", ns),
            tx.findtext("d:Amt/d:InstdAmt", "", ns),
            tx.find("d:Amt/d:InstdAmt", ns).get("Ccy", ""),
        )
        for tx in info.iterfind("d:CdtTrfTxInf", ns)
    ]
    return (
        header.findtext("d:MsgId", "", ns),
        info.findtext("d:PmtInfId", "", ns),
        info.findtext("d:DbtrAcct/d:Id/d:Othr/d:Id", "", ns),
        transfers,
    )


def pain002(
    message_id: str,
    payment_info_id: str,
    key: str,
    stamp: str,
    statuses: list[tuple[Transfer, str, str | None]],
) -> bytes:
    rejected = sum(1 for _, code, _ in statuses if code == "RJCT")
    group = "ACSC" if rejected == 0 else "RJCT" if rejected == len(statuses) else "PART"
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<Document xmlns="{NAMESPACE}{PAIN002}">\n<CstmrPmtStsRpt>\n',
        f"<GrpHdr><MsgId>PSR-{key}</MsgId><CreDtTm>{stamp}</CreDtTm></GrpHdr>\n",
        f"<OrgnlGrpInfAndSts><OrgnlMsgId>{x(message_id)}</OrgnlMsgId>",
        f"<OrgnlMsgNmId>{PAIN001}</OrgnlMsgNmId><GrpSts>{group}</GrpSts></OrgnlGrpInfAndSts>\n",
        f"<OrgnlPmtInfAndSts><OrgnlPmtInfId>{x(payment_info_id)}</OrgnlPmtInfId>\n",
    ]
    for number, (transfer, code, reason) in enumerate(statuses, start=1):
        why = f"<StsRsnInf><Rsn><Cd>{reason}</Cd></Rsn></StsRsnInf>" if reason else ""
        parts.append(
            f"<TxInfAndSts><StsId>{key[:8]}-{number}</StsId>"
            f"<OrgnlEndToEndId>{x(transfer.end_to_end_id)}</OrgnlEndToEndId>"
            f"<TxSts>{code}</TxSts>{why}<AccptncDtTm>{stamp}</AccptncDtTm>"
            f"<AcctSvcrRef>BR{key[:8]}{number:09d}</AcctSvcrRef>"
            f'<OrgnlTxRef><Amt><InstdAmt Ccy="{x(transfer.currency)}">{transfer.amount}'
            "</InstdAmt></Amt></OrgnlTxRef></TxInfAndSts>\n"
        )
    parts.append("</OrgnlPmtInfAndSts>\n</CstmrPmtStsRpt>\n</Document>\n")
    return "".join(parts).encode("utf-8")


def camt054(
    debtor_account: str, key: str, stamp: str, day: str, returns: list[tuple[Transfer, str]]
) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<Document xmlns="{NAMESPACE}{CAMT054}">\n<BkToCstmrDbtCdtNtfctn>\n',
        f"<GrpHdr><MsgId>NTF-{key}</MsgId><CreDtTm>{stamp}</CreDtTm></GrpHdr>\n",
        f"<Ntfctn><Id>NTF-{key}-1</Id><CreDtTm>{stamp}</CreDtTm>",
        f"<Acct><Id><Othr><Id>{x(debtor_account)}</Id></Othr></Id></Acct>\n",
    ]
    for number, (transfer, reason) in enumerate(returns, start=1):
        reference = f"RT{key[:8]}{number:09d}"
        amount = f'<Amt Ccy="{x(transfer.currency)}">{transfer.amount}</Amt>'
        parts.append(
            f"<Ntry><NtryRef>{reference}</NtryRef>{amount}<CdtDbtInd>CRDT</CdtDbtInd>"
            f"<Sts>BOOK</Sts><BookgDt><DtTm>{stamp}</DtTm></BookgDt><ValDt><Dt>{day}</Dt>"
            f"</ValDt><AcctSvcrRef>{reference}</AcctSvcrRef>"
            "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>RRTN</SubFmlyCd>"
            "</Fmly></Domn></BkTxCd>"
            f"<NtryDtls><TxDtls><Refs><AcctSvcrRef>{reference}</AcctSvcrRef>"
            f"<EndToEndId>{x(transfer.end_to_end_id)}</EndToEndId></Refs>"
            f"<AmtDtls><TxAmt>{amount}</TxAmt></AmtDtls>"
            f"<RtrInf><Rsn><Cd>{reason}</Cd></Rsn></RtrInf></TxDtls></NtryDtls></Ntry>\n"
        )
    parts.append("</Ntfctn>\n</BkToCstmrDbtCdtNtfctn>\n</Document>\n")
    return "".join(parts).encode("utf-8")
