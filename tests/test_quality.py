"""Data-quality checkpoints, against real Great Expectations (no mocks, no database)."""

from __future__ import annotations

import pickle
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd
import pytest

from claims_askes.core.errors import ClaimsAskesError
from claims_askes.quality import checkpoints as quality
from claims_askes.quality.checkpoints import (
    CheckpointReport,
    DataQualityError,
    Expectation,
    all_true,
    between,
    in_set,
    matches_regex,
    not_null,
    pair_a_ge_b,
    run_checkpoint,
    unique,
)

STATUSES = ["APPROVED", "DENIED", "PENDING"]


def good_frame() -> pd.DataFrame:
    """Claims as a flow would read them: nullable dtypes straight from PostgreSQL."""
    return pd.DataFrame(
        {
            "claim_id": pd.array(["C1", "C2", "C3", "C4"], dtype="string"),
            "member_id": pd.array([10, 11, 12, 13], dtype="Int64"),
            "status": pd.array(["APPROVED", "DENIED", "PENDING", "APPROVED"], dtype="string"),
            "billed": pd.array([100, 200, 300, 400], dtype="Int64"),
            "paid": pd.array([100, 150, 0, 400], dtype="Int64"),
            "code": pd.array(["A01", "B22", "C33", "D44"], dtype="string"),
            "parts_add_up": pd.array([True, True, True, True], dtype="boolean"),
            "service_date": pd.to_datetime(
                ["2024-01-05", "2024-02-10", "2024-03-15", "2024-04-20"]
            ),
        }
    )


def checks() -> list[Expectation]:
    """One of every helper, all satisfied by good_frame()."""
    return [
        not_null("member_id"),
        unique("claim_id"),
        between("paid", min_value=0, max_value=1000),
        in_set("status", STATUSES),
        pair_a_ge_b("billed", "paid"),
        matches_regex("code", r"^[A-Z]\d{2}$"),
        all_true("parts_add_up"),
        between("service_date", min_value=pd.Timestamp("2024-01-01")),
    ]


def test_passing_checkpoint() -> None:
    report = run_checkpoint("claims.input", good_frame(), checks(), id_columns=["claim_id"])

    assert report.success
    assert report.rows == 4
    assert [o.success for o in report.outcomes] == [True] * 8
    assert all(o.unexpected_count == 0 and o.examples == [] for o in report.outcomes)
    # In the caller's order, labelled as GX names the expectation.
    assert report.outcomes[0].expectation == "expect_column_values_to_not_be_null(column=member_id)"
    assert report.outcomes[4].expectation.startswith(
        "expect_column_pair_values_a_to_be_greater_than_b(column_A=billed, column_B=paid"
    )
    assert report.summary() == (
        "Data-quality checkpoint 'claims.input' passed: 8 expectations on 4 rows."
    )


# Each case: a helper, the rows to spoil (claim_id -> column values), the unexpected count
# GX must report, and the claim_ids of the example rows.
FAILING_CASES = {
    "not_null": (
        not_null("member_id"),
        {"C2": {"member_id": pd.NA}, "C4": {"member_id": pd.NA}},
        2,
        ["C2", "C4"],
    ),
    # Every row of a duplicated value is unexpected; missing values are skipped.
    "unique": (
        unique("member_id"),
        {"C3": {"member_id": 10}, "C2": {"member_id": pd.NA}},
        2,
        ["C1", "C3"],
    ),
    "between": (
        between("paid", min_value=0, max_value=1000),
        {"C1": {"paid": -1}, "C3": {"paid": 1001}, "C4": {"paid": pd.NA}},
        2,
        ["C1", "C3"],
    ),
    "in_set": (in_set("status", STATUSES), {"C2": {"status": "LOST"}}, 1, ["C2"]),
    # A missing value on one side skips the row instead of erroring out.
    "pair_a_ge_b": (
        pair_a_ge_b("billed", "paid"),
        {"C2": {"paid": 201}, "C3": {"billed": pd.NA}, "C4": {"paid": 400}},
        1,
        ["C2"],
    ),
    "matches_regex": (
        matches_regex("code", r"^[A-Z]\d{2}$"),
        {"C1": {"code": "A1"}, "C4": {"code": "d44"}},
        2,
        ["C1", "C4"],
    ),
    "all_true": (
        all_true("parts_add_up"),
        {
            "C1": {"parts_add_up": False},
            "C2": {"parts_add_up": False},
            "C3": {"parts_add_up": pd.NA},
        },
        2,
        ["C1", "C2"],
    ),
    "between_datetime": (
        between("service_date", max_value=pd.Timestamp("2024-03-01")),
        {},
        2,
        ["C3", "C4"],
    ),
}


