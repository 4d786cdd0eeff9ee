"""The bank's answers: read, checked against what we sent, bad entries rejected one by one."""

from __future__ import annotations

import copy
import csv
import io
from datetime import UTC, datetime

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from claims_askes.payments.bank_response import (
    RESPONSE_CSV_COLUMNS,
    BankFileUnreadable,
    BankResponse,
    check_entries,
    read_bank_response,
)
from claims_askes.payments.bank_simulator import simulate_bank_response
from claims_askes.payments.iso20022 import CAMT054, NAMESPACE, PAIN002, rupiah, write_pain001
from tests.payments.test_iso20022 import header, payments

# Server-independent: not run again in the PostgreSQL 15 pass of dev.py test.
pytestmark = pytest.mark.no_server

SETTINGS = settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
AT = datetime(2026, 12, 7, 8, 15, tzinfo=UTC)
P2 = {"d": NAMESPACE + PAIN002}
C54 = {"d": NAMESPACE + CAMT054}

amount_lists = st.lists(st.integers(1, 10**13), min_size=1, max_size=25)
shares = st.sampled_from([(0.0, 0.0), (0.03, 0.02), (0.3, 0.3), (1.0, 0.0), (0.0, 1.0)])


def sent(rows: pd.DataFrame) -> pd.DataFrame:
    """The payments as the import flow holds them against a response."""
    return rows[["end_to_end_id", "amount_cents", "currency"]].assign(status="sent")


def read_all(files: dict[str, bytes], rows: pd.DataFrame) -> pd.DataFrame:
    good = []
    for name, data in files.items():
        entries, errors = check_entries(read_bank_response(data, name), sent(rows))
        assert errors == []
        good.append(entries)
    return pd.concat(good, ignore_index=True)


@SETTINGS
@given(amount_lists, st.integers(0, 2**32), shares)
def test_every_payment_gets_exactly_one_final_status_from_the_simulated_bank(
    amounts: list[int], seed: int, share: tuple[float, float]
) -> None:
    rows = payments(amounts)
    pain001 = write_pain001(header(), rows)
    files = simulate_bank_response(
        pain001, seed=seed, failed_share=share[0], returned_share=share[1], at=AT
    )
    entries = read_all(files, rows)
    assert sorted(entries["end_to_end_id"]) == sorted(rows["end_to_end_id"])
    # the statuses are the simulated bank's: read back from its files with plain XPath
    pain002, camt054 = (etree.fromstring(files[n]) for n in sorted(files, reverse=True))
    told = {
        tx.findtext("d:OrgnlEndToEndId", namespaces=P2): (
            "paid" if tx.findtext("d:TxSts", namespaces=P2) == "ACSC" else "failed"
        )
        for tx in pain002.iterfind(".//d:TxInfAndSts", P2)
    }
    told |= {e2e: "returned" for e2e in camt054.xpath("//d:EndToEndId/text()", namespaces=C54)}
    assert dict(zip(entries["end_to_end_id"], entries["status"], strict=True)) == told
    if share == (0.0, 0.0):
        assert set(entries["status"]) == {"paid"}
    if share == (1.0, 0.0):
        assert set(entries["status"]) == {"failed"}
    if share == (0.0, 1.0):
        assert set(entries["status"]) == {"returned"}
    # amounts equal the payments, to the sen
    by_id = entries.set_index("end_to_end_id")["amount_cents"]
    assert [by_id[e] for e in rows["end_to_end_id"]] == amounts
    assert entries["status_time"].eq(pd.Timestamp(AT)).all()
    assert entries["bank_reference"].is_unique
    # a seed answers the same way every time
    again = simulate_bank_response(
        pain001, seed=seed, failed_share=share[0], returned_share=share[1], at=AT
    )
    assert again == files


# -- malformed responses -----------------------------------------------------------------

MUTATIONS = ("unknown", "amount", "currency", "duplicate", "status", "fraction")


