"""What an approver sees of a batch: its summary in words, for the Prefect pause and the
command line. Payee names and masked accounts only."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd


def rupiah(cents: int) -> str:
    return f"Rp {Decimal(int(cents)) / 100:,.2f}"


def batch_summary(batch: pd.Series, largest: pd.DataFrame) -> str:
    """Markdown: the batch's count and total, and its largest payments."""
    lines = [
        f"## Batch {batch['batch_number']} needs approval",
        "",
        f"{int(batch['payment_count']):,} payments to {batch['payee_type']}s, "
        f"total {rupiah(int(batch['total_cents']))}"
        + (
            f" (after offsets of {rupiah(int(batch['offset_cents']))})"
            if batch["offset_cents"]
            else ""
        )
        + f", value date {pd.Timestamp(batch['value_date']).date()}.",
        "",
        "| payee | bank | account | amount |",
        "|---|---|---|---:|",
    ]
    for row in largest.itertuples(index=False):
        name = str(row.payee_name).replace("|", "/")
        amount = rupiah(int(str(row.net_cents)))
        lines.append(f"| {name} | {row.bank_code} | {row.bank_account_masked} | {amount} |")
    lines += [
        "",
        "Resume the run with approve or reject, your name and a comment; or from a shell: "
        f"`claims-askes payments approve {batch['batch_number']} --by NAME`.",
    ]
    return "\n".join(lines)
