"""Why rule R1 finds a line invalid, in words, for the rejection notes of INVALID_CLAIM.

The reason code says *that* a claim or line is invalid (``INVALID_CLAIM``: "Claim or line is
invalid or incomplete"); a reviewer or a provider reading the note needs to know *what* is
wrong with it. :func:`invalid_claim_details` restates each condition of R1 (I3, I21, I22,
I25 in :mod:`claims_askes.adjudication.reference`) for the lines that fail it, with the values
that fail: "the service date 2090-01-01 is after the submission date 2026-03-11". A bad code is
shown escaped and cut short (:func:`shown`): no control character of the input reaches a note
or a terminal through these words. It works on the engine's input, set-wise (text is built only
for the failing lines, which are few), and names every problem of a line, not only the first.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from claims_askes.adjudication import frames as F
from claims_askes.adjudication.frames import EngineInput
from claims_askes.adjudication.money import sum_may_overflow


def rupiah(cents: int) -> str:
    """Cents as rupiah text with thousands separators: -123456 → '-1,234.56'."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(int(cents)), 100)
    return f"{sign}{whole:,}.{part:02d}"


#: How much of a bad code a note shows: enough to recognise it, never a screenful.
SHOWN_CHARACTERS = 24


def shown(value: object) -> str:
    """A value from the input, safe to put in a note or on a terminal: its first
    :data:`SHOWN_CHARACTERS` characters as a Python string literal, so that every character
    that does not print (an escape sequence, a newline, a bidirectional override, a zero-width
    space) appears as its escape (``\\x1b``) and never as itself; a longer value says how
    long it was. ``shown('89.01\\x1b[31m')`` is ``'89.01\\x1b[31m'``, with a backslash."""
    text = value if isinstance(value, str) else str(value)
    more = f"... ({len(text):,} characters)" if len(text) > SHOWN_CHARACTERS else ""
    return repr(text[:SHOWN_CHARACTERS]) + more


def _day(value: object) -> str:
    return pd.Timestamp(value).date().isoformat()  # type: ignore[arg-type]


def _dates(series: pd.Series) -> pd.Series:
    """A date column as tz-naive midnight timestamps (a null stays NaT)."""
    ts = pd.to_datetime(series)
    if isinstance(ts.dtype, pd.DatetimeTZDtype):
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    return ts.dt.normalize()


