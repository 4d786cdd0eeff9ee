"""Remittance advice: what a batch paid a provider, claim by claim and line by line.

The Indonesian counterpart of an 835 electronic remittance advice. For every payment of the
batch to a payee it shows the claim with its charged, allowed and paid totals, then each
line with its charged and allowed amounts, the adjustments (group code and CARC, as on the
explanation of benefits) and what the line paid. Supplementary payments of a readjusted
claim, offsets of an overpayment against this batch (negative) and overpayments listed for
recovery have their own rows, so the advice explains every rupiah of the transfer.

`build_remittance` is pure: frames in, one frame out (money in integer sen), sorted so that
the same batch gives the same advice. `remittance_csv` and `remittance_html` render it;
the HTML escapes every value (a payee may be called anything).
"""

from __future__ import annotations

import csv
import html
import io
from typing import Any

import pandas as pd

from claims_askes.core.errors import ClaimsAskesError

PAYMENT_KINDS = ("claim", "supplementary", "offset", "recovery")
#: kinds that move money in this batch's transfer; a recovery is only listed
TRANSFERRED = ("claim", "supplementary", "offset")

#: The advice's columns (money in integer sen), also the CSV's, in order.
ADVICE_COLUMNS = (
    "payee_id",
    "payee_name",
    "record",
    "payment_id",
    "claim_number",
    "line_number",
    "service_code",
    "charged_cents",
    "allowed_cents",
    "adjustments",
    "adjusted_cents",
    "paid_cents",
    "bank_reference",
    "paid_at",
)
#: The CSV's header: the advice's columns with amounts in rupiah.
CSV_COLUMNS = tuple(c.removesuffix("_cents") for c in ADVICE_COLUMNS)
RECORD_ORDER = {"claim": 0, "supplementary": 1, "line": 2, "offset": 3, "recovery": 4}


class RemittanceError(ClaimsAskesError):
    """The frames of a remittance advice do not fit together; the message says how."""


def build_remittance(
    payments: pd.DataFrame, lines: pd.DataFrame, adjustments: pd.DataFrame
) -> pd.DataFrame:
    """One row per payment (record = its kind) and, under the first claim or supplementary
    payment of each claim, one row per line (record 'line') with its adjustments."""
    check_kinds(payments)
    # claim ids are joined as text: uuid objects from one side, strings from the other
    payments = payments.assign(claim_id=payments["claim_id"].astype(str))
    lines = lines.assign(claim_id=lines["claim_id"].astype(str))
    adjustments = adjustments.assign(claim_id=adjustments["claim_id"].astype(str))
    coded = adjustment_text(adjustments)
    payment_rows = payments.assign(
        record=payments["kind"],
        line_number=pd.array([pd.NA] * len(payments), dtype="Int64"),
        service_code=None,
        paid_cents=payments["amount_cents"].astype("int64"),
    )
    claim_totals = (
        lines.groupby("claim_id", sort=False)[["charged_cents", "allowed_cents"]]
        .sum(min_count=1)
        .reset_index()
    )
    claim_adjusted = coded.groupby("claim_id", sort=False)["adjusted_cents"].sum().reset_index()
    payment_rows = payment_rows.merge(claim_totals, on="claim_id", how="left").merge(
        claim_adjusted, on="claim_id", how="left"
    )
    # a claim's charged, allowed and adjusted totals go on its claim/supplementary rows only
    on_claim = payment_rows["kind"].isin(["claim", "supplementary"])
    for column in ("charged_cents", "allowed_cents", "adjusted_cents"):
        payment_rows[column] = payment_rows[column].astype("Int64").where(on_claim)
    payment_rows["adjustments"] = None

    explained = (
        payment_rows[on_claim]
        .sort_values(["payee_id", "claim_number", "kind"], key=record_key)
        .drop_duplicates("claim_id")[
            ["claim_id", "payee_id", "payee_name", "payment_id", "claim_number"]
        ]
    )
    line_rows = explained.merge(
        lines.drop(columns=["claim_number"], errors="ignore"), on="claim_id"
    )
    line_rows = line_rows.merge(coded, on=["claim_id", "line_number"], how="left")
    line_rows = line_rows.assign(record="line", bank_reference=None, paid_at=None)

    advice = pd.concat(
        [frame_of(payment_rows), frame_of(line_rows)], ignore_index=True
    ).sort_values(
        ["payee_id", "claim_number", "payment_id", "record", "line_number"],
        key=record_key,
        na_position="last",
        kind="stable",
    )
    return advice.reset_index(drop=True)


