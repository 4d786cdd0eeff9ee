"""health_check()'s archive_backlog counts the settled claims the archiver would take, and
reports those it holds back (lines not posted, payment pending, readjustment open) apart.

Revision ID: common_0003
Revises: common_0002
Create Date: 2026-11-30
"""

from claims_askes.db.migrate import run_sql_file, sql_path

revision = "common_0003"
down_revision = "common_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file(sql_path(__file__, "0003_archive_backlog.up.sql"))


def downgrade() -> None:
    run_sql_file(sql_path(__file__, "0003_archive_backlog.down.sql"))