@st.composite
def damaged(draw: st.DrawFn) -> tuple[str, pd.DataFrame, dict[str, str]]:
    """A batch, which format the answer comes in, and what is done to which payment."""
    rows = payments(draw(st.lists(st.integers(1, 10**12), min_size=2, max_size=15)))
    kind = draw(st.sampled_from(["pain.002", "camt.054", "csv"]))
    ids = draw(
        st.lists(st.sampled_from(list(rows["end_to_end_id"])), min_size=1, unique=True).filter(
            lambda picked: len(picked) < len(rows)
        )
    )
    return kind, rows, {e2e: draw(st.sampled_from(MUTATIONS)) for e2e in ids}


def answer(kind: str, rows: pd.DataFrame) -> tuple[str, bytes]:
    """A good answer paying (or returning) every payment, in the format asked for."""
    share = 1.0 if kind == "camt.054" else 0.0
    files = simulate_bank_response(
        write_pain001(header(), rows), seed=1, failed_share=0, returned_share=share, at=AT
    )
    if kind == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(RESPONSE_CSV_COLUMNS)
        pairs = zip(rows["end_to_end_id"], rows["amount_cents"], strict=True)
        for number, (e2e, cents) in enumerate(pairs):
            writer.writerow((e2e, "paid", f"REF{number}", AT.isoformat(), rupiah(cents), "IDR", ""))
        return "answer.csv", out.getvalue().encode()
    name = next(n for n in files if n.endswith(kind.replace(".", "") + ".xml"))
    return name, files[name]


def damage_xml(data: bytes, kind: str, harm: dict[str, str]) -> bytes:
    root = etree.fromstring(data)
    ns = P2 if kind == "pain.002" else C54
    entry, e2e_path, amount_paths, status_path = (
        ("TxInfAndSts", "d:OrgnlEndToEndId", ["d:OrgnlTxRef/d:Amt/d:InstdAmt"], "d:TxSts")
        if kind == "pain.002"
        else (
            "Ntry",
            "d:NtryDtls/d:TxDtls/d:Refs/d:EndToEndId",
            ["d:Amt", "d:NtryDtls/d:TxDtls/d:AmtDtls/d:TxAmt/d:Amt"],
            "d:Sts",
        )
    )
    for element in list(root.iterfind(f".//d:{entry}", ns)):
        e2e = element.find(e2e_path, ns)
        what = harm.get(e2e.text or "")
        amounts = [element.find(p, ns) for p in amount_paths]
        if what == "unknown":
            e2e.text = "NEVER-SENT-" + (e2e.text or "")
        elif what == "amount":
            for a in amounts:
                a.text = rupiah(int((a.text or "0").replace(".", "")) + 1)
        elif what == "currency":
            for a in amounts:
                a.set("Ccy", "USD")
        elif what == "duplicate":
            twin = copy.deepcopy(element)
            twin.tail = "\n"
            element.addnext(twin)
        elif what == "status":
            element.find(status_path, ns).text = "LOST"
        elif what == "fraction":
            for a in amounts:
                a.text = (a.text or "") + "5"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def damage_csv(data: bytes, harm: dict[str, str]) -> bytes:
    lines = list(csv.reader(io.StringIO(data.decode())))
    out = [lines[0]]
    for line in lines[1:]:
        what = harm.get(line[0])
        if what == "unknown":
            line[0] = "NEVER-SENT-" + line[0]
        elif what == "amount":
            line[4] = rupiah(int(line[4].replace(".", "")) + 1)
        elif what == "currency":
            line[5] = "USD"
        elif what == "duplicate":
            out.append(list(line))
        elif what == "status":
            line[1] = "lost"
        elif what == "fraction":
            line[4] += "5"
        out.append(line)
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(out)
    return text.getvalue().encode()


