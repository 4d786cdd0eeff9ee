"""The vectorised engine equals the line-by-line reference on random batches.

The generators draw from small pools of ids, dates and amounts on purpose: collisions are what
exercise the rules (duplicates, overlapping coverages, limits hit halfway through a line, a 29
February birthday on a leap day, a plan change inside a year, lines of one claim that share a
benefit…). Every output column of both frames must be equal, exactly.

Two worlds are drawn. :func:`any_batch` is hostile: several members, malformed lines, unknown
members, every rule often failing. :func:`one_member_many_lines` is calm: one well-formed
member whose lines mostly pass R1–R9, so that the running totals (R10, R11, A3, A7–A10) see
long sequences. Each run is derandomized (the same examples every time, so a failure
reproduces) and prints the ``@reproduce_failure`` blob of a failing example.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claims_askes.adjudication import EngineResult, adjudicate, invalid_claim_details
from claims_askes.adjudication import frames as F
from claims_askes.adjudication.reference import adjudicate_reference
from tests.engine_factories import Batch

# Server-independent: not run again in the PostgreSQL 15 pass of dev.py test.
pytestmark = pytest.mark.no_server

DATES = [
    "2023-01-01",
    "2023-12-31",
    "2024-01-01",
    "2024-02-28",
    "2024-02-29",
    "2024-03-01",
    "2024-06-15",
    "2024-12-31",
    "2025-01-01",
    "2025-02-28",
    "2025-03-01",
]
MEMBERS = ["M0", "M1", "M2"]
PLANS = ["PA", "PB"]
PROVIDERS = ["P0", "P1", "P2"]
BENEFITS = ["B1", "B2", "B3"]
PROCEDURES = ["X1", "X2"]
DIAGNOSES = ["A01", "A0", "B12", "C"]
#: Waiting periods in days. From the usual coverage start 2020-01-01, 1 461 days end on
#: 2024-01-01, 1 520 on the leap day 2024-02-29 and 1 800 on 2024-12-05: among the claims.
WAITING_PERIODS = [1, 60, 365, 1_461, 1_520, 1_800]

SETTINGS = settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Every claim status and every line reason the engine can emit (None: approved as billed).
CLAIM_STATUSES = {F.APPROVED, F.PARTIALLY_APPROVED, F.REJECTED, F.PENDED}
LINE_REASONS: set[str | None] = {
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
    None,
}


def maybe(
    strategy: st.SearchStrategy[Any], null_weight: int = 1, value_weight: int = 2
) -> st.SearchStrategy[Any]:
    """``strategy`` or None, None drawn about null_weight / (null + value) of the time.

    The value comes first: hypothesis favours the first branch as the "simplest", and the
    generators want mostly well-formed, rule-passing rows with the odd exception.
    """
    present = st.sampled_from([True] * value_weight + [False] * null_weight)
    return present.flatmap(lambda p: strategy if p else st.none())


def usually(common: Any, *rare: Any, weight: int = 4) -> st.SearchStrategy[Any]:
    """``common`` about weight / (weight + len(rare)) of the time, else one of ``rare``."""
    return st.sampled_from([common] * weight + list(rare))


def one_in(n: int) -> st.SearchStrategy[bool]:
    """True about once in ``n`` draws."""
    return usually(False, True, weight=n - 1)


@dataclass(frozen=True)
class World:
    """How often a generated world breaks each rule: a field n makes it happen about once in
    n draws of the thing it is about (a member, a benefit, a batch)."""

    late_joiner: int  # a member whose coverages all start among the claims' dates (R3, R7)
    ended_coverage: int  # a coverage with an end date (R3)
    preauth: int  # a benefit that requires an authorization (R9)
    visit_limit: int  # a benefit with a visit limit (R10)
    day_limit: int  # a benefit with a day limit (R11)
    waiting_period: int  # a benefit with a waiting period (R7)
    age_bound: int  # each age bound of a benefit (R8)
    exclusions: int  # a batch with exclusions (R6)
    expired_benefit: int  # a benefit with an expiration date (R5)


#: Several members, every rule often failing: R1–R9 and the claim roll-up.
HOSTILE = World(
    late_joiner=4,
    ended_coverage=6,
    preauth=3,
    visit_limit=2,
    day_limit=2,
    waiting_period=3,
    age_bound=7,
    exclusions=2,
    expired_benefit=11,
)
#: One member whose lines mostly reach R10, R11 and the amounts: the running totals.
CALM = World(
    late_joiner=8,
    ended_coverage=12,
    preauth=5,
    visit_limit=3,
    day_limit=2,
    waiting_period=5,
    age_bound=20,
    exclusions=6,
    expired_benefit=30,
)


dates = st.sampled_from(DATES)
#: a start date: mostly long ago, so that most lines get past R2/R3/R5 and reach the amounts
starts = usually("2020-01-01", *DATES, weight=len(DATES) * 10)
#: an end date: mostly open
ends = maybe(dates, null_weight=5, value_weight=1)
small_limits = st.sampled_from([0, 1, 500, 2_000, 5_000, 12_345, 30_000])

#: Cost-sharing profiles of a benefit: one kind of share alone makes its reason code the
#: largest adjustment; "mixed" draws every kind at once (the interplay of A3–A7).
PROFILES = ["mixed", "mixed", "mixed", "none", "deductible", "copay", "coinsurance", "network"]


@st.composite
def cost_shares(draw: st.DrawFn) -> dict[str, int]:
    """deductible, copay, coinsurance and network percentages of one plan_benefit row."""
    profile = draw(st.sampled_from(PROFILES))
    mixed = profile == "mixed"
    shares = dict(
        deductible_cents=0,
        copay_cents=0,
        coinsurance_bp=0,
        in_network_bp=10_000,
        out_network_bp=10_000,
    )
    if mixed or profile == "deductible":
        shares["deductible_cents"] = draw(
            st.sampled_from(([0, 0] if mixed else []) + [1, 1_000, 3_000, 10_000])
        )
    if mixed or profile == "copay":
        shares["copay_cents"] = draw(st.sampled_from(([0, 0] if mixed else []) + [1, 250, 2_000]))
    if mixed or profile == "coinsurance":
        shares["coinsurance_bp"] = draw(
            st.sampled_from(([0, 0] if mixed else []) + [1, 1_000, 2_000, 3_333, 5_000, 10_000])
        )
    if mixed or profile == "network":
        shares["in_network_bp"] = draw(st.sampled_from([10_000, 10_000, 9_000, 8_750, 3_333]))
        shares["out_network_bp"] = draw(st.sampled_from([8_000, 5_000, 0, 3_333, 10_000]))
    return shares


@st.composite
def plan_benefit(draw: st.DrawFn, plan_id: str, benefit_code: str, world: World) -> dict[str, Any]:
    """A plan_benefit row with every kind of limit, share and rule, each often absent."""
    return dict(
        plan_id=plan_id,
        benefit_code=benefit_code,
        is_active=draw(usually(True, False, weight=19)),
        effective_date=draw(starts),
        expiration_date=draw(maybe(dates, null_weight=world.expired_benefit - 1, value_weight=1)),
        annual_limit_cents=draw(maybe(small_limits)),
        incident_limit_cents=draw(maybe(small_limits)),
        lifetime_limit_cents=draw(maybe(small_limits, null_weight=2, value_weight=1)),
        day_limit=draw(maybe(st.integers(0, 5), world.day_limit - 1, 1)),
        visit_limit=draw(maybe(st.integers(0, 3), world.visit_limit - 1, 1)),
        **draw(cost_shares()),
        requires_preauth=draw(one_in(world.preauth)),
        waiting_period_days=draw(st.sampled_from(WAITING_PERIODS))
        if draw(one_in(world.waiting_period))
        else 0,
        age_limit_min=draw(maybe(st.sampled_from([18, 19, 20, 24]), world.age_bound - 1, 1)),
        age_limit_max=draw(maybe(st.sampled_from([19, 20, 23, 24, 60]), world.age_bound - 1, 1)),
    )


def first_of_each(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """The rows with the first occurrence of each value of ``key`` (ids must be unique)."""
    kept: dict[Any, dict[str, Any]] = {}
    for row in rows:
        kept.setdefault(row[key], row)
    return list(kept.values())


@st.composite
def reference_data(
    draw: st.DrawFn, members: list[str], plans: list[str], world: World = HOSTILE
) -> Batch:
    """Members, coverages, providers, benefits, exclusions, cost sharing, accumulators,
    authorizations and prior lines for ``members`` and ``plans``."""
    b = Batch()
    for m in members:
        b.member(
            m,
            date_of_birth=draw(
                maybe(
                    st.sampled_from(["2000-02-29", "1990-06-15", "2004-03-01", "2005-02-28"]), 1, 12
                )
            ),
            status=draw(usually("active", "suspended", "terminated", weight=12)),
            enrollment_date=draw(maybe(starts, 1, 30)),
            termination_date=draw(maybe(dates, null_weight=8, value_weight=1)),
        )
    coverage_ids = iter(f"CV{i}" for i in range(100))
    for m in members:
        # a late joiner's coverages all start among the claims' dates: R3's
        # COVERAGE_NOT_STARTED, and R7's waiting periods ending between two claims
        late_joiner = draw(one_in(world.late_joiner))
        for _ in range(draw(usually(1, 0, 2, 3, weight=8))):
            b.coverage(
                next(coverage_ids) if draw(st.booleans()) else f"CZ{draw(st.integers(0, 99))}",
                m,
                draw(st.sampled_from(plans)),
                effective_date=draw(dates if late_joiner else starts),
                termination_date=draw(dates) if draw(one_in(world.ended_coverage)) else None,
                status=draw(usually("active", "terminated", "cancelled", weight=10)),
            )
    b.coverages = first_of_each(b.coverages, "coverage_id")
    for p in PROVIDERS:
        for _ in range(draw(usually(1, 0, 2, weight=3))):
            b.contract(
                p,
                network_status=draw(usually("in_network", "out_of_network", weight=2)),
                effective_date=draw(starts),
                termination_date=draw(ends),
                status=draw(usually("active", "terminated", weight=5)),
            )
    for _ in range(draw(st.integers(0, 6))):
        b.fee(
            draw(st.sampled_from(PROVIDERS)),
            draw(st.sampled_from(PROCEDURES)),
            draw(st.sampled_from([0, 1, 700, 1_000, 3_000])),
            effective_date=draw(starts),
            expiration_date=draw(ends),
        )
    for plan in plans:
        for code in BENEFITS:
            if draw(usually(True, False, weight=19)):
                b.plan_benefits.append(draw(plan_benefit(plan, code, world)))
    for _ in range(draw(st.integers(1, 3)) if draw(one_in(world.exclusions)) else 0):
        b.exclusion(
            draw(st.sampled_from(plans)),
            benefit_code=draw(maybe(st.sampled_from(BENEFITS))),
            diagnosis_code_prefix=draw(maybe(st.sampled_from(["", "A", "A0", "B1"]))),
            procedure_code=draw(maybe(st.sampled_from(PROCEDURES))),
            effective_date=draw(starts),
            expiration_date=draw(ends),
        )
    for _ in range(draw(st.integers(0, 3))):
        b.oop_max(
            draw(st.sampled_from(plans)),
            draw(maybe(small_limits, 1, 3)),
            effective_date=draw(starts),
            expiration_date=draw(ends),
        )
    for m in members:
        for code in BENEFITS:
            for year in (2023, 2024, 2025):
                if draw(usually(False, True, weight=3)):
                    b.accumulator(
                        m,
                        code,
                        year,
                        # now and then nearly full columns (I22's caps)
                        amount_used_cents=draw(
                            usually(0, 1, 1_000, 10_000, F.MAX_CENTS - 2_000, weight=12)
                        ),
                        deductible_used_cents=draw(st.sampled_from([0, 500, 3_000])),
                        oop_used_cents=draw(
                            usually(0, 100, 2_000, 10_000, F.MAX_CENTS - 1_000, weight=12)
                        ),
                        visits_used=draw(st.integers(0, 3)),
                        days_used=draw(usually(0, 1, 2, 3, 4, F.MAX_QUANTITY - 3, weight=12)),
                    )
    for m in members:
        for code in BENEFITS:
            for _ in range(draw(usually(0, 1, 2, weight=2))):
                b.authorization(
                    m,
                    code,
                    status=draw(st.sampled_from(["approved", "pending", "pending", "denied"])),
                    provider_id=draw(maybe(st.sampled_from(PROVIDERS), 1, 1)),
                    valid_from=draw(starts),
                    valid_to=draw(maybe(dates, 2, 1)),
                )
    return b


@st.composite
def claims_into(
    draw: st.DrawFn,
    b: Batch,
    members: list[str],
    claims: tuple[int, int],
    max_lines: int,
    malformed: bool,
) -> Batch:
    """Add claims with lines (some malformed when ``malformed``) to ``b``, in random input
    order, with claim numbers and submission times that sometimes tie; ``claims`` is the
    (min, max) number of claims."""
    n_claims = draw(st.integers(*claims))
    numbers = draw(st.permutations(list(range(n_claims))))
    bad = 1 if malformed else 0  # weight of the malformed choices
    for k in range(n_claims):
        claim: dict[str, Any] = dict(
            claim_id=f"K{k}",
            claim_number=f"N{numbers[k] % max(1, n_claims - 1)}",
            member_id=draw(st.sampled_from(members * 8 + (["M9"] if malformed else []))),
            provider_id=draw(st.sampled_from(PROVIDERS)),
            # I23: a provider the registry does not know, now and then
            provider_known=draw(usually(True, False, weight=12)) if malformed else True,
            # I24: submitted after the batch's clock, now and then
            submitted_in_future=draw(usually(False, True, weight=12)) if malformed else False,
            claim_type="cashless",
            # I21: a service in the far future, now and then
            service_date=draw(st.sampled_from(DATES * 2 + ["2090-01-01"]) if malformed else dates),
        )
        if b.claims and draw(usually(False, True, weight=3)):
            # same member, provider and day as an earlier claim: duplicates, incidents, ties
            earlier = draw(st.sampled_from(b.claims))
            claim.update({k: earlier[k] for k in ("member_id", "provider_id", "service_date")})
        day = dt.date.fromisoformat(claim["service_date"])
        # naive instants are UTC: -1 h is still the service day in Jakarta, -8 h and -24 h
        # are the day before (I21); malformed claims may be submitted on a day of their own
        hours = draw(
            st.sampled_from([0, 1, 1, 30] * 3 + ([-1, -8, -24, None] if malformed else []))
        )
        claim["submission_date"] = (
            dt.datetime(2024, 6, 15, 10)
            if hours is None
            else dt.datetime(day.year, day.month, day.day) + dt.timedelta(hours=hours)
        )
        admission = draw(maybe(dates, 25, bad)) if malformed else None
        claim["admission_date"] = admission
        claim["discharge_date"] = draw(maybe(dates, 1, 1)) if admission else None
        b.claims.append(claim)
        for i in range(draw(st.integers(0 if malformed else 1, max_lines))):
            new_line: dict[str, Any] = dict(
                line_id=f"K{k}-{i}",
                claim_id=f"K{k}",
                line_number=draw(usually(i + 1, 1, weight=6)),
                benefit_code=draw(
                    st.sampled_from(BENEFITS * 30 + ([None, "", " ", "B9"] if malformed else []))
                ),
                procedure_code=draw(maybe(st.sampled_from(PROCEDURES))),
                diagnosis_code=draw(maybe(st.sampled_from(DIAGNOSES))),
                quantity=draw(
                    st.sampled_from(
                        ([1] * 6 + [2, 3, 5] * 2) * 6
                        + [F.MAX_QUANTITY]
                        + ([0, -1, 2**31] if malformed else [])
                    )
                ),
                # huge charges (I22): a third of the largest amount (three of them fill an
                # accumulator, four a claim), the largest, beyond it, beyond DECIMAL and int64
                charged_cents=draw(
                    st.sampled_from(
                        [0, 1, 99, 100, 333, 1_000, 2_500, 5_000, 9_999, 20_000] * 10
                        + [F.MAX_CENTS // 3]
                        + (
                            [-5, F.MAX_CENTS, F.MAX_CENTS + 1, 10**18, -(2**63)]
                            if malformed
                            else []
                        )
                    )
                ),
            )
            if b.lines and draw(usually(False, True, weight=4)):
                # the same service billed again (a duplicate when member/provider/day match)
                earlier_line = draw(st.sampled_from(b.lines))
                for column in ("benefit_code", "procedure_code", "diagnosis_code", "charged_cents"):
                    new_line[column] = earlier_line[column]
            b.lines.append(new_line)
    for _ in range(draw(usually(0, 1, 2, weight=2)) if b.lines else 0):
        # a line of an earlier batch, often the twin of one of these lines
        twin = draw(st.sampled_from(b.lines))
        of_claim = next(c for c in b.claims if c["claim_id"] == twin["claim_id"])
        b.prior_line(
            of_claim["member_id"],
            of_claim["provider_id"],
            draw(usually(of_claim["service_date"], *DATES[:2], weight=3)),
            draw(usually(twin["benefit_code"], "B1", weight=3)) or "B1",
            draw(usually(twin["charged_cents"], 0, weight=3)),
            procedure_code=twin["procedure_code"],
        )
    b.claims = draw(st.permutations(b.claims))
    b.lines = draw(st.permutations(b.lines))
    return b


def assert_same(batch: Batch) -> EngineResult:
    """Engine and reference agree on every column of both frames; the engine's result. The
    words of the rejection notes name exactly the lines R1 rejects (pended ones aside)."""
    inp = batch.input()
    engine = adjudicate(inp)
    reference = adjudicate_reference(inp)
    pd.testing.assert_frame_equal(engine.lines, reference.lines)
    pd.testing.assert_frame_equal(engine.claims, reference.claims)
    explained = set(invalid_claim_details(inp).index)
    lines = engine.lines
    invalid = set(lines.loc[lines["reason_code"] == F.INVALID_CLAIM, "line_id"])
    pended = set(lines.loc[lines["status"] == F.PENDED, "line_id"])
    assert invalid <= explained <= invalid | pended, (invalid, explained)
    return engine


def assert_invariants(result: EngineResult) -> None:
    """What must hold whatever the data: amounts add up, nothing negative, statuses agree."""
    lines = result.lines
    approved = lines[lines["status"] == F.APPROVED]
    parts = (
        approved["approved_cents"]
        + approved["deductible_cents"]
        + approved["copay_cents"]
        + approved["coinsurance_cents"]
        + approved["network_reduction_cents"]
        + approved["limit_cents"]
    )
    assert (parts == approved["allowed_cents"]).all()
    assert (
        approved["member_responsibility_cents"]
        == approved["allowed_cents"] - approved["approved_cents"]
    ).all()
    assert (
        approved["oop_cents"]
        == approved["deductible_cents"] + approved["copay_cents"] + approved["coinsurance_cents"]
    ).all()
    amount_columns = [c for c in lines.columns if c.endswith("_cents")]
    assert (lines[amount_columns] >= 0).all().all()
    others = lines[lines["status"] != F.APPROVED]
    zero = [c for c in amount_columns if c != "member_responsibility_cents"]
    assert (others[zero] == 0).all().all()
    assert (lines.loc[lines["status"] == F.PENDED, "member_responsibility_cents"] == 0).all()
    assert set(lines["status"]) <= {F.APPROVED, F.REJECTED, F.PENDED}
    assert lines.loc[lines["status"] != F.APPROVED, "reason_code"].notna().all()


@st.composite
def any_batch(draw: st.DrawFn) -> Batch:
    """Hostile: up to three members, malformed lines and claims, every rule often failing."""
    members = MEMBERS[: draw(st.integers(1, 3))]
    b = draw(reference_data(members, PLANS))
    return draw(claims_into(b, members, claims=(0, 7), max_lines=4, malformed=True))


@st.composite
def one_member_many_lines(draw: st.DrawFn) -> Batch:
    """Calm: one member, one or two plans, many well-formed lines (the running totals)."""
    b = draw(reference_data(["M0"], PLANS[: draw(st.integers(1, 2))], world=CALM))
    b.members = [
        dict(b.members[0], status="active", enrollment_date="2020-01-01", termination_date=None)
    ]
    if draw(one_in(3)):  # a coverage since 2020 besides the drawn ones
        b.coverages.append(
            dict(
                coverage_id="CV-BASE",
                member_id="M0",
                policy_id="POL",
                plan_id="PA",
                effective_date="2020-01-01",
                termination_date=None,
                status="active",
            )
        )
    if draw(one_in(4)):
        # I22: a year whose accumulators are nearly full, and no limit of the plan below
        # them: the columns' own maxima cap the running totals
        year = draw(usually(2024, 2023, 2025, weight=4))  # most claim dates are in 2024
        for row in b.plan_benefits:
            row.update(annual_limit_cents=None, lifetime_limit_cents=None)
        b.cost_sharing = []
        b.accumulators = [a for a in b.accumulators if a["year"] != year]
        room = st.sampled_from([0, 1, 500, 2_000, 5_000])  # what is left in a column
        days_full = draw(st.booleans())
        for i, code in enumerate(BENEFITS):
            b.accumulator(
                "M0",
                code,
                year,
                amount_used_cents=F.MAX_CENTS - draw(room),
                oop_used_cents=F.MAX_CENTS - draw(room) if i == 0 else 0,
                days_used=F.MAX_QUANTITY - draw(st.integers(0, 5)) if days_full else 0,
            )
    return draw(claims_into(b, ["M0"], claims=(3, 10), max_lines=4, malformed=False))


@SETTINGS
@given(any_batch())
def test_engine_equals_reference(batch: Batch) -> None:
    assert_invariants(assert_same(batch))


@SETTINGS
@given(one_member_many_lines())
def test_engine_equals_reference_running_totals(batch: Batch) -> None:
    assert_invariants(assert_same(batch))


def outcomes_of(world: st.SearchStrategy[Batch]) -> tuple[set[str], set[str | None]]:
    """The claim statuses and line reasons the engine gives on a fixed sample of ``world``."""
    statuses: set[str] = set()
    reasons: set[str | None] = set()

    @settings(SETTINGS, max_examples=100)
    @given(world)
    def collect(batch: Batch) -> None:
        result = adjudicate(batch.input())
        statuses.update(result.claims["status"].tolist())
        reasons.update(result.lines["reason_code"].tolist())

    collect()
    return statuses, reasons


def test_generators_reach_every_outcome() -> None:
    """The generators are only useful if they produce every claim status and every line
    reason (guards against a generator change that starves a rule)."""
    hostile_statuses, hostile_reasons = outcomes_of(any_batch())
    calm_statuses, calm_reasons = outcomes_of(one_member_many_lines())
    assert hostile_statuses | calm_statuses == CLAIM_STATUSES
    reasons = hostile_reasons | calm_reasons
    assert reasons == LINE_REASONS, f"never produced: {sorted(map(str, LINE_REASONS - reasons))}"
