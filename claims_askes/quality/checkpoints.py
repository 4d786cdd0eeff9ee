"""Data-quality checkpoints at the boundaries of batch flows, on Great Expectations 1.x.

A flow validates the frame it read and the frames it is about to write; a failing checkpoint
raises DataQualityError, whose message names each failed expectation with a few offending
rows, so the write never happens and the person reading the log sees why.

GX runs in one ephemeral (in-memory) Data Context per process, built on first use. Each call
registers its own uniquely named data source, suite, validation definition and checkpoint and
deletes them (and the stored validation result) afterwards: GX keeps loaded batches and
computed metrics on the data source's execution engine and every result in its results store,
so anything left behind would pin the validated frames in memory for the life of the process.
Calls are serialised by a lock because a Data Context is not safe to mutate from two threads.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import math
import threading
import uuid
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from claims_askes.core.errors import ClaimsAskesError

# GX logs pages of DEBUG/INFO while it imports and validates; flows' logs should show our
# summary, not that. Quieted before the import, unless the application set a level itself.
_gx_logger = logging.getLogger("great_expectations")
if _gx_logger.level == logging.NOTSET:
    _gx_logger.setLevel(logging.WARNING)

if TYPE_CHECKING:  # pandas and numpy too: imported where a checkpoint runs, not with flows
    import pandas as pd
    from great_expectations.checkpoint.checkpoint import CheckpointResult
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )
    from great_expectations.data_context import AbstractDataContext
    from great_expectations.expectations import Expectation


def _gx() -> ModuleType:
    """Great Expectations, imported when a checkpoint first needs it: the import takes about
    2.5 s, which every flow module and command paid at import time, checkpoint or not."""
    import great_expectations

    return great_expectations


def __getattr__(name: str) -> Any:
    """`Expectation`, GX's class, for callers that name it (imported on first use)."""
    if name == "Expectation":
        from great_expectations.expectations import Expectation

        return Expectation
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CheckpointReport",
    "DataQualityError",
    "ExpectationOutcome",
    "Expectation",
    "all_true",
    "between",
    "in_set",
    "matches_regex",
    "not_null",
    "pair_a_ge_b",
    "run_checkpoint",
    "unique",
]

#: Offending rows shown per failed expectation (GX's partial_unexpected_count).
MAX_EXAMPLES = 5

# Keyword arguments of the expectation that name the frame's columns it looks at.
_COLUMN_KWARGS = ("column", "column_A", "column_B")
_COLUMN_LIST_KWARGS = ("column_list",)
# Keyword arguments left out of an expectation's label: GX bookkeeping, not the rule.
_LABEL_SKIP = frozenset({"batch_id", "result_format", "catch_exceptions", "meta", "notes"})

_lock = threading.RLock()
_context: AbstractDataContext | None = None


