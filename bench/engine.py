"""Benchmark of the adjudication engine: ``python bench/engine.py --lines 1600000``.

Builds a large synthetic batch (N lines over about N/4 claims and N/20 members, 20 plans of
10 benefits, 2 000 providers with fee schedules, accumulators, authorizations and earlier
lines), cuts it into chunks of whole members the way the flow leases them (``--chunk-claims``
claims per chunk, each chunk with only the reference rows its members, providers and plans
need, as the flow reads them), and runs ``adjudicate`` on every chunk. Prints lines/s, total
engine time, the peak RSS of the process and the RSS increase during the largest chunk, and
the ratio of the reference's per-line time to the engine's on a sample of about 2 000 lines
(both measured in this process). ``--profile`` prints a cProfile of one chunk instead.
Building the input is not timed (the flow reads it from the database). Not a test.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import resource
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import psutil

from claims_askes.adjudication import EngineInput, EngineResult, adjudicate
from claims_askes.adjudication.reference import adjudicate_reference
from claims_askes.core.runtime import patient_local_api

IntArray = npt.NDArray[np.int64]

BENEFITS = [
    "OUTPATIENT",
    "INPATIENT",
    "DENTAL",
    "OPTICAL",
    "PHARMACY",
    "LAB",
    "RADIOLOGY",
    "MATERNITY",
    "EMERGENCY",
    "SPECIALIST",
]
N_PLANS = 20
N_PROVIDERS = 2_000
N_PROCEDURES = 300
FEES_PER_PROVIDER = 40
DAY0 = np.datetime64("2024-01-01", "D")
RP = 100  # cents in a rupiah
RP_MILLION = 1_000_000 * RP


# --------------------------------------------------------------------------------------------
# Building a synthetic batch, vectorised
# --------------------------------------------------------------------------------------------


def ids(prefix: int, n: int) -> npt.NDArray[np.object_]:
    """n distinct UUID-shaped ids (object dtype, as the flow reads ``id::text``)."""
    return np.array([f"{prefix:08x}-0000-4000-8000-{i:012x}" for i in range(n)], dtype=object)


def codes(prefix: str, n: int) -> npt.NDArray[np.object_]:
    """n distinct short codes (procedures)."""
    return np.array([f"{prefix}{i:04d}" for i in range(n)], dtype=object)


def days(offsets: npt.ArrayLike) -> pd.Series:
    """Dates as datetime64[ns], ``offsets`` days after 2024-01-01 (NaN: null)."""
    values = np.asarray(offsets, dtype=np.float64)
    out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[ns]")
    known = ~np.isnan(values)
    out[known] = (DAY0 + values[known].astype(np.int64)).astype("datetime64[ns]")
    return pd.Series(out)


def nulls_where(
    null: npt.NDArray[np.bool_], values: npt.NDArray[np.object_]
) -> npt.NDArray[np.object_]:
    """``values`` (object) with None where ``null``."""
    out = np.array(values, dtype=object)
    out[null] = None
    return out


def nullable(values: IntArray, null: npt.NDArray[np.bool_]) -> pd.Series:
    """A nullable ``Int64`` column (a limit), null where ``null``."""
    return pd.Series(pd.array(np.where(null, 0, values), dtype="Int64")).mask(null)


def plan_benefits(rng: np.random.Generator, plan_ids: npt.NDArray[np.object_]) -> pd.DataFrame:
    """Every plan has every benefit; limits and shares vary by benefit and plan."""
    plan = np.repeat(plan_ids, len(BENEFITS))
    code = np.tile(np.array(BENEFITS, dtype=object), len(plan_ids))
    n = len(plan)
    inpatient = np.isin(code, ["INPATIENT", "MATERNITY"])
    visits = np.isin(code, ["OUTPATIENT", "DENTAL", "SPECIALIST"])
    return pd.DataFrame(
        {
            "plan_id": plan,
            "benefit_code": code,
            "is_active": rng.random(n) > 0.02,
            "effective_date": days(np.full(n, -2_000.0)),
            "expiration_date": days(np.full(n, np.nan)),
            # Rp 10–100 million a year, Rp 2–20 million an incident, Rp 1–5 billion a lifetime
            "annual_limit_cents": nullable(
                rng.integers(10, 100, n) * RP_MILLION, rng.random(n) < 0.3
            ),
            "incident_limit_cents": nullable(
                rng.integers(2, 20, n) * RP_MILLION, rng.random(n) < 0.6
            ),
            "lifetime_limit_cents": nullable(
                rng.integers(1_000, 5_000, n) * RP_MILLION, rng.random(n) < 0.7
            ),
            "day_limit": nullable(rng.integers(10, 60, n), ~inpatient),
            "visit_limit": nullable(rng.integers(6, 24, n), ~visits),
            "deductible_cents": rng.choice([0, 0, 50_000 * RP, 100_000 * RP], n),
            "copay_cents": rng.choice([0, 0, 20_000 * RP, 50_000 * RP], n),
            "coinsurance_bp": rng.choice([0, 1_000, 2_000], n),
            "in_network_bp": rng.choice([10_000, 10_000, 9_000], n),
            "out_network_bp": rng.choice([8_000, 7_000, 5_000], n),
            "requires_preauth": inpatient,
            "waiting_period_days": np.where(code == "MATERNITY", 270, 0),
            "age_limit_min": nullable(np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool)),
            "age_limit_max": nullable(np.full(n, 65), code != "OPTICAL"),
        }
    )


def build_input(n_lines: int, seed: int = 7) -> EngineInput:
    """A synthetic batch of about ``n_lines`` lines (see the module docstring)."""
    rng = np.random.default_rng(seed)
    n_claims = max(1, n_lines // 4)
    n_members = max(1, n_lines // 20)
    member_ids = ids(1, n_members)
    plan_ids = ids(2, N_PLANS)
    provider_ids = ids(3, N_PROVIDERS)
    procedures = codes("P", N_PROCEDURES)
    diagnoses = np.array(
        [f"{chr(65 + i % 26)}{i // 26:02d}.{i % 10}" for i in range(2_000)], dtype=object
    )

    members = pd.DataFrame(
        {
            "member_id": member_ids,
            "date_of_birth": days(-rng.integers(365, 365 * 80, n_members).astype(np.float64)),
            "status": rng.choice(
                np.array(["active", "suspended", "terminated"], dtype=object),
                n_members,
                p=[0.97, 0.01, 0.02],
            ),
            "enrollment_date": days(-rng.integers(30, 3_000, n_members).astype(np.float64)),
            "termination_date": days(
                np.where(rng.random(n_members) < 0.02, rng.integers(0, 700, n_members), np.nan)
            ),
        }
    )

    # One coverage per member; 10 % changed plan on a date inside the claims' period.
    changed = rng.random(n_members) < 0.10
    change_day = rng.integers(0, 700, n_members)
    first_plan = rng.integers(0, N_PLANS, n_members)
    cov_member = np.concatenate([np.arange(n_members), np.flatnonzero(changed)])
    n_cov = len(cov_member)
    coverages = pd.DataFrame(
        {
            "coverage_id": ids(4, n_cov),
            "member_id": member_ids[cov_member],
            "policy_id": ids(5, n_cov),
            "plan_id": plan_ids[
                np.concatenate([first_plan, rng.integers(0, N_PLANS, int(changed.sum()))])
            ],
            "effective_date": pd.concat(
                [members["enrollment_date"], days(change_day[changed] + 1.0)], ignore_index=True
            ),
            "termination_date": days(
                np.concatenate(
                    [np.where(changed, change_day, np.nan), np.full(int(changed.sum()), np.nan)]
                )
            ),
            "status": np.array(["active"] * n_cov, dtype=object),
        }
    )

    in_network = rng.random(N_PROVIDERS) < 0.8
    contracts = pd.DataFrame(
        {
            "provider_id": provider_ids,
            "network_status": np.where(in_network, "in_network", "out_of_network").astype(object),
            "effective_date": days(np.full(N_PROVIDERS, -1_000.0)),
            "termination_date": days(np.full(N_PROVIDERS, np.nan)),
            "status": np.array(["active"] * N_PROVIDERS, dtype=object),
        }
    )
    fee_provider = np.repeat(np.arange(N_PROVIDERS), FEES_PER_PROVIDER)
    fee_procedure = rng.integers(0, N_PROCEDURES, len(fee_provider))
    fee_keep = ~pd.DataFrame({"p": fee_provider, "q": fee_procedure}).duplicated().to_numpy()
    fee_schedules = pd.DataFrame(
        {
            "provider_id": provider_ids[fee_provider[fee_keep]],
            "procedure_code": procedures[fee_procedure[fee_keep]],
            "allowed_cents": rng.integers(50, 2_000, int(fee_keep.sum())) * 1_000 * RP,
            "effective_date": days(np.full(int(fee_keep.sum()), -500.0)),
            "expiration_date": days(np.full(int(fee_keep.sum()), np.nan)),
        }
    )

    n_excl = N_PLANS * 5
    exclusions = pd.DataFrame(
        {
            "plan_id": plan_ids[np.repeat(np.arange(N_PLANS), 5)],
            "benefit_code": nulls_where(
                rng.random(n_excl) < 0.5, rng.choice(np.array(BENEFITS, dtype=object), n_excl)
            ),
            "diagnosis_code_prefix": nulls_where(
                rng.random(n_excl) >= 0.6,
                rng.choice(np.array(["Z41", "O0", "F1", "Y"], dtype=object), n_excl),
            ),
            "procedure_code": nulls_where(
                rng.random(n_excl) >= 0.4, rng.choice(procedures, n_excl)
            ),
            "effective_date": days(np.full(n_excl, -1_000.0)),
            "expiration_date": days(np.full(n_excl, np.nan)),
        }
    )
    cost_sharing = pd.DataFrame(
        {
            "plan_id": plan_ids,
            "oop_max_cents": nullable(
                rng.integers(5, 50, N_PLANS) * RP_MILLION, rng.random(N_PLANS) < 0.2
            ),
            "effective_date": days(np.full(N_PLANS, -1_000.0)),
            "expiration_date": days(np.full(N_PLANS, np.nan)),
        }
    )

    # Claims: about 5 per member over 2024-2025; 1 to 7 lines each.
    claim_member = rng.integers(0, n_members, n_claims)
    service_day = rng.integers(0, 700, n_claims)
    claims = pd.DataFrame(
        {
            "claim_id": ids(6, n_claims),
            "claim_number": np.array([f"CLM-{i:09d}" for i in range(n_claims)], dtype=object),
            "member_id": member_ids[claim_member],
            "provider_id": provider_ids[rng.integers(0, N_PROVIDERS, n_claims)],
            "claim_type": np.array(["cashless"] * n_claims, dtype=object),
            "service_date": days(service_day.astype(np.float64)),
            "submission_date": pd.Series(
                (DAY0 + service_day + rng.integers(0, 20, n_claims)).astype("datetime64[ns]")
                + rng.integers(0, 86_400, n_claims).astype("timedelta64[s]")
            ),
            "admission_date": days(np.full(n_claims, np.nan)),
            "discharge_date": days(np.full(n_claims, np.nan)),
        }
    )
    per_claim = rng.integers(1, 8, n_claims)
    per_claim = np.maximum(1, np.round(per_claim * n_lines / per_claim.sum())).astype(np.int64)
    line_claim = np.repeat(np.arange(n_claims), per_claim)
    n = len(line_claim)
    starts = np.cumsum(per_claim) - per_claim
    benefit = rng.choice(
        len(BENEFITS), n, p=[0.35, 0.05, 0.08, 0.03, 0.2, 0.12, 0.07, 0.01, 0.04, 0.05]
    )
    inpatient = np.isin(benefit, [1, 7])
    lines = pd.DataFrame(
        {
            "line_id": ids(7, n),
            "claim_id": claims["claim_id"].to_numpy()[line_claim],
            "line_number": np.arange(n) - starts[line_claim] + 1,
            "benefit_code": np.array(BENEFITS, dtype=object)[benefit],
            "procedure_code": procedures[rng.integers(0, N_PROCEDURES, n)],
            "diagnosis_code": diagnoses[rng.integers(0, len(diagnoses), n)],
            "quantity": np.where(inpatient, rng.integers(1, 10, n), 1),
            "charged_cents": rng.integers(50, 2_500, n) * 1_000 * RP,  # Rp 50.000–2.500.000
        }
    )

    acc_member = np.repeat(np.arange(n_members), 3)
    n_acc = len(acc_member)
    accumulators = pd.DataFrame(
        {
            "member_id": member_ids[acc_member],
            "benefit_code": np.array(BENEFITS, dtype=object)[np.tile([0, 4, 5], n_members)],
            "year": np.full(n_acc, 2024),
            "amount_used_cents": rng.integers(0, 10_000, n_acc) * 1_000 * RP,
            "deductible_used_cents": rng.integers(0, 100, n_acc) * 1_000 * RP,
            "oop_used_cents": rng.integers(0, 1_000, n_acc) * 1_000 * RP,
            "visits_used": rng.integers(0, 10, n_acc),
            "days_used": np.zeros(n_acc, dtype=np.int64),
        }
    )
    auth_member = np.flatnonzero(rng.random(n_members) < 0.15)
    n_auth = len(auth_member)
    authorizations = pd.DataFrame(
        {
            "member_id": member_ids[auth_member],
            "provider_id": nulls_where(rng.random(n_auth) < 0.5, rng.choice(provider_ids, n_auth)),
            "benefit_code": np.where(rng.random(n_auth) < 0.8, "INPATIENT", "MATERNITY").astype(
                object
            ),
            "status": rng.choice(
                np.array(["approved", "pending", "denied"], dtype=object), n_auth, p=[0.8, 0.1, 0.1]
            ),
            "valid_from": days(rng.integers(-30, 600, n_auth).astype(np.float64)),
            "valid_to": days(rng.integers(600, 800, n_auth).astype(np.float64)),
        }
    )
    twin = rng.integers(0, n, max(1, n // 20))
    twin_claim = line_claim[twin]
    prior_lines = pd.DataFrame(
        {
            "member_id": claims["member_id"].to_numpy()[twin_claim],
            "provider_id": claims["provider_id"].to_numpy()[twin_claim],
            "service_date": claims["service_date"].to_numpy()[twin_claim],
            "benefit_code": lines["benefit_code"].to_numpy()[twin],
            "procedure_code": lines["procedure_code"].to_numpy()[twin],
            "charged_cents": np.where(
                rng.random(len(twin)) < 0.3, lines["charged_cents"].to_numpy()[twin], 1
            ),
        }
    )
    frames = dict(
        claims=claims,
        lines=lines,
        members=members,
        coverages=coverages,
        contracts=contracts,
        fee_schedules=fee_schedules,
        plan_benefits=plan_benefits(rng, plan_ids),
        exclusions=exclusions,
        cost_sharing=cost_sharing,
        accumulators=accumulators,
        authorizations=authorizations,
        prior_lines=prior_lines,
    )
    return EngineInput(**{name: as_read(frame) for name, frame in frames.items()})


def as_read(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as ``frames_io.fetch_frame`` gives them: object dtype, None for null
    (pandas 3 would otherwise infer its ``str`` dtype from the object arrays), and one string
    object per cell, as the database driver makes them (a shared object would have its hash
    cached, which flatters every factorisation)."""
    out = frame.copy()
    for name in out.columns:
        if out[name].dtype == object or isinstance(out[name].dtype, pd.StringDtype):
            values = out[name].to_numpy(dtype=object)
            fresh = np.array(
                [None if pd.isna(v) else v.encode().decode() for v in values], dtype=object
            )
            out[name] = pd.Series(fresh, dtype=object, index=out.index)
    return out