def invalid_claim_details(inp: EngineInput, *, timezone: str = F.BUSINESS_TIMEZONE) -> pd.Series:
    """For every line that rule R1 rejects, why, in words (several problems joined by '; ');
    a Series of text indexed by line_id, without the lines R1 lets through. ``timezone`` is
    the one the engine was given (I21)."""
    lines = inp.lines.reset_index(drop=True)
    claims = inp.claims.reset_index(drop=True)
    empty = pd.Series([], dtype=object, index=pd.Index([], dtype=object, name="line_id"))
    if len(lines) == 0:
        return empty
    row = pd.Index(claims["claim_id"].to_numpy(dtype=object)).get_indexer(
        lines["claim_id"].to_numpy(dtype=object)
    )
    charged = lines["charged_cents"].to_numpy(dtype=np.int64)
    quantity = lines["quantity"].to_numpy(dtype=np.int64)
    code = lines["benefit_code"].astype(object)
    blank = (code.isna() | code.astype(str).str.strip().eq("")).to_numpy(dtype=bool)

    service = _dates(claims["service_date"]).to_numpy()[row]
    admission = _dates(claims["admission_date"]).to_numpy()[row]
    discharge = _dates(claims["discharge_date"]).to_numpy()[row]
    submitted_at = pd.to_datetime(claims["submission_date"], utc=True)
    submitted = (
        submitted_at.dt.tz_convert(timezone).dt.tz_localize(None).dt.normalize().to_numpy()[row]
    )

    # I22: Σ|charged| per claim, each charge counted at most MAX_CENTS + 1 (as the engine)
    too_big = (charged > F.MAX_CENTS) | (charged < -F.MAX_CENTS)
    magnitude = np.where(too_big, F.MAX_CENTS + 1, np.abs(np.where(too_big, 0, charged)))
    per_claim = (
        pd.Series(magnitude.astype(object) if sum_may_overflow(magnitude) else magnitude)
        .groupby(row)
        .sum()
    )
    unstorable = (pd.Series(row).map(per_claim) > F.MAX_CENTS).to_numpy(dtype=bool)

    found: list[pd.Series] = []

    def say(mask: np.ndarray, words: Callable[[int], str]) -> None:
        at = np.flatnonzero(mask)
        if len(at):
            found.append(pd.Series([words(int(i)) for i in at], index=at, dtype=object))

    say(charged < 0, lambda i: f"the charge {rupiah(charged[i])} is negative")
    say(
        charged > F.MAX_CENTS,
        lambda i: (
            f"the charge {rupiah(charged[i])} is more than {rupiah(F.MAX_CENTS)}, the largest "
            "amount a line can hold"
        ),
    )
    say(quantity < 1, lambda i: f"the quantity {quantity[i]} is less than 1")
    say(
        quantity > F.MAX_QUANTITY,
        lambda i: f"the quantity {quantity[i]:,} is more than {F.MAX_QUANTITY:,}",
    )
    say(blank, lambda i: "there is no benefit code")
    procedure = lines["procedure_code"]
    diagnosis = lines["diagnosis_code"]
    say(
        F.malformed_codes(procedure, F.PROCEDURE_CODE_PATTERN),
        lambda i: (
            f"the procedure code {shown(procedure.iloc[i])} is not a procedure code (1 to 20 "
            "capital letters and digits, in groups joined by '.' or '-')"
        ),
    )
    say(
        F.malformed_codes(diagnosis, F.DIAGNOSIS_CODE_PATTERN),
        lambda i: (
            f"the diagnosis code {shown(diagnosis.iloc[i])} is not an ICD-10 code (a capital "
            "letter, two digits, then optionally '.' and 1 to 4 capital letters or digits)"
        ),
    )
    say(
        np.asarray(discharge < admission, dtype=bool),
        lambda i: (
            f"the discharge date {_day(discharge[i])} is before the admission date "
            f"{_day(admission[i])}"
        ),
    )

    def after_submission(name: str, day: np.ndarray) -> None:
        say(
            np.asarray(day > submitted, dtype=bool),
            lambda i: (
                f"the {name} date {_day(day[i])} is after the submission date {_day(submitted[i])}"
            ),
        )

    provider = claims["provider_id"].to_numpy(dtype=object)[row]
    say(
        ~F.known_providers(claims)[row],
        lambda i: f"the provider {provider[i]} is not in the provider registry",
    )
    say(
        F.submitted_in_future(claims)[row],
        lambda i: (
            f"the submission date {submitted_at.iloc[row[i]].isoformat()} is after the moment "
            "the batch read the claim"
        ),
    )
    after_submission("service", service)
    after_submission("admission", admission)
    after_submission("discharge", discharge)
    flagged = np.flatnonzero(unstorable)  # exact sums in Python integers, for these only
    totals = (
        pd.Series([abs(int(c)) for c in charged[flagged]], dtype=object).groupby(row[flagged]).sum()
    )
    say(
        unstorable,
        lambda i: (
            f"the claim's charges add up to {rupiah(int(totals[row[i]]))} (in absolute value), "
            f"more than the {rupiah(F.MAX_CENTS)} a claim can hold"
        ),
    )

    if not found:
        return empty
    problems = pd.concat(found)
    joined = problems.groupby(level=0, sort=True).agg("; ".join)
    ids = lines["line_id"].to_numpy(dtype=object)[joined.index.to_numpy()]
    return pd.Series(
        joined.to_numpy(dtype=object), index=pd.Index(ids, name="line_id"), dtype=object
    )
