"""The column contract of the adjudication engine: what goes in, what comes out.

The engine (``engine.adjudicate``) and its oracle (``reference.adjudicate_reference``) are pure
functions over pandas DataFrames. Keeping the column lists here, in one place, lets the database
layer build the frames without reading the engine, lets ``EngineInput.validate`` fail fast with
a message naming the missing column, and makes both implementations emit byte-identical output
frames through :func:`make_line_result` / :func:`make_claim_result`.

Representation (why: money is never a float):

* amounts are ``int64`` cents; percentages are ``int64`` hundredths of a percent
  (``DECIMAL(5,2)`` × 100, so 80.00 % is 8000);
* dates are ``datetime64`` at midnight (any resolution; a null is ``NaT``);
* ids are strings (UUID text);
* nullable limits (``annual_limit_cents``, ``day_limit``, ``age_limit_min``, ``oop_max_cents``…)
  are pandas ``Int64`` (or any integer/float column where a missing value is ``NA``/``NaN``):
  a missing value means *no limit*. Internally the engine maps "no limit" to the sentinel
  :data:`NO_LIMIT` (2**62 cents), which is larger than any running total the engine can meet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

# --------------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------------

#: Largest amount a ``DECIMAL(15,2)`` column holds, in cents: 9,999,999,999,999.99 rupiah is
#: 10**15 − 1 cents (13 digits before the point, 2 after).
MAX_CENTS: int = 10**15 - 1
#: Largest quantity a PostgreSQL ``INTEGER`` holds; a larger quantity is a malformed line.
MAX_QUANTITY: int = 2**31 - 1
#: The business time zone: a claim's submission instant is a calendar day there (I21).
BUSINESS_TIMEZONE: str = "Asia/Jakarta"
#: R1 (I25): a diagnosis code is an ICD-10 code (WHO ICD-10, as INA-CBG uses it): a capital
#: letter, two digits, then optionally a dot and 1 to 4 capital letters or digits: ``A09``,
#: ``J06.9``, ``S72.001A``. At most 8 characters (the column is VARCHAR(10)). Matched whole
#: (``re.fullmatch``); a null diagnosis code is allowed.
DIAGNOSIS_CODE_PATTERN: str = r"[A-Z][0-9]{2}(?:\.[0-9A-Z]{1,4})?"
#: R1 (I25): a procedure code is 1 to 20 characters (the column is VARCHAR(20)): groups of
#: capital letters and digits joined by single dots or hyphens: ICD-9-CM ``89.01``, CPT
#: ``99213``, hospital tariff codes ``KMR-VIP``, ``LAB-HBA``. Matched whole; a null procedure
#: code is allowed.
PROCEDURE_CODE_PATTERN: str = r"(?=.{1,20}\Z)[A-Z0-9]+(?:[.-][A-Z0-9]+)*"
#: "No limit" inside the engine: larger than every running total it can meet.
NO_LIMIT: int = 2**62
#: Percentages are hundredths of a percent: 100.00 % is this many basis points.
FULL_BP: int = 10_000

# Line statuses
APPROVED = "approved"
REJECTED = "rejected"
PENDED = "pended"
# Claim statuses (plus APPROVED, REJECTED, PENDED)
PARTIALLY_APPROVED = "partially_approved"

# Rejection / pend reasons, in rule order.
INVALID_CLAIM = "INVALID_CLAIM"  # R1
MEMBER_NOT_ELIGIBLE = "MEMBER_NOT_ELIGIBLE"  # R2
COVERAGE_NOT_STARTED = "COVERAGE_NOT_STARTED"  # R3
COVERAGE_TERMINATED = "COVERAGE_TERMINATED"  # R3
DUPLICATE = "DUPLICATE"  # R4
BENEFIT_NOT_COVERED = "BENEFIT_NOT_COVERED"  # R5
EXCLUDED = "EXCLUDED"  # R6
WAITING_PERIOD = "WAITING_PERIOD"  # R7
AGE_LIMIT = "AGE_LIMIT"  # R8
PREAUTH_MISSING = "PREAUTH_MISSING"  # R9
PREAUTH_PENDING = "PREAUTH_PENDING"  # R9 (pend)
VISIT_LIMIT_EXCEEDED = "VISIT_LIMIT_EXCEEDED"  # R10
DAY_LIMIT_EXCEEDED = "DAY_LIMIT_EXCEEDED"  # R11

# Adjustment reasons of approved lines, in tie-break order (the first wins a tie).
DEDUCTIBLE = "DEDUCTIBLE"
COPAY = "COPAY"
COINSURANCE = "COINSURANCE"
FEE_SCHEDULE = "FEE_SCHEDULE"
NETWORK_REDUCTION = "NETWORK_REDUCTION"
LIMIT_REACHED = "LIMIT_REACHED"
ADJUSTMENT_REASONS: tuple[str, ...] = (
    DEDUCTIBLE,
    COPAY,
    COINSURANCE,
    FEE_SCHEDULE,
    NETWORK_REDUCTION,
    LIMIT_REACHED,
)

#: Reason → (X12 CARC, group code), from the contract's table; for 835 remittances / EOBs.
#: NETWORK_REDUCTION and PREAUTH_PENDING are not in the contract's table: they carry the codes
#: of ``common.reason_code`` (migrations/common), 242/PR and 197/CO.
CARC_BY_REASON: Mapping[str, tuple[str, str]] = {
    DEDUCTIBLE: ("1", "PR"),
    COINSURANCE: ("2", "PR"),
    COPAY: ("3", "PR"),
    AGE_LIMIT: ("6", "CO"),
    DUPLICATE: ("18", "CO"),
    COVERAGE_NOT_STARTED: ("26", "PR"),
    COVERAGE_TERMINATED: ("27", "PR"),
    MEMBER_NOT_ELIGIBLE: ("27", "PR"),
    FEE_SCHEDULE: ("45", "CO"),
    BENEFIT_NOT_COVERED: ("96", "PR"),
    EXCLUDED: ("96", "PR"),
    WAITING_PERIOD: ("96", "PR"),
    VISIT_LIMIT_EXCEEDED: ("119", "PR"),
    DAY_LIMIT_EXCEEDED: ("119", "PR"),
    LIMIT_REACHED: ("119", "PR"),
    PREAUTH_MISSING: ("197", "CO"),
    INVALID_CLAIM: ("16", "CO"),
    NETWORK_REDUCTION: ("242", "PR"),
    PREAUTH_PENDING: ("197", "CO"),
}

# --------------------------------------------------------------------------------------------
# Input columns: name -> may it be null?
# --------------------------------------------------------------------------------------------

CLAIM_COLUMNS: Mapping[str, bool] = {
    "claim_id": False,
    "claim_number": False,
    "member_id": False,
    "provider_id": False,
    "claim_type": True,
    "service_date": False,
    "submission_date": False,
    "admission_date": True,
    "discharge_date": True,
}
#: Optional claim column: is the claim's provider in the provider registry (I23)? The flow
#: sets it from provider_service; a frame without it has only known providers.
PROVIDER_KNOWN = "provider_known"


def known_providers(claims: pd.DataFrame) -> np.ndarray:
    """Per claim, in input order: is its provider known (I23)? True without the column."""
    if PROVIDER_KNOWN not in claims.columns:
        return np.ones(len(claims), dtype=bool)
    return claims[PROVIDER_KNOWN].fillna(False).to_numpy(dtype=bool)


#: Optional claim column: was the claim submitted after the moment the batch read it (I24)?
#: The flow sets it from its clock; a frame without it has no such claim.
SUBMITTED_IN_FUTURE = "submitted_in_future"


def submitted_in_future(claims: pd.DataFrame) -> np.ndarray:
    """Per claim, in input order: is its submission after the batch's clock (I24)?"""
    if SUBMITTED_IN_FUTURE not in claims.columns:
        return np.zeros(len(claims), dtype=bool)
    return claims[SUBMITTED_IN_FUTURE].fillna(False).to_numpy(dtype=bool)


