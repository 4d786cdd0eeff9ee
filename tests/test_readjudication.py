"""Re-adjudication on a real database: a retroactive termination reverses postings and ends
equal to a clean adjudication of the corrected data; overrides survive; history is kept."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from claims_askes.cli.app import app
from flows.accumulator_posting import accumulator_posting
from flows.claim_adjudication import claim_adjudication
from flows.claim_readjudication import claim_readjudication
from tests.conftest import TestDatabase
from tests.scenario import Line, Scenario

MONTHS = [date(2026, 1, 10), date(2026, 2, 10), date(2026, 3, 10)]


def test_retroactive_termination_equals_clean_adjudication(
    db: TestDatabase, prefect_api: str
) -> None:
    with db.admin() as conn:
        s = Scenario(conn)
        plan = s.plan("PLAN-RETRO", oop_max=500_000)
        s.benefit(
            plan,
            "LAB",
            deductible_amount=100_000,
            coinsurance_percentage=20,
            annual_limit=5_000_000,
        )
        s.benefit(plan, "OP_GP", copay_amount=25_000, visit_limit=5)
        hospital = s.provider()
        retro = s.member(plan)
        # The clean twin: the corrected data (coverage ending 31 January) from the start.
        clean = s.member(plan, coverage_to=date(2026, 1, 31))
        claims: dict[str, list[str]] = {"retro": [], "clean": []}
        for key, member in (("retro", retro), ("clean", clean)):
            for day in MONTHS:
                claims[key].append(
                    s.claim(member, hospital, day, [Line("LAB", 150_000), Line("OP_GP", 120_000)])
                )
        claim_adjudication()
        assert {s.claim_row(n)["status"] for n in claims["retro"]} == {"approved"}
        paid_before = sum(s.claim_row(n)["total_approved_amount"] for n in claims["retro"])

        # The coverage is terminated retroactively; February and March are no longer covered.
        conn.execute(
            "UPDATE member_service.member_coverage SET termination_date = %s, "
            "status = 'terminated' WHERE member_id = %s",
            (date(2026, 1, 31), retro),
        )
        summary = claim_readjudication(
            claim_numbers=claims["retro"][1:] + ["CLM-NONE"], reason="retroactive termination"
        )
        assert (summary.claims, summary.lines, summary.not_found) == (2, 4, ["CLM-NONE"])
        assert summary.reversals == 4 and summary.readjustments == 2

        for mine, twin in zip(claims["retro"], claims["clean"], strict=True):
            for n in (1, 2):
                assert s.amounts(mine, n) == s.amounts(twin, n)
                assert s.line_row(mine, n)["reason_code"] == s.line_row(twin, n)["reason_code"]
            assert s.claim_row(mine)["status"] == s.claim_row(twin)["status"]
        for benefit in ("LAB", "OP_GP"):
            assert s.accumulator_row(retro, benefit, 2026) == s.accumulator_row(
                clean, benefit, 2026
            )

        # The earlier decisions are kept, the overpayment waits for recovery, nothing paid
        # twice, and the books reconcile.
        kept = conn.execute(
            "SELECT count(*), min(status), sum(approved_amount) FROM "
            "claims_service.claim_item_decision"
        ).fetchone()
        assert kept is not None and kept[0] == 4 and kept[1] == "approved"
        paid_after = sum(s.claim_row(n)["total_approved_amount"] for n in claims["retro"])
        recovery = conn.execute(
            "SELECT sum(difference), min(kind), max(kind), count(*) FROM "
            "claims_service.claim_readjustment"
        ).fetchone()
        assert recovery == (paid_after - paid_before, "overpayment", "overpayment", 2)
        assert recovery[0] == -kept[2]
        assert conn.execute(
            "SELECT count(*) FROM claims_service.claim_payment p JOIN "
            "claims_service.claim c ON c.id = p.claim_id WHERE c.member_id = "
            "%s",
            (retro,),
        ).fetchone() == (3,)
        history = conn.execute(
            "SELECT h.from_status, h.to_status, h.reason_code FROM "
            "claims_service.claim_status_history h JOIN claims_service.claim c ON "
            "c.id = h.claim_id WHERE c.claim_number = %s ORDER BY h.id",
            (claims["retro"][2],),
        ).fetchall()
        assert history == [
            ("submitted", "approved", None),
            ("approved", "rejected", "COVERAGE_TERMINATED"),
        ]
        assert accumulator_posting(full_reconciliation=True).keys_reconciled == 4


def test_manual_override_survives_readjudication(db: TestDatabase, prefect_api: str) -> None:
    with db.admin() as conn:
        s = Scenario(conn)
        plan = s.plan("PLAN-OVERRIDE")
        s.benefit(plan, "OP_GP", copay_amount=25_000)
        hospital = s.provider()
        member = s.member(plan)
        number = s.claim(
            member,
            hospital,
            MONTHS[0],
            [Line("OP_GP", 200_000), Line("OP_GP", 90_000, procedure_code="X2")],
        )
        claim_adjudication()
        assert s.line_row(number, 1)["approved_amount"] == Decimal("175000.00")

        runner = CliRunner()
        bad = runner.invoke(app, ["override", number, "1", "--approve", "999999", "--note", "x"])
        assert bad.exit_code == 2 and "more than the line's charge" in bad.output
        bad = runner.invoke(app, ["override", number, "2", "--reject", "NOPE", "--note", "x"])
        assert bad.exit_code == 2 and "not a rejection reason code" in bad.output
        done = runner.invoke(
            app,
            [
                "override",
                number,
                "1",
                "--approve",
                "190000",
                "--note",
                "copay waived: hospital error",
                "--by",
                "dr.ani",
            ],
            env={"COLUMNS": "250"},
        )
        assert done.exit_code == 0, done.output
        assert s.amounts(number, 1) == tuple(
            Decimal(v).quantize(Decimal("0.01")) for v in (190_000, 0, 0, 0, 0, 0, 190_000, 10_000)
        )
        done = runner.invoke(
            app, ["override", number, "2", "--reject", "EXCLUDED", "--note", "cosmetic"]
        )
        assert done.exit_code == 0, done.output
        assert s.claim_row(number)["status"] == "partially_approved"

        # Another re-adjudication (e.g. a rule change) keeps both reviewers' decisions.
        claim_readjudication(claim_numbers=[number], reason="rule change")
        assert s.line_row(number, 1)["approved_amount"] == Decimal("190000.00")
        assert (s.line_row(number, 2)["status"], s.line_row(number, 2)["reason_code"]) == (
            "rejected",
            "EXCLUDED",
        )
        acc = s.accumulator_row(member, "OP_GP", 2026)
        assert acc is not None and acc[0] == Decimal("190000.00")
        assert accumulator_posting(full_reconciliation=True).keys_reconciled == 1


def test_approving_the_only_rejected_line_approves_the_claim(
    db: TestDatabase, prefect_api: str
) -> None:
    """The claim roll-up after an override: the engine's rules with the reviewer's line."""
    with db.admin() as conn:
        s = Scenario(conn)
        plan = s.plan("PLAN-OVERRIDE-ALL")
        s.benefit(plan, "OP_GP", copay_amount=25_000)
        member = s.member(plan)
        number = s.claim(
            member, s.provider(), MONTHS[0], [Line("OP_GP", 200_000), Line("DENTAL", 80_000)]
        )
        claim_adjudication()
        assert (s.line_row(number, 2)["status"], s.line_row(number, 2)["reason_code"]) == (
            "rejected",
            "BENEFIT_NOT_COVERED",
        )
        claim = (
            "SELECT status, total_charged_amount, total_approved_amount, "
            "member_responsibility FROM claims_service.claim WHERE claim_number = %s"
        )
        assert conn.execute(claim, (number,)).fetchone() == (
            "partially_approved",
            Decimal("280000.00"),
            Decimal("175000.00"),
            Decimal("105000.00"),
        )

        done = CliRunner().invoke(
            app,
            [
                "override",
                number,
                "2",
                "--approve",
                "60000",
                "--note",
                "dental rider of the employer's policy",
            ],
        )
        assert done.exit_code == 0, done.output
        # line 1: 200.000 less the 25.000 copay; line 2: the reviewer's 60.000, the member
        # owes the other 20.000 of its charge
        assert s.amounts(number, 2) == tuple(
            Decimal(v).quantize(Decimal("0.01")) for v in (60_000, 0, 0, 0, 0, 0, 60_000, 20_000)
        )
        assert conn.execute(claim, (number,)).fetchone() == (
            "approved",
            Decimal("280000.00"),
            Decimal("235000.00"),
            Decimal("45000.00"),
        )
        history = conn.execute(
            "SELECT h.from_status, h.to_status, h.reason_code FROM "
            "claims_service.claim_status_history h JOIN claims_service.claim c ON "
            "c.id = h.claim_id WHERE c.claim_number = %s ORDER BY h.id",
            (number,),
        ).fetchall()
        assert history == [
            ("submitted", "partially_approved", "BENEFIT_NOT_COVERED"),
            ("partially_approved", "approved", None),
        ]
        # Paid once for the first decision; the difference waits as an underpayment.
        assert conn.execute(
            "SELECT r.kind, r.difference FROM claims_service.claim_readjustment r JOIN "
            "claims_service.claim c ON c.id = r.claim_id WHERE c.claim_number = %s",
            (number,),
        ).fetchall() == [("underpayment", Decimal("60000.00"))]


def test_a_line_decided_again_reenters_the_posting_queue_once(
    db: TestDatabase, prefect_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decided, posted (outbox empty), decided again: each line is queued once with its new
    version; while queued the claim cannot be leased again; posting reverses version 1, posts
    version 2 and empties the queue; a second posting adds nothing."""
    import flows.steps.readjudication as readjudication
    from schemas.reports import PostingSummary

    with db.admin() as conn:
        s = Scenario(conn)
        plan = s.plan("PLAN-OUTBOX")
        s.benefit(plan, "OP_GP", copay_amount=25_000)
        member = s.member(plan)
        number = s.claim(
            member,
            s.provider(),
            MONTHS[0],
            [Line("OP_GP", 200_000), Line("OP_GP", 90_000, procedure_code="X2")],
        )
        claim_adjudication()
        outbox = (
            "SELECT count(*), min(adjudication_version), max(adjudication_version) "
            "FROM claims_service.posting_outbox"
        )
        assert conn.execute(outbox).fetchone() == (0, None, None)
        assert s.line_row(number, 1)["posted"] and s.line_row(number, 2)["posted"]

        monkeypatch.setattr(
            readjudication, "post_all_unposted", lambda *args, **kwargs: PostingSummary()
        )
        first = claim_readjudication(claim_numbers=[number], reason="rule change")
        assert (first.claims, first.lines) == (1, 2)
        assert conn.execute(outbox).fetchone() == (2, 2, 2)
        assert not s.line_row(number, 1)["posted"]
        # Not through posting yet: not leased again, the queue unchanged.
        again = claim_readjudication(claim_numbers=[number], reason="rule change")
        assert again.claims == 0
        assert conn.execute(outbox).fetchone() == (2, 2, 2)
        monkeypatch.undo()

        posted = accumulator_posting(full_reconciliation=True)
        assert (posted.lines_marked, posted.entries_inserted, posted.reversals) == (2, 4, 2)
        assert conn.execute(outbox).fetchone() == (0, None, None)
        ledger = conn.execute(
            "SELECT adjudication_version, entry_type, count(*) FROM "
            "benefit_service.accumulator_posting GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall()
        assert ledger == [(1, "post", 2), (1, "reverse", 2), (2, "post", 2)]
        assert s.line_row(number, 1)["posted"] and s.line_row(number, 2)["posted"]
        assert accumulator_posting().lines_marked == 0


def test_a_claim_whose_member_another_run_holds_waits_and_is_named(
    db: TestDatabase, prefect_api: str
) -> None:
    """Adjudication holds a member (a new claim of theirs, leased); a re-adjudication of the
    member's decided claim at that moment would decide it against accumulators without the
    other run's amounts. It is not taken, it is named, and it is taken once the member is
    free."""
    import uuid

    from tasks.claims import lease_claims, read_queue_clock, release_lease

    with db.admin() as conn:
        s = Scenario(conn)
        plan = s.plan("PLAN-HELD", oop_max=500_000)
        s.benefit(plan, "LAB", annual_limit=300_000)
        hospital = s.provider()
        member = s.member(plan)
        decided = s.claim(member, hospital, MONTHS[0], [Line("LAB", 200_000)])
        claim_adjudication()
        arriving = s.claim(member, hospital, MONTHS[1], [Line("LAB", 200_000)])
        other_run = uuid.uuid4()
        assert lease_claims.fn(other_run, read_queue_clock.fn(), 10, 900).claims == 1

        summary = claim_readjudication(claim_numbers=[decided], reason="benefit corrected")
        assert (summary.claims, summary.not_taken) == (0, [decided])
        assert s.claim_row(decided)["status"] == "approved"
        assert s.claim_row(arriving)["status"] == "in_review"
        result = CliRunner().invoke(app, ["run", "claim-readjudication", decided])
        assert result.exit_code == 0, result.output
        assert "1 not re-adjudicated" in result.output and decided in result.output

        release_lease.fn(other_run)
        summary = claim_readjudication(claim_numbers=[decided], reason="benefit corrected")
        assert (summary.claims, summary.not_taken) == (1, [])
