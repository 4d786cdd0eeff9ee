"""The vectorised adjudication engine: a whole batch, set-wise, on ``int64`` cents.

``adjudicate(inp)`` applies the rules R1–R11 and the amount steps A1–A10 of the contract
(``docs/adjudication.md``) to every line of a batch at once. The semantics, including every
interpretation of a rule the contract leaves open (I1–I25, in the same document), are those
of :mod:`claims_askes.adjudication.reference`, the line-by-line oracle; the
hypothesis tests check that both agree on every output column, and
``tests/test_engine_rules.py`` pins hand-computed examples on both.

How it is vectorised (no Python loop ever runs over rows; the few loops there are run over
columns, rules, the limit steps A8–A10, the distinct lengths of exclusion prefixes and the
distinct codes R1 matches against their pattern):

* every id (member, provider, plan, benefit, procedure, claim) is turned into a dense
  ``int64`` code by one factorisation of all the columns that mention it, so every join below
  runs on integers (lines' claim ids: only the first of each run, lines come grouped by claim);
* claims and lines are put in batch order by sorting one packed integer key; text
  (claim_number, claim_id, line_id) is compared only inside the rare groups that tie on it;
* lookups of unique rows (member, plan benefit, accumulator) are index arrays; lookups that
  may match several rows with date ranges (coverage, contract, fee, exclusion, authorization,
  cost sharing) expand the equal-key candidate pairs through a table indexed by key
  (:func:`_pairs`), keep those valid on the service date, and take the first in preference
  order;
* every running total (R10's visit rank, R11's days, A3's deductible, A7's out-of-pocket
  cost, A8–A10's plan amounts) is a grouped cumulative sum read through a cap:
  ``clip(min(C, T_i) − min(C, T_{i−1}), 0, v_i)`` (:func:`money.capped_running`), each
  grouping sorted once for all the totals over it (:class:`money.Grouping`);
* claim totals are exact segment sums over the claims' contiguous lines (``np.add.reduceat``);
  no sum ever goes through a float.

Representation: amounts are ``int64`` cents and percentages basis points (see
:mod:`frames`); a null limit is ``NO_LIMIT`` (2**62) inside the engine; dates are day numbers.
No product leaves ``int64`` (:mod:`money`), and a running total that could is taken in Python
integers; what is written stays within the result columns (I22). Input amounts of plans,
fees and accumulators are assumed non-negative (the database's CHECKs).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from claims_askes.adjudication import frames as F
from claims_askes.adjudication.frames import (
    EngineInput,
    EngineResult,
    known_providers,
    submitted_in_future,
)
from claims_askes.adjudication.money import (
    Grouping,
    capped_product,
    capped_running,
    clamped_segment_sums,
    group_codes,
    mul_div_half_up,
    running_total,
    take_in_order,
)

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
ObjArray = npt.NDArray[np.object_]

#: Day number standing for "never" / "open end" (far beyond any real date).
_DAY_INF = 2**40

#: Reason codes as small integers inside the engine (0 = none).
_REASONS: tuple[str | None, ...] = (
    None,
    F.INVALID_CLAIM,
    F.MEMBER_NOT_ELIGIBLE,
    F.COVERAGE_NOT_STARTED,
    F.COVERAGE_TERMINATED,
    F.DUPLICATE,
    F.BENEFIT_NOT_COVERED,
    F.EXCLUDED,
    F.WAITING_PERIOD,
    F.AGE_LIMIT,
    F.PREAUTH_MISSING,
    F.PREAUTH_PENDING,
    F.VISIT_LIMIT_EXCEEDED,
    F.DAY_LIMIT_EXCEEDED,
    *F.ADJUSTMENT_REASONS,
)
_R = {name: code for code, name in enumerate(_REASONS) if name is not None}
_REASON_NAMES = np.array(_REASONS, dtype=object)
_STATUS_NAMES = np.array([F.APPROVED, F.REJECTED, F.PENDED], dtype=object)


# --------------------------------------------------------------------------------------------
# Column conversions
# --------------------------------------------------------------------------------------------


def _days(series: pd.Series, null: int = _DAY_INF) -> IntArray:
    """Dates as day numbers since 1970-01-01 (time of day dropped); nulls become ``null``."""
    ts = pd.to_datetime(series)
    if isinstance(ts.dtype, pd.DatetimeTZDtype):
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    raw = ts.to_numpy().astype("datetime64[D]")
    out = raw.astype(np.int64)
    return np.asarray(np.where(np.isnat(raw), null, out), dtype=np.int64)


def _instants(series: pd.Series) -> IntArray:
    """Timestamps as UTC nanoseconds, for ordering only (tz-naive ones are taken as UTC)."""
    ts = pd.to_datetime(series, utc=True).dt.tz_localize(None)
    return np.asarray(ts.to_numpy().astype("datetime64[ns]").astype(np.int64), dtype=np.int64)


def _local_days(series: pd.Series, timezone: str) -> IntArray:
    """Timestamps as the day numbers of their calendar dates in ``timezone`` (I21; tz-naive
    ones are taken as UTC, as in :func:`_instants`)."""
    local = pd.to_datetime(series, utc=True).dt.tz_convert(timezone).dt.tz_localize(None)
    return np.asarray(local.to_numpy().astype("datetime64[D]").astype(np.int64), np.int64)


def _ymd(days: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Year, month, day of day numbers."""
    d = days.astype("datetime64[D]")
    years = d.astype("datetime64[Y]")
    months = d.astype("datetime64[M]")
    return (
        np.asarray(years.astype(np.int64) + 1970, dtype=np.int64),
        np.asarray((months - years.astype("datetime64[M]")).astype(np.int64) + 1, np.int64),
        np.asarray((d - months.astype("datetime64[D]")).astype(np.int64) + 1, np.int64),
    )


def _ints(series: pd.Series, null: int = 0) -> IntArray:
    """An integer column (possibly nullable ``Int64``/float with NaN) with nulls as ``null``."""
    if series.dtype == np.int64:
        return np.asarray(series.to_numpy(), dtype=np.int64)
    return np.asarray(series.astype("Int64").fillna(null).to_numpy(dtype=np.int64), np.int64)


def _bools(series: pd.Series) -> BoolArray:
    """A boolean column as a numpy array."""
    return np.asarray(series.to_numpy(dtype=bool), dtype=np.bool_)


def _objects(series: pd.Series) -> ObjArray:
    """A text column as an object array (whatever its pandas dtype)."""
    return np.asarray(series.to_numpy(dtype=object), dtype=object)


def _text_column(series: pd.Series) -> pd.Series | ObjArray:
    """An input id column for the output: the Series itself when it is already object (shared
    copy-on-write), else a fresh object array."""
    return series if series.dtype == object else _objects(series).copy()


def _equals(series: pd.Series, value: str) -> BoolArray:
    """Where a text column (a status) equals ``value``; a null equals nothing."""
    return np.asarray((series == value).to_numpy(dtype=bool), dtype=np.bool_)


# --------------------------------------------------------------------------------------------
# Array joins
# --------------------------------------------------------------------------------------------


def _take(values: IntArray, rows: IntArray, missing: int) -> IntArray:
    """``values[rows]`` with ``missing`` where rows is -1."""
    if len(values) == 0:
        return np.full(len(rows), missing, dtype=np.int64)
    return np.asarray(np.where(rows >= 0, values[np.maximum(rows, 0)], missing), np.int64)


def _row_of_code(codes: IntArray, n_codes: int) -> IntArray:
    """For a column of unique codes: code → its row (-1 where no row has it)."""
    rows = np.full(n_codes + 1, -1, dtype=np.int64)  # the extra slot answers code -1
    valid = codes >= 0
    rows[codes[valid]] = np.flatnonzero(valid)
    return rows


