"""The figures bench/soak.py reports, computed by small functions tested here: the intake's
shaped rate, latency percentiles, whether a backlog stays bounded, database growth, and the
verdict of the comparison with the clean replay."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from bench.chaos import Outcome
from bench.soak import (
    BURST,
    PEAK,
    REFUSED_KINDS,
    backlog_bounded,
    bad_dates,
    growth_per_hour,
    percentiles,
    quiet_multiple,
    rate_multiple,
    replay_verdict,
    used_beyond_replay,
)
from claims_askes.adjudication.intake import IntakeError, validated


def test_the_shaped_rate_averages_to_the_rate_with_a_peak_and_bursts() -> None:
    total = 600.0
    samples = [rate_multiple(t / 10, total) for t in range(int(total * 10))]
    assert sum(samples) / len(samples) == pytest.approx(1.0, abs=0.01)
    assert rate_multiple(0.25 * total, total) == PEAK  # the Monday-morning peak
    assert rate_multiple(61.0, total) == BURST  # a burst at the start of each minute
    assert rate_multiple(90.0, total) == pytest.approx(quiet_multiple())
    assert 0 < quiet_multiple() < 1


def test_percentiles_are_observed_values_by_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    random.Random(1).shuffle(values)
    assert percentiles(values) == {"p50": 50.0, "p95": 95.0, "p99": 99.0, "max": 100.0}
    assert percentiles([3.0]) == {"p50": 3.0, "p95": 3.0, "p99": 3.0, "max": 3.0}
    assert percentiles([]) == {}
    skewed = [1.0] * 98 + [40.0, 500.0]
    assert percentiles(skewed)["p99"] == 40.0 and percentiles(skewed)["max"] == 500.0


def sawtooth(n: int, top: int, grow: int = 0) -> list[tuple[float, int]]:
    """A backlog filled for five samples then drained, `grow` more each tooth."""
    return [(float(i), (i % 6) * top // 5 + (i // 6) * grow) for i in range(n)]


def test_a_sawtooth_backlog_is_bounded_a_growing_one_is_not() -> None:
    assert backlog_bounded(sawtooth(120, 1000), slack=100)
    # a peak early on, then the usual sawtooth: bounded
    peaked = [(t, n * 3 if t < 30 else n) for t, n in sawtooth(120, 1000)]
    assert backlog_bounded(peaked, slack=100)
    # the runs fall behind: every tooth higher than the last
    assert not backlog_bounded(sawtooth(120, 1000, grow=200), slack=100)
    # a backlog that never drains at the end
    stuck = sawtooth(120, 1000)[:-10] + [(float(200 + i), 2000) for i in range(10)]
    assert not backlog_bounded(stuck, slack=100)
    assert not backlog_bounded([(0.0, 0), (1.0, 0)], slack=0)  # too few samples to tell


def test_growth_per_hour() -> None:
    assert growth_per_hour(100 * 2**20, 110 * 2**20, 600) == pytest.approx(60.0)
    assert growth_per_hour(0, 2**20, 0) == 0.0


def outcome(accumulator: int, version: int = 1) -> Outcome:
    return {
        "claims": {("CLM-1",): ("approved", 100), ("CLM-2",): ("rejected", 0)},
        "lines": {("CLM-1", 1): ("approved", 100), ("CLM-2", 1): ("rejected", 0)},
        "accumulators": {("m1", "OP_GP", 2026): (accumulator,)},
        "versions": {("CLM-1",): (version,), ("CLM-2",): (1,)},
        "ledger": {("line-1",): (1,)},
    }


def test_the_replay_verdict_counts_lost_duplicated_different() -> None:
    assert replay_verdict(outcome(100), outcome(100)).clean
    twice = replay_verdict(outcome(100), outcome(100, version=2))
    assert (twice.duplicated, twice.clean) == (1, False)
    more = replay_verdict(outcome(100), outcome(200))
    assert (more.different, more.accumulators_equal, more.clean) == (1, False, False)
    missing = outcome(100)
    del missing["claims"][("CLM-2",)]
    assert replay_verdict(outcome(100), missing).lost == 1


def test_accumulators_used_beyond_the_replay_are_counted_with_the_excess() -> None:
    assert used_beyond_replay(outcome(100), outcome(100)) == (0, Decimal("0"))
    assert used_beyond_replay(outcome(100), outcome(90)) == (0, Decimal("0"))  # less: not over
    over = outcome(100)
    over["accumulators"][("m2", "DENTAL", 2026)] = (Decimal("25.50"),)  # not in the replay
    over["accumulators"][("m1", "OP_GP", 2026)] = (Decimal("130.00"),)
    assert used_beyond_replay(outcome(100), over) == (2, Decimal("55.50"))


def template() -> dict[str, object]:
    return {
        "member_id": "8f9b5f0e-0000-4000-8000-000000000001",
        "provider_id": "8f9b5f0e-0000-4000-8000-000000000002",
        "policy_id": "8f9b5f0e-0000-4000-8000-000000000003",
        "claim_type": "cashless",
        "service_type": "outpatient",
        "service_date": "2026-12-05",
        "admission_date": None,
        "discharge_date": None,
        "lines": [{"benefit_code": "OP_GP", "charged_amount": "150000.00"}],
    }


@pytest.mark.parametrize(("field", "make"), REFUSED_KINDS)
def test_each_malformed_claim_of_the_soak_is_refused_naming_its_field(
    field: str, make: object
) -> None:
    validated(template())  # the template itself passes
    with pytest.raises(IntakeError, match=field):
        validated(make(template()))  # type: ignore[operator]


def test_the_soak_s_bad_dates_pass_the_door_for_r1_to_reject() -> None:
    claim = validated(bad_dates(template()))
    assert claim.discharge_date is not None and claim.admission_date is not None
    assert claim.discharge_date < claim.admission_date
