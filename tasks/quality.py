"""Data-quality checkpoints of the adjudication flow (Great Expectations, ephemeral).

The input checkpoint guards what the engine cannot judge (identity and required structure);
bad business values (negative charges, missing benefit codes, dates out of order) are not a
checkpoint failure but rule R1's INVALID_CLAIM. The decision checkpoint guards the engine's
own promises; when it fails nothing is written and the run fails naming the expectation.
"""

from __future__ import annotations

import pandas as pd
from prefect.artifacts import create_markdown_artifact

from claims_askes.adjudication.accumulators import RECONCILED_MEASURES
from claims_askes.adjudication.explain import rupiah
from claims_askes.adjudication.frames import LINE_AMOUNT_COLUMNS, MAX_CENTS
from claims_askes.quality import checkpoints as q
from claims_askes.quality.checkpoints import CheckpointReport, DataQualityError
from tasks.base import batch_task

LINE_STATUSES = ["approved", "rejected", "pended"]
CLAIM_STATUSES = ["approved", "partially_approved", "rejected", "pended"]
AMOUNTS = list(LINE_AMOUNT_COLUMNS)


def _publish_failure(report: CheckpointReport) -> None:
    create_markdown_artifact(
        key=f"checkpoint-{report.name}",
        markdown=report.summary(),
        description=f"Failed data-quality checkpoint {report.name}",
    )


def _run(
    name: str, frame: pd.DataFrame, expectations: list[q.Expectation], ids: list[str]
) -> CheckpointReport:
    try:
        return q.run_checkpoint(name, frame, expectations, id_columns=ids)
    except DataQualityError as exc:
        _publish_failure(exc.result)
        raise


@batch_task(name="check leased input")
def check_leased_input(claims: pd.DataFrame, lines: pd.DataFrame) -> None:
    """Required identity and structure of the leased claims and lines."""
    _run(
        "adjudication-input-claims",
        claims,
        [
            q.not_null("claim_id"),
            q.unique("claim_id"),
            q.not_null("claim_number"),
            q.not_null("member_id"),
            q.not_null("provider_id"),
            q.not_null("service_date"),
            q.not_null("submission_date"),
            q.in_set("claim_type", ["cashless", "reimbursement"]),
        ],
        ["claim_number"],
    )
    _run(
        "adjudication-input-lines",
        lines,
        [
            q.not_null("line_id"),
            q.unique("line_id"),
            q.not_null("claim_id"),
            q.not_null("line_number"),
            q.not_null("quantity"),
            q.not_null("charged_cents"),
        ],
        ["line_id", "claim_id"],
    )


def decision_checks(
    lines: pd.DataFrame, claims: pd.DataFrame, input_lines: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The decisions with the computed columns the expectations test."""
    checked = lines.merge(input_lines[["line_id", "charged_cents"]], on="line_id", how="left")
    approved = checked["status"] == "approved"
    parts = checked[
        [
            "deductible_cents",
            "copay_cents",
            "coinsurance_cents",
            "network_reduction_cents",
            "limit_cents",
            "approved_cents",
        ]
    ].sum(axis=1)
    checked = checked.assign(
        parts_add_up_to_allowed=~approved | (parts == checked["allowed_cents"]),
        allowed_within_charge_in_network=~(
            approved
            & checked["in_network"].fillna(False).astype(bool)
            & (checked["allowed_cents"] > checked["charged_cents"])
        ),
        rejection_has_reason=(checked["status"] != "rejected") | checked["reason_code"].notna(),
    )
    sums = checked.groupby("claim_id").agg(
        charged=("charged_cents", "sum"),
        approved=("approved_cents", "sum"),
        member=("member_responsibility_cents", "sum"),
    )
    # A claim whose charges add up beyond DECIMAL(15,2) is rejected whole and its total
    # clamped to what the column holds (I22 in claims_askes.adjudication.reference).
    sums["charged"] = sums["charged"].clip(-MAX_CENTS, MAX_CENTS)
    totals = claims.join(sums, on="claim_id")
    totals = totals.assign(
        totals_equal_lines=(
            (totals["total_charged_cents"] == totals["charged"].fillna(0))
            & (totals["total_approved_cents"] == totals["approved"].fillna(0))
            & (totals["member_responsibility_cents"] == totals["member"].fillna(0))
        )
    )
    return checked, totals


@batch_task(name="check decisions")
def check_decisions(lines: pd.DataFrame, claims: pd.DataFrame, input_lines: pd.DataFrame) -> None:
    """Approved ≤ allowed; allowed ≤ charged in network; the parts add up to allowed; claim
    totals equal their lines; every rejection has a reason."""
    checked, totals = decision_checks(lines, claims, input_lines)
    _run(
        "adjudication-decisions-lines",
        checked,
        [
            q.in_set("status", LINE_STATUSES),
            q.pair_a_ge_b("allowed_cents", "approved_cents"),
            *[q.between(column, min_value=0) for column in AMOUNTS],
            q.all_true("parts_add_up_to_allowed"),
            q.all_true("allowed_within_charge_in_network"),
            q.all_true("rejection_has_reason"),
        ],
        ["line_id", "claim_id"],
    )
    _run(
        "adjudication-decisions-claims",
        totals,
        [
            q.in_set("status", CLAIM_STATUSES),
            q.all_true("totals_equal_lines"),
        ],
        ["claim_id"],
    )


def _shown(measure: str, values: pd.Series) -> pd.Series:
    """A reconciled measure as a reader wants it: money in rupiah, counts as numbers."""
    if measure.endswith("_cents"):
        return values.map(lambda cents: f"Rp {rupiah(int(cents))}")
    return values.astype("int64").astype(str)


def reconciliation_differences(frame: pd.DataFrame) -> pd.Series:
    """Per key, what does not add up, with the amounts on each side ('' where all do): e.g.
    "amount: ledger Rp 0.00, posted lines Rp 30,000.00"."""
    differences = pd.Series("", index=frame.index, dtype=object)
    for measure in RECONCILED_MEASURES:
        name = measure.removesuffix("_cents")
        accumulator = frame[f"accumulator_{measure}"]
        expected = frame[f"opening_{measure}"] + frame[f"ledger_{measure}"]
        off = accumulator != expected
        if off.any():
            differences[off] += (
                f"{name}: accumulator "
                + _shown(measure, accumulator[off])
                + ", opening + ledger "
                + _shown(measure, expected[off])
                + "; "
            )
        ledger, lines = frame[f"ledger_{measure}"], frame[f"lines_{measure}"]
        off = ledger != lines
        if off.any():
            differences[off] += (
                f"{name}: ledger "
                + _shown(measure, ledger[off])
                + ", posted lines "
                + _shown(measure, lines[off])
                + "; "
            )
    return differences.str.removesuffix("; ")


@batch_task(name="check reconciliation")
def check_reconciliation(frame: pd.DataFrame) -> None:
    """Accumulator = opening balance + ledger, and ledger = posted lines, key by key; a
    mismatch fails the run naming the members, benefits, years and amounts, in the error and
    in a markdown artifact (`checkpoint-accumulator-reconciliation`) on the run."""
    ids = ["member_id", "benefit_code", "year", "differences"]
    frame = frame.assign(differences=reconciliation_differences(frame))
    _run(
        "accumulator-reconciliation",
        frame,
        [
            q.all_true("accumulator_equals_opening_plus_ledger"),
            q.all_true("ledger_equals_posted_lines"),
        ],
        ids,
    )