def _lookup(right: Sequence[IntArray], left: Sequence[IntArray]) -> IntArray:
    """For each left key tuple, the row of the (unique) right key tuple, or -1."""
    n_right = len(right[0])
    if n_right == 0:
        return np.full(len(left[0]), -1, dtype=np.int64)
    both = [np.concatenate([r, lft]) for r, lft in zip(right, left, strict=True)]
    codes = group_codes(*both)  # right rows first: unique keys get codes 0 … n_right − 1
    found = codes[n_right:] < n_right
    return np.asarray(np.where(found, codes[n_right:], -1), dtype=np.int64)


def _dense_keys(left_key: IntArray, right_key: IntArray) -> tuple[IntArray, IntArray]:
    """Both key arrays renumbered densely (same numbering, -1 kept), when their range is much
    larger than their count: the key tables of :func:`_pairs` then stay small."""
    n = len(left_key) + len(right_key)
    span = int(max(left_key.max(initial=-1), right_key.max(initial=-1))) + 1
    if span <= 4 * n + 2**16:
        return left_key, right_key
    both = np.concatenate([left_key, right_key])
    codes = np.where(both >= 0, pd.factorize(both)[0], -1).astype(np.int64)
    return codes[: len(left_key)], codes[len(left_key) :]


def _pairs(left_key: IntArray, right_key: IntArray) -> tuple[IntArray, IntArray]:
    """Every (left row, right row) with equal keys, grouped by left row in ascending order,
    and the right rows of one left row in their order in ``right_key`` (so a right side sorted
    by preference gives each left row its candidates best first). Keys < 0 match nothing.

    A table indexed by key gives each left row the number and the first position of its
    candidates among the right rows sorted by key (a gather per left row, where a binary
    search per row is several times slower on large batches).
    """
    left_key, right_key = _dense_keys(left_key, right_key)
    if len(left_key) == 0 or len(right_key) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = np.argsort(right_key, kind="stable")
    valid_right = right_key >= 0
    span = int(max(left_key.max(), right_key.max(), 0)) + 1
    count_of_key = np.bincount(right_key[valid_right], minlength=span).astype(np.int64)
    first_of_key = np.cumsum(count_of_key) - count_of_key + (len(right_key) - valid_right.sum())
    valid_left = left_key >= 0
    key = np.where(valid_left, left_key, 0)
    counts = np.where(valid_left, count_of_key[key], 0)
    total = int(counts.sum())
    left = np.repeat(np.arange(len(left_key), dtype=np.int64), counts)
    starts = np.repeat(first_of_key[key] - (np.cumsum(counts) - counts), counts)
    right = order[starts + np.arange(total, dtype=np.int64)]
    return left, np.asarray(right, dtype=np.int64)


def _first_of_each(left: IntArray, keep: BoolArray) -> tuple[IntArray, IntArray]:
    """Of pairs grouped by ascending ``left``, the positions of the first kept pair of each left
    row: returns (left rows, pair positions)."""
    kept = np.flatnonzero(keep)
    rows = left[kept]
    first = _run_starts(rows)
    return rows[first], kept[first]


def _first_occurrence(codes: IntArray) -> BoolArray:
    """For codes numbered in order of first appearance (``pd.factorize``, ``group_codes``):
    is this row the first with its code?"""
    earlier_max = np.maximum.accumulate(np.concatenate([[-1], codes]))[:-1]
    return np.asarray(codes > earlier_max, dtype=np.bool_)


def _run_starts(values: IntArray) -> BoolArray:
    """Is this row the first of a run of equal values (a claim's lines are one run in batch
    order)?"""
    out = np.ones(len(values), dtype=bool)
    out[1:] = values[1:] != values[:-1]
    return out


def _in_period(day: IntArray, start: IntArray, end: IntArray) -> BoolArray:
    """``start ≤ day ≤ end`` (day numbers; an open end is ``_DAY_INF``)."""
    return np.asarray((start <= day) & (day <= end), dtype=np.bool_)


def _pack(*keys: IntArray) -> IntArray:
    """Non-negative integer keys packed into one ``int64`` for equality joins, -1 where any key
    is negative (a null matches nothing). Falls back to group codes when they do not fit."""
    valid = np.ones(len(keys[0]), dtype=bool)
    packed = np.zeros(len(keys[0]), dtype=np.int64)
    span = 1
    for key in keys:
        valid &= key >= 0
        k_span = int(key.max(initial=0)) + 1
        if span * k_span >= 2**62:
            return np.where(valid, group_codes(*keys), -1)
        packed = packed * k_span + np.maximum(key, 0)
        span *= k_span
    return np.asarray(np.where(valid, packed, -1), dtype=np.int64)


def _sort_key(numbers: Sequence[IntArray]) -> IntArray:
    """One ``int64`` whose order is the lexicographic order of ``numbers`` (most significant
    first). Each number is shifted to start at 0; one whose span would not fit is replaced by
    its rank among its distinct values (an order-preserving renumbering)."""
    packed = np.zeros(len(numbers[0]), dtype=np.int64)
    if len(packed) == 0:
        return packed
    span = 1
    for number in numbers:
        low, high = int(number.min()), int(number.max())
        if span * (high - low + 1) < 2**62:
            k, k_span = number - low, high - low + 1
        else:
            distinct, rank = np.unique(number, return_inverse=True)
            k, k_span = rank.astype(np.int64), len(distinct)
        if span * k_span >= 2**62:
            distinct, dense = np.unique(packed, return_inverse=True)
            packed, span = dense.astype(np.int64), len(distinct)
        packed = packed * k_span + k
        span *= k_span
    return packed


def _order(numbers: Sequence[IntArray], texts: Sequence[ObjArray]) -> IntArray:
    """The permutation sorting rows by ``numbers`` then ``texts`` (each most significant
    first). Text is compared only among rows that tie on every number: sorting object arrays
    is slow, and in a real batch such ties are rare."""
    n = len(numbers[0])
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    key = _sort_key(numbers)
    order = np.argsort(key)
    sorted_key = key[order]
    same = sorted_key[1:] == sorted_key[:-1]
    if not same.any():
        return np.asarray(order, dtype=np.int64)
    tied = np.zeros(n, dtype=bool)
    tied[1:] |= same
    tied[:-1] |= same
    rows = order[tied]
    by_text = pd.DataFrame({f"t{i}": pd.Series(t[rows], dtype=object) for i, t in enumerate(texts)})
    text_order = by_text.sort_values(list(by_text.columns), kind="stable").index.to_numpy()
    tie_rank = np.zeros(n, dtype=np.int64)
    tie_rank[rows[text_order]] = np.arange(1, len(rows) + 1)
    return np.asarray(np.lexsort((tie_rank, key)), dtype=np.int64)


# --------------------------------------------------------------------------------------------
# Ids as codes
# --------------------------------------------------------------------------------------------


class _Codes:
    """One id kind (member, provider…) as dense codes shared by every column that mentions it:
    the columns are factorised together once; -1 stands for null. With ``runs``, only the
    first value of each run of equal values is hashed (see :func:`frames.run_heads`)."""

    def __init__(self, runs: bool = False, **columns: pd.Series) -> None:
        parts = [_objects(s) for s in columns.values()]
        heads = [F.run_heads(p) if runs else None for p in parts]
        hashed = [p if h is None else p[h] for p, h in zip(parts, heads, strict=True)]
        everything = np.concatenate(hashed) if hashed else np.array([], dtype=object)
        codes, uniques = pd.factorize(everything)
        self.uniques = np.asarray(uniques, dtype=object)
        self.of: dict[str, IntArray] = {}
        start = 0
        for name, part, head in zip(columns, parts, heads, strict=True):
            n_hashed = len(part) if head is None else len(head)
            part_codes = np.asarray(codes[start : start + n_hashed], dtype=np.int64)
            if head is not None:  # every row takes the code of its run's head
                part_codes = np.repeat(part_codes, np.diff(np.append(head, len(part))))
            self.of[name] = part_codes
            start += n_hashed

    def __len__(self) -> int:
        return len(self.uniques)