# --------------------------------------------------------------------------------------------
# Chunks of whole members, as the flow leases them
# --------------------------------------------------------------------------------------------


def chunk_of(inp: EngineInput, member_ids: pd.Index) -> EngineInput:
    """The input of one chunk: its members' claims and lines and the reference rows the flow
    would read for them (by member, by the claims' providers, by the coverages' plans)."""
    claims = inp.claims[inp.claims["member_id"].isin(member_ids)]
    lines = inp.lines[inp.lines["claim_id"].isin(claims["claim_id"])]
    coverages = inp.coverages[inp.coverages["member_id"].isin(member_ids)]
    providers = claims["provider_id"].unique()
    plans = coverages["plan_id"].unique()

    def by_member(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["member_id"].isin(member_ids)].reset_index(drop=True)

    return EngineInput(
        claims=claims.reset_index(drop=True),
        lines=lines.reset_index(drop=True),
        members=by_member(inp.members),
        coverages=coverages.reset_index(drop=True),
        contracts=inp.contracts[inp.contracts["provider_id"].isin(providers)],
        fee_schedules=inp.fee_schedules[inp.fee_schedules["provider_id"].isin(providers)],
        plan_benefits=inp.plan_benefits[inp.plan_benefits["plan_id"].isin(plans)],
        exclusions=inp.exclusions[inp.exclusions["plan_id"].isin(plans)],
        cost_sharing=inp.cost_sharing[inp.cost_sharing["plan_id"].isin(plans)],
        accumulators=by_member(inp.accumulators),
        authorizations=by_member(inp.authorizations),
        prior_lines=by_member(inp.prior_lines),
    )


