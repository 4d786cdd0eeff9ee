"""Exact, vectorised arithmetic on integer cents.

Money in the adjudication engine is ``int64`` cents, never a float: ``DECIMAL(15,2)`` amounts
up to 10**15 − 1 cents and percentages in hundredths of a percent fit comfortably, and every
product below is arranged so that it cannot overflow ``int64`` for those ranges. Sums that
could leave ``int64`` (a capped running total over thousands of maximal amounts, a claim's
total of malformed charges) are taken in Python integers instead, exactly. Each helper is
the vectorised form of one sentence of the contract (``docs/adjudication.md``):

* "every rounding is half-up to the cent" → :func:`round_half_up_div`, :func:`mul_div_half_up`;
* "a running total capped at C gives line i min(C, T_i) − min(C, T_{i−1})" →
  :func:`capped_running`;
* "the cap takes its reduction off coinsurance first, then copay, then deductible" →
  :func:`take_in_order`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

IntArray = npt.NDArray[np.int64]


def as_int64(values: Any) -> IntArray:
    """``values`` (scalar, list, Series, array) as a 1-D ``int64`` array (no float detour)."""
    if isinstance(values, pd.Series):
        values = values.to_numpy()
    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        raise TypeError("money helpers take integers, never floats")
    return np.atleast_1d(arr.astype(np.int64, copy=False))


def round_half_up_div(numer: Any, denom: Any) -> IntArray:
    """``numer / denom`` rounded to the nearest integer, exact halves away from zero.

    For non-negative quotients this is the contract's "half-up to the cent". For negative ones
    it rounds the magnitude half-up and keeps the sign (−2.5 → −3, −2.4 → −2): the rule of
    ``Decimal`` ``ROUND_HALF_UP`` and of PostgreSQL's ``round(numeric)``, and the one under
    which a reversal (the negative of an amount) rounds to the negative of the amount's
    rounding. ``denom`` may be negative; it must not be zero. Works elementwise with numpy
    broadcasting; no intermediate exceeds ``max(|numer|, |denom|)`` so nothing overflows.
    """
    n = as_int64(numer)
    d = as_int64(denom)
    if bool((d == 0).any()):
        raise ZeroDivisionError("round_half_up_div: zero denominator")
    sign = np.sign(n) * np.sign(d)
    an = np.abs(n)
    ad = np.abs(d)
    q, r = np.divmod(an, ad)
    # r < ad, so comparing r >= ad - r (i.e. 2r >= ad) cannot overflow.
    q = q + (r >= ad - r)
    return np.asarray(sign * q, dtype=np.int64)


def mul_div_half_up(amount: Any, numer: Any, denom: Any) -> IntArray:
    """round_half_up(amount × numer / denom) without forming the full product.

    Used for "coinsurance = base × percentage / 100" (numer = basis points, denom = 10 000)
    and for R11's "allowed × covered_days / quantity". Requires ``amount ≥ 0``,
    ``0 ≤ numer`` and ``denom > 0``; exact as long as ``(denom − 1) × numer`` fits ``int64``
    (true for basis points, and for day counts up to 2**31). Splitting
    ``amount = (amount // denom) × denom + amount % denom`` keeps every intermediate small:
    ``(amount // denom) × numer ≤ amount × numer / denom`` and ``(amount % denom) × numer <
    denom × numer``.
    """
    a = as_int64(amount)
    b = as_int64(numer)
    d = as_int64(denom)
    if bool((a < 0).any()) or bool((b < 0).any()) or bool((d <= 0).any()):
        raise ValueError("mul_div_half_up: needs amount >= 0, numer >= 0, denom > 0")
    whole, rest = np.divmod(a, d)
    # rest × b ≥ 0 and d > 0: half-up is "round up when the remainder is at least half"
    q, r = np.divmod(rest * b, d)
    return np.asarray(whole * b + q + (r >= d - r), dtype=np.int64)


def capped_product(unit: Any, quantity: Any, cap: Any) -> IntArray:
    """``min(cap, unit × quantity)`` for non-negative operands, without overflow.

    A2's "min(charged, allowed_amount × quantity)": a fee of 10**15 cents times a quantity of
    2**31 does not fit ``int64``, but ``unit × quantity > cap`` iff ``quantity > cap // unit``
    (for ``unit > 0``), so the product is only formed where it is at most ``cap``.
    """
    u = as_int64(unit)
    q = as_int64(quantity)
    c = as_int64(cap)
    u, q, c = np.broadcast_arrays(u, q, c)
    safe_u = np.where(u > 0, u, 1)
    over = (u > 0) & (q > c // safe_u)
    product = np.where(over, 0, u) * np.where(over, 0, q)
    return np.asarray(np.where(over, c, np.minimum(c, product)), dtype=np.int64)


#: Packed keys stay below this, so that ``packed * span + key`` never overflows ``int64``.
_PACK_LIMIT = 2**62
#: A sum of values whose count times largest magnitude stays below this cannot overflow
#: ``int64``, whatever the order of the values (and leaves room to subtract one of them).
_SUM_LIMIT = 2**62


def sum_may_overflow(values: IntArray) -> bool:
    """Could some sum of ``values`` (a running total, a segment sum) leave ``int64``? A bound,
    not an exact test: ``len × max |value|``, so that ordinary batches never pay for it."""
    if len(values) == 0:
        return False
    largest = max(int(values.max()), -int(values.min()))  # Python ints: no overflow here
    return len(values) * largest >= _SUM_LIMIT


def clamped_segment_sums(values: Any, starts: Any, low: int, high: int) -> IntArray:
    """The exact sum of each segment of ``values`` (segment k runs from ``starts[k]`` to the
    next start; starts ascending, the first 0), clamped to ``[low, high]``. Taken in Python
    integers when an ``int64`` sum could overflow, so the clamp sees the true sum."""
    v = as_int64(values)
    s = as_int64(starts)
    if len(s) == 0:
        return np.zeros(0, dtype=np.int64)
    sums = np.add.reduceat(v.astype(object) if sum_may_overflow(v) else v, s)
    return np.asarray(np.minimum(np.maximum(sums, low), high).astype(np.int64), dtype=np.int64)


def _key_codes(key: Any) -> tuple[IntArray, int]:
    """One key as non-negative ``int64`` codes and their span (max + 1).

    Integer keys are shifted by their minimum (no hashing: a shift keeps equal values equal
    and distinct ones distinct); anything else is factorised, nulls being a value of their own.
    """
    arr = key.to_numpy() if isinstance(key, pd.Series | pd.Index) else np.asarray(key)
    if arr.dtype.kind in "iub":
        k = arr.astype(np.int64, copy=False)
        if len(k) == 0:
            return k, 1
        low = int(k.min())
        high = int(k.max())
        if high - low < _PACK_LIMIT:
            return np.asarray(k - low, dtype=np.int64), high - low + 1
    codes, uniques = pd.factorize(arr, use_na_sentinel=False)
    return np.asarray(codes, dtype=np.int64), max(1, len(uniques))


def group_codes(*keys: Any) -> IntArray:
    """One dense ``int64`` code per distinct combination of the key arrays (nulls are a value).

    Codes are assigned in order of first appearance (so ``codes[i] > max(codes[:i])`` marks
    the first row of each combination). Keys are packed into one integer while their spans
    multiply to less than 2**62, and the packed integer is factorised once: one hash pass over
    the rows instead of one per key, which is what makes the running totals fast. Keys too
    wide to pack are mixed into a 64-bit hash instead; the grouping is then checked against
    every key and, in the astronomically rare case of a collision, redone exactly.
    """
    if not keys:
        raise ValueError("group_codes needs at least one key")
    parts = [_key_codes(key) for key in keys]
    packed, span = parts[0]
    mixed = False
    for k, k_span in parts[1:]:
        if span * k_span < _PACK_LIMIT:
            packed = packed * k_span + k
            span *= k_span
        else:
            packed = _mix(packed, k)
            span, mixed = _PACK_LIMIT, True
    codes = np.asarray(pd.factorize(packed)[0], dtype=np.int64)
    if mixed and not _same_within_groups(codes, [k for k, _ in parts]):
        return _exact_group_codes(parts)
    return codes


def _mix(hashed: IntArray, key: IntArray) -> IntArray:
    """A 64-bit hash of (hashed, key): multiply by an odd constant, wrapping, and add."""
    with np.errstate(over="ignore"):
        mixed = hashed.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + key.astype(np.uint64)
    return mixed.view(np.int64)


def _same_within_groups(codes: IntArray, keys: list[IntArray]) -> bool:
    """Does every row agree on every key with the first row of its group?"""
    if len(codes) == 0:
        return True
    earlier_max = np.maximum.accumulate(np.concatenate([[-1], codes]))[:-1]
    first_row = np.flatnonzero(codes > earlier_max)  # the first row of group g is first_row[g]
    of_row = first_row[codes]
    return all(bool((k == k[of_row]).all()) for k in keys)


def _exact_group_codes(parts: list[tuple[IntArray, int]]) -> IntArray:
    """group_codes without hashing: factorise whenever the packed key would overflow."""
    packed, span = parts[0]
    for k, k_span in parts[1:]:
        if span * k_span >= _PACK_LIMIT:
            dense, uniques = pd.factorize(packed)
            packed, span = np.asarray(dense, dtype=np.int64), max(1, len(uniques))
        packed = packed * k_span + k
        span *= k_span
    return np.asarray(pd.factorize(packed)[0], dtype=np.int64)


class Grouping:
    """Rows partitioned into groups, sorted once for all the running totals over them.

    A stable sort by group puts each group's rows together in their original order; a running
    total is then one cumulative sum of the sorted values less, in each row, what the groups
    before it added up to. ``np.cumsum`` wraps around silently on ``int64`` overflow, and the
    difference of two wrapped sums is still exact as long as each group's own total fits
    (the sums of all groups together never need to).
    """

    def __init__(self, codes: Any) -> None:
        g = as_int64(codes)
        self.size = len(g)
        self.order = np.argsort(g, kind="stable")
        sorted_codes = g[self.order]
        starts = np.ones(self.size, dtype=bool)
        starts[1:] = sorted_codes[1:] != sorted_codes[:-1]
        start_rows = np.flatnonzero(starts)
        #: for each sorted position, the sorted position where its group starts
        self.group_start = np.repeat(start_rows, np.diff(np.append(start_rows, self.size)))

    def running_total(self, values: Any) -> IntArray:
        """Running (inclusive) sum of ``values`` within each group, in the rows' order."""
        v = as_int64(values)[self.order]
        total = np.cumsum(v)
        before_group = total[self.group_start] - v[self.group_start]
        out = np.empty(self.size, dtype=np.int64)
        out[self.order] = total - before_group
        return out

    def running_total_exact(self, values: Any) -> npt.NDArray[np.object_]:
        """:meth:`running_total` in Python integers (an object array): exact however large a
        group's total grows. Slow; for the rare batch where ``int64`` could overflow."""
        v = as_int64(values)[self.order].astype(object)
        total = np.cumsum(v)
        before_group = total[self.group_start] - v[self.group_start]
        out = np.empty(self.size, dtype=object)
        out[self.order] = total - before_group
        return out


_ARRAY_LIKE = (pd.Series, pd.Index, np.ndarray, list, tuple)


def _as_group(group_keys: Any) -> IntArray:
    """Group codes from one key array, a DataFrame of keys, or a list/tuple of key arrays.

    A single integer array is used as it is: grouping by integers is grouping by their codes.
    """
    if isinstance(group_keys, np.ndarray) and group_keys.dtype.kind in "iu":
        return group_keys.astype(np.int64, copy=False)
    if isinstance(group_keys, pd.DataFrame):
        return group_codes(*[group_keys[c] for c in group_keys.columns])
    if (
        isinstance(group_keys, list | tuple)
        and len(group_keys) > 0
        and all(isinstance(k, _ARRAY_LIKE) for k in group_keys)
    ):
        return group_codes(*group_keys)
    return group_codes(group_keys)


def running_total(values: Any, group_keys: Any) -> IntArray:
    """Running (inclusive) sum of ``values`` within each group, in the rows' order.

    ``group_keys``: a :class:`Grouping` (fastest when several totals share the groups), or
    anything :func:`group_codes` takes."""
    if isinstance(group_keys, Grouping):
        return group_keys.running_total(values)
    v = as_int64(values)
    if len(v) == 0:
        return v.copy()
    return Grouping(_as_group(group_keys)).running_total(v)


def capped_running(values: Any, cap: Any, group_keys: Any) -> IntArray:
    """What each row keeps of ``values`` when their running total per group is capped.

    The rows must be in batch order. With ``T_i`` the uncapped running total of the row's group
    (inclusive) and ``C_i`` its cap, row i keeps ``clip(min(C_i, T_i) − min(C_i, T_{i−1}), 0,
    v_i)``. When the cap is the same for every row of a group (the usual case) this is exactly
    the contract's ``min(C, T_i) − min(C, T_{i−1})`` and the kept amounts add up to
    ``min(C, T_n)``; when it changes inside a group (a plan change mid-year gives the later
    lines another limit) the clip keeps each row between nothing and all of its value, and the
    reference implementation uses the same formula so both agree. Values must be ≥ 0; rows
    that do not take part in a running total should be given value 0 (they then keep 0 and do
    not move T). ``cap`` is a scalar or one value per row; use ``NO_LIMIT`` for no cap.
    """
    v = as_int64(values)
    c = np.broadcast_to(as_int64(cap), v.shape)
    if sum_may_overflow(v):
        # a group's total might leave int64 (thousands of maximal amounts): Python integers
        grouping = (
            group_keys if isinstance(group_keys, Grouping) else Grouping(_as_group(group_keys))
        )
        exact = grouping.running_total_exact(v)
        big_v, big_c = v.astype(object), c.astype(object)
        kept_exact = np.minimum(big_c, exact) - np.minimum(big_c, exact - big_v)
        return np.asarray(
            np.minimum(np.maximum(kept_exact, 0), big_v).astype(np.int64), dtype=np.int64
        )
    t = running_total(v, group_keys)
    t_prev = t - v
    kept = np.minimum(c, t) - np.minimum(c, t_prev)
    return np.asarray(np.clip(kept, 0, v), dtype=np.int64)


def take_in_order(removed: Any, *parts: Any) -> tuple[IntArray, ...]:
    """Take ``removed`` off ``parts`` in the order given; return the parts that remain.

    A7: "the cap takes its reduction off coinsurance first, then copay, then deductible" is
    ``take_in_order(removed, coinsurance, copay, deductible)``. ``removed`` must not exceed the
    parts' sum (it never does: the cap keeps at least 0 of the cost share); all non-negative.
    """
    left = as_int64(removed).copy()
    out: list[IntArray] = []
    for part in parts:
        p = as_int64(part)
        take = np.minimum(left, p)
        out.append(np.asarray(p - take, dtype=np.int64))
        left = left - take
    if bool((left > 0).any()):
        raise ValueError("take_in_order: removed exceeds the parts")
    return tuple(out)