def malformed(values: Iterable[object], pattern: str) -> np.ndarray:
    """Per value (non-null, e.g. the distinct codes of a column): does ``pattern`` fail to match
    it whole (R1, I25)? A value that is not text is malformed."""
    compiled = re.compile(pattern)
    return np.asarray(
        [not (isinstance(v, str) and compiled.fullmatch(v)) for v in values], dtype=bool
    )


def malformed_codes(values: pd.Series, pattern: str) -> np.ndarray:
    """Per row, in order: is its code malformed (see :func:`malformed`)? A null is not. The
    pattern is tried once per distinct value."""
    codes, uniques = pd.factorize(np.asarray(values.to_numpy(dtype=object), dtype=object))
    return np.append(malformed(uniques, pattern), False)[codes]


LINE_COLUMNS: Mapping[str, bool] = {
    "line_id": False,
    "claim_id": False,
    "line_number": False,
    "benefit_code": True,
    "procedure_code": True,
    "diagnosis_code": True,
    "quantity": False,
    "charged_cents": False,
}
MEMBER_COLUMNS: Mapping[str, bool] = {
    "member_id": False,
    "date_of_birth": True,
    "status": False,
    "enrollment_date": True,
    "termination_date": True,
}
COVERAGE_COLUMNS: Mapping[str, bool] = {
    "coverage_id": False,
    "member_id": False,
    "policy_id": True,
    "plan_id": False,
    "effective_date": False,
    "termination_date": True,
    "status": False,
}
CONTRACT_COLUMNS: Mapping[str, bool] = {
    "provider_id": False,
    "network_status": False,
    "effective_date": False,
    "termination_date": True,
    "status": False,
}
FEE_SCHEDULE_COLUMNS: Mapping[str, bool] = {
    "provider_id": False,
    "procedure_code": False,
    "allowed_cents": False,
    "effective_date": False,
    "expiration_date": True,
}
PLAN_BENEFIT_COLUMNS: Mapping[str, bool] = {
    "plan_id": False,
    "benefit_code": False,
    "is_active": False,
    "effective_date": False,
    "expiration_date": True,
    "annual_limit_cents": True,
    "incident_limit_cents": True,
    "lifetime_limit_cents": True,
    "day_limit": True,
    "visit_limit": True,
    "deductible_cents": False,
    "copay_cents": False,
    "coinsurance_bp": False,
    "in_network_bp": False,
    "out_network_bp": False,
    "requires_preauth": False,
    "waiting_period_days": False,
    "age_limit_min": True,
    "age_limit_max": True,
}
EXCLUSION_COLUMNS: Mapping[str, bool] = {
    "plan_id": False,
    "benefit_code": True,
    "diagnosis_code_prefix": True,
    "procedure_code": True,
    "effective_date": False,
    "expiration_date": True,
}
COST_SHARING_COLUMNS: Mapping[str, bool] = {
    "plan_id": False,
    "oop_max_cents": True,
    "effective_date": False,
    "expiration_date": True,
}
ACCUMULATOR_COLUMNS: Mapping[str, bool] = {
    "member_id": False,
    "benefit_code": False,
    "year": False,
    "amount_used_cents": False,
    "deductible_used_cents": False,
    "oop_used_cents": False,
    "visits_used": False,
    "days_used": False,
}
AUTHORIZATION_COLUMNS: Mapping[str, bool] = {
    "member_id": False,
    "provider_id": True,
    "benefit_code": False,
    "status": False,
    "valid_from": False,
    "valid_to": True,
}
PRIOR_LINE_COLUMNS: Mapping[str, bool] = {
    "member_id": False,
    "provider_id": False,
    "service_date": False,
    "benefit_code": False,
    "procedure_code": True,
    "charged_cents": False,
}

