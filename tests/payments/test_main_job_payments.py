"""The main job pays the demo's approved claims end to end (bank details, payment run with
automatic approval, the simulated bank's answers imported), and archiving then archives the
settled claims: health_check()'s backlog counts them no more as held back for payment."""

from __future__ import annotations

import re

from claims_askes.demo.main_job import Outcome, Step, steps
from tests.conftest import TestDatabase
from tests.payments.helpers import connect, use_key


def run(step: Step) -> Outcome:
    result = step.run()
    return Outcome(step.name, True, 0.0, step.describe(result), result)


def held_for_payment(conn: object) -> int:
    """Claims before the cutoff that the backlog says wait for a payment."""
    row = conn.execute(  # type: ignore[attr-defined]
        "SELECT details FROM common.health_check(p_archive_older_than => INTERVAL '3 months') "
        "WHERE check_name = 'archive_backlog'"
    ).fetchone()
    found = re.search(r"(\d+) with a payment pending or scheduled", str(row[0]))
    assert found, row[0]
    return int(found.group(1))


def test_the_main_job_pays_settles_and_archives_the_demo_claims(
    db: TestDatabase, prefect_api: str, tmp_path: object, monkeypatch: object
) -> None:
    from claims_askes.demo.seed import seed_demo_data

    use_key()
    monkeypatch.setenv("CLAIMS_ASKES_HOME", str(tmp_path))  # type: ignore[attr-defined]
    seed_demo_data(members=40, claims=150, seed=7)
    by_name = {s.name: s for s in steps()}
    for name in ("claim-adjudication", "accumulator-posting"):
        run(by_name[name])
    with connect(db) as conn:
        before = held_for_payment(conn)
        pending = conn.execute(
            "SELECT count(*) FROM claims_service.claim_payment WHERE status = 'pending'"
        ).fetchone()[0]
    assert pending > 0
    details = run(by_name["bank details (demo)"])
    assert details.result > 0
    paying = run(by_name["payment-run"])
    assert paying.result.payments_created == pending and paying.result.held == 0
    assert paying.result.awaiting_approval == []  # batches under the threshold
    answered = run(by_name["bank simulate + bank-response-import"])
    assert answered.result.paid > 0 and f"claims paid: {answered.result.paid:,}" in answered.text
    with connect(db) as conn:
        paid = conn.execute(
            "SELECT count(*) FROM claims_service.claim_payment WHERE status = 'paid'"
        ).fetchone()[0]
        assert paid == answered.result.paid
        after = held_for_payment(conn)
    assert before > 0 and after < before
    archived = run(by_name["claim-archiving"])
    with connect(db) as conn:
        archived_paid = conn.execute(
            "SELECT count(*) FROM archive.claim_payment WHERE status = 'paid'"
        ).fetchone()[0]
    assert archived.result.claims_moved > 0 and archived_paid > 0