@dataclass
class _Ids:
    """The code spaces of every id kind."""

    member: _Codes
    provider: _Codes
    plan: _Codes
    benefit: _Codes
    procedure: _Codes
    claim: _Codes


def _ids(inp: EngineInput) -> _Ids:
    """Every id column of the input as codes (see :class:`_Codes`)."""
    return _Ids(
        member=_Codes(
            claims=inp.claims["member_id"],
            members=inp.members["member_id"],
            coverages=inp.coverages["member_id"],
            accumulators=inp.accumulators["member_id"],
            authorizations=inp.authorizations["member_id"],
            prior_lines=inp.prior_lines["member_id"],
        ),
        provider=_Codes(
            claims=inp.claims["provider_id"],
            contracts=inp.contracts["provider_id"],
            fee_schedules=inp.fee_schedules["provider_id"],
            authorizations=inp.authorizations["provider_id"],
            prior_lines=inp.prior_lines["provider_id"],
        ),
        plan=_Codes(
            coverages=inp.coverages["plan_id"],
            plan_benefits=inp.plan_benefits["plan_id"],
            exclusions=inp.exclusions["plan_id"],
            cost_sharing=inp.cost_sharing["plan_id"],
        ),
        benefit=_Codes(
            lines=inp.lines["benefit_code"],
            plan_benefits=inp.plan_benefits["benefit_code"],
            exclusions=inp.exclusions["benefit_code"],
            accumulators=inp.accumulators["benefit_code"],
            authorizations=inp.authorizations["benefit_code"],
            prior_lines=inp.prior_lines["benefit_code"],
        ),
        procedure=_Codes(
            lines=inp.lines["procedure_code"],
            fee_schedules=inp.fee_schedules["procedure_code"],
            exclusions=inp.exclusions["procedure_code"],
            prior_lines=inp.prior_lines["procedure_code"],
        ),
        # claims first: their ids are unique, so claim row k gets code k
        claim=_Codes(runs=True, claims=inp.claims["claim_id"], lines=inp.lines["claim_id"]),
    )


# --------------------------------------------------------------------------------------------
# Claims: what is decided once per claim (order, member, coverage, network, oop_max)
# --------------------------------------------------------------------------------------------


@dataclass
class _Claims:
    """Per-claim arrays in input order."""

    n: int
    member: IntArray
    provider: IntArray
    sd: IntArray
    year: IntArray
    seq: IntArray  # position of the claim in batch order (I1)
    bad_dates: BoolArray  # R1: discharge < admission, a date after the submission (I21), or a
    # submission after the batch's clock (I24)
    unknown_provider: BoolArray  # R1: the provider is not in the provider registry (I23)
    eligible: BoolArray  # R2
    coverage_row: IntArray  # R3: row of inp.coverages, -1 when none
    no_coverage_reason: IntArray  # R3 reason code when coverage_row is -1
    plan: IntArray
    coverage_effective: IntArray
    age: IntArray
    age_known: BoolArray
    in_network: BoolArray  # A1
    oop_max: IntArray  # A7's oop_max (NO_LIMIT: none)


def _prepare_claims(inp: EngineInput, ids: _Ids, timezone: str) -> _Claims:
    """Everything that depends on the claim only, computed once per claim, not per line."""
    cl = inp.claims
    n = len(cl)
    member = ids.member.of["claims"]
    provider = ids.provider.of["claims"]
    sd = _days(cl["service_date"])
    year, month, day = _ymd(sd)
    admission = _days(cl["admission_date"], null=-_DAY_INF)
    discharge = _days(cl["discharge_date"], null=_DAY_INF)
    # R1 (I21): no date of the claim after the day it was submitted (a null date is none).
    submitted = _local_days(cl["submission_date"], timezone)
    not_yet = (
        (sd > submitted)
        | (admission > submitted)
        | (_days(cl["discharge_date"], null=-_DAY_INF) > submitted)
    )

    # I1: (member, sd, submission, claim_number, claim_id). Which member comes first does not
    # matter (every running total is per member), so the member code stands for the id.
    order = _order(
        [member, sd, _instants(cl["submission_date"])],
        [_objects(cl["claim_number"]), _objects(cl["claim_id"])],
    )
    seq = np.empty(n, dtype=np.int64)
    seq[order] = np.arange(n, dtype=np.int64)

    # R2: the member row, enrolled on sd, not suspended (I4).
    mem = inp.members
    member_row = _row_of_code(ids.member.of["members"], len(ids.member))[member]
    suspended = _take(_equals(mem["status"], "suspended").astype(np.int64), member_row, 1) == 1
    enrolled = _take(_days(mem["enrollment_date"], null=_DAY_INF), member_row, _DAY_INF)
    ended = _take(_days(mem["termination_date"], null=_DAY_INF), member_row, -_DAY_INF)
    eligible = (member_row >= 0) & ~suspended & (enrolled <= sd) & (sd <= ended)

    # R8's input: the age on sd (I8).
    dob = _take(_days(mem["date_of_birth"], null=_DAY_INF), member_row, _DAY_INF)
    age_known = dob < _DAY_INF
    dob_y, dob_m, dob_d = _ymd(np.where(age_known, dob, 0))
    age = year - dob_y - ((month * 100 + day) < (dob_m * 100 + dob_d)).astype(np.int64)

    coverage_row, no_coverage_reason = _select_coverages(inp, ids, member, sd)
    cov = inp.coverages
    plan = _take(ids.plan.of["coverages"], coverage_row, -1)
    return _Claims(
        n=n,
        member=member,
        provider=provider,
        sd=sd,
        year=year,
        seq=seq,
        bad_dates=np.asarray(
            (discharge < admission) | not_yet | submitted_in_future(cl), dtype=bool
        ),
        unknown_provider=~known_providers(cl),
        eligible=np.asarray(eligible, dtype=bool),
        coverage_row=coverage_row,
        no_coverage_reason=no_coverage_reason,
        plan=plan,
        coverage_effective=_take(_days(cov["effective_date"]), coverage_row, _DAY_INF),
        age=np.asarray(age, dtype=np.int64),
        age_known=np.asarray(age_known, dtype=bool),
        in_network=_in_network(inp, ids, provider, sd),
        oop_max=_oop_max(inp, ids, plan, sd),
    )


def _select_coverages(
    inp: EngineInput, ids: _Ids, member: IntArray, sd: IntArray
) -> tuple[IntArray, IntArray]:
    """R3 per claim (I5): the covering coverage's row (latest effective date, then smallest
    id), or -1 and the reason (NOT_STARTED iff the first usable coverage starts after sd)."""
    cov = inp.coverages
    n = len(member)
    usable = np.flatnonzero(cov["status"].isin(["active", "terminated"]).to_numpy(dtype=bool))
    cov_member = ids.member.of["coverages"][usable]
    eff = _days(cov["effective_date"])[usable]
    term = _days(cov["termination_date"], null=_DAY_INF)[usable]
    id_rank = np.empty(len(usable), dtype=np.int64)
    id_rank[np.argsort(_objects(cov["coverage_id"])[usable], kind="stable")] = np.arange(
        len(usable)
    )
    best_first = np.argsort(_sort_key([cov_member, -eff, id_rank]), kind="stable")
    claim, pos = _pairs(member, cov_member[best_first])
    candidate = best_first[pos]
    covers = _in_period(sd[claim], eff[candidate], term[candidate])
    claims_covered, first = _first_of_each(claim, covers)
    coverage_row = np.full(n, -1, dtype=np.int64)
    coverage_row[claims_covered] = usable[candidate[first]]

    first_start = np.full(len(ids.member) + 1, _DAY_INF, dtype=np.int64)
    np.minimum.at(first_start, cov_member, eff)
    first = first_start[member]  # _DAY_INF: no usable coverage at all
    reason = np.where(
        (first < _DAY_INF) & (first > sd), _R[F.COVERAGE_NOT_STARTED], _R[F.COVERAGE_TERMINATED]
    )
    return coverage_row, np.asarray(reason, dtype=np.int64)