def check_kinds(payments: pd.DataFrame) -> None:
    unknown = sorted(set(payments["kind"]) - set(PAYMENT_KINDS))
    if unknown:
        raise RemittanceError(f"unknown payment kinds {unknown}; expected {PAYMENT_KINDS}")
    positive = payments["kind"].isin(["claim", "supplementary"])
    wrong = payments[
        (positive & (payments["amount_cents"] <= 0))
        | ((payments["kind"] == "offset") & (payments["amount_cents"] >= 0))
    ]
    if not wrong.empty:
        raise RemittanceError(
            f"payments {sorted(map(str, wrong['payment_id']))[:10]}: claim and supplementary "
            "payments are above zero, offsets below"
        )


def adjustment_text(adjustments: pd.DataFrame) -> pd.DataFrame:
    """Per line: 'CO-45 150000.00; PR-3 25000.00' (group-CARC amount, in the EOB's order)
    and the adjustments' total in sen."""
    if adjustments.empty:
        return pd.DataFrame(
            {
                "claim_id": pd.Series(dtype=object),
                "line_number": pd.Series(dtype="int64"),
                "adjustments": pd.Series(dtype=object),
                "adjusted_cents": pd.Series(dtype="int64"),
            }
        )
    one = adjustments.assign(
        text=adjustments["group_code"].astype(str)
        + "-"
        + adjustments["carc"].astype(str)
        + " "
        + adjustments["amount_cents"].map(rupiah)
    )
    grouped = one.groupby(["claim_id", "line_number"], sort=False)
    return pd.DataFrame(
        {
            "adjustments": grouped["text"].agg("; ".join),
            "adjusted_cents": grouped["amount_cents"].sum().astype("int64"),
        }
    ).reset_index()


def frame_of(rows: pd.DataFrame) -> pd.DataFrame:
    out = rows.reindex(columns=list(ADVICE_COLUMNS))
    for column in ("line_number", "charged_cents", "allowed_cents", "adjusted_cents"):
        out[column] = out[column].astype("Int64")
    out["paid_cents"] = out["paid_cents"].astype("int64")
    out["paid_at"] = pd.to_datetime(out["paid_at"], utc=True)
    return out


def record_key(column: pd.Series) -> pd.Series:
    if column.name in ("record", "kind"):
        return column.map(RECORD_ORDER)
    if column.name == "line_number":
        return column.astype("Int64")
    return column.astype("string")


def totals(advice: pd.DataFrame) -> dict[str, int]:
    """The transfer (claim + supplementary + offset payments) and the amount listed for
    recovery, in sen."""
    records = advice["record"]
    return {
        "transferred_cents": int(advice.loc[records.isin(TRANSFERRED), "paid_cents"].sum()),
        "recovery_cents": int(advice.loc[records == "recovery", "paid_cents"].sum()),
    }


def rupiah(cents: Any) -> str:
    """Integer sen as rupiah with two decimals ('-1500.25'); empty for a missing amount."""
    if cents is None or pd.isna(cents):
        return ""
    value = int(cents)
    sign = "-" if value < 0 else ""
    return f"{sign}{abs(value) // 100}.{abs(value) % 100:02d}"


def display_rupiah(cents: Any) -> str:
    """Rupiah as a reader expects them: 'Rp 1.500.000,25' (dots group thousands)."""
    text = rupiah(cents)
    if not text:
        return ""
    sign, whole, fraction = text[0] == "-", *text.lstrip("-").split(".")
    grouped = f"{int(whole):,}".replace(",", ".")
    return f"{'-' if sign else ''}Rp {grouped},{fraction}"


