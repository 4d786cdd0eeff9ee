"""Accumulator arithmetic of adjudication and posting, as pure functions over DataFrames.

- ``without_own_postings``: what the engine sees of the accumulators when claims are decided
  again (their own earlier posting taken out);
- ``count_visits``: the visits an adjudicated chunk adds (one per claim and benefit, R10);
- ``reconciliation_frame``: the proofs that the accumulators equal their opening plus the
  ledger, and the ledger the posted lines.
"""

from __future__ import annotations

import pandas as pd

ACCUMULATOR_KEY = ["member_id", "benefit_code", "year"]
ACCUMULATOR_MEASURES = [
    "amount_used_cents",
    "deductible_used_cents",
    "oop_used_cents",
    "visits_used",
    "days_used",
]
#: the measures reconciled, as named in the reconciliation frames' columns
RECONCILED_MEASURES = ["amount_cents", "deductible_cents", "oop_cents", "visits", "days"]


def without_own_postings(accumulators: pd.DataFrame, own: pd.DataFrame) -> pd.DataFrame:
    """The accumulators minus what the leased claims themselves posted earlier: a claim
    adjudicated again is judged as if it had never been counted (its posting is reversed
    when the new decision is posted)."""
    if own.empty:
        return accumulators
    merged = accumulators.merge(own, on=ACCUMULATOR_KEY, how="left", suffixes=("", "_own"))
    for measure in ACCUMULATOR_MEASURES:
        merged[measure] = merged[measure] - merged[f"{measure}_own"].fillna(0).astype("int64")
    return merged[accumulators.columns]


def count_visits(decided: pd.DataFrame, lines: pd.DataFrame) -> pd.Series:
    """1 on the first approved line of each (claim, benefit): a visit is one claim per
    benefit (R10), and posting adds one visit per claim."""
    approved = decided[["line_id", "claim_id", "status"]].merge(
        lines[["line_id", "line_number", "benefit_code"]], on="line_id", how="left"
    )
    approved = approved[approved["status"] == "approved"].sort_values("line_number")
    first = approved.drop_duplicates(["claim_id", "benefit_code"])["line_id"]
    return decided["line_id"].isin(set(first)).astype("int64")


def reconciliation_frame(benefit: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """Join the benefit side (accumulator, opening, ledger) and the claims side (posted
    lines) by key, with one boolean per proof; both frames come from their own service."""
    frame = benefit.merge(lines, on=ACCUMULATOR_KEY, how="outer")
    for column in frame.columns:
        if column.startswith(("accumulator_", "opening_", "ledger_", "lines_")):
            frame[column] = frame[column].fillna(0).astype("int64")
    accumulator_ok = pd.Series(True, index=frame.index)
    ledger_ok = pd.Series(True, index=frame.index)
    for measure in RECONCILED_MEASURES:
        expected = frame[f"opening_{measure}"] + frame[f"ledger_{measure}"]
        accumulator_ok &= frame[f"accumulator_{measure}"] == expected
        ledger_ok &= frame[f"ledger_{measure}"] == frame[f"lines_{measure}"]
    return frame.assign(
        accumulator_equals_opening_plus_ledger=accumulator_ok, ledger_equals_posted_lines=ledger_ok
    )
