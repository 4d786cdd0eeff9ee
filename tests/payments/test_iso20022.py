"""The bank file of a batch: a pain.001.001.03 that validates, deterministic, exact sums."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pandas as pd
import pytest
from lxml import etree

from claims_askes.payments.iso20022 import (
    CSV_COLUMNS,
    NAMESPACE,
    PAIN001,
    BankFileError,
    BatchHeader,
    rupiah,
    schema,
    schema_errors,
    write_bulk_csv,
    write_pain001,
)

# Server-independent: not run again in the PostgreSQL 15 pass of dev.py test.
pytestmark = pytest.mark.no_server

JAKARTA = timezone(timedelta(hours=7))
NS = {"d": NAMESPACE + PAIN001}
BANKS = ("CENAIDJA", "BMRIIDJA", "BNINIDJA", "BRINIDJA", "BNIAIDJA")


def header(**changes: object) -> BatchHeader:
    values: dict[str, object] = {
        "batch_number": "PB-20261207-001",
        "message_id": "ASKES-PB-20261207-001",
        "created_at": datetime(2026, 12, 4, 16, 30, 5, 123456, tzinfo=JAKARTA),
        "value_date": date(2026, 12, 7),
        "debtor_name": "PT Asuransi Kesehatan Contoh",
        "debtor_account": "0061234567",
        "debtor_bic": "CENAIDJA",
        "payee_type": "provider",
    }
    values.update(changes)
    return BatchHeader(**values)  # type: ignore[arg-type]


def payments(amounts: list[int], **changes: list[Any]) -> pd.DataFrame:
    n = len(amounts)
    frame = pd.DataFrame(
        {
            "end_to_end_id": [f"PAY-{i:08d}" for i in range(n)],
            "amount_cents": pd.array(amounts, dtype="int64"),
            "currency": ["IDR"] * n,
            "payee_name": [f"RS Sehat Sentosa {i}" for i in range(n)],
            "bank_bic": [BANKS[i % len(BANKS)] for i in range(n)],
            "account_number": [f"{1234567890 + i:010d}" for i in range(n)],
            "remittance_info": [f"CLM-2026-{i:06d}" for i in range(n)],
        }
    )
    for column, values in changes.items():
        frame[column] = values
    return frame


def test_the_pain001_of_a_batch_validates_against_the_shipped_xsd() -> None:
    data = write_pain001(header(), payments([150_000_00, 99, 1]))
    document = etree.fromstring(data)
    assert schema(PAIN001).validate(document), schema(PAIN001).error_log
    assert etree.QName(document).namespace == "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"
    assert document.findtext("d:CstmrCdtTrfInitn/d:GrpHdr/d:MsgId", namespaces=NS) == (
        "ASKES-PB-20261207-001"
    )
    assert document.findtext("d:CstmrCdtTrfInitn/d:GrpHdr/d:CreDtTm", namespaces=NS) == (
        "2026-12-04T16:30:05+07:00"
    )


def test_control_sum_and_count_equal_the_payments_to_the_sen() -> None:
    # 150 000.00 + 0.99 + 0.01 = 150 001.00 rupiah, plus 9 007 199 254 740 993 sen (2^53 + 1,
    # which a float cannot hold): 9 007 199 269 741 093 sen = 90 071 992 697 410.93 rupiah.
    amounts = [150_000_00, 99, 1, 9_007_199_254_740_993]
    document = etree.fromstring(write_pain001(header(), payments(amounts)))
    for path in ("d:CstmrCdtTrfInitn/d:GrpHdr", "d:CstmrCdtTrfInitn/d:PmtInf"):
        assert document.findtext(f"{path}/d:NbOfTxs", namespaces=NS) == "4"
        assert document.findtext(f"{path}/d:CtrlSum", namespaces=NS) == "90071992697410.93"
    written = [(e.get("Ccy"), e.text) for e in document.iterfind(".//d:InstdAmt", namespaces=NS)]
    assert written == [
        ("IDR", "150000.00"),
        ("IDR", "0.99"),
        ("IDR", "0.01"),
        ("IDR", "90071992547409.93"),
    ]


def test_the_same_batch_gives_the_same_bytes_whatever_the_row_order() -> None:
    rows = payments([5_000_00, 7_500_00, 12_345_67, 1_00])
    first = write_pain001(header(), rows)
    again = write_pain001(header(), rows.sample(frac=1, random_state=7))
    assert first == again
    assert write_bulk_csv(header(), rows) == write_bulk_csv(header(), rows.iloc[::-1])
    ids = etree.fromstring(first).xpath("//d:EndToEndId/text()", namespaces=NS)
    assert ids == sorted(ids)


def test_payee_names_with_markup_are_escaped_and_still_validate() -> None:
    name = 'Klinik "Sehat" & <Sentosa>'
    data = write_pain001(header(), payments([10_00], payee_name=[name]))
    assert b"&lt;Sentosa&gt;" in data
    assert etree.fromstring(data).findtext(".//d:Cdtr/d:Nm", namespaces=NS) == name


@pytest.mark.parametrize(
    ("column", "value", "need"),
    [
        ("bank_bic", "BCA", "a valid BIC"),
        ("bank_bic", "cenaidja", "a valid BIC"),
        ("account_number", "", "an account number"),
        ("account_number", None, "an account number"),
        ("amount_cents", 0, "an amount above zero"),
        ("amount_cents", -5_00, "an amount above zero"),
        ("currency", "USD", "currency IDR"),
        ("payee_name", "", "a payee name"),
    ],
)
def test_a_payment_with_bad_bank_details_or_amount_is_refused_by_its_end_to_end_id(
    column: str, value: Any, need: str
) -> None:
    rows = payments([10_00, 20_00, 30_00])
    rows[column] = rows[column].astype(object)
    rows.loc[1, column] = value
    with pytest.raises(BankFileError, match=rf"PAY-00000001: needs {need}") as refused:
        write_pain001(header(), rows)
    assert "PAY-00000000" not in str(refused.value)
    assert "1234567891" not in str(refused.value), "an account number reached an error"
    with pytest.raises(BankFileError, match="PAY-00000001"):
        write_bulk_csv(header(), rows)


def test_an_end_to_end_id_used_twice_or_too_long_is_refused() -> None:
    with pytest.raises(BankFileError, match="PAY-00000000: needs an end_to_end_id used once"):
        write_pain001(header(), payments([1_00, 2_00], end_to_end_id=["PAY-00000000"] * 2))
    long_id = "X" * 36
    with pytest.raises(BankFileError, match=f"{long_id}: needs an end_to_end_id of 1 to 35"):
        write_pain001(header(), payments([1_00], end_to_end_id=[long_id]))


def test_a_message_id_longer_than_35_characters_is_refused() -> None:
    with pytest.raises(BankFileError, match="message id .* 1 to 35 characters"):
        write_pain001(header(message_id="M" * 36), payments([1_00]))


def test_the_bulk_csv_carries_the_same_payments_and_amounts() -> None:
    rows = payments([12_345_67, 1])
    text = write_bulk_csv(header(), rows).decode()
    table = list(csv.DictReader(io.StringIO(text)))
    assert tuple(table[0]) == CSV_COLUMNS
    assert [(r["end_to_end_id"], r["amount"], r["bank_bic"]) for r in table] == [
        ("PAY-00000000", "12345.67", "CENAIDJA"),
        ("PAY-00000001", "0.01", "BMRIIDJA"),
    ]
    assert {r["value_date"] for r in table} == {"2026-12-07"}


def test_rupiah_are_formatted_from_integer_sen() -> None:
    assert [rupiah(c) for c in (0, 1, 99, 100, 123_456_789_01)] == [
        "0.00",
        "0.01",
        "0.99",
        "1.00",
        "123456789.01",
    ]


def test_the_xsds_complaints_never_repeat_a_value_such_as_an_account_number() -> None:
    account = "9" * 40  # longer than Max34Text
    data = write_pain001(header(), payments([1_00])).replace(
        b"<Id>1234567890</Id>", f"<Id>{account}</Id>".encode()
    )
    (complaint,) = schema_errors(data, PAIN001)
    assert "maxLength" in complaint
    assert account not in complaint and "99999" not in complaint