def _in_network(inp: EngineInput, ids: _Ids, provider: IntArray, sd: IntArray) -> BoolArray:
    """A1 per claim: an active in-network contract of the provider covers sd."""
    con = inp.contracts
    keep = np.flatnonzero(
        _equals(con["status"], "active") & _equals(con["network_status"], "in_network")
    )
    claim, row = _pairs(provider, ids.provider.of["contracts"][keep])
    covers = _in_period(
        sd[claim],
        _days(con["effective_date"])[keep][row],
        _days(con["termination_date"], null=_DAY_INF)[keep][row],
    )
    out = np.zeros(len(provider), dtype=bool)
    out[claim[covers]] = True
    return out


def _oop_max(inp: EngineInput, ids: _Ids, plan: IntArray, sd: IntArray) -> IntArray:
    """A7's oop_max per claim (I16): the plan's cost-sharing row effective on sd (latest
    effective date, then lowest maximum; null maximum = none); NO_LIMIT when there is none."""
    cs = inp.cost_sharing
    eff = _days(cs["effective_date"])
    exp = _days(cs["expiration_date"], null=_DAY_INF)
    oop = _ints(cs["oop_max_cents"], null=F.NO_LIMIT)
    best_first = np.argsort(_sort_key([ids.plan.of["cost_sharing"], -eff, oop]), kind="stable")
    claim, pos = _pairs(plan, ids.plan.of["cost_sharing"][best_first])
    row = best_first[pos]
    claims_found, first = _first_of_each(claim, _in_period(sd[claim], eff[row], exp[row]))
    out = np.full(len(plan), F.NO_LIMIT, dtype=np.int64)
    out[claims_found] = oop[row[first]]
    return out


# --------------------------------------------------------------------------------------------
# Lines, in batch order
# --------------------------------------------------------------------------------------------


@dataclass
class _Lines:
    """Per-line arrays in batch order; ``pos`` is each line's row in ``inp.lines``."""

    n: int
    pos: IntArray
    claim: IntArray  # claim row (input order of inp.claims)
    member: IntArray
    provider: IntArray
    sd: IntArray
    year: IntArray
    benefit: IntArray
    procedure: IntArray
    quantity: IntArray
    charged: IntArray
    unstorable: BoolArray  # the line's claim's charges add up beyond DECIMAL(15,2) (I22)
    # filled by the rules
    reason: IntArray
    alive: BoolArray
    passed_r3: BoolArray
    pended: BoolArray
    benefit_row: IntArray


def _prepare_lines(inp: EngineInput, ids: _Ids, c: _Claims) -> _Lines:
    """The lines in batch order, with their claim's attributes, all alive before the rules."""
    li = inp.lines
    n = len(li)
    claim_of_line = ids.claim.of["lines"]
    # I1: the claim's place in batch order, line_number, then line_id.
    pos = _order([c.seq[claim_of_line], _ints(li["line_number"])], [_objects(li["line_id"])])
    claim = claim_of_line[pos]
    charged = _ints(li["charged_cents"])[pos]
    return _Lines(
        n=n,
        pos=pos,
        claim=claim,
        member=c.member[claim],
        provider=c.provider[claim],
        sd=c.sd[claim],
        year=c.year[claim],
        benefit=ids.benefit.of["lines"][pos],
        procedure=ids.procedure.of["lines"][pos],
        quantity=_ints(li["quantity"])[pos],
        charged=charged,
        unstorable=_unstorable_claims(claim, charged),
        reason=np.zeros(n, dtype=np.int64),
        alive=np.ones(n, dtype=bool),
        passed_r3=np.zeros(n, dtype=bool),
        pended=np.zeros(n, dtype=bool),
        benefit_row=np.full(n, -1, dtype=np.int64),
    )


def _unstorable_claims(claim: IntArray, charged: IntArray) -> BoolArray:
    """Per line in batch order (a claim's lines contiguous): do its claim's charges, in absolute
    value, add up to more than DECIMAL(15,2) holds (I22)? Each charge counts at most
    MAX_CENTS + 1, so that no sum needs more than Python integers to be exact."""
    if len(claim) == 0:
        return np.zeros(0, dtype=bool)
    too_big = (charged > F.MAX_CENTS) | (charged < -F.MAX_CENTS)
    magnitude = np.where(too_big, F.MAX_CENTS + 1, np.abs(np.where(too_big, 0, charged)))
    starts = np.flatnonzero(_run_starts(claim))
    totals = clamped_segment_sums(magnitude, starts, 0, F.MAX_CENTS + 1)
    return np.repeat(totals > F.MAX_CENTS, np.diff(np.append(starts, len(claim))))


def _fail(lines: _Lines, ok: BoolArray, reason: str | IntArray) -> None:
    """Reject the alive lines where ``ok`` is false with ``reason``; they are alive no more."""
    failing = lines.alive & ~ok
    code = _R[reason] if isinstance(reason, str) else reason[failing]
    lines.reason[failing] = code
    lines.alive &= ok


@dataclass
class _Benefits:
    """plan_benefit columns as arrays (nullable limits as NO_LIMIT / open bounds)."""

    active: BoolArray
    eff: IntArray
    exp: IntArray
    annual: IntArray
    incident: IntArray
    lifetime: IntArray
    day_limit: IntArray
    visit_limit: IntArray
    deductible: IntArray
    copay: IntArray
    coinsurance_bp: IntArray
    in_bp: IntArray
    out_bp: IntArray
    preauth: BoolArray
    waiting: IntArray
    age_min: IntArray
    age_max: IntArray
    has_age_bound: BoolArray


def _benefits(inp: EngineInput) -> _Benefits:
    """The plan_benefit columns, once, as arrays indexed by plan_benefit row."""
    pb = inp.plan_benefits
    return _Benefits(
        active=_bools(pb["is_active"]),
        eff=_days(pb["effective_date"]),
        exp=_days(pb["expiration_date"], null=_DAY_INF),
        annual=_ints(pb["annual_limit_cents"], null=F.NO_LIMIT),
        incident=_ints(pb["incident_limit_cents"], null=F.NO_LIMIT),
        lifetime=_ints(pb["lifetime_limit_cents"], null=F.NO_LIMIT),
        day_limit=_ints(pb["day_limit"], null=F.NO_LIMIT),
        visit_limit=_ints(pb["visit_limit"], null=F.NO_LIMIT),
        deductible=_ints(pb["deductible_cents"]),
        copay=_ints(pb["copay_cents"]),
        coinsurance_bp=_ints(pb["coinsurance_bp"]),
        in_bp=_ints(pb["in_network_bp"]),
        out_bp=_ints(pb["out_network_bp"]),
        preauth=_bools(pb["requires_preauth"]),
        waiting=_ints(pb["waiting_period_days"]),
        age_min=_ints(pb["age_limit_min"], null=-(2**40)),
        age_max=_ints(pb["age_limit_max"], null=2**40),
        has_age_bound=np.asarray(
            (pb["age_limit_min"].notna() | pb["age_limit_max"].notna()).to_numpy(bool), bool
        ),
    )


def _blank_codes(codes: _Codes) -> BoolArray:
    """Per benefit code (and at index -1, for null): is it missing or blank (I3)?"""
    blank = pd.Series(codes.uniques, dtype=object).astype(str).str.strip().eq("").to_numpy(bool)
    return np.append(np.asarray(blank, dtype=bool), True)


