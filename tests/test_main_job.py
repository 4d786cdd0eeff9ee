"""The main job (`claims-askes demo`): its archiving step archives old settled claims of the
demo data, which spans about 18 months (a 2-year cutoff would archive nothing), and nothing
the later steps show (the dashboard's last 30 days)."""

from __future__ import annotations

from datetime import date, timedelta

from claims_askes.demo.main_job import (
    MIN_AGE_MONTHS,
    Outcome,
    Step,
    archive_age,
    demo_archive_age,
    steps,
)
from claims_askes.operations.common import business_today
from tests.conftest import TestDatabase


def test_archive_age_is_the_retention_unless_every_claim_is_younger() -> None:
    today = date(2026, 11, 30)
    assert archive_age(None, today) == "2y"
    assert archive_age(date(2024, 11, 1), today) == "2y"  # 24 months back: retention
    assert archive_age(date(2025, 6, 1), today) == "12m"  # the demo: 17 months, a third off
    assert archive_age(date(2026, 10, 1), today) == f"{MIN_AGE_MONTHS}m"


def run(step: Step) -> Outcome:
    result = step.run()
    return Outcome(step.name, True, 0.0, step.describe(result), result)


def test_archiving_step_archives_old_settled_demo_claims(
    db: TestDatabase, prefect_api: str
) -> None:
    from claims_askes.demo.seed import seed_demo_data

    seed_demo_data(members=40, claims=150, seed=7)
    by_name = {s.name: s for s in steps()}
    for name in ("claim-adjudication", "accumulator-posting"):
        run(by_name[name])
    with db.admin() as conn:
        oldest, recent = conn.execute(
            "SELECT min(service_date), count(*) FILTER (WHERE submission_date >= "
            "CURRENT_DATE - 30) FROM claims_service.claim"
        ).fetchone() or (None, None)
        assert oldest is not None and oldest > business_today() - timedelta(days=2 * 365)
        age = demo_archive_age()
        assert age.endswith("m")
        archived = run(by_name["claim-archiving"])
        report = archived.result
        assert report.claims_moved > 0 and report.held_back > 0
        assert report.cutoff <= business_today() - timedelta(days=MIN_AGE_MONTHS * 28)
        assert f"{report.claims_moved:,} claims before {report.cutoff}" in archived.text
        moved = conn.execute(
            "SELECT count(*), max(service_date), count(*) FILTER (WHERE status NOT IN "
            "('approved', 'partially_approved', 'rejected', 'paid', 'cancelled')) "
            "FROM archive.claim"
        ).fetchone()
        assert moved is not None and moved[0] == report.claims_moved
        assert moved[1] < report.cutoff and moved[2] == 0
        assert conn.execute(
            "SELECT count(*) FILTER (WHERE submission_date >= CURRENT_DATE - 30)"
            " FROM claims_service.claim"
        ).fetchone() == (recent,)
        # Again: the age stays (archived claims count for it), nothing more moves.
        assert demo_archive_age() == age
        again = {s.name: s for s in steps()}["claim-archiving"]
        assert run(again).result.claims_moved == 0


def test_a_full_reconciliation_balances_after_archiving(db: TestDatabase, prefect_api: str) -> None:
    """Archived lines still count for the ledger: posting's reconciliation failed on every
    member with archived approved lines (ledger != posted lines) once archiving had run."""
    from claims_askes.demo.seed import seed_demo_data
    from flows.accumulator_posting import accumulator_posting

    seed_demo_data(members=40, claims=150, seed=7)
    by_name = {s.name: s for s in steps()}
    for name in ("claim-adjudication", "accumulator-posting"):
        run(by_name[name])
    with db.admin() as conn:
        conn.execute("UPDATE claims_service.claim_payment SET status = 'paid'")  # all settled
        run(by_name["claim-archiving"])
        archived = conn.execute(
            "SELECT count(DISTINCT c.member_id) FROM archive.claim AS c "
            "JOIN archive.claim_item AS ci ON ci.claim_id = c.id WHERE ci.status = 'approved'"
        ).fetchone()
        assert archived is not None and archived[0] > 0
        keys = conn.execute(
            "SELECT count(*) FROM (SELECT DISTINCT member_id, benefit_code, year "
            "FROM benefit_service.accumulator_posting) AS k"
        ).fetchone()
    summary = accumulator_posting(full_reconciliation=True)
    assert keys is not None and summary.keys_reconciled >= keys[0] > 0
