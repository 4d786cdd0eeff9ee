"""The oracle: adjudication written for clarity, one line at a time.

This module is the contract (``docs/adjudication.md``) in the most literal form we could
write: a Python loop over the lines in batch order, Python ``int`` / ``Decimal`` arithmetic,
dictionaries for the running totals, and one small function per rule and per amount step. It is
slow on purpose and shares no arithmetic with the vectorised engine (only the output-frame
builders of :mod:`frames`), so the hypothesis tests that compare the two are meaningful.

Two passes are needed because R9 works on whole claims: pass 1 decides R1–R9 for every line
(R4 needs the earlier lines' R1–R3 outcome, so it runs in batch order); then every claim with
a pending authorization is pended; pass 2 runs R10, R11 and A2–A10 over the surviving lines,
again in batch order, with running totals kept in dictionaries.

Interpretations
---------------
Where the contract is silent or ambiguous, both implementations decide the same way. The
decisions are numbered I1-I25 and written down in ``docs/adjudication.md`` ("Interpretations");
the code below names them where it applies them, and ``tests/test_engine_rules.py`` pins most
of them with hand-computed examples.
"""

from __future__ import annotations

import datetime as dt
import string
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from claims_askes.adjudication import frames as F
from claims_askes.adjudication.frames import EngineInput, EngineResult

Row = dict[str, Any]

# --------------------------------------------------------------------------------------------
# Plain-Python views of the input rows
# --------------------------------------------------------------------------------------------