@pytest.mark.parametrize("case", FAILING_CASES.values(), ids=FAILING_CASES.keys())
def test_each_helper_fails_with_exact_count_and_example_ids(
    case: tuple[Expectation, dict[str, dict[str, Any]], int, list[str]],
) -> None:
    expectation, spoil, count, example_ids = case
    df = good_frame()
    for claim_id, values in spoil.items():
        for column, value in values.items():
            df.loc[df["claim_id"] == claim_id, column] = value

    report = run_checkpoint(
        "claims.case", df, [expectation], id_columns=["claim_id"], raise_on_failure=False
    )

    assert not report.success
    (outcome,) = report.outcomes
    assert not outcome.success
    assert outcome.error is None
    assert outcome.unexpected_count == count
    assert [row["claim_id"] for row in outcome.examples] == example_ids
    # Example rows carry the id columns and the expectation's own column(s).
    columns = [
        k for k in ("column", "column_A", "column_B") if k in expectation.configuration.kwargs
    ]
    expected_keys = {"claim_id", *(expectation.configuration.kwargs[k] for k in columns)}
    assert all(set(row) == expected_keys for row in outcome.examples)
    assert "claim_id='" + example_ids[0] + "'" in report.summary()


def test_error_message_names_expectation_and_shows_example_ids() -> None:
    df = good_frame()
    df["member_id"] = pd.array([None, 11, None, 13], dtype="Int64")
    df["code"] = pd.array(["A01", "bad", "C33", "D44"], dtype="string")

    with pytest.raises(DataQualityError) as raised:
        run_checkpoint("claims.input", df, checks(), id_columns=["claim_id"])

    message = str(raised.value)
    lines = message.splitlines()
    assert (
        lines[0] == "Data-quality checkpoint 'claims.input' failed: 2 of 8 expectations on 4 rows."
    )
    assert lines[1] == (
        "- expect_column_values_to_not_be_null(column=member_id): 2 unexpected, "
        "e.g. {claim_id='C1', member_id=None}; {claim_id='C3', member_id=None}"
    )
    assert lines[2].startswith("- expect_column_values_to_match_regex(column=code, regex=")
    assert "{claim_id='C2', code='bad'}" in lines[2]
    assert len(lines) == 3  # one line per failed expectation, nothing for the passing ones
    assert isinstance(raised.value, ClaimsAskesError)
    report = raised.value.result
    assert isinstance(report, CheckpointReport)
    assert not report.success
    assert message == report.summary()
    # Prefect pickles a failed task's exception and JSON-serialises artifacts.
    copy = pickle.loads(pickle.dumps(raised.value))
    assert isinstance(copy, DataQualityError) and str(copy) == message
    assert copy.result == report
    assert CheckpointReport.model_validate_json(report.model_dump_json()).summary() == message


def test_raise_on_failure_false_returns_the_failing_report() -> None:
    df = good_frame()
    df["status"] = pd.array(["X"] * 4, dtype="string")

    report = run_checkpoint("claims.soft", df, checks(), raise_on_failure=False)

    assert not report.success
    assert [o.expectation for o in report.outcomes if not o.success] == [
        "expect_column_values_to_be_in_set(column=status, value_set=['APPROVED', 'DENIED', "
        "'PENDING'])"
    ]
    assert report.outcomes[3].unexpected_count == 4


def test_examples_are_capped_and_follow_a_non_range_index() -> None:
    n = 12
    df = pd.DataFrame(
        {
            "claim_id": [f"C{i}" for i in range(n)],
            "member_id": pd.array([None] * 8 + [1] * 4, dtype="Int64"),
        },
        index=pd.Index([f"row{i}" for i in reversed(range(n))]),
    )

    report = run_checkpoint(
        "claims.many",
        df,
        [not_null("member_id")],
        id_columns=["claim_id"],
        raise_on_failure=False,
    )

    (outcome,) = report.outcomes
    assert outcome.unexpected_count == 8
    assert [r["claim_id"] for r in outcome.examples] == ["C0", "C1", "C2", "C3", "C4"]
    assert list(df.index[:2]) == ["row11", "row10"]  # the caller's frame is left alone