def _malformed_codes(inp: EngineInput, ids: _Ids, ln: _Lines) -> BoolArray:
    """Per line in batch order: is its procedure code or its diagnosis code present but not of
    its pattern (I25)? Each distinct code is matched once."""
    procedure = np.append(F.malformed(ids.procedure.uniques, F.PROCEDURE_CODE_PATTERN), False)
    diagnosis = F.malformed_codes(inp.lines["diagnosis_code"], F.DIAGNOSIS_CODE_PATTERN)
    return np.asarray(procedure[ln.procedure] | diagnosis[ln.pos], dtype=bool)


def _apply_rules(inp: EngineInput, ids: _Ids, c: _Claims, ln: _Lines, b: _Benefits) -> None:
    """R1–R9 and the pend decision, in rule order, on all lines at once."""
    # R1 (I3, I21, I22, I25)
    valid = (
        (ln.charged >= 0)
        & (ln.charged <= F.MAX_CENTS)
        & (ln.quantity >= 1)
        & (ln.quantity <= F.MAX_QUANTITY)
        & ~_blank_codes(ids.benefit)[ln.benefit]
        & ~_malformed_codes(inp, ids, ln)
        & ~c.bad_dates[ln.claim]
        & ~c.unknown_provider[ln.claim]
        & ~ln.unstorable
    )
    _fail(ln, valid, F.INVALID_CLAIM)
    # R2
    _fail(ln, c.eligible[ln.claim], F.MEMBER_NOT_ELIGIBLE)
    # R3
    _fail(ln, c.coverage_row[ln.claim] >= 0, c.no_coverage_reason[ln.claim])
    ln.passed_r3 = ln.alive.copy()
    # R4: among lines that passed R1–R3, in batch order, and against prior batches (I6).
    _fail(ln, ~_duplicates(inp, ids, ln), F.DUPLICATE)
    # R5
    plan = c.plan[ln.claim]
    row = _plan_benefit_rows(ids, plan, ln.benefit)
    ln.benefit_row = row
    if len(inp.plan_benefits) == 0:
        _fail(ln, np.zeros(ln.n, dtype=bool), F.BENEFIT_NOT_COVERED)
        return
    r = np.maximum(row, 0)
    covered = (row >= 0) & b.active[r] & _in_period(ln.sd, b.eff[r], b.exp[r])
    _fail(ln, covered, F.BENEFIT_NOT_COVERED)
    # R6 (I7)
    _fail(ln, ~_excluded(inp, ids, ln, plan), F.EXCLUDED)
    # R7
    _fail(ln, ln.sd - c.coverage_effective[ln.claim] >= b.waiting[r], F.WAITING_PERIOD)
    # R8 (I8)
    age = c.age[ln.claim]
    in_range = np.where(
        c.age_known[ln.claim], (age >= b.age_min[r]) & (age <= b.age_max[r]), ~b.has_age_bound[r]
    )
    _fail(ln, in_range, F.AGE_LIMIT)
    # R9 (I9)
    needs = ln.alive & b.preauth[r]
    approved, pending = _authorizations(inp, ids, ln, needs)
    pending_only = needs & ~approved & pending
    _fail(ln, ~needs | approved | pending, F.PREAUTH_MISSING)
    claim_pended = np.zeros(c.n, dtype=bool)
    claim_pended[ln.claim[pending_only]] = True
    ln.pended = claim_pended[ln.claim]
    ln.reason[ln.pended] = _R[F.PREAUTH_PENDING]
    ln.alive &= ~ln.pended


def _plan_benefit_rows(ids: _Ids, plan: IntArray, benefit: IntArray) -> IntArray:
    """R5's lookup: the plan_benefit row of each (plan, benefit) code pair, -1 when none
    (a table indexed by both codes when that table is small, else a keyed lookup)."""
    pb_plan, pb_benefit = ids.plan.of["plan_benefits"], ids.benefit.of["plan_benefits"]
    known = (plan >= 0) & (benefit >= 0)
    if len(ids.plan) * len(ids.benefit) > 4_000_000:
        return np.where(known, _lookup([pb_plan, pb_benefit], [plan, benefit]), -1)
    table = np.full((len(ids.plan) + 1, len(ids.benefit) + 1), -1, dtype=np.int64)
    table[pb_plan, pb_benefit] = np.arange(len(pb_plan), dtype=np.int64)  # keys are unique
    return np.asarray(np.where(known, table[plan, benefit], -1), dtype=np.int64)


def _duplicates(inp: EngineInput, ids: _Ids, ln: _Lines) -> BoolArray:
    """R4 for the lines still alive (they passed R1–R3): an earlier one of them, or a prior
    batch's line, has the same (member, provider, sd, benefit, procedure, charged)."""
    pr = inp.prior_lines
    idx = np.flatnonzero(ln.alive)
    keys = [
        np.concatenate([ln.member[idx], ids.member.of["prior_lines"]]),
        np.concatenate([ln.provider[idx], ids.provider.of["prior_lines"]]),
        np.concatenate([ln.sd[idx], _days(pr["service_date"])]),
        np.concatenate([ln.benefit[idx], ids.benefit.of["prior_lines"]]),
        np.concatenate([ln.procedure[idx], ids.procedure.of["prior_lines"]]),
        np.concatenate([ln.charged[idx], _ints(pr["charged_cents"])]),
    ]
    out = np.zeros(ln.n, dtype=bool)
    if len(keys[0]) == 0:
        return out
    code = group_codes(*keys)  # in order of first appearance, batch lines first
    mine, prior = code[: len(idx)], code[len(idx) :]
    repeated = ~_first_occurrence(mine)  # this combination appeared on an earlier line
    in_prior = np.zeros(int(code.max()) + 1, dtype=bool)
    in_prior[prior] = True
    out[idx] = repeated | in_prior[mine]
    return out


def _prefix_matches(prefixes: ObjArray, diagnoses: ObjArray) -> tuple[IntArray, IntArray]:
    """Every (prefix index, diagnosis index) where the diagnosis starts with the prefix;
    one vectorised pass per distinct prefix length."""
    prefix_series = pd.Series(prefixes, dtype=object).astype(str)
    lengths = prefix_series.str.len().to_numpy(dtype=np.int64)
    diag_series = pd.Series(diagnoses, dtype=object).astype(str)
    diag_len = diag_series.str.len().to_numpy(dtype=np.int64)
    found_prefix: list[IntArray] = []
    found_diag: list[IntArray] = []
    for length in np.unique(lengths):
        of_length = np.flatnonzero(lengths == length)
        long_enough = np.flatnonzero(diag_len >= length)
        heads = diag_series.iloc[long_enough].str.slice(0, int(length)).to_numpy(dtype=object)
        wanted = pd.Index(prefix_series.iloc[of_length].to_numpy(dtype=object))
        codes, _ = pd.factorize(np.concatenate([wanted.to_numpy(), heads]))
        k = len(of_length)
        # several exclusions may share a prefix: pair every one of them with the diagnosis
        diag_at, prefix_at = _pairs(codes[k:].astype(np.int64), codes[:k].astype(np.int64))
        found_prefix.append(of_length[prefix_at])
        found_diag.append(long_enough[diag_at])
    if not found_prefix:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(found_prefix), np.concatenate(found_diag)


