"""health_check() extended with the operations checks: partition runway, default-partition
rows, backup freshness, archive backlog.

Revision ID: common_0002
Revises: common_0001
Create Date: 2026-11-26
"""

from claims_askes.db.migrate import run_sql_file, sql_path

revision = "common_0002"
down_revision = "common_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file(sql_path(__file__, "0002_health_checks.up.sql"))


def downgrade() -> None:
    run_sql_file(sql_path(__file__, "0002_health_checks.down.sql"))