#: EngineInput field -> (its column contract, the columns that must be unique together).
INPUT_CONTRACT: Mapping[str, tuple[Mapping[str, bool], tuple[str, ...]]] = {
    "claims": (CLAIM_COLUMNS, ("claim_id",)),
    "lines": (LINE_COLUMNS, ("line_id",)),
    "members": (MEMBER_COLUMNS, ("member_id",)),
    "coverages": (COVERAGE_COLUMNS, ("coverage_id",)),
    "contracts": (CONTRACT_COLUMNS, ()),
    "fee_schedules": (FEE_SCHEDULE_COLUMNS, ()),
    "plan_benefits": (PLAN_BENEFIT_COLUMNS, ("plan_id", "benefit_code")),
    "exclusions": (EXCLUSION_COLUMNS, ()),
    "cost_sharing": (COST_SHARING_COLUMNS, ()),
    "accumulators": (ACCUMULATOR_COLUMNS, ("member_id", "benefit_code", "year")),
    "authorizations": (AUTHORIZATION_COLUMNS, ()),
    "prior_lines": (PRIOR_LINE_COLUMNS, ()),
}

# --------------------------------------------------------------------------------------------
# Output columns
# --------------------------------------------------------------------------------------------

#: Output line columns holding int64 cents.
LINE_AMOUNT_COLUMNS: tuple[str, ...] = (
    "allowed_cents",
    "deductible_cents",
    "copay_cents",
    "coinsurance_cents",
    "network_reduction_cents",
    "limit_cents",
    "approved_cents",
    "member_responsibility_cents",
    "oop_cents",
)
#: Output line columns holding a string or None.
LINE_TEXT_COLUMNS: tuple[str, ...] = (
    "line_id",
    "claim_id",
    "status",
    "reason_code",
    "coverage_id",
    "plan_id",
)
LINE_RESULT_COLUMNS: tuple[str, ...] = (
    "line_id",
    "claim_id",
    "status",
    "reason_code",
    "coverage_id",
    "plan_id",
    "in_network",
    *LINE_AMOUNT_COLUMNS,
    "covered_days",
    "year",
)
CLAIM_AMOUNT_COLUMNS: tuple[str, ...] = (
    "total_charged_cents",
    "total_approved_cents",
    "member_responsibility_cents",
)
CLAIM_RESULT_COLUMNS: tuple[str, ...] = ("claim_id", "status", "reason_code", *CLAIM_AMOUNT_COLUMNS)