def _clean(value: Any) -> Any:
    """A DataFrame cell as a plain Python value: None for any null, ``date`` for a timestamp."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if pd.isna(value):
        return None
    if isinstance(value, pd.Timestamp | dt.datetime):
        return pd.Timestamp(value).date()
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    return value


def _records(frame: pd.DataFrame) -> list[Row]:
    """The frame's rows as dicts of plain Python values, in frame order."""
    columns = list(frame.columns)
    return [
        {c: _clean(v) for c, v in zip(columns, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]


def _grouped(rows: list[Row], *key: str) -> dict[Any, list[Row]]:
    """The rows by the value(s) of ``key`` (a tuple when several columns)."""
    out: dict[Any, list[Row]] = {}
    for row in rows:
        k = row[key[0]] if len(key) == 1 else tuple(row[c] for c in key)
        out.setdefault(k, []).append(row)
    return out


def _instant(value: Any) -> pd.Timestamp:
    """A submission timestamp as a tz-naive UTC ``Timestamp`` (aware ones are converted)."""
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts


def _in_period(day: dt.date, start: dt.date | None, end: dt.date | None) -> bool:
    """``start ≤ day ≤ end``; a null end is open; a null start never contains anything."""
    return start is not None and start <= day and (end is None or day <= end)


def _half_up(numer: int, denom: int) -> int:
    """numer / denom rounded half-up (ties away from zero) to an integer, via ``Decimal``."""
    with localcontext() as ctx:
        ctx.prec = 80
        quotient = Decimal(numer) / Decimal(denom)
        return int(quotient.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _remaining(limit: int | None, used: int) -> int | None:
    """A limit less what is already used, floored at 0 (None: no limit)."""
    return None if limit is None else max(0, limit - used)


def _within_column(limit: int | None, column_max: int) -> int:
    """I22: a limit no larger than what the accumulator's column holds (None: the maximum)."""
    return column_max if limit is None else min(int(limit), column_max)


class RunningTotals:
    """One running total per key, each read through a cap (I2).

    ``keep(key, cap, value)`` is what a line keeps of ``value`` when the running total of its
    key is capped at ``cap`` (None: no cap): min(C, T_i) − min(C, T_{i−1}), clipped to
    [0, value]. The uncapped total T always advances by the whole value.
    """

    def __init__(self) -> None:
        self.totals: dict[Any, int] = {}

    def keep(self, key: Any, cap: int | None, value: int) -> int:
        """Add ``value`` to the key's total; return what the line keeps of it under ``cap``."""
        before = self.totals.get(key, 0)
        total = before + value
        self.totals[key] = total
        if cap is None:
            return value
        return max(0, min(min(cap, total) - min(cap, before), value))


@dataclass
class _Outcome:
    """Everything decided about one line; starts as an approved line with zero amounts."""

    status: str = F.APPROVED
    reason: str | None = None
    coverage: Row | None = None
    benefit: Row | None = None
    pending: bool = False
    in_network: bool = False
    allowed: int = 0
    deductible: int = 0
    copay: int = 0
    coinsurance: int = 0
    network_reduction: int = 0
    limit: int = 0
    approved: int = 0
    member_responsibility: int = 0
    oop: int = 0
    covered_days: int = 0

    def reject(self, reason: str) -> None:
        """The first failing rule decides: the line is rejected with its reason."""
        self.status = F.REJECTED
        self.reason = reason


class _Batch:
    """The input, indexed for lookups by the rule functions."""

    def __init__(self, inp: EngineInput, timezone: str) -> None:
        zone = ZoneInfo(timezone)
        self.claims: dict[str, Row] = {}
        for claim, submitted in zip(
            _records(inp.claims), inp.claims["submission_date"], strict=True
        ):
            instant = _instant(submitted)  # keeps the time of day
            claim["submission_instant"] = instant
            # I21: the calendar day of the submission where the business is
            claim["submission_day"] = instant.tz_localize(dt.UTC).tz_convert(zone).date()
            known = claim.get(F.PROVIDER_KNOWN, True)  # I23: a null is not known
            future = claim.get(F.SUBMITTED_IN_FUTURE, False)  # I24: a null is not
            claim["submitted_in_future"] = not pd.isna(future) and bool(future)
            claim["provider_known"] = not pd.isna(known) and bool(known)
            self.claims[claim["claim_id"]] = claim
        self.lines = _records(inp.lines)
        self.lines_of_claim = _grouped(self.lines, "claim_id")
        # I22: claims whose charges, in absolute value, add up beyond DECIMAL(15,2)
        self.unstorable = {
            claim_id
            for claim_id, lines in self.lines_of_claim.items()
            if sum(abs(int(line["charged_cents"])) for line in lines) > F.MAX_CENTS
        }
        self.members = {m["member_id"]: m for m in _records(inp.members)}
        self.coverages = _grouped(_records(inp.coverages), "member_id")
        self.contracts = _grouped(_records(inp.contracts), "provider_id")
        self.fees = _grouped(_records(inp.fee_schedules), "provider_id", "procedure_code")
        self.benefits = {(b["plan_id"], b["benefit_code"]): b for b in _records(inp.plan_benefits)}
        self.exclusions = _grouped(_records(inp.exclusions), "plan_id")
        self.cost_sharing = _grouped(_records(inp.cost_sharing), "plan_id")
        self.accumulators = {
            (a["member_id"], a["benefit_code"], a["year"]): a for a in _records(inp.accumulators)
        }
        self.authorizations = _grouped(_records(inp.authorizations), "member_id", "benefit_code")
        self.prior_keys = {
            (
                p["member_id"],
                p["provider_id"],
                p["service_date"],
                p["benefit_code"],
                p["procedure_code"],
                p["charged_cents"],
            )
            for p in _records(inp.prior_lines)
        }

    def accumulator(self, member_id: str, benefit_code: str, year: int, column: str) -> int:
        """An accumulator value; a missing row counts as all zeros."""
        row = self.accumulators.get((member_id, benefit_code, year))
        return 0 if row is None else int(row[column])

    def used_all_years(self, member_id: str, benefit_code: str) -> int:
        """Σ amount_used of (member, benefit) over every year: what A10 starts from."""
        return sum(
            int(a["amount_used_cents"])
            for (m, b, _), a in self.accumulators.items()
            if m == member_id and b == benefit_code
        )

    def oop_used_all_benefits(self, member_id: str, year: int) -> int:
        """Σ oop_used of (member, year) over every benefit: what A7 starts from."""
        return sum(
            int(a["oop_used_cents"])
            for (m, _, y), a in self.accumulators.items()
            if m == member_id and y == year
        )


# --------------------------------------------------------------------------------------------
# Line rules R1–R9 (pass 1)
# --------------------------------------------------------------------------------------------


_CAPITALS = frozenset(string.ascii_uppercase)
_DIGITS = frozenset(string.digits)


def is_icd10(code: str) -> bool:
    """I25: a capital letter, two digits, then optionally a dot and 1 to 4 capital letters or
    digits (``A09``, ``J06.9``, ``S72.001A``)."""
    head, dot, tail = code.partition(".")
    if len(head) != 3 or head[0] not in _CAPITALS or not set(head[1:]) <= _DIGITS:
        return False
    return not dot or (1 <= len(tail) <= 4 and set(tail) <= _CAPITALS | _DIGITS)


def is_procedure_code(code: str) -> bool:
    """I25: 1 to 20 characters, groups of capital letters and digits joined by single dots or
    hyphens (``89.01``, ``99213``, ``KMR-VIP``)."""
    if not 1 <= len(code) <= 20:
        return False
    groups = code.replace("-", ".").split(".")
    return all(group and set(group) <= _CAPITALS | _DIGITS for group in groups)


def rule_r1_codes(line: Row) -> bool:
    """R1 (I25): the procedure and diagnosis codes, where present, are well formed."""
    procedure, diagnosis = line["procedure_code"], line["diagnosis_code"]
    if procedure is not None and not (isinstance(procedure, str) and is_procedure_code(procedure)):
        return False
    return diagnosis is None or (isinstance(diagnosis, str) and is_icd10(diagnosis))


def rule_r1_valid(line: Row, claim: Row, claim_unstorable: bool) -> bool:
    """R1 (I3, I21, I22, I25): charged in [0, DECIMAL(15,2) max], quantity in [1, INTEGER max],
    a benefit code, well-formed procedure and diagnosis codes; the claim's discharge not before
    its admission, none of its dates after the day it was submitted, and its charges storable
    together."""
    if not 0 <= line["charged_cents"] <= F.MAX_CENTS:
        return False
    if not 1 <= line["quantity"] <= F.MAX_QUANTITY:
        return False
    if not claim["provider_known"] or claim["submitted_in_future"]:  # I23, I24
        return False
    code = line["benefit_code"]
    if code is None or code.strip() == "":
        return False
    if not rule_r1_codes(line):
        return False
    admission, discharge = claim["admission_date"], claim["discharge_date"]
    if admission is not None and discharge is not None and discharge < admission:
        return False
    submitted = claim["submission_day"]
    if any(
        day is not None and day > submitted for day in (claim["service_date"], admission, discharge)
    ):
        return False
    return not claim_unstorable


def rule_r2_eligible(member: Row | None, sd: dt.date) -> bool:
    """R2 (I4): a known member, enrolled on sd, not suspended."""
    if member is None or member["status"] == "suspended":
        return False
    return _in_period(sd, member["enrollment_date"], member["termination_date"])


def rule_r3_coverage(coverages: list[Row], sd: dt.date) -> tuple[Row | None, str | None]:
    """R3 (I5): the covering coverage with the latest effective date (ties: smallest id), or
    None and the reason there is none."""
    usable = [c for c in coverages if c["status"] in ("active", "terminated")]
    covering = [c for c in usable if _in_period(sd, c["effective_date"], c["termination_date"])]
    if covering:
        latest = max(c["effective_date"] for c in covering)
        tied = [c for c in covering if c["effective_date"] == latest]
        return min(tied, key=lambda c: c["coverage_id"]), None
    if usable and min(c["effective_date"] for c in usable) > sd:
        return None, F.COVERAGE_NOT_STARTED
    return None, F.COVERAGE_TERMINATED


def duplicate_key(claim: Row, line: Row) -> tuple[Any, ...]:
    """R4 (I6): what makes two lines the same service."""
    return (
        claim["member_id"],
        claim["provider_id"],
        claim["service_date"],
        line["benefit_code"],
        line["procedure_code"],
        line["charged_cents"],
    )


def rule_r5_benefit(benefit: Row | None, sd: dt.date) -> bool:
    """R5: the plan has an active benefit row for the code, effective on sd."""
    return (
        benefit is not None
        and bool(benefit["is_active"])
        and _in_period(sd, benefit["effective_date"], benefit["expiration_date"])
    )


def rule_r6_not_excluded(exclusions: list[Row], line: Row, sd: dt.date) -> bool:
    """R6 (I7): no exclusion of the plan active on sd, for this benefit or all benefits, whose
    diagnosis prefix starts the line's diagnosis or whose procedure equals the line's."""
    diagnosis, procedure = line["diagnosis_code"], line["procedure_code"]
    for ex in exclusions:
        if not _in_period(sd, ex["effective_date"], ex["expiration_date"]):
            continue
        if ex["benefit_code"] is not None and ex["benefit_code"] != line["benefit_code"]:
            continue
        prefix = ex["diagnosis_code_prefix"]
        if prefix is not None and diagnosis is not None and diagnosis.startswith(prefix):
            return False
        if ex["procedure_code"] is not None and ex["procedure_code"] == procedure:
            return False
    return True


def rule_r7_waited(coverage: Row, benefit: Row, sd: dt.date) -> bool:
    """R7: sd is at least waiting_period_days after the coverage's effective date."""
    return (sd - coverage["effective_date"]).days >= int(benefit["waiting_period_days"])


def age_on(date_of_birth: dt.date, day: dt.date) -> int:
    """Whole years on ``day``; a 29 February birthday is reached on 1 March in other years."""
    before_birthday = (day.month, day.day) < (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - int(before_birthday)


def rule_r8_age(member: Row, benefit: Row, sd: dt.date) -> bool:
    """R8 (I8): age on sd within [age_limit_min, age_limit_max]; unknown age fails any bound."""
    low, high = benefit["age_limit_min"], benefit["age_limit_max"]
    if low is None and high is None:
        return True
    if member["date_of_birth"] is None:
        return False
    age = age_on(member["date_of_birth"], sd)
    return (low is None or age >= low) and (high is None or age <= high)


def rule_r9_preauth(authorizations: list[Row], provider_id: str, sd: dt.date) -> str:
    """R9 (I9): 'approved' if an approved authorization matches, else 'pending' if a pending
    one does, else 'missing'. Matching: provider null or the claim's, valid on sd."""
    matching = [
        a
        for a in authorizations
        if (a["provider_id"] is None or a["provider_id"] == provider_id)
        and _in_period(sd, a["valid_from"], a["valid_to"])
    ]
    if any(a["status"] == "approved" for a in matching):
        return "approved"
    if any(a["status"] == "pending" for a in matching):
        return "pending"
    return "missing"


# --------------------------------------------------------------------------------------------
# Amount steps (pure functions of one line, or of one line and a running total)
# --------------------------------------------------------------------------------------------


def step_a1_in_network(contracts: list[Row], sd: dt.date) -> bool:
    """A1: an active in-network contract of the provider covers sd."""
    return any(
        c["status"] == "active"
        and c["network_status"] == "in_network"
        and _in_period(sd, c["effective_date"], c["termination_date"])
        for c in contracts
    )


def step_a2_allowed(
    charged: int, quantity: int, in_network: bool, fees: list[Row], sd: dt.date
) -> int:
    """A2 (I13): in network with a fee row active on sd (latest effective date, then the lowest
    fee): min(charged, fee × quantity); otherwise the charge."""
    active = [f for f in fees if _in_period(sd, f["effective_date"], f["expiration_date"])]
    if not in_network or not active:
        return charged
    latest = max(f["effective_date"] for f in active)
    fee = min(int(f["allowed_cents"]) for f in active if f["effective_date"] == latest)
    return min(charged, fee * quantity)


def step_a2_covered_part(allowed: int, covered_days: int, quantity: int) -> int:
    """A2 with R11's proration: allowed × covered_days / quantity, half-up (I13)."""
    if covered_days == quantity:
        return allowed
    return _half_up(allowed * covered_days, quantity)


def step_a4_copay(copay_amount: int, allowed: int, deductible: int) -> int:
    """A4 (I15): the copay, at most what is left after the deductible."""
    return min(copay_amount, allowed - deductible)


def step_a5_coinsurance(allowed: int, deductible: int, copay: int, coinsurance_bp: int) -> int:
    """A5: (allowed − deductible − copay) × coinsurance %, half-up to the cent."""
    return _half_up((allowed - deductible - copay) * coinsurance_bp, F.FULL_BP)


def step_a6_network(base: int, network_bp: int) -> tuple[int, int]:
    """A6: the plan's share of base at the network percentage, and the member's rest."""
    plan = _half_up(base * network_bp, F.FULL_BP)
    return plan, base - plan


def step_a7_take_off(
    removed: int, coinsurance: int, copay: int, deductible: int
) -> tuple[int, int, int]:
    """A7: what the out-of-pocket cap removes comes off coinsurance, then copay, then
    deductible; returns the three after it."""
    from_coinsurance = min(removed, coinsurance)
    removed -= from_coinsurance
    from_copay = min(removed, copay)
    removed -= from_copay
    return coinsurance - from_coinsurance, copay - from_copay, deductible - removed


def oop_max_of_plan(cost_sharing: list[Row], sd: dt.date) -> int | None:
    """A7 (I16): the oop_max of the plan's cost-sharing row active on sd: latest effective
    date, then the lowest maximum (no maximum counts as the highest); None when there is none."""
    active = [r for r in cost_sharing if _in_period(sd, r["effective_date"], r["expiration_date"])]
    if not active:
        return None
    latest = max(r["effective_date"] for r in active)
    maxima = [r["oop_max_cents"] for r in active if r["effective_date"] == latest]
    known = [int(m) for m in maxima if m is not None]
    return min(known) if known else None


def reason_of_adjustments(adjustments: list[tuple[str, int]]) -> str | None:
    """I18: the name of the largest adjustment (first wins a tie), None when all are zero."""
    best_name, best = None, 0
    for name, amount in adjustments:
        if amount > best:
            best_name, best = name, amount
    return best_name


# --------------------------------------------------------------------------------------------
# The batch
# --------------------------------------------------------------------------------------------


def _batch_order_key(batch: _Batch, line: Row) -> tuple[Any, ...]:
    """I1: (member, service_date, submission, claim_number, claim_id, line_number, line_id)."""
    claim = batch.claims[line["claim_id"]]
    return (
        claim["member_id"],
        claim["service_date"],
        claim["submission_instant"],
        claim["claim_number"],
        claim["claim_id"],
        line["line_number"],
        line["line_id"],
    )


def _pass1_rules(batch: _Batch, ordered: list[Row]) -> dict[str, _Outcome]:
    """R1–R9 for every line in batch order; pending authorizations are only flagged here."""
    outcomes: dict[str, _Outcome] = {}
    seen: set[tuple[Any, ...]] = set()  # R4 keys of earlier lines that passed R1–R3
    for line in ordered:
        out = _Outcome()
        outcomes[line["line_id"]] = out
        claim = batch.claims[line["claim_id"]]
        sd = claim["service_date"]
        member_id = claim["member_id"]
        member = batch.members.get(member_id)
        out.in_network = step_a1_in_network(batch.contracts.get(claim["provider_id"], []), sd)
        if not rule_r1_valid(line, claim, line["claim_id"] in batch.unstorable):
            out.reject(F.INVALID_CLAIM)
            continue
        if not rule_r2_eligible(member, sd):
            out.reject(F.MEMBER_NOT_ELIGIBLE)
            continue
        assert member is not None
        coverage, why_not = rule_r3_coverage(batch.coverages.get(member_id, []), sd)
        if coverage is None:
            out.reject(why_not or F.COVERAGE_TERMINATED)
            continue
        out.coverage = coverage
        key = duplicate_key(claim, line)
        duplicate = key in seen or key in batch.prior_keys
        seen.add(key)
        if duplicate:
            out.reject(F.DUPLICATE)
            continue
        benefit = batch.benefits.get((coverage["plan_id"], line["benefit_code"]))
        if benefit is None or not rule_r5_benefit(benefit, sd):
            out.reject(F.BENEFIT_NOT_COVERED)
            continue
        out.benefit = benefit
        if not rule_r6_not_excluded(batch.exclusions.get(coverage["plan_id"], []), line, sd):
            out.reject(F.EXCLUDED)
            continue
        if not rule_r7_waited(coverage, benefit, sd):
            out.reject(F.WAITING_PERIOD)
            continue
        if not rule_r8_age(member, benefit, sd):
            out.reject(F.AGE_LIMIT)
            continue
        if bool(benefit["requires_preauth"]):
            auth = rule_r9_preauth(
                batch.authorizations.get((member_id, line["benefit_code"]), []),
                claim["provider_id"],
                sd,
            )
            if auth == "pending":
                out.pending = True
            elif auth == "missing":
                out.reject(F.PREAUTH_MISSING)
    return outcomes


def _pend_claims(ordered: list[Row], outcomes: dict[str, _Outcome]) -> set[str]:
    """R9 (I9): a claim with a pending authorization on a line that passed R1–R8 is pended
    whole; returns the pended claim ids."""
    pended = {line["claim_id"] for line in ordered if outcomes[line["line_id"]].pending}
    for line in ordered:
        if line["claim_id"] in pended:
            out = outcomes[line["line_id"]]
            out.status, out.reason = F.PENDED, F.PREAUTH_PENDING
    return pended


@dataclass
class _Running:
    """The running totals of pass 2, one family per rule or step."""

    visits: dict[tuple[Any, ...], tuple[str, int]] = field(default_factory=dict)  # last, rank
    days: RunningTotals = field(default_factory=RunningTotals)  # R11
    deductible: RunningTotals = field(default_factory=RunningTotals)  # A3
    oop: RunningTotals = field(default_factory=RunningTotals)  # A7
    incident: RunningTotals = field(default_factory=RunningTotals)  # A8
    annual: RunningTotals = field(default_factory=RunningTotals)  # A9
    lifetime: RunningTotals = field(default_factory=RunningTotals)  # A10

    def visit_rank(self, group: tuple[Any, ...], claim_id: str) -> int:
        """R10 (I10): the claim's dense rank among the surviving claims of the group."""
        last_claim, rank = self.visits.get(group, (None, 0))
        if last_claim != claim_id:
            rank += 1
        self.visits[group] = (claim_id, rank)
        return rank


def _amounts_of_line(
    batch: _Batch, running: _Running, line: Row, claim: Row, out: _Outcome
) -> None:
    """R10, R11 and A2–A10 for one line that passed R1–R9, in batch order."""
    assert out.benefit is not None and out.coverage is not None
    benefit = out.benefit
    member_id, code = claim["member_id"], line["benefit_code"]
    sd = claim["service_date"]
    year = sd.year
    group = (member_id, code, year)

    # R10: visits_used + the claim's rank ≤ visit_limit.
    rank = running.visit_rank(group, claim["claim_id"])
    visit_limit = benefit["visit_limit"]
    if (
        visit_limit is not None
        and batch.accumulator(member_id, code, year, "visits_used") + rank > visit_limit
    ):
        out.reject(F.VISIT_LIMIT_EXCEEDED)
        return

    # R11: covered days under the running day total.
    quantity = int(line["quantity"])
    days_left = _remaining(
        _within_column(benefit["day_limit"], F.MAX_QUANTITY),
        batch.accumulator(member_id, code, year, "days_used"),
    )
    covered_days = running.days.keep(group, days_left, quantity)
    if covered_days == 0:
        out.reject(F.DAY_LIMIT_EXCEEDED)
        return

    # A2: allowed, and the covered part under R11.
    charged = int(line["charged_cents"])
    fees = (
        batch.fees.get((claim["provider_id"], line["procedure_code"]), [])
        if line["procedure_code"] is not None
        else []
    )
    allowed = step_a2_allowed(charged, quantity, out.in_network, fees, sd)
    covered = step_a2_covered_part(allowed, covered_days, quantity)
    limit = allowed - covered

    # A3–A6 (I14: the deductible's running total is over pre-A7 amounts).
    deductible_left = _remaining(
        int(benefit["deductible_cents"]),
        batch.accumulator(member_id, code, year, "deductible_used_cents"),
    )
    deductible = running.deductible.keep(group, deductible_left, covered)
    copay = step_a4_copay(int(benefit["copay_cents"]), covered, deductible)
    coinsurance = step_a5_coinsurance(covered, deductible, copay, int(benefit["coinsurance_bp"]))
    network_bp = int(benefit["in_network_bp"] if out.in_network else benefit["out_network_bp"])
    plan, network_reduction = step_a6_network(
        covered - deductible - copay - coinsurance, network_bp
    )

    # A7: out-of-pocket cap per (member, year) over all benefits; the rest moves to the plan.
    oop_max = oop_max_of_plan(batch.cost_sharing.get(out.coverage["plan_id"], []), sd)
    oop_left = _remaining(
        _within_column(oop_max, F.MAX_CENTS), batch.oop_used_all_benefits(member_id, year)
    )
    cost_share = deductible + copay + coinsurance
    kept = running.oop.keep((member_id, year), oop_left, cost_share)
    removed = cost_share - kept
    coinsurance, copay, deductible = step_a7_take_off(removed, coinsurance, copay, deductible)
    plan += removed

    # A8–A10: the plan's running totals under the incident, annual and lifetime limits (I17).
    incident_capped = running.incident.keep(
        (claim["claim_id"], code), benefit["incident_limit_cents"], plan
    )
    annual_capped = running.annual.keep(
        group,
        _remaining(
            _within_column(benefit["annual_limit_cents"], F.MAX_CENTS),
            batch.accumulator(member_id, code, year, "amount_used_cents"),
        ),
        incident_capped,
    )
    lifetime_capped = running.lifetime.keep(
        (member_id, code),
        _remaining(benefit["lifetime_limit_cents"], batch.used_all_years(member_id, code)),
        annual_capped,
    )
    limit += plan - lifetime_capped

    out.covered_days = covered_days
    out.allowed = allowed
    out.deductible, out.copay, out.coinsurance = deductible, copay, coinsurance
    out.network_reduction, out.limit, out.approved, out.oop = (
        network_reduction,
        limit,
        lifetime_capped,
        kept,
    )
    out.member_responsibility = (allowed if out.in_network else charged) - lifetime_capped
    out.reason = reason_of_adjustments(
        [
            (F.DEDUCTIBLE, deductible),
            (F.COPAY, copay),
            (F.COINSURANCE, coinsurance),
            (F.FEE_SCHEDULE, charged - allowed if out.in_network else 0),
            (F.NETWORK_REDUCTION, network_reduction),
            (F.LIMIT_REACHED, limit),
        ]
    )


def _pass2_amounts(batch: _Batch, ordered: list[Row], outcomes: dict[str, _Outcome]) -> None:
    """R10, R11 and A2–A10 over the lines still approved (not pended, not rejected)."""
    running = _Running()
    for line in ordered:
        out = outcomes[line["line_id"]]
        if out.status == F.APPROVED:
            _amounts_of_line(batch, running, line, batch.claims[line["claim_id"]], out)


def _charge_rejected_lines(batch: _Batch, outcomes: dict[str, _Outcome]) -> None:
    """I19: the member owes a rejected line's (storable, non-negative) charge, nothing else;
    I22: nothing of a claim whose charges cannot be stored together."""
    for line in batch.lines:
        out = outcomes[line["line_id"]]
        if out.status == F.REJECTED:
            charged = int(line["charged_cents"])
            storable = 0 <= charged <= F.MAX_CENTS and line["claim_id"] not in batch.unstorable
            out.member_responsibility = charged if storable else 0


def adjudicate_reference(inp: EngineInput, *, timezone: str = F.BUSINESS_TIMEZONE) -> EngineResult:
    """Adjudicate a batch line by line; the oracle the vectorised engine is tested against.
    ``timezone``: where a submission instant is a calendar day (I21)."""
    inp.validate()
    batch = _Batch(inp, timezone)
    ordered = sorted(batch.lines, key=lambda line: _batch_order_key(batch, line))
    outcomes = _pass1_rules(batch, ordered)
    _pend_claims(ordered, outcomes)
    _pass2_amounts(batch, ordered, outcomes)
    _charge_rejected_lines(batch, outcomes)

    line_rows = [_line_result(batch, line, outcomes[line["line_id"]]) for line in batch.lines]
    claim_rows = [_claim_result(batch, claim, outcomes) for claim in batch.claims.values()]
    return EngineResult(
        lines=F.make_line_result({c: [r[c] for r in line_rows] for c in F.LINE_RESULT_COLUMNS}),
        claims=F.make_claim_result({c: [r[c] for r in claim_rows] for c in F.CLAIM_RESULT_COLUMNS}),
    )


def _line_result(batch: _Batch, line: Row, out: _Outcome) -> Row:
    """One row of the ``lines`` output."""
    return {
        "line_id": line["line_id"],
        "claim_id": line["claim_id"],
        "status": out.status,
        "reason_code": out.reason,
        "coverage_id": out.coverage["coverage_id"] if out.coverage else None,
        "plan_id": out.coverage["plan_id"] if out.coverage else None,
        "in_network": out.in_network,
        "allowed_cents": out.allowed,
        "deductible_cents": out.deductible,
        "copay_cents": out.copay,
        "coinsurance_cents": out.coinsurance,
        "network_reduction_cents": out.network_reduction,
        "limit_cents": out.limit,
        "approved_cents": out.approved,
        "member_responsibility_cents": out.member_responsibility,
        "oop_cents": out.oop,
        "covered_days": out.covered_days,
        "year": batch.claims[line["claim_id"]]["service_date"].year,
    }


def _claim_result(batch: _Batch, claim: Row, outcomes: dict[str, _Outcome]) -> Row:
    """Roll a claim's lines up: sums, and a status from the line statuses (I20)."""
    lines = sorted(
        batch.lines_of_claim.get(claim["claim_id"], []),
        key=lambda line: (line["line_number"], line["line_id"]),
    )
    results = [outcomes[line["line_id"]] for line in lines]
    statuses = {r.status for r in results}
    first_rejected = next((r.reason for r in results if r.status == F.REJECTED), None)
    status: str
    reason: str | None
    if not lines:
        status, reason = F.REJECTED, F.INVALID_CLAIM
    elif F.PENDED in statuses:
        status, reason = F.PENDED, F.PREAUTH_PENDING
    elif statuses == {F.REJECTED}:
        status, reason = F.REJECTED, first_rejected
    elif statuses == {F.APPROVED}:
        status, reason = F.APPROVED, None
    else:
        status, reason = F.PARTIALLY_APPROVED, first_rejected
    return {
        "claim_id": claim["claim_id"],
        "status": status,
        "reason_code": reason,
        # I22: clamped to what DECIMAL(15,2) holds (only an unstorable claim gets there)
        "total_charged_cents": max(
            -F.MAX_CENTS, min(F.MAX_CENTS, sum(int(line["charged_cents"]) for line in lines))
        ),
        "total_approved_cents": sum(r.approved for r in results),
        "member_responsibility_cents": sum(r.member_responsibility for r in results),
    }
