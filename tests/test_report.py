"""The claims dashboard: its numbers equal the claims table's, read as reporting_user, and
the HTML is one self-contained file with its charts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import psycopg

from claims_askes.reporting.dashboard import read_dashboard, write_report
from claims_askes.reporting.formatting import rupiah, rupiah_words
from claims_askes.reporting.model import Dashboard
from claims_askes.reporting.page import render_html
from tests.conftest import TestDatabase
from tests.test_adjudication_runs import build_world

CLI = str(Path(sys.executable).parent / "claims-askes")


def decide_some(conn: psycopg.Connection) -> None:
    """Recent submissions over a few days, with every dashboard status and two rejection
    reasons (the report's subject is the reading, not adjudication)."""
    conn.execute("""
        WITH numbered AS (SELECT id, row_number() OVER (ORDER BY claim_number) AS n
                          FROM claims_service.claim)
        UPDATE claims_service.claim c
        SET submission_date = now() - (n % 4) * interval '1 day' - interval '1 hour',
            status = (ARRAY['approved', 'partially_approved', 'rejected', 'pended',
                            'submitted'])[1 + n % 5],
            adjudicated_at = now() - (n % 4) * interval '1 day' - interval '1 hour'
                             + (n % 7) * interval '20 hours'
        FROM numbered WHERE numbered.id = c.id""")
    conn.execute("""
        UPDATE claims_service.claim SET adjudicated_at = least(adjudicated_at, now())
        WHERE status IN ('approved', 'partially_approved', 'rejected', 'pended')""")
    conn.execute("""
        UPDATE claims_service.claim SET adjudicated_at = NULL WHERE status = 'submitted'""")
    codes = [
        r[0]
        for r in conn.execute(
            "SELECT code FROM common.reason_code WHERE category = 'rejection' ORDER BY code LIMIT 2"
        )
    ]
    conn.execute(
        """
        UPDATE claims_service.claim_item ci
        SET status = 'rejected',
            reason_code = CASE WHEN ci.line_number = 1 THEN %s ELSE %s END
        FROM claims_service.claim c
        WHERE c.id = ci.claim_id AND c.status = 'rejected'""",
        codes,
    )


def test_dashboard_numbers_are_the_claims(db: TestDatabase, tmp_path: Path) -> None:
    with db.admin() as conn:
        build_world(conn, members=5)
        decide_some(conn)
        expected = conn.execute("""
            SELECT count(*), count(*) FILTER (WHERE status = 'rejected'),
                   count(*) FILTER (WHERE status IN ('submitted', 'in_review')),
                   sum(total_charged_amount)
            FROM claims_service.claim""").fetchone()
        decided = conn.execute("""
            SELECT count(*), count(*) FILTER (WHERE adjudicated_at - submission_date
                                              <= interval '72 hours')
            FROM claims_service.claim
            WHERE status IN ('approved', 'partially_approved', 'rejected')""").fetchone()
        rejected_lines = conn.execute(
            "SELECT count(*) FROM claims_service.claim_item WHERE status = 'rejected'"
        ).fetchone()
    assert expected is not None and rejected_lines is not None
    dashboard = read_dashboard()
    assert dashboard.claims == expected[0] == 15
    assert dashboard.count("rejected_claims") == expected[1]
    assert dashboard.count("pending_claims") == expected[2]
    assert dashboard.charged == expected[3]
    assert len(dashboard.days) == 4
    assert sum(r.lines for r in dashboard.reasons) == rejected_lines[0] > 0
    assert len(dashboard.reasons) == 2
    assert decided is not None and dashboard.decision is not None
    assert (dashboard.decision.count, dashboard.decision.within_sla) == decided
    assert 0 < decided[1] < decided[0]  # some within the 72 hours, some beyond
    assert sum(dashboard.decision.band_counts) == decided[0]

    path, _ = write_report(tmp_path / "out" / "dashboard.html")
    page = path.read_text()
    assert page.count("<svg") == 3 and page.count("<figure>") == 3
    assert "no payments yet" in page  # the payment section before the first payment
    assert "Not read: this page was written without a flow run" in page  # no failed runs
    backlog = {status: sum(bands) for status, bands in dashboard.backlog.items()}
    assert backlog["submitted"] + backlog["in_review"] == expected[2]
    assert dashboard.pended_total == backlog["pended"] == dashboard.count("pended_claims")
    assert "<script" not in page and not re.search(r"(src|href)=\"https?:", page)
    assert rupiah_words(dashboard.charged) in page
    for reason in dashboard.reasons:
        assert reason.code in page


def test_report_command_writes_the_file(db: TestDatabase, tmp_path: Path) -> None:
    with db.admin() as conn:
        build_world(conn, members=2)
        decide_some(conn)
    out = tmp_path / "dash.html"
    done = subprocess.run(
        [CLI, "report", "--output", str(out)],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert out.is_file() and "claims of the last 30 days: 6" in done.stdout


def test_an_empty_window_renders() -> None:
    page = render_html(Dashboard(generated_at=datetime.now(UTC), timezone="Asia/Jakarta"))
    assert "no claims in the window" in page
    assert "no rejected lines" in page
    assert "no pended claims" in page and "no payments yet" in page


def test_rupiah_grouping() -> None:
    assert rupiah(Decimal("1234567.49")) == "Rp 1.234.567"
    assert rupiah(0) == "Rp 0"