def _excluded(inp: EngineInput, ids: _Ids, ln: _Lines, plan: IntArray) -> BoolArray:
    """R6 for the alive lines (I7): an exclusion of the line's plan effective on sd, for its
    benefit or all, matching its diagnosis by prefix or its procedure."""
    ex = inp.exclusions
    out = np.zeros(ln.n, dtype=bool)
    if len(ex) == 0:
        return out
    x_plan = ids.plan.of["exclusions"]
    x_benefit = ids.benefit.of["exclusions"]
    x_procedure = ids.procedure.of["exclusions"]
    x_eff = _days(ex["effective_date"])
    x_exp = _days(ex["expiration_date"], null=_DAY_INF)
    idx = np.flatnonzero(ln.alive)
    line_plan = plan[idx]

    def mark(lines: IntArray, rows: IntArray) -> None:
        """Mark the (line, exclusion) candidates that apply (plan, benefit, dates)."""
        applies = (
            (x_plan[rows] == line_plan[lines])
            & ((x_benefit[rows] < 0) | (x_benefit[rows] == ln.benefit[idx][lines]))
            & _in_period(ln.sd[idx][lines], x_eff[rows], x_exp[rows])
        )
        out[idx[lines[applies]]] = True

    # Procedures: candidates by equal procedure code.
    with_procedure = np.flatnonzero(x_procedure >= 0)
    lines, pos = _pairs(ln.procedure[idx], x_procedure[with_procedure])
    mark(lines, with_procedure[pos])

    # Diagnosis prefixes: match the distinct diagnosis codes of these lines once.
    prefix = _objects(ex["diagnosis_code_prefix"])
    with_prefix = np.flatnonzero(pd.notna(prefix))
    if len(with_prefix) and len(idx):
        diag_codes, diag_uniques = pd.factorize(_objects(inp.lines["diagnosis_code"]))
        which_prefix, which_diag = _prefix_matches(
            prefix[with_prefix], np.asarray(diag_uniques, dtype=object)
        )
        line_diag = np.asarray(diag_codes, dtype=np.int64)[ln.pos[idx]]
        lines, pos = _pairs(line_diag, which_diag)
        mark(lines, with_prefix[which_prefix[pos]])
    return out


def _authorizations(
    inp: EngineInput, ids: _Ids, ln: _Lines, needs: BoolArray
) -> tuple[BoolArray, BoolArray]:
    """R9 for the lines that need an authorization (I9): (has an approved one matching,
    has a pending one matching); matching is member, benefit, provider null or the claim's,
    valid on sd."""
    au = inp.authorizations
    approved = np.zeros(ln.n, dtype=bool)
    pending = np.zeros(ln.n, dtype=bool)
    idx = np.flatnonzero(needs)
    if len(au) == 0 or len(idx) == 0:
        return approved, pending
    key = _pack(
        np.concatenate([ln.member[idx], ids.member.of["authorizations"]]),
        np.concatenate([ln.benefit[idx], ids.benefit.of["authorizations"]]),
    )
    lines, row = _pairs(key[: len(idx)], key[len(idx) :])
    a_provider = ids.provider.of["authorizations"][row]
    valid = ((a_provider < 0) | (a_provider == ln.provider[idx][lines])) & _in_period(
        ln.sd[idx][lines], _days(au["valid_from"])[row], _days(au["valid_to"], null=_DAY_INF)[row]
    )
    status = _objects(au["status"])[row]
    approved[idx[lines[valid & (status == "approved")]]] = True
    pending[idx[lines[valid & (status == "pending")]]] = True
    return approved, pending


# --------------------------------------------------------------------------------------------
# Running rules and amounts: R10, R11, A2–A10
# --------------------------------------------------------------------------------------------


@dataclass
class _Amounts:
    """A2–A10 per line in batch order (0 on lines that are not approved)."""

    allowed: IntArray
    deductible: IntArray
    copay: IntArray
    coinsurance: IntArray
    network_reduction: IntArray
    limit: IntArray
    approved: IntArray
    oop: IntArray
    covered_days: IntArray
    in_network: BoolArray


@dataclass
class _Groups:
    """The groups of the running totals, as one code per line, and what the accumulators
    hold for each group (a missing accumulator row counts as zeros)."""

    member_benefit_year: Grouping  # R10, R11, A3, A9
    member_year: Grouping  # A7
    member_benefit: Grouping  # A10
    claim_benefit: Grouping  # R10 (a visit is one claim per benefit), A8
    used: dict[str, IntArray]  # accumulator column → value per line


def _groups(inp: EngineInput, ids: _Ids, ln: _Lines) -> _Groups:
    """Group codes of the lines, numbered together with the accumulator rows so that each
    line finds its (member, benefit, year) row, the Σ amount_used of its (member, benefit)
    over all years (A10) and the Σ oop_used of its (member, year) over all benefits (A7)."""
    acc = inp.accumulators
    a_member, a_benefit = ids.member.of["accumulators"], ids.benefit.of["accumulators"]
    a_year = _ints(acc["year"])
    by_year, acc_by_year = _shared_codes(
        [ln.member, ln.benefit, ln.year], [a_member, a_benefit, a_year]
    )
    by_benefit, acc_by_benefit = _shared_codes([ln.member, ln.benefit], [a_member, a_benefit])
    by_member_year, acc_by_member_year = _shared_codes([ln.member, ln.year], [a_member, a_year])
    used = {
        column: _sum_per_code(acc_by_year, _ints(acc[column]), by_year)
        for column in ("amount_used_cents", "deductible_used_cents", "visits_used", "days_used")
    }
    used["amount_used_all_years"] = _sum_per_code(
        acc_by_benefit, _ints(acc["amount_used_cents"]), by_benefit
    )
    used["oop_used_all_benefits"] = _sum_per_code(
        acc_by_member_year, _ints(acc["oop_used_cents"]), by_member_year
    )
    claim_benefit = group_codes(ln.claim, ln.benefit)
    return _Groups(
        member_benefit_year=Grouping(by_year),
        member_year=Grouping(by_member_year),
        member_benefit=Grouping(by_benefit),
        claim_benefit=Grouping(claim_benefit),
        used=used,
    )


def _shared_codes(
    line_keys: Sequence[IntArray], row_keys: Sequence[IntArray]
) -> tuple[IntArray, IntArray]:
    """Group codes of the lines and of other rows keyed alike, in one numbering."""
    n = len(line_keys[0])
    codes = group_codes(*[np.concatenate([k, r]) for k, r in zip(line_keys, row_keys, strict=True)])
    return codes[:n], codes[n:]


def _sum_per_code(row_codes: IntArray, values: IntArray, wanted: IntArray) -> IntArray:
    """For each wanted code, the exact sum of ``values`` over the rows with that code."""
    if len(wanted) == 0:
        return np.zeros(0, dtype=np.int64)
    sums = np.zeros(int(max(wanted.max(), row_codes.max(initial=-1))) + 1, dtype=np.int64)
    np.add.at(sums, row_codes, values)
    return np.asarray(sums[wanted], dtype=np.int64)


def _fee_per_unit(inp: EngineInput, ids: _Ids, ln: _Lines, wanted: BoolArray) -> IntArray:
    """A2's fee per unit for the wanted lines (I13: latest effective row on sd, then lowest
    fee); -1 where there is none."""
    fs = inp.fee_schedules
    fee = np.full(ln.n, -1, dtype=np.int64)
    idx = np.flatnonzero(wanted & (ln.procedure >= 0))
    if len(fs) == 0 or len(idx) == 0:
        return fee
    eff = _days(fs["effective_date"])
    exp = _days(fs["expiration_date"], null=_DAY_INF)
    allowed = _ints(fs["allowed_cents"])
    f_provider = ids.provider.of["fee_schedules"]
    f_procedure = ids.procedure.of["fee_schedules"]
    both = _pack(
        np.concatenate([ln.provider[idx], f_provider]),
        np.concatenate([ln.procedure[idx], f_procedure]),
    )
    f_key = both[len(idx) :]
    best_first = np.argsort(_sort_key([f_key, -eff, allowed]), kind="stable")
    lines, pos = _pairs(both[: len(idx)], f_key[best_first])
    row = best_first[pos]
    found, first = _first_of_each(lines, _in_period(ln.sd[idx][lines], eff[row], exp[row]))
    fee[idx[found]] = allowed[row[first]]
    return fee