def csv_values(advice: pd.DataFrame) -> list[list[str]]:
    rows = []
    for record in advice.to_dict("records"):
        row = []
        for column in ADVICE_COLUMNS:
            value = record[column]
            if column.endswith("_cents"):
                row.append(rupiah(value))
            elif column == "paid_at":
                row.append("" if pd.isna(value) else pd.Timestamp(value).isoformat())
            else:
                row.append("" if value is None or pd.isna(value) else str(value))
        rows.append(row)
    return rows


def remittance_csv(advice: pd.DataFrame) -> bytes:
    """The advice as CSV: a header row (CSV_COLUMNS), amounts in rupiah with two decimals.
    A cell that a spreadsheet would run as a formula is prefixed with an apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in csv_values(advice):
        writer.writerow([defused(v) for v in row])
    return out.getvalue().encode("utf-8")


def defused(value: str) -> str:
    if value[:1] in ("=", "+", "@", "\t", "\r") or (value[:1] == "-" and not value[1:2].isdigit()):
        return "'" + value
    return value


def remittance_html(advice: pd.DataFrame, provider_name: str, batch_number: str) -> str:
    """The advice of one payee as a page a person reads; every value is escaped."""
    sums = totals(advice)
    e = html.escape
    head = (
        '<!DOCTYPE html>\n<html lang="id">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Remittance advice {e(batch_number)}: {e(provider_name)}</title>\n"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #bbb;padding:.25em .5em}td.m{text-align:right}"
        "tr.line td{color:#333;font-size:.9em}tr.claim td,tr.supplementary td{font-weight:"
        "bold}tfoot td{font-weight:bold}</style>\n</head>\n<body>\n"
        f"<h1>Remittance advice</h1>\n<p>Batch <b>{e(batch_number)}</b> to "
        f"<b>{e(provider_name)}</b>: {e(display_rupiah(sums['transferred_cents']))} "
        "transferred.</p>\n"
    )
    titles = (
        "record",
        "claim",
        "line",
        "service",
        "charged",
        "allowed",
        "adjustments (group-CARC amount)",
        "paid",
        "bank reference",
        "paid at",
    )
    body = [
        "<table>\n<thead><tr>",
        "".join(f"<th>{e(t)}</th>" for t in titles),
        "</tr></thead>\n<tbody>\n",
    ]
    for row in advice.to_dict("records"):
        cells = [
            (row["record"], ""),
            (row["claim_number"], ""),
            ("" if pd.isna(row["line_number"]) else str(row["line_number"]), "m"),
            (row["service_code"], ""),
            (display_rupiah(row["charged_cents"]), "m"),
            (display_rupiah(row["allowed_cents"]), "m"),
            (row["adjustments"], ""),
            (display_rupiah(row["paid_cents"]), "m"),
            (row["bank_reference"], ""),
            (when(row["paid_at"]), ""),
        ]
        body.append(f'<tr class="{e(str(row["record"]))}">')
        body.extend(
            (f'<td class="{kind}">' if kind else "<td>") + f"{e(text_of(value))}</td>"
            for value, kind in cells
        )
        body.append("</tr>\n")
    body.append(
        f'</tbody>\n<tfoot><tr><td colspan="7">transferred</td><td class="m">'
        f'{e(display_rupiah(sums["transferred_cents"]))}</td><td colspan="2"></td></tr>\n'
    )
    if sums["recovery_cents"]:
        body.append(
            f'<tr><td colspan="7">listed for recovery</td><td class="m">'
            f'{e(display_rupiah(sums["recovery_cents"]))}</td><td colspan="2"></td></tr>\n'
        )
    body.append("</tfoot>\n</table>\n</body>\n</html>\n")
    return head + "".join(body)


def when(value: Any) -> str:
    return "" if pd.isna(value) else f"{pd.Timestamp(value):%Y-%m-%d %H:%M %Z}"


def text_of(value: Any) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