# --------------------------------------------------------------------------------------------
# Input dataclass
# --------------------------------------------------------------------------------------------


def run_heads(values: np.ndarray) -> np.ndarray:
    """Positions where a run of equal values starts. Lines read from the database come
    grouped by claim, so hashing only the heads of the runs of claim ids (a cheap comparison
    of neighbours finds them) is several times faster than hashing every line's."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    differs = np.asarray(values[1:] != values[:-1], dtype=bool)
    return np.flatnonzero(np.concatenate([[True], differs]))


def _has_null(column: pd.Series) -> bool:
    """Does the column hold a null? A text column of nothing but ``str`` is recognised by one
    C-level type scan, several times faster than ``isna`` on object arrays."""
    if column.dtype == object and pd.api.types.infer_dtype(column, skipna=False) == "string":
        return False
    return bool(column.isna().any())


def _is_unique(frame: pd.DataFrame, key: tuple[str, ...]) -> bool:
    """Are the key columns unique together? (One column: a hash-set check.)"""
    if len(key) == 1:
        return bool(pd.Index(frame[key[0]].to_numpy(), copy=False).is_unique)
    return not bool(frame.duplicated(subset=list(key)).any())


def empty_frame(columns: Iterable[str]) -> pd.DataFrame:
    """An empty frame with the given columns: the natural value of an input nobody has rows for."""
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})


@dataclass(frozen=True)
class EngineInput:
    """Everything one adjudication batch reads, as DataFrames (see the module docstring).

    Frozen so that a batch's input cannot drift while it is adjudicated; the frames themselves
    are never modified by the engine or the reference (both copy what they transform).
    """

    claims: pd.DataFrame
    lines: pd.DataFrame
    members: pd.DataFrame
    coverages: pd.DataFrame
    contracts: pd.DataFrame
    fee_schedules: pd.DataFrame
    plan_benefits: pd.DataFrame
    exclusions: pd.DataFrame
    cost_sharing: pd.DataFrame
    accumulators: pd.DataFrame
    authorizations: pd.DataFrame
    prior_lines: pd.DataFrame

    def validate(self) -> None:
        """Check the column contract; raise ValueError naming the first problem.

        Checked: every contract column is present; columns that may not be null have no null;
        key columns are unique (members, claims, lines, coverages, one plan_benefit per
        (plan, benefit) as the database's ``uk_plan_benefit``, one accumulator per
        (member, benefit, year)); every line's claim is in ``claims``. Malformed *values*
        (negative charges, zero quantities…) are not errors: R1 rejects those lines.
        """
        for f in fields(self):
            frame = getattr(self, f.name)
            if not isinstance(frame, pd.DataFrame):
                raise ValueError(f"{f.name}: expected a pandas DataFrame, got {type(frame)!r}")
            columns, unique = INPUT_CONTRACT[f.name]
            for column, nullable in columns.items():
                if column not in frame.columns:
                    raise ValueError(f"{f.name}: missing column {column!r}")
                if not nullable and _has_null(frame[column]):
                    raise ValueError(f"{f.name}: column {column!r} has null values")
            if unique and not _is_unique(frame, unique):
                raise ValueError(f"{f.name}: duplicate rows for key {unique!r}")
        line_claims = self.lines["claim_id"].to_numpy()
        heads = pd.Series(line_claims[run_heads(line_claims)], dtype=object)
        if not bool(heads.isin(self.claims["claim_id"]).all()):  # lines share their run's claim
            unknown = ~self.lines["claim_id"].isin(self.claims["claim_id"])
            raise ValueError(
                f"lines: column 'claim_id' names {int(unknown.sum())} claim(s) not in claims"
            )

    @classmethod
    def from_frames(cls, **frames: pd.DataFrame) -> EngineInput:
        """Build an input where any frame not given is empty (with the contract's columns)."""
        kwargs: dict[str, pd.DataFrame] = {}
        for f in fields(cls):
            frame = frames.pop(f.name, None)
            kwargs[f.name] = frame if frame is not None else empty_frame(INPUT_CONTRACT[f.name][0])
        if frames:
            raise ValueError(f"unknown frame(s): {sorted(frames)}")
        return cls(**kwargs)


@dataclass(frozen=True)
class EngineResult:
    """The outcome of a batch: ``lines`` (one row per input line, in input order) and
    ``claims`` (one row per input claim, in input order); columns as in
    :data:`LINE_RESULT_COLUMNS` and :data:`CLAIM_RESULT_COLUMNS`."""

    lines: pd.DataFrame
    claims: pd.DataFrame


# --------------------------------------------------------------------------------------------
# Canonical output construction (shared so both implementations emit identical dtypes)
# --------------------------------------------------------------------------------------------


def _text(values: Any, trusted: bool) -> pd.Series:
    """A column of Python ``str`` or ``None`` (object dtype): stable across pandas versions.

    ``trusted``: ``values`` is an object Series of ``str`` without nulls (shared under
    copy-on-write) or an object ndarray of ``str`` / ``None`` that the caller owns (shares
    with nothing), used as it is; otherwise it is copied and every null becomes None.
    """
    if trusted and isinstance(values, pd.Series) and values.dtype == object:
        return values.reset_index(drop=True)  # shares the data, copy-on-write
    if trusted and isinstance(values, np.ndarray) and values.dtype == object:
        arr = values
    else:
        arr = np.array(values, dtype=object, copy=True)
        arr[pd.isna(arr)] = None
    return pd.Series(arr, dtype=object, copy=False)


def _numbers(values: Any, dtype: Any, trusted: bool) -> np.ndarray:
    """A numeric column: a trusted ndarray (fresh, owned by the caller) is used as it is."""
    if trusted and isinstance(values, np.ndarray) and values.dtype == dtype:
        return values
    return np.array(values, dtype=dtype)


def _frame(columns: dict[str, pd.Series]) -> pd.DataFrame:
    """A frame of the given columns without consolidating them into 2-D blocks (a copy of
    every column that nothing needs: each column is a fresh array)."""
    return pd.DataFrame(columns, copy=False)


def make_line_result(data: Mapping[str, Any], *, trusted: bool = False) -> pd.DataFrame:
    """Build the ``lines`` output frame with canonical dtypes from column → values
    (``trusted``: see :func:`_text`)."""
    out: dict[str, pd.Series] = {}
    for column in LINE_RESULT_COLUMNS:
        values = data[column]
        if column in LINE_TEXT_COLUMNS:
            out[column] = _text(values, trusted)
        elif column == "in_network":
            out[column] = pd.Series(_numbers(values, bool, trusted), copy=False)
        else:
            out[column] = pd.Series(_numbers(values, np.int64, trusted), copy=False)
    return _frame(out)


def make_claim_result(data: Mapping[str, Any], *, trusted: bool = False) -> pd.DataFrame:
    """Build the ``claims`` output frame with canonical dtypes from column → values."""
    out: dict[str, pd.Series] = {}
    for column in CLAIM_RESULT_COLUMNS:
        values = data[column]
        if column in CLAIM_AMOUNT_COLUMNS:
            out[column] = pd.Series(_numbers(values, np.int64, trusted), copy=False)
        else:
            out[column] = _text(values, trusted)
    return _frame(out)