@SETTINGS
@given(damaged())
def test_each_bad_entry_is_rejected_by_file_and_entry_and_the_good_ones_still_apply(
    case: tuple[str, pd.DataFrame, dict[str, str]],
) -> None:
    kind, rows, harm = case
    name, good = answer(kind, rows)
    data = damage_csv(good, harm) if kind == "csv" else damage_xml(good, kind, harm)
    response = read_bank_response(data, name)
    entries, errors = check_entries(response, sent(rows))
    errors = response.errors + errors

    untouched = [e for e in rows["end_to_end_id"] if e not in harm]
    twins = [e for e, what in harm.items() if what == "duplicate"]
    # the good entries (and the first of each duplicate) come back, nothing else
    assert sorted(entries["end_to_end_id"]) == sorted(untouched + twins)
    # each bad entry is named, with the file, once
    assert len(errors) == len(harm)
    for error in errors:
        assert str(error).startswith(f"{name}, ")
    named = sorted(next(e for e in [*rows["end_to_end_id"]] if e in str(x)) for x in errors)
    assert named == sorted(harm)
    for error in errors:
        what = harm[next(e for e in rows["end_to_end_id"] if e in error.entry)]
        expected = {
            "unknown": "not a payment we sent",
            "amount": "differs from the payment's",
            "currency": "currency USD differs",
            "duplicate": "duplicate of",
            "status": "LOST" if kind != "csv" else "unknown status 'lost'",
            "fraction": "not rupiah with at most two decimals" if kind == "csv" else "decimals",
        }[what]
        assert expected in error.message, (what, str(error))


@SETTINGS
@given(st.sampled_from(["pain.002", "camt.054"]), st.data())
def test_a_truncated_xml_file_is_unreadable_and_none_of_it_applies(
    kind: str, data: st.DataObject
) -> None:
    rows = payments([1_000_00, 2_000_00, 3_000_00])
    name, good = answer(kind, rows)
    end = good.rindex(b"</Document>")
    cut = data.draw(st.integers(0, end))
    with pytest.raises(BankFileUnreadable, match=rf"^{name}: .*nothing in it was applied"):
        read_bank_response(good[:cut], name)


def test_a_csv_with_a_bad_header_is_unreadable() -> None:
    body = b"e2e,status,ref\nPAY-00000000,paid,REF1\n"
    with pytest.raises(BankFileUnreadable, match=r"^answer\.csv: bad CSV header 'e2e, status"):
        read_bank_response(body, "answer.csv")


def test_a_csv_row_with_missing_fields_is_rejected_and_the_others_apply() -> None:
    rows = payments([1_00, 2_00])
    name, good = answer("csv", rows)
    data = good + b"PAY-00000009,paid\n"
    response = read_bank_response(data, name)
    assert list(response.entries["end_to_end_id"]) == ["PAY-00000000", "PAY-00000001"]
    assert [str(e) for e in response.errors] == [
        "answer.csv, line 4 (PAY-00000009): 2 fields where the header has 7"
    ]


def test_an_xml_document_of_another_kind_is_unreadable() -> None:
    other = write_pain001(header(), payments([1_00]))
    with pytest.raises(BankFileUnreadable, match="not a pain.002.001.03 or camt.054.001.02"):
        read_bank_response(other, "ours.xml")


def test_a_header_that_breaks_the_xsd_makes_the_file_unreadable() -> None:
    name, good = answer("pain.002", payments([1_00, 2_00]))
    broken = good.replace(b"<CreDtTm>", b"<CreDtTm>yesterday ", 1)
    with pytest.raises(BankFileUnreadable, match=r"line 4 does not validate .* XSD"):
        read_bank_response(broken, name)


def test_a_status_report_records_hash_kind_and_reason_codes() -> None:
    rows = payments([1_00, 2_00, 3_00])
    files = simulate_bank_response(
        write_pain001(header(), rows), seed=3, failed_share=1.0, returned_share=0, at=AT
    )
    name = next(n for n in files if n.endswith(".pain002.xml"))
    response = read_bank_response(files[name], name)
    assert isinstance(response, BankResponse)
    assert response.kind == "pain.002"
    assert len(response.sha256) == 64
    assert set(response.entries["status"]) == {"failed"}
    assert set(response.entries["reason_code"]) <= {"AC01", "AC04", "AC06"}
    assert response.entries["status_time"].dt.tz is not None