def _show(value: object) -> str:
    """A value as a log reader wants it: strings quoted (blanks show), datetimes in ISO form."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return repr(value)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class DataQualityError(ClaimsAskesError):
    """Raised when a checkpoint fails; .result holds the CheckpointReport."""

    def __init__(self, result: CheckpointReport) -> None:
        super().__init__(result.summary())
        self.result = result

    def __reduce__(self) -> tuple[type[DataQualityError], tuple[CheckpointReport]]:
        # Prefect pickles a failed task's exception; the default would rebuild it from the
        # message string alone.
        return (type(self), (self.result,))


class ExpectationOutcome(BaseModel):
    """What one expectation found, in terms a flow log or artifact can show."""

    expectation: str  # e.g. "expect_column_values_to_not_be_null(column=member_id)"
    success: bool
    unexpected_count: int = 0
    examples: list[dict[str, object]] = Field(default_factory=list)
    observed_value: object | None = None  # for aggregate expectations (row count, mean...)
    error: str | None = None  # GX could not evaluate it (missing column, bad dtype...)

    def line(self) -> str:
        """One line for the summary: the expectation, what failed and the example rows."""
        if self.error is not None:
            return f"- {self.expectation}: could not be evaluated: {self.error}"
        text = f"- {self.expectation}: "
        if self.unexpected_count:
            text += f"{self.unexpected_count} unexpected"
        elif self.observed_value is not None:
            text += f"observed {self.observed_value!r}"
        else:
            text += "failed"
        if self.examples:
            rows = "; ".join(
                "{" + ", ".join(f"{k}={_show(v)}" for k, v in row.items()) + "}"
                for row in self.examples
            )
            text += f", e.g. {rows}"
        return text


class CheckpointReport(BaseModel):
    """The outcome of one checkpoint run over one frame."""

    name: str
    success: bool
    rows: int
    outcomes: list[ExpectationOutcome]

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]

    def summary(self) -> str:
        """A header line, then one line per failed expectation with its example rows.

        Used as DataQualityError's message and as a Prefect markdown artifact.
        """
        failed = self.failures
        if not failed:
            return (
                f"Data-quality checkpoint '{self.name}' passed: "
                f"{_count(len(self.outcomes), 'expectation')} on {_count(self.rows, 'row')}."
            )
        header = (
            f"Data-quality checkpoint '{self.name}' failed: {len(failed)} of "
            f"{_count(len(self.outcomes), 'expectation')} on {_count(self.rows, 'row')}."
        )
        return "\n".join([header, *(o.line() for o in failed)])


# --- expectation helpers: flows build their checks with these, without importing GX ---


def not_null(col: str) -> Expectation:
    """Every value of `col` is present (not None/NaN/NA/NaT)."""
    return _gx().expectations.ExpectColumnValuesToNotBeNull(column=col)


def unique(col: str) -> Expectation:
    """No value of `col` appears twice; every row of a duplicated value is reported.

    Missing values are skipped, as by every column-values expectation but not_null.
    """
    return _gx().expectations.ExpectColumnValuesToBeUnique(column=col)


def between(col: str, min_value: Any = None, max_value: Any = None) -> Expectation:
    """min_value <= value <= max_value (either bound may be None); missing values skipped.

    Works for numbers and, with datetime/Timestamp bounds, for datetime64 columns (a bound
    must be timezone-aware exactly when the column is).
    """
    if min_value is None and max_value is None:
        raise ValueError(f"between({col!r}): give min_value, max_value or both")
    return _gx().expectations.ExpectColumnValuesToBeBetween(
        column=col, min_value=min_value, max_value=max_value
    )


def in_set(col: str, values: Iterable[Any]) -> Expectation:
    """Every value of `col` is one of `values`; missing values skipped."""
    return _gx().expectations.ExpectColumnValuesToBeInSet(column=col, value_set=list(values))


def pair_a_ge_b(col_a: str, col_b: str) -> Expectation:
    """col_a >= col_b on every row where both are present (e.g. billed >= paid).

    Rows with either value missing are skipped: GX's default only skips rows where both are,
    and a pandas NA on one side then makes the whole expectation error out.
    """
    return _gx().expectations.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A=col_a, column_B=col_b, or_equal=True, ignore_row_if="either_value_is_missing"
    )


def matches_regex(col: str, regex: str) -> Expectation:
    """Every value of `col` contains a match of `regex` (re.search: anchor with ^...$).

    Missing values skipped; non-string values are matched on their str().
    """
    return _gx().expectations.ExpectColumnValuesToMatchRegex(column=col, regex=regex)


def all_true(col: str) -> Expectation:
    """Every value of the boolean `col` is True, for computed checks such as "parts add up".

    Missing values (pd.NA) are skipped like in every column-values expectation: add
    not_null(col) too when an undecidable row must fail.
    """
    return _gx().expectations.ExpectColumnValuesToBeInSet(column=col, value_set=[True])


# --- running a checkpoint ---


def _get_context() -> AbstractDataContext:
    """The process's ephemeral Data Context, built once: building one per call is wasted work."""
    global _context
    with _lock:
        if _context is None:
            # A few GX modules pin their logger at INFO (one announces the ephemeral context's
            # temporary docs directory): let them follow the "great_expectations" level.
            for logger_name in list(logging.root.manager.loggerDict):
                if logger_name.startswith("great_expectations."):
                    gx_module_logger = logging.getLogger(logger_name)
                    if gx_module_logger.level == logging.INFO:
                        gx_module_logger.setLevel(logging.NOTSET)
            gx = _gx()
            context = gx.get_context(mode="ephemeral")
            # GX draws a tqdm progress bar on stderr for every validation.
            from great_expectations.data_context.types.base import ProgressBarsConfig

            context.variables.progress_bars = ProgressBarsConfig(
                globally=False, metric_calculations=False
            )
            _context = context
        return _context