def test_empty_frame_passes() -> None:
    empty = good_frame().iloc[0:0]

    report = run_checkpoint("claims.empty", empty, checks(), id_columns=["claim_id"])

    assert report.success and report.rows == 0
    assert len(report.outcomes) == 8


def test_nullable_and_timezone_aware_dtypes() -> None:
    df = pd.DataFrame(
        {
            "claim_id": ["C1", "C2", "C3", "C4"],  # pandas' default str dtype
            "amount": pd.array([1.5, None, -1.0, 2.0], dtype="Float64"),
            "units": pd.array([1, 2, None, 1], dtype="Int64"),
            "flag": pd.array([True, None, False, True], dtype="boolean"),
            "label": pd.array(["x", None, "y", "x"], dtype="string"),
            "decided_at": pd.to_datetime(
                ["2024-01-01", "2023-06-01", "NaT", "2024-06-01"], utc=True
            ),
        }
    )
    expectations = [
        between("amount", min_value=0),
        pair_a_ge_b("amount", "units"),
        all_true("flag"),
        unique("label"),
        in_set("units", [1, 2]),
        between("decided_at", min_value=pd.Timestamp("2024-01-01", tz="UTC")),
        not_null("decided_at"),
    ]

    report = run_checkpoint(
        "claims.dtypes", df, expectations, id_columns=["claim_id"], raise_on_failure=False
    )

    assert all(o.error is None for o in report.outcomes)
    assert [o.unexpected_count for o in report.outcomes] == [1, 0, 1, 2, 0, 1, 1]
    assert [o.success for o in report.outcomes] == [False, True, False, False, True, False, False]
    assert report.outcomes[5].examples == [
        {"claim_id": "C2", "decided_at": pd.Timestamp("2023-06-01", tz="UTC")}
    ]
    assert report.outcomes[6].examples == [{"claim_id": "C3", "decided_at": None}]
    assert "decided_at=2023-06-01T00:00:00+00:00" in report.summary()


def test_an_expectation_gx_cannot_evaluate_fails_with_its_error() -> None:
    report = run_checkpoint(
        "claims.typo",
        good_frame(),
        [not_null("member_idd"), not_null("member_id")],
        raise_on_failure=False,
    )

    bad, good = report.outcomes
    assert not report.success and good.success
    assert not bad.success and bad.error is not None and "member_idd" in bad.error
    assert "could not be evaluated" in report.summary()


def test_bad_arguments_are_rejected_before_gx_runs() -> None:
    with pytest.raises(ValueError, match="min_value, max_value"):
        between("paid")
    with pytest.raises(ValueError, match="not_a_column"):
        run_checkpoint("claims.ids", good_frame(), checks(), id_columns=["not_a_column"])


def test_expectations_are_reusable_and_nothing_is_left_in_the_context() -> None:
    shared = checks()  # as a flow's module-level constant would be
    for _ in range(3):
        assert run_checkpoint("claims.reuse", good_frame(), shared).success
    assert all(e.id is None for e in shared)  # GX bound copies, not the caller's objects

    context = quality._get_context()
    assert quality._get_context() is context
    assert list(context.data_sources.all()) == []
    assert list(context.suites.all()) == []
    assert list(context.validation_definitions.all()) == []
    assert list(context.checkpoints.all()) == []
    assert context.validation_results_store.list_keys() == []


def test_no_expectations_is_a_trivial_success() -> None:
    report = run_checkpoint("claims.none", good_frame(), [])
    assert report.success and report.outcomes == [] and report.rows == 4


def test_concurrent_checkpoints_do_not_mix_frames() -> None:
    # Prefect's thread-pool task runner may run two checkpoints at once in one process.
    frames = []
    for k in range(4):
        df = good_frame()
        df["member_id"] = pd.array([None if i == k else 1 for i in range(4)], dtype="Int64")
        frames.append(df)

    with ThreadPoolExecutor(max_workers=4) as pool:
        reports = list(
            pool.map(
                lambda df: run_checkpoint(
                    "claims.threads",
                    df,
                    [not_null("member_id")],
                    id_columns=["claim_id"],
                    raise_on_failure=False,
                ),
                frames,
            )
        )

    assert [r.outcomes[0].examples[0]["claim_id"] for r in reports] == ["C1", "C2", "C3", "C4"]