def _visit_rank(ln: _Lines, g: _Groups) -> IntArray:
    """R10 (I10): the dense rank, in batch order, of each alive line's claim among the alive
    claims of its (member, benefit, year); 0 for other lines."""
    alive = ln.alive.astype(np.int64)
    # the first alive line of a (claim, benefit) is where its count of alive lines reaches 1
    first_line = alive * (running_total(alive, g.claim_benefit) == 1)
    return np.where(ln.alive, running_total(first_line, g.member_benefit_year), 0)


def _cap(limit: IntArray, used: IntArray) -> IntArray:
    """limit − used floored at 0, keeping NO_LIMIT for no limit."""
    return np.asarray(
        np.where(limit >= F.NO_LIMIT, F.NO_LIMIT, np.maximum(limit - used, 0)), np.int64
    )


def _column_cap(limit: IntArray, column_max: int, used: IntArray) -> IntArray:
    """I22: a limit no larger than what the accumulator's column holds, less what is used
    (floored at 0): a null limit is the column's maximum."""
    return _cap(np.minimum(limit, column_max), used)


def _apply_amounts(inp: EngineInput, ids: _Ids, c: _Claims, ln: _Lines, b: _Benefits) -> _Amounts:
    """R10, R11 and A1–A10 over the lines still alive, with capped running totals."""
    n = ln.n
    zero = np.zeros(n, dtype=np.int64)
    in_network = c.in_network[ln.claim]
    if n == 0 or len(inp.plan_benefits) == 0:
        return _Amounts(zero, zero, zero, zero, zero, zero, zero, zero, zero, in_network)
    r = np.maximum(ln.benefit_row, 0)
    g = _groups(inp, ids, ln)
    acc = g.used

    # R10: visits_used + the claim's rank ≤ visit_limit.
    visit_limit = b.visit_limit[r]
    rank = _visit_rank(ln, g)
    _fail(
        ln,
        (visit_limit >= F.NO_LIMIT) | (acc["visits_used"] + rank <= visit_limit),
        F.VISIT_LIMIT_EXCEEDED,
    )

    # R11: covered days under the running day total (I11).
    quantity = np.where(ln.alive, ln.quantity, 0)
    covered_days = capped_running(
        quantity,
        _column_cap(b.day_limit[r], F.MAX_QUANTITY, acc["days_used"]),
        g.member_benefit_year,
    )
    _fail(ln, covered_days > 0, F.DAY_LIMIT_EXCEEDED)
    ok = ln.alive
    covered_days = np.where(ok, covered_days, 0)

    # A2: allowed, and the covered part when R11 prorates (I13).
    fee = _fee_per_unit(inp, ids, ln, ok & in_network)
    charged = np.where(ok, ln.charged, 0)
    allowed = np.where(fee >= 0, capped_product(np.maximum(fee, 0), ln.quantity, charged), charged)
    covered = np.where(
        covered_days == ln.quantity,
        allowed,
        mul_div_half_up(allowed, covered_days, np.where(ok, ln.quantity, 1)),
    )
    limit = allowed - covered

    # A3 (I14), A4 (I15), A5, A6.
    deductible = capped_running(
        covered, _cap(b.deductible[r], acc["deductible_used_cents"]), g.member_benefit_year
    )
    copay = np.where(ok, np.minimum(b.copay[r], covered - deductible), 0)
    coinsurance = mul_div_half_up(
        covered - deductible - copay, np.where(ok, b.coinsurance_bp[r], 0), F.FULL_BP
    )
    base = covered - deductible - copay - coinsurance
    network_bp = np.where(ok, np.where(in_network, b.in_bp[r], b.out_bp[r]), 0)
    plan = mul_div_half_up(base, network_bp, F.FULL_BP)
    network_reduction = base - plan

    # A7 (I16): out-of-pocket cap per (member, year) over every benefit.
    cost_share = deductible + copay + coinsurance
    oop_cap = _column_cap(c.oop_max[ln.claim], F.MAX_CENTS, acc["oop_used_all_benefits"])
    kept = capped_running(cost_share, oop_cap, g.member_year)
    removed = cost_share - kept
    coinsurance, copay, deductible = take_in_order(removed, coinsurance, copay, deductible)
    plan = plan + removed

    # A8–A10 (I17): each caps the previous step's result.
    for cap, group in (
        (b.incident[r], g.claim_benefit),
        (_column_cap(b.annual[r], F.MAX_CENTS, acc["amount_used_cents"]), g.member_benefit_year),
        (_cap(b.lifetime[r], acc["amount_used_all_years"]), g.member_benefit),
    ):
        capped = capped_running(plan, np.where(ok, cap, F.NO_LIMIT), group)
        limit = limit + (plan - capped)
        plan = capped

    return _Amounts(
        allowed=allowed,
        deductible=deductible,
        copay=copay,
        coinsurance=coinsurance,
        network_reduction=network_reduction,
        limit=limit,
        approved=plan,
        oop=kept,
        covered_days=covered_days,
        in_network=in_network,
    )


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


def _line_reasons(ln: _Lines, a: _Amounts, approved_line: BoolArray) -> IntArray:
    """I18: an approved line's largest adjustment (first on ties, none when all are 0); the
    rule's reason for the others."""
    fee_write_off = np.where(approved_line & a.in_network, ln.charged - a.allowed, 0)
    adjustments = (
        a.deductible,
        a.copay,
        a.coinsurance,
        fee_write_off,
        a.network_reduction,
        a.limit,
    )
    best = np.zeros(ln.n, dtype=np.int64)
    reason = np.zeros(ln.n, dtype=np.int64)
    for name, amount in zip(F.ADJUSTMENT_REASONS, adjustments, strict=True):
        larger = amount > best  # strictly: an equal later adjustment loses the tie
        best = np.where(larger, amount, best)
        reason = np.where(larger, _R[name], reason)
    return np.asarray(np.where(approved_line, reason, ln.reason), dtype=np.int64)


def _segment_sums(values: Sequence[IntArray], claim: IntArray, n_claims: int) -> list[IntArray]:
    """Per claim, the exact sum of each of ``values`` over its lines (lines in batch order, so
    a claim's lines are contiguous); 0 for a claim without lines."""
    starts = np.flatnonzero(_run_starts(claim))
    out = []
    for v in values:
        sums = np.zeros(n_claims, dtype=np.int64)
        sums[claim[starts]] = np.add.reduceat(v, starts)
        out.append(sums)
    return out


_LINE_AMOUNTS = (
    "allowed_cents",
    "deductible_cents",
    "copay_cents",
    "coinsurance_cents",
    "network_reduction_cents",
    "limit_cents",
    "approved_cents",
    "oop_cents",
    "covered_days",
)
_CLAIM_STATUS_NAMES = np.array(
    [F.APPROVED, F.PARTIALLY_APPROVED, F.REJECTED, F.PENDED], dtype=object
)


def _results(inp: EngineInput, c: _Claims, ln: _Lines, a: _Amounts) -> EngineResult:
    """The output frames, lines back in input order."""
    approved_line = ln.alive
    rejected = ~approved_line & ~ln.pended
    # Amounts of approved lines; every other line's are 0 (I19).
    amounts = np.stack(
        [
            a.allowed,
            a.deductible,
            a.copay,
            a.coinsurance,
            a.network_reduction,
            a.limit,
            a.approved,
            a.oop,
            a.covered_days,
        ]
    )
    amounts[:, ~approved_line] = 0
    approved = amounts[_LINE_AMOUNTS.index("approved_cents")]
    # I19: a rejected line's storable charge is the member's (I22: not in a claim whose
    # charges add up beyond what a claim can hold).
    storable = (ln.charged >= 0) & (ln.charged <= F.MAX_CENTS) & ~ln.unstorable
    member_responsibility = np.asarray(
        np.where(
            approved_line,
            np.where(a.in_network, a.allowed, ln.charged) - approved,
            np.where(rejected & storable, ln.charged, 0),
        ),
        dtype=np.int64,
    )
    return EngineResult(
        lines=_line_frame(inp, c, ln, a, amounts, member_responsibility),
        claims=_claim_frame(inp, c, ln, rejected, approved, member_responsibility),
    )


