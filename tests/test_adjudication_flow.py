"""The adjudication flow on a real database: every rule and amount step with hand-computed
rupiah, roll-up, statuses, history, notes, payments and accumulators.

One scenario is built and adjudicated once for the module; each test reads its outcome.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from flows.claim_adjudication import claim_adjudication
from schemas.reports import AdjudicationSummary
from tests.conftest import TestDatabase
from tests.scenario import Line, Scenario, amounts

SD = date(2026, 3, 10)


@dataclass
class World:
    s: Scenario
    summary: AdjudicationSummary
    claims: dict[str, str] = field(default_factory=dict)
    members: dict[str, uuid.UUID] = field(default_factory=dict)


def build(s: Scenario) -> tuple[dict[str, str], dict[str, uuid.UUID]]:
    c: dict[str, str] = {}
    m: dict[str, uuid.UUID] = {}
    plan = s.plan("PLAN-GOLD")
    s.benefit(
        plan,
        "OP_GP",
        copay_amount=25_000,
        coinsurance_percentage=10,
        visit_limit=2,
        in_network_coverage=100,
        out_network_coverage=80,
    )
    s.benefit(plan, "LAB", deductible_amount=100_000, coinsurance_percentage=20)
    s.benefit(plan, "IP_ROOM", day_limit=5)
    s.benefit(plan, "IP_SURGERY", requires_preauth=True, annual_limit=10_000_000)
    s.benefit(plan, "MATERNITY", waiting_period_days=270)
    s.benefit(plan, "OPTICAL", age_limit_max=12)
    s.benefit(plan, "DENTAL", incident_limit=500_000)
    s.benefit(plan, "PHARMACY", lifetime_limit=1_000_000)
    s.benefit(plan, "EMERGENCY", annual_limit=2_000_000)
    s.benefit(plan, "RADIOLOGY")
    s.exclusion(plan, procedure_code="COSM01")
    s.exclusion(plan, diagnosis_code_prefix="Z41")
    capped = s.plan("PLAN-CAPPED", oop_max=60_000)
    s.benefit(capped, "OP_GP", copay_amount=50_000, coinsurance_percentage=20)

    hospital = s.provider(in_network=True, fees={"GP01": 150_000})
    outside = s.provider(in_network=False, fees={"GP01": 150_000})

    # A1/A2/A4-A6 in network with a fee schedule; payee the provider (cashless).
    m["fee"] = s.member(plan)
    c["fee"] = s.claim(m["fee"], hospital, SD, [Line("OP_GP", 200_000, procedure_code="GP01")])
    # Out of network: no fee schedule, network share 80 %; payee the member (reimbursement).
    m["out"] = s.member(plan)
    c["out"] = s.claim(
        m["out"],
        outside,
        SD,
        [Line("OP_GP", 200_000, procedure_code="GP01")],
        claim_type="reimbursement",
    )
    # A3: a deductible running across two lines.
    m["ded"] = s.member(plan)
    c["ded"] = s.claim(
        m["ded"], hospital, SD, [Line("LAB", 60_000), Line("LAB", 70_000, procedure_code="L2")]
    )
    # R10: one visit used, limit 2: the second claim is over.
    m["visits"] = s.member(plan)
    s.accumulator(m["visits"], "OP_GP", 2026, visits_used=1)
    c["visit1"] = s.claim(m["visits"], hospital, SD, [Line("OP_GP", 100_000)])
    c["visit2"] = s.claim(m["visits"], hospital, date(2026, 4, 1), [Line("OP_GP", 100_000)])
    # R11: 3 of 5 days used; 4 days asked: 2 covered, then none left.
    m["days"] = s.member(plan)
    s.accumulator(m["days"], "IP_ROOM", 2026, days_used=3)
    c["days1"] = s.claim(
        m["days"],
        hospital,
        SD,
        [Line("IP_ROOM", 4_000_000, quantity=4)],
        service_type="inpatient",
        admission=SD,
        discharge=date(2026, 3, 14),
    )
    c["days2"] = s.claim(
        m["days"],
        hospital,
        date(2026, 5, 1),
        [Line("IP_ROOM", 1_000_000)],
        service_type="inpatient",
        admission=date(2026, 5, 1),
        discharge=date(2026, 5, 2),
    )
    # R9: approved, pending and missing pre-authorizations.
    m["auth_ok"] = s.member(plan)
    s.authorization(m["auth_ok"], "IP_SURGERY", "approved")
    c["auth_ok"] = s.claim(m["auth_ok"], hospital, SD, [Line("IP_SURGERY", 5_000_000)])
    m["auth_pending"] = s.member(plan)
    s.authorization(m["auth_pending"], "IP_SURGERY", "pending")
    c["auth_pending"] = s.claim(
        m["auth_pending"], hospital, SD, [Line("IP_SURGERY", 5_000_000), Line("LAB", 50_000)]
    )
    m["auth_none"] = s.member(plan)
    s.authorization(m["auth_none"], "IP_SURGERY", "denied")
    c["auth_none"] = s.claim(m["auth_none"], hospital, SD, [Line("IP_SURGERY", 5_000_000)])
    # R7, R8, R5, R6.
    m["waiting"] = s.member(plan, coverage_from=date(2026, 1, 1))
    c["waiting"] = s.claim(m["waiting"], hospital, SD, [Line("MATERNITY", 8_000_000)])
    m["age"] = s.member(plan, dob=date(1985, 6, 15))
    c["age"] = s.claim(m["age"], hospital, SD, [Line("OPTICAL", 750_000)])
    m["child"] = s.member(plan, dob=date(2016, 3, 11))  # 9 years old on SD
    c["child"] = s.claim(m["child"], hospital, SD, [Line("OPTICAL", 750_000)])
    m["not_covered"] = s.member(plan)
    c["not_covered"] = s.claim(m["not_covered"], hospital, SD, [Line("OP_SPECIALIST", 300_000)])
    m["excluded"] = s.member(plan)
    c["excluded"] = s.claim(
        m["excluded"],
        hospital,
        SD,
        [
            Line("RADIOLOGY", 400_000, procedure_code="COSM01"),
            Line("LAB", 90_000, diagnosis_code="Z41.1"),
        ],
    )
    # R2, R3.
    m["suspended"] = s.member(plan, status="suspended")
    c["suspended"] = s.claim(m["suspended"], hospital, SD, [Line("OP_GP", 100_000)])
    c["unknown_member"] = s.claim(uuid.uuid4(), hospital, SD, [Line("OP_GP", 100_000)])
    m["not_started"] = s.member(plan, coverage_from=date(2026, 6, 1))
    c["not_started"] = s.claim(m["not_started"], hospital, SD, [Line("OP_GP", 100_000)])
    m["terminated"] = s.member(plan, coverage_to=date(2025, 12, 31), coverage_status="terminated")
    c["terminated"] = s.claim(m["terminated"], hospital, SD, [Line("OP_GP", 100_000)])
    # R4: the same line twice in one claim.
    m["dup"] = s.member(plan)
    c["dup"] = s.claim(
        m["dup"],
        hospital,
        SD,
        [
            Line("DENTAL", 100_000, procedure_code="D01"),
            Line("DENTAL", 100_000, procedure_code="D01"),
        ],
    )
    # R1: malformed claims.
    m["bad"] = s.member(plan)
    c["negative"] = s.claim(m["bad"], hospital, SD, [Line("OP_GP", -1)])
    c["no_lines"] = s.claim(m["bad"], hospital, date(2026, 3, 11), [])
    c["dates"] = s.claim(
        m["bad"],
        hospital,
        date(2026, 3, 12),
        [Line("IP_ROOM", 1_000_000)],
        service_type="inpatient",
        admission=date(2026, 3, 12),
        discharge=date(2026, 3, 1),
    )
    c["quantity"] = s.claim(
        m["bad"], hospital, date(2026, 3, 13), [Line("LAB", 10_000, quantity=0), Line(None, 10_000)]
    )
    # A8 incident, A9 annual, A10 lifetime limits.
    m["incident"] = s.member(plan)
    c["incident"] = s.claim(
        m["incident"],
        hospital,
        SD,
        [
            Line("DENTAL", 300_000, procedure_code="D01"),
            Line("DENTAL", 400_000, procedure_code="D02"),
        ],
    )
    m["annual"] = s.member(plan)
    s.accumulator(m["annual"], "EMERGENCY", 2026, amount_used=1_500_000)
    c["annual"] = s.claim(m["annual"], hospital, SD, [Line("EMERGENCY", 800_000)])
    m["lifetime"] = s.member(plan)
    s.accumulator(m["lifetime"], "PHARMACY", 2025, amount_used=900_000)
    c["lifetime"] = s.claim(m["lifetime"], hospital, SD, [Line("PHARMACY", 250_000)])
    # A7: the out-of-pocket cap takes its reduction off coinsurance first.
    m["oop"] = s.member(capped)
    c["oop"] = s.claim(m["oop"], hospital, SD, [Line("OP_GP", 300_000)])
    return c, m


@pytest.fixture(scope="module")
def world(module_db: TestDatabase, prefect_api: str) -> Iterator[World]:
    with module_db.admin() as conn:
        s = Scenario(conn)
        claims, members = build(s)
        summary = claim_adjudication(chunk_size=7)
        yield World(s, summary, claims, members)


def line(w: World, key: str, n: int = 1) -> dict[str, Any]:
    return w.s.line_row(w.claims[key], n)


def test_fee_schedule_copay_coinsurance_in_network(world: World) -> None:
    # allowed min(200.000, 150.000) = 150.000; copay 25.000; coinsurance 10 % of 125.000
    # = 12.500; plan 112.500; member pays allowed - plan = 37.500.
    assert world.s.amounts(world.claims["fee"]) == amounts(
        150_000, 0, 25_000, 12_500, 0, 0, 112_500, 37_500
    )
    assert line(world, "fee")["reason_code"] == "FEE_SCHEDULE"  # 50.000 is the largest cut
    assert world.s.claim_row(world.claims["fee"])["status"] == "approved"


def test_out_of_network_share_and_member_responsibility(world: World) -> None:
    # allowed = charged 200.000; copay 25.000; coinsurance 17.500; base 157.500 at 80 % =
    # 126.000, network reduction 31.500; member pays charged - plan = 74.000.
    assert world.s.amounts(world.claims["out"]) == amounts(
        200_000, 0, 25_000, 17_500, 31_500, 0, 126_000, 74_000
    )
    assert line(world, "out")["reason_code"] == "NETWORK_REDUCTION"


def test_deductible_runs_across_lines(world: World) -> None:
    # Deductible 100.000: line 1 takes 60.000 (plan 0); line 2 the remaining 40.000, then
    # coinsurance 20 % of 30.000 = 6.000, plan 24.000.
    assert world.s.amounts(world.claims["ded"], 1) == amounts(60_000, 60_000, 0, 0, 0, 0, 0, 60_000)
    assert world.s.amounts(world.claims["ded"], 2) == amounts(
        70_000, 40_000, 0, 6_000, 0, 0, 24_000, 46_000
    )
    assert line(world, "ded", 1)["reason_code"] == "DEDUCTIBLE"
    # Accumulators: plan 24.000; deductible 100.000; oop 106.000; one visit (one claim).
    assert world.s.accumulator_row(world.members["ded"], "LAB", 2026) == (
        Decimal("24000.00"),
        Decimal("100000.00"),
        Decimal("106000.00"),
        1,
        2,
    )


def test_visit_limit(world: World) -> None:
    assert line(world, "visit1")["status"] == "approved"
    assert (line(world, "visit2")["status"], line(world, "visit2")["reason_code"]) == (
        "rejected",
        "VISIT_LIMIT_EXCEEDED",
    )
    acc = world.s.accumulator_row(world.members["visits"], "OP_GP", 2026)
    assert acc is not None and acc[3] == 2  # 1 before + 1 approved claim


def test_day_limit_prorates_then_rejects(world: World) -> None:
    # 2 of 4 days covered: allowed 4.000.000, covered part 2.000.000 paid, 2.000.000 limit.
    assert world.s.amounts(world.claims["days1"]) == amounts(
        4_000_000, 0, 0, 0, 0, 2_000_000, 2_000_000, 2_000_000
    )
    row = line(world, "days1")
    assert (row["covered_days"], row["reason_code"]) == (2, "LIMIT_REACHED")
    assert (line(world, "days2")["status"], line(world, "days2")["reason_code"]) == (
        "rejected",
        "DAY_LIMIT_EXCEEDED",
    )
    acc = world.s.accumulator_row(world.members["days"], "IP_ROOM", 2026)
    assert acc is not None and acc[4] == 5


def test_preauthorization(world: World) -> None:
    assert world.s.amounts(world.claims["auth_ok"]) == amounts(
        5_000_000, 0, 0, 0, 0, 0, 5_000_000, 0
    )
    pended = world.s.claim_row(world.claims["auth_pending"])
    assert pended["status"] == "pended" and pended["lease_owner"] is None
    # The whole claim waits: its LAB line too, and nothing was posted for it.
    assert {line(world, "auth_pending", n)["status"] for n in (1, 2)} == {"pended"}
    assert world.s.accumulator_row(world.members["auth_pending"], "LAB", 2026) is None
    assert (line(world, "auth_none")["status"], line(world, "auth_none")["reason_code"]) == (
        "rejected",
        "PREAUTH_MISSING",
    )


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("waiting", "WAITING_PERIOD"),
        ("age", "AGE_LIMIT"),
        ("not_covered", "BENEFIT_NOT_COVERED"),
        ("suspended", "MEMBER_NOT_ELIGIBLE"),
        ("unknown_member", "MEMBER_NOT_ELIGIBLE"),
        ("not_started", "COVERAGE_NOT_STARTED"),
        ("terminated", "COVERAGE_TERMINATED"),
        ("negative", "INVALID_CLAIM"),
        ("dates", "INVALID_CLAIM"),
    ],
)
def test_rejections_with_reason_history_and_a_note(world: World, key: str, reason: str) -> None:
    number = world.claims[key]
    assert (line(world, key)["status"], line(world, key)["reason_code"]) == ("rejected", reason)
    claim = world.s.claim_row(number)
    assert claim["status"] == "rejected" and claim["total_approved_amount"] == 0
    note = world.s.conn.execute(
        "SELECT n.note_type, n.note_text FROM claims_service.claim_note n JOIN "
        "claims_service.claim c ON c.id = n.claim_id WHERE c.claim_number = %s",
        (number,),
    ).fetchall()
    assert len(note) == 1 and note[0][0] == "rejection" and reason in note[0][1]
    assert note[0][1].startswith("Claim rejected: line 1")
    history = world.s.conn.execute(
        "SELECT h.from_status, h.to_status, h.reason_code, h.flow_run_id::text "
        "FROM claims_service.claim_status_history h JOIN claims_service.claim c "
        "ON c.id = h.claim_id WHERE c.claim_number = %s",
        (number,),
    ).fetchall()
    assert history == [("submitted", "rejected", reason, world.summary.flow_run_id)]


def test_age_limit_admits_a_child(world: World) -> None:
    assert line(world, "child")["status"] == "approved"


def test_exclusions_by_procedure_and_diagnosis_prefix(world: World) -> None:
    assert [line(world, "excluded", n)["reason_code"] for n in (1, 2)] == ["EXCLUDED"] * 2


def test_duplicate_line_in_one_claim(world: World) -> None:
    assert [line(world, "dup", n)["status"] for n in (1, 2)] == ["approved", "rejected"]
    assert line(world, "dup", 2)["reason_code"] == "DUPLICATE"
    claim = world.s.claim_row(world.claims["dup"])
    assert claim["status"] == "partially_approved"
    assert claim["total_approved_amount"] == Decimal("100000.00")


def test_malformed_claims_never_crash(world: World) -> None:
    assert world.s.claim_row(world.claims["no_lines"])["status"] == "rejected"
    assert [line(world, "quantity", n)["reason_code"] for n in (1, 2)] == ["INVALID_CLAIM"] * 2


def test_incident_annual_and_lifetime_limits(world: World) -> None:
    # A8: incident limit 500.000 over two lines of 300.000 and 400.000.
    assert line(world, "incident", 1)["approved_amount"] == Decimal("300000.00")
    assert world.s.amounts(world.claims["incident"], 2) == amounts(
        400_000, 0, 0, 0, 0, 200_000, 200_000, 200_000
    )
    # A9: 1.500.000 of 2.000.000 used: 500.000 of 800.000 paid.
    assert world.s.amounts(world.claims["annual"]) == amounts(
        800_000, 0, 0, 0, 0, 300_000, 500_000, 300_000
    )
    # A10: 900.000 of 1.000.000 used in 2025: 100.000 of 250.000 paid in 2026.
    assert world.s.amounts(world.claims["lifetime"]) == amounts(
        250_000, 0, 0, 0, 0, 150_000, 100_000, 150_000
    )


def test_out_of_pocket_cap_reduces_coinsurance_first(world: World) -> None:
    # copay 50.000 + coinsurance 50.000 = 100.000 over the 60.000 cap: 40.000 comes off the
    # coinsurance and goes to the plan (200.000 + 40.000).
    assert world.s.amounts(world.claims["oop"]) == amounts(
        300_000, 0, 50_000, 10_000, 0, 0, 240_000, 60_000
    )
    assert line(world, "oop")["oop_amount"] == Decimal("60000.00")
    acc = world.s.accumulator_row(world.members["oop"], "OP_GP", 2026)
    assert acc is not None and acc[2] == Decimal("60000.00")


def test_payments_to_provider_or_member(world: World) -> None:
    rows: dict[str, str] = dict(
        world.s.conn.execute(
            "SELECT c.claim_number, p.payee_type || ':' || p.amount FROM "
            "claims_service.claim_payment p JOIN claims_service.claim c ON c.id = p.claim_id"
        ).fetchall()
    )
    assert rows[world.claims["fee"]] == "provider:112500.00"
    assert rows[world.claims["out"]] == "member:126000.00"
    assert world.claims["auth_none"] not in rows and world.claims["auth_pending"] not in rows


def test_every_approved_line_posted_once(world: World) -> None:
    unposted = world.s.conn.execute("SELECT count(*) FROM claims_service.posting_outbox").fetchone()
    ledger = world.s.conn.execute(
        "SELECT count(*), count(DISTINCT claim_item_id) FROM benefit_service.accumulator_posting"
    ).fetchone()
    approved = world.s.conn.execute(
        "SELECT count(*) FROM claims_service.claim_item WHERE status = 'approved'"
    ).fetchone()
    assert unposted == (0,)
    assert ledger is not None and approved is not None
    assert ledger[0] == ledger[1] == approved[0]


def test_summary_counts_and_chunks(world: World) -> None:
    summary = world.summary
    assert summary.claims == len(world.claims)
    assert summary.chunks >= 4  # chunk size 7, whole members
    by_status = {row.status: row.claims for row in summary.by_status}
    assert by_status["pended"] == 1
    assert sum(by_status.values()) == len(world.claims)


def test_rerun_changes_nothing_then_pended_claim_is_approved(world: World) -> None:
    before = world.s.conn.execute(
        "SELECT sum(amount_used), sum(oop_used), sum(visits_used) FROM benefit_service.accumulator"
    ).fetchone()
    again = claim_adjudication()
    # Nothing the pended claim waits for changed: it is left alone (not leased, no new
    # version), and nothing is posted.
    assert again.claims == 0 and again.lines_posted == 0 and again.pended_waiting == 1
    after = world.s.conn.execute(
        "SELECT sum(amount_used), sum(oop_used), sum(visits_used) FROM benefit_service.accumulator"
    ).fetchone()
    assert after == before
    world.s.conn.execute(
        "UPDATE authorization_service.authorization SET status = 'approved' WHERE member_id = %s",
        (world.members["auth_pending"],),
    )
    third = claim_adjudication()
    assert third.claims == 1
    claim = world.s.claim_row(world.claims["auth_pending"])
    # Surgery 5.000.000 (no cost share) + LAB 50.000 all deductible: plan 5.000.000.
    assert (claim["status"], claim["total_approved_amount"]) == ("approved", Decimal("5000000.00"))
    history = world.s.conn.execute(
        "SELECT h.from_status, h.to_status FROM claims_service.claim_status_history h JOIN "
        "claims_service.claim c ON c.id = h.claim_id WHERE c.claim_number = %s ORDER BY h.id",
        (world.claims["auth_pending"],),
    ).fetchall()
    assert history == [("submitted", "pended"), ("pended", "approved")]


def test_explanation_of_benefits(world: World) -> None:
    from typer.testing import CliRunner

    from claims_askes.cli.app import app

    result = CliRunner().invoke(app, ["eob", world.claims["fee"]], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    out = result.output
    # charged, allowed (fee schedule), copay, coinsurance, plan and member amounts in rupiah
    for text in (
        "Rp 200.000,00",
        "Rp 150.000,00",
        "Rp 25.000,00",
        "Rp 12.500,00",
        "Rp 112.500,00",
        "Rp 37.500,00",
        "FEE_SCHEDULE (45/CO)",
        "approved",
        "Rp 50.000,00",
        "CARC 45/CO",
        "CARC 1/PR",
        "CARC 3/PR",
        "CARC 2/PR",
        "CARC 242/PR",
        "CARC 119/PR",
    ):
        assert text in out, text
    unknown = CliRunner().invoke(app, ["eob", "CLM-0000-00-000000"])
    assert unknown.exit_code == 2 and "no claim 'CLM-0000-00-000000'" in unknown.output


def test_artifacts_of_the_run(world: World) -> None:
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async def read() -> list[Any]:
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    key=ArtifactFilterKey(any_=["claim-adjudication-by-status"])
                )
            )

    mine = [a for a in asyncio.run(read()) if str(a.flow_run_id) == world.summary.flow_run_id]
    assert len(mine) == 1
    rows = (
        mine[0].data if isinstance(mine[0].data, list) else __import__("json").loads(mine[0].data)
    )
    by_status = {row["status"]: row["claims"] for row in rows}
    assert by_status == {s.status: s.claims for s in world.summary.by_status}
    assert by_status["pended"] == 1
