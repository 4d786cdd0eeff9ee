"""`database-monitoring` reports how fast the audit log grows, per business day and mode: row
audit (one entry per changed row, with content) and statement audit (one entry per statement
and table of a registered batch run)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from typer.testing import CliRunner

from claims_askes.cli.app import app
from claims_askes.operations.common import business_today
from flows.database_monitoring import markdown
from schemas.ops import AuditGrowth, MonitoringReport
from tests.conftest import TestDatabase


def jakarta_midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo("Asia/Jakarta"))


def test_growth_counts_todays_entries_of_each_mode_as_the_log_holds_them(
    db: TestDatabase, prefect_api: str
) -> None:
    from claims_askes.demo.seed import seed_demo_data
    from flows.claim_adjudication import claim_adjudication
    from tasks.monitoring import audit_growth

    seed_demo_data(members=40, claims=150, seed=7)
    claim_adjudication()  # registered: statement audit
    with db.admin() as conn:  # a DBA's edit: row audit
        conn.execute(
            "UPDATE claims_service.claim SET updated_by = 'dba on call' "
            "WHERE claim_number = (SELECT min(claim_number) FROM claims_service.claim)"
        )
        logged = conn.execute(
            'SELECT (SELECT count(*) FROM audit.audit_log WHERE "timestamp" >= %(day)s), '
            "       (SELECT count(*) FROM audit.statement_log WHERE logged_at >= %(day)s), "
            "       (SELECT count(*) FROM audit.batch_run WHERE registered_at >= %(day)s)",
            {"day": jakarta_midnight(business_today())},
        ).fetchone()
    assert logged is not None
    rows, statements, runs = logged
    assert rows > 0 and statements > 0 and runs > 0

    today = business_today()
    growth = audit_growth.fn(today, 7)
    by_mode = {g.mode: g for g in growth if g.day == today}
    assert (by_mode["row"].log_rows, by_mode["row"].runs) == (rows, 0)
    assert (by_mode["statement"].log_rows, by_mode["statement"].runs) == (statements, runs)
    assert by_mode["row"].log_bytes > 0 and by_mode["statement"].log_bytes > 0
    assert all(g.day <= today for g in growth)
    assert audit_growth.fn(date(2000, 1, 1), 7) == []  # days long before any write


def test_the_monitoring_page_shows_the_growth_table() -> None:
    report = MonitoringReport(
        database_size_bytes=1,
        connections=1,
        max_connections=100,
        audit_growth=[
            AuditGrowth(day=date(2026, 12, 4), mode="row", log_rows=1200, log_bytes=3 * 2**20),
            AuditGrowth(
                day=date(2026, 12, 4),
                mode="statement",
                log_rows=40,
                log_bytes=2**19,
                runs=9,
                server="benefit",
            ),
        ],
    )
    page = markdown(report)
    assert "| 2026-12-04 | row | 1,200 | 3.00 | 0 |" in page
    assert "| 2026-12-04 | statement (benefit) | 40 | 0.50 | 9 |" in page


def test_audit_days_out_of_bounds_is_refused_by_name() -> None:
    result = CliRunner().invoke(app, ["run", "database-monitoring", "--audit-days", "0"])
    assert result.exit_code == 2
    assert "--audit-days" in result.output