def _label(expectation: Expectation) -> str:
    """expect_xxx(column=a, min_value=0): the rule as a reader would look it up in GX docs."""
    kwargs = expectation.configuration.kwargs
    parts = []
    for key, value in kwargs.items():
        if key in _LABEL_SKIP or value is None:
            continue
        parts.append(f"{key}={value}" if isinstance(value, str) else f"{key}={_show(value)}")
    return f"{expectation.expectation_type}({', '.join(parts)})"


def _columns_of(expectation: Expectation) -> list[str]:
    """The frame columns an expectation reads, to show them in its example rows."""
    kwargs = expectation.configuration.kwargs
    cols = [kwargs[k] for k in _COLUMN_KWARGS if isinstance(kwargs.get(k), str)]
    for key in _COLUMN_LIST_KWARGS:
        cols.extend(c for c in kwargs.get(key) or () if isinstance(c, str))
    return cols


def _plain(value: object) -> object:
    """NA-likes to None and numpy scalars to Python ones, for readable, serialisable examples."""
    import numpy as np
    import pandas as pd

    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _examples(
    frame: pd.DataFrame, positions: Sequence[Any], columns: Sequence[str]
) -> list[dict[str, object]]:
    """Rows at the (RangeIndex) positions GX reported, limited to the columns worth showing."""
    import numpy as np

    cols = [c for c in dict.fromkeys(columns) if c in frame.columns]
    rows = [int(p) for p in positions[:MAX_EXAMPLES] if isinstance(p, (int, np.integer))]
    if not rows or not cols:
        return []
    records = frame.iloc[rows][cols].to_dict(orient="records")
    return [{str(k): _plain(v) for k, v in rec.items()} for rec in records]


def _outcome(
    result: ExpectationValidationResult,
    expectation: Expectation,
    frame: pd.DataFrame,
    id_columns: Sequence[str],
) -> ExpectationOutcome:
    """Turn one GX result into an ExpectationOutcome, with offending rows looked up in frame."""
    label = _label(expectation)
    info = result.exception_info or {}
    if info.get("raised_exception"):
        return ExpectationOutcome(
            expectation=label,
            success=False,
            error=str(info.get("exception_message") or "unknown error"),
        )
    # A metric that fails to compute is reported keyed by its id, not at the top level.
    nested = [v for v in info.values() if isinstance(v, dict) and v.get("raised_exception")]
    if nested:
        return ExpectationOutcome(
            expectation=label,
            success=False,
            error="; ".join(str(v.get("exception_message")) for v in nested),
        )
    details = result.result or {}
    success = bool(result.success)
    positions = details.get("partial_unexpected_index_list") or []
    return ExpectationOutcome(
        expectation=label,
        success=success,
        unexpected_count=int(details.get("unexpected_count") or 0),
        examples=[]
        if success
        else _examples(frame, positions, [*id_columns, *_columns_of(expectation)]),
        observed_value=_plain(details.get("observed_value")),
    )