def member_chunks(inp: EngineInput, claims_per_chunk: int) -> Iterator[pd.Index]:
    """Member ids in chunks of whole members with about ``claims_per_chunk`` claims each."""
    per_member = inp.claims["member_id"].value_counts(sort=False).sort_index()
    chunk_no = (per_member.cumsum().to_numpy() - 1) // claims_per_chunk
    for k in np.unique(chunk_no):
        yield pd.Index(per_member.index[chunk_no == k])


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------


def rss_mib() -> float:
    """The process's resident set size now."""
    return float(psutil.Process().memory_info().rss) / 2**20


def peak_rss_mib() -> float:
    """The process's peak RSS so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Timed:
    """One measured call."""

    seconds: float
    cpu_seconds: float  # this process's CPU time: what the call costs on a busy machine too
    rss_before_mib: float
    rss_peak_mib: float
    result: EngineResult


def reset_peak_rss() -> bool:
    """Reset the kernel's high-water mark of this process's RSS (Linux: clear_refs 5)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def high_water_mib() -> float:
    """VmHWM of /proc/self/status: the peak RSS since the last reset."""
    with open("/proc/self/status") as f:
        for row in f:
            if row.startswith("VmHWM:"):
                return int(row.split()[1]) / 1024
    return peak_rss_mib()


