"""The notes in words that explain a chunk's rejected lines, one per claim (pure pandas)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from claims_askes.adjudication.explain import shown
from claims_askes.adjudication.frames import EngineResult


def printable(code: str) -> str:
    """A code from the input as a note shows it: as it is when every character prints,
    escaped (``explain.shown``) when not, so that no escape sequence reaches a note."""
    return code if code.isprintable() else shown(code)


def rejection_notes(
    result: EngineResult,
    lines: pd.DataFrame,
    reasons: pd.DataFrame,
    details: pd.Series | None = None,
) -> pd.Series:
    """A note in words per claim with rejected lines (None for the others), by claim_id.
    ``details``: why R1 found a line invalid, by line_id (``invalid_claim_details``), added
    to its INVALID_CLAIM lines' descriptions."""
    rejected = result.lines.loc[
        result.lines["status"] == "rejected", ["claim_id", "line_id", "reason_code"]
    ]
    rejected = rejected.merge(
        lines[["line_id", "line_number", "benefit_code"]], on="line_id", how="left"
    )
    rejected = rejected.merge(reasons, left_on="reason_code", right_on="code", how="left")
    rejected = rejected.sort_values(["claim_id", "line_number"])
    why = (
        rejected["line_id"].map(details)
        if details is not None and len(details)
        else pd.Series(None, index=rejected.index, dtype=object)
    )
    why = (": " + why.where(rejected["reason_code"] == "INVALID_CLAIM").astype(object)).fillna("")
    text = (
        "line "
        + rejected["line_number"].astype(str)
        + " ("
        + rejected["benefit_code"].fillna("no benefit code").astype(str).map(printable)
        + "): "
        + rejected["description"].fillna("rejected").astype(str)
        + why
        + " ["
        + rejected["reason_code"].astype(str)
        + ", CARC "
        + rejected["carc"].astype(str)
        + "/"
        + rejected["group_code"].astype(str)
        + "]"
    )
    per_claim = text.groupby(rejected["claim_id"]).agg("; ".join)
    status = result.claims.set_index("claim_id")["status"]
    prefix = np.where(
        status.reindex(per_claim.index) == "rejected", "Claim rejected: ", "Lines rejected: "
    )
    notes = pd.Series(prefix, index=per_claim.index, dtype=object) + per_claim
    no_lines = result.claims.loc[
        ~result.claims["claim_id"].isin(lines["claim_id"]), "claim_id"
    ].to_numpy()
    invalid = reasons.set_index("code").loc["INVALID_CLAIM"]
    empty = (
        f"Claim rejected: the claim has no lines [INVALID_CLAIM, CARC {invalid['carc']}/"
        f"{invalid['group_code']}]"
    )
    return pd.concat([notes, pd.Series(empty, index=no_lines, dtype=object)])