def _report(
    name: str,
    frame: pd.DataFrame,
    expectations: Sequence[Expectation],
    suite_result: ExpectationSuiteValidationResult,
    id_columns: Sequence[str],
) -> CheckpointReport:
    """Outcomes in the caller's order (GX returns them in its own order)."""
    by_id = {
        r.expectation_config.id: r for r in suite_result.results if r.expectation_config is not None
    }
    outcomes = [
        _outcome(by_id[e.id], e, frame, id_columns)
        if e.id in by_id
        else ExpectationOutcome(expectation=_label(e), success=False, error="GX returned no result")
        for e in expectations
    ]
    return CheckpointReport(
        name=name,
        success=bool(suite_result.success) and all(o.success for o in outcomes),
        rows=len(frame),
        outcomes=outcomes,
    )


def _is_positional(index: pd.Index) -> bool:
    """Whether index labels already are row positions (0, 1, 2...)."""
    import pandas as pd

    return isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1


def _validate(
    name: str, frame: pd.DataFrame, expectations: Sequence[Expectation]
) -> tuple[list[Expectation], ExpectationSuiteValidationResult]:
    """Run `expectations` over `frame` through a throw-away GX checkpoint.

    Returns the expectations as added to the suite (they carry the ids results refer to).
    """
    gx = _gx()
    context = _get_context()
    key = f"claims_askes.{name}.{uuid.uuid4().hex}"
    with _lock, ExitStack() as cleanup:  # cleanups run last-in, first-out
        source = context.data_sources.add_pandas(key)
        cleanup.callback(context.data_sources.delete, key)
        batch = source.add_dataframe_asset("frame").add_batch_definition_whole_dataframe("whole")
        # GX binds an expectation to the first suite it joins (and gives it an id), so a flow's
        # module-level list of checks could be used only once: the suite gets copies.
        suite = context.suites.add(
            gx.ExpectationSuite(name=key, expectations=[copy.copy(e) for e in expectations])
        )
        cleanup.callback(context.suites.delete, key)
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=key, data=batch, suite=suite)
        )
        cleanup.callback(context.validation_definitions.delete, key)
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=key,
                validation_definitions=[definition],
                # SUMMARY counts every unexpected row but lists only the first few (with
                # their index labels); COMPLETE would list, and store, all of them.
                result_format={
                    "result_format": "SUMMARY",
                    "partial_unexpected_count": MAX_EXAMPLES,
                },
            )
        )
        cleanup.callback(context.checkpoints.delete, key)
        result: CheckpointResult = checkpoint.run(batch_parameters={"dataframe": frame})
        # Even an ephemeral context keeps every validation result (serialised) in memory.
        for result_key in result.run_results:
            context.validation_results_store.remove_key(result_key)
    (suite_result,) = result.run_results.values()
    return list(suite.expectations), suite_result


def run_checkpoint(
    name: str,
    df: pd.DataFrame,
    expectations: Sequence[Expectation],
    *,
    id_columns: Sequence[str] = (),
    raise_on_failure: bool = True,
) -> CheckpointReport:
    """Validate `df` against `expectations`; raise DataQualityError if any fails.

    `id_columns` (e.g. claim_id) are shown in every example row next to the expectation's own
    columns, so a reader can find the offending records. With raise_on_failure=False the
    failing report is returned instead, e.g. to quarantine rows rather than stop the flow.
    """
    missing = [c for c in id_columns if c not in df.columns]
    if missing:
        raise ValueError(f"checkpoint {name!r}: id_columns not in the frame: {missing}")
    if not expectations:
        return CheckpointReport(name=name, success=True, rows=len(df), outcomes=[])
    # GX reports offending rows by index label; a RangeIndex makes labels positions. This is
    # a shallow, copy-on-write copy: the caller's frame and index are left alone.
    frame = df if _is_positional(df.index) else df.reset_index(drop=True)
    added, suite_result = _validate(name, frame, expectations)
    report = _report(name, frame, added, suite_result, id_columns)
    if raise_on_failure and not report.success:
        raise DataQualityError(report)
    return report