def timed(fn: Callable[[EngineInput], EngineResult], inp: EngineInput) -> Timed:
    """Run ``fn(inp)`` and measure its time and the peak RSS during the call (the kernel's
    high-water mark, reset before the call; without that, an RSS sampler thread)."""
    gc.collect()
    before = rss_mib()
    if reset_peak_rss():
        started, cpu = time.perf_counter(), time.process_time()
        result = fn(inp)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        return Timed(seconds, cpu, before, high_water_mib(), result)
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            peak[0] = max(peak[0], rss_mib())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started, cpu = time.perf_counter(), time.process_time()
    result = fn(inp)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    done.set()
    sampler.join()
    return Timed(seconds, cpu, before, max(peak[0], rss_mib()), result)


def frames_mib(*frames: pd.DataFrame) -> float:
    """Memory held by the frames, strings included."""
    return sum(float(f.memory_usage(deep=True).sum()) for f in frames) / 2**20


def traced_peak_mib(inp: EngineInput) -> float:
    """Peak of the memory allocated during ``adjudicate(inp)`` (tracemalloc, which sees numpy's
    and pandas' allocations): the engine's working memory, independent of what the allocator
    kept from earlier chunks. Slower than a plain call, so not timed."""
    gc.collect()
    tracemalloc.start()
    try:
        adjudicate(inp)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def sample_input(inp: EngineInput, n_lines: int) -> EngineInput:
    """Whole members from the start of the batch with about ``n_lines`` lines."""
    claims_per_member = inp.claims.groupby("member_id", sort=True).size()
    lines_per_claim = inp.lines.groupby("claim_id").size()
    lines_per_member = (
        inp.claims.assign(n=inp.claims["claim_id"].map(lines_per_claim))
        .groupby("member_id", sort=True)["n"]
        .sum()
    )
    take = lines_per_member.index[lines_per_member.cumsum().to_numpy() <= n_lines]
    del claims_per_member
    return chunk_of(inp, pd.Index(take))