def _line_frame(
    inp: EngineInput,
    c: _Claims,
    ln: _Lines,
    a: _Amounts,
    amounts: IntArray,
    member_responsibility: IntArray,
) -> pd.DataFrame:
    """The ``lines`` output in input order: every column gathered once through ``back``."""
    back = np.empty(ln.n, dtype=np.int64)
    back[ln.pos] = np.arange(ln.n, dtype=np.int64)
    status = np.where(ln.alive, 0, np.where(ln.pended, 2, 1))
    reason = _line_reasons(ln, a, ln.alive) if ln.n else np.zeros(0, dtype=np.int64)
    cov = inp.coverages
    coverage_row = np.where(ln.passed_r3, c.coverage_row[ln.claim], -1)[back]
    none = np.array([None], dtype=object)  # what row -1 (no coverage) picks
    in_order = np.take(amounts, back, axis=1)
    data: dict[str, object] = {
        "line_id": _text_column(inp.lines["line_id"]),
        "claim_id": _text_column(inp.lines["claim_id"]),
        "status": _STATUS_NAMES[status[back]],
        "reason_code": _REASON_NAMES[reason[back]],
        "coverage_id": np.concatenate([_objects(cov["coverage_id"]), none])[coverage_row],
        "plan_id": np.concatenate([_objects(cov["plan_id"]), none])[coverage_row],
        "in_network": a.in_network[back],
        **{name: in_order[k] for k, name in enumerate(_LINE_AMOUNTS)},
        "member_responsibility_cents": member_responsibility[back],
        "year": ln.year[back],
    }
    # trusted: fresh arrays, and ids that are text without nulls
    return F.make_line_result(data, trusted=True)


def _claim_frame(
    inp: EngineInput,
    c: _Claims,
    ln: _Lines,
    rejected: BoolArray,
    approved: IntArray,
    member_responsibility: IntArray,
) -> pd.DataFrame:
    """The ``claims`` output: sums of the lines, a status from the line statuses (I20)."""
    status, reason, (paid, owed) = _roll_up(
        ln.claim,
        c.n,
        ln.alive,
        rejected,
        ln.pended,
        [approved, member_responsibility],
        lambda first: _REASON_NAMES[ln.reason[first]],
    )
    # I22: the raw charges' sum, clamped to what DECIMAL(15,2) holds (only a claim R1 rejects
    # for its size can reach the clamp)
    charged = np.zeros(c.n, dtype=np.int64)
    if ln.n:
        starts = np.flatnonzero(_run_starts(ln.claim))
        charged[ln.claim[starts]] = clamped_segment_sums(
            ln.charged, starts, -F.MAX_CENTS, F.MAX_CENTS
        )
    return F.make_claim_result(
        {
            "claim_id": _text_column(inp.claims["claim_id"]),
            "status": status,
            "reason_code": reason,
            "total_charged_cents": charged,
            "total_approved_cents": paid,
            "member_responsibility_cents": owed,
        },
        trusted=True,
    )


def _roll_up(
    claim: IntArray,
    n_claims: int,
    approved: BoolArray,
    rejected: BoolArray,
    pended: BoolArray,
    amounts: Sequence[IntArray],
    reasons_of: Callable[[IntArray], ObjArray],
) -> tuple[ObjArray, ObjArray, list[IntArray]]:
    """The claim results of the contract from their lines, which come in batch order (a
    claim's lines contiguous, by line_number then line_id: I1); ``claim`` is each line's claim
    row (of ``n_claims``). Per claim: its status (any line pended → pended, every line
    rejected → rejected, every line approved → approved, else partially_approved; no lines:
    rejected), its reason (I20: PREAUTH_PENDING when pended, None when approved,
    INVALID_CLAIM without lines, else that of its first rejected line, which
    ``reasons_of(positions)`` names) and the exact sums of each of ``amounts``."""
    n = len(claim)
    sums = (
        _segment_sums(
            [
                np.ones(n, dtype=np.int64),
                approved.astype(np.int64),
                rejected.astype(np.int64),
                pended.astype(np.int64),
                *amounts,
            ],
            claim,
            n_claims,
        )
        if n
        else [np.zeros(n_claims, dtype=np.int64)] * (4 + len(amounts))
    )
    lines_of, approved_of, rejected_of, pended_of = sums[:4]
    first_rejected = np.flatnonzero(rejected)
    first_rejected = first_rejected[_run_starts(claim[first_rejected])]
    reason = np.full(n_claims, None, dtype=object)
    reason[claim[first_rejected]] = reasons_of(first_rejected)
    status = np.select(
        [lines_of == 0, pended_of > 0, rejected_of == lines_of, approved_of == lines_of],
        [2, 3, 2, 0],
        default=1,
    )  # indexes of _CLAIM_STATUS_NAMES
    reason[status == 0] = None
    reason[status == 3] = F.PREAUTH_PENDING
    reason[lines_of == 0] = F.INVALID_CLAIM
    return _CLAIM_STATUS_NAMES[status], reason, sums[4:]


def roll_up_claims(
    claims: pd.DataFrame, lines: pd.DataFrame, decided: pd.DataFrame
) -> pd.DataFrame:
    """``claims`` (a ``claims`` result) rolled up again from ``decided``, a ``lines`` result
    whose decisions changed since (a reviewer's overrides), by the rules of the engine's own
    roll-up (:func:`_roll_up`). ``lines``: the input lines, whose line_number gives the order
    of a claim's lines (I20's first rejected line). The charges are the same, so
    total_charged_cents is kept."""
    claim_ids = pd.Index(claims["claim_id"])
    claim = claim_ids.get_indexer(decided["claim_id"])
    if (claim < 0).any() or not claim_ids.is_unique:
        raise ValueError("roll_up_claims: every decided line's claim must be once in claims")
    line_number = decided["line_id"].map(lines.set_index("line_id")["line_number"])
    order = (
        pd.DataFrame(
            {
                "claim": claim,
                "line_number": line_number.to_numpy(),
                "line_id": decided["line_id"].to_numpy(),
            }
        )
        .sort_values(["claim", "line_number", "line_id"], kind="stable")
        .index.to_numpy()
    )
    status = decided["status"].to_numpy(dtype=object)[order]
    reasons = decided["reason_code"].to_numpy(dtype=object)[order]
    claim_status, reason, (paid, owed) = _roll_up(
        claim[order].astype(np.int64),
        len(claims),
        status == F.APPROVED,
        status == F.REJECTED,
        status == F.PENDED,
        [
            _ints(decided["approved_cents"])[order],
            _ints(decided["member_responsibility_cents"])[order],
        ],
        lambda first: reasons[first],
    )
    return F.make_claim_result(
        {
            "claim_id": claims["claim_id"].to_numpy(dtype=object),
            "status": claim_status,
            "reason_code": reason,
            "total_charged_cents": claims["total_charged_cents"].to_numpy(dtype=np.int64),
            "total_approved_cents": paid,
            "member_responsibility_cents": owed,
        }
    )


def adjudicate(inp: EngineInput, *, timezone: str = F.BUSINESS_TIMEZONE) -> EngineResult:
    """Adjudicate a batch: one result row per input line and per input claim (input order).

    Pure: reads ``inp`` only, writes nothing. ``timezone``: where a submission instant is a
    calendar day (I21). See the module docstring for the semantics.
    """
    inp.validate()
    ids = _ids(inp)
    claims = _prepare_claims(inp, ids, timezone)
    lines = _prepare_lines(inp, ids, claims)
    benefits = _benefits(inp)
    _apply_rules(inp, ids, claims, lines, benefits)
    amounts = _apply_amounts(inp, ids, claims, lines, benefits)
    return _results(inp, claims, lines, amounts)