def fresh_strings(inp: EngineInput) -> EngineInput:
    """The same batch with new string objects (no cached hashes), as a new read would give."""
    return EngineInput(**{name: as_read(getattr(inp, name)) for name in inp.__dataclass_fields__})


def main() -> None:
    """Build, chunk, run, measure, print."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=1_600_000)
    parser.add_argument("--chunk-claims", type=int, default=50_000)
    parser.add_argument("--sample-lines", type=int, default=2_000)
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs over all the chunks, each on fresh string objects",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile the first chunk and print the top functions",
    )
    args = parser.parse_args()

    started = time.perf_counter()
    inp = build_input(args.lines, args.seed)
    chunks = [chunk_of(inp, members) for members in member_chunks(inp, args.chunk_claims)]
    n_lines = sum(len(c.lines) for c in chunks)
    print(
        f"built {len(inp.lines):,} lines, {len(inp.claims):,} claims, "
        f"{len(inp.members):,} members in {time.perf_counter() - started:.1f} s; "
        f"{len(chunks)} chunks of about {args.chunk_claims:,} claims"
    )

    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(adjudicate, chunks[0])
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        return

    # Warm-up (imports, caches) on another batch: running a chunk twice would flatter it, as
    # its strings would have their hashes cached; each repeat gets fresh strings for that.
    adjudicate(build_input(4_000, args.seed + 1))
    runs = [timed(adjudicate, chunk) for chunk in chunks]
    totals = [sum(r.seconds for r in runs)]
    cpu_totals = [sum(r.cpu_seconds for r in runs)]
    for _ in range(args.repeat - 1):
        again = [fresh_strings(chunk) for chunk in chunks]
        timings = [timed(adjudicate, chunk) for chunk in again]
        totals.append(sum(t.seconds for t in timings))
        cpu_totals.append(sum(t.cpu_seconds for t in timings))
        del again, timings
    best, median = min(totals), sorted(totals)[len(totals) // 2]
    best_cpu = min(cpu_totals)
    print(
        f"engine: {n_lines:,} lines, best of {len(totals)} runs {best:.2f} s = "
        f"{n_lines / best:,.0f} lines/s wall clock (median {n_lines / median:,.0f}); "
        f"{best_cpu:.2f} CPU s = {n_lines / best_cpu:,.0f} lines per CPU second; first run "
        f"{min(r.seconds for r in runs):.2f}–{max(r.seconds for r in runs):.2f} s a chunk"
    )
    print(
        f"load average while measuring: {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
        f"on {os.cpu_count()} CPUs"
    )

    largest = max(range(len(chunks)), key=lambda k: len(chunks[k].lines))
    big, chunk = runs[largest], chunks[largest]
    print(
        f"largest chunk: {len(chunk.lines):,} lines in {big.seconds:.2f} s; input "
        f"{frames_mib(*(getattr(chunk, f) for f in chunk.__dataclass_fields__)):,.0f} MiB, "
        f"result {frames_mib(big.result.lines, big.result.claims):,.0f} MiB, engine working "
        f"memory (tracemalloc peak) {traced_peak_mib(chunk):,.0f} MiB; process RSS "
        f"{big.rss_before_mib:,.0f} → {big.rss_peak_mib:,.0f} MiB during the call"
    )
    decided = pd.concat([r.result.lines[["status", "reason_code"]] for r in runs])
    print(
        "line statuses:",
        ", ".join(f"{k} {v:,}" for k, v in decided["status"].value_counts().items()),
    )
    print(
        "line reasons:",
        ", ".join(
            f"{k} {v:,}" for k, v in decided["reason_code"].value_counts(dropna=False).items()
        ),
    )
    del runs, decided

    sample = sample_input(inp, args.sample_lines)
    reference = timed(adjudicate_reference, sample)
    engine_sample = timed(adjudicate, fresh_strings(sample))
    pd.testing.assert_frame_equal(reference.result.lines, engine_sample.result.lines)
    pd.testing.assert_frame_equal(reference.result.claims, engine_sample.result.claims)
    n_sample = len(sample.lines)
    for clock, reference_s, sample_s, chunks_s in (
        ("wall clock", reference.seconds, engine_sample.seconds, best),
        ("CPU time", reference.cpu_seconds, engine_sample.cpu_seconds, best_cpu),
    ):
        reference_per_line = reference_s / n_sample
        sample_per_line = sample_s / n_sample
        engine_per_line = chunks_s / n_lines
        print(
            f"{clock}, sample of {n_sample:,} lines (the engine agrees with the reference "
            f"on every column): reference {reference_per_line * 1e6:,.1f} µs/line; engine "
            f"{engine_per_line * 1e6:,.2f} µs/line in the chunks, "
            f"{sample_per_line * 1e6:,.1f} µs/line on the sample alone (fixed costs "
            f"dominate); reference / engine = {reference_per_line / engine_per_line:,.0f}× "
            f"(chunks), {reference_per_line / sample_per_line:,.1f}× (sample alone)"
        )
    print(f"peak RSS of the process (input and results included): {peak_rss_mib():,.0f} MiB")


if __name__ == "__main__":
    with patient_local_api():
        main()
