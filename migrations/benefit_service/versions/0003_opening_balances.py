"""Opening balances of the accumulators, for the posting reconciliation.

Revision ID: benefit_service_0003
Revises: benefit_service_0002
Create Date: 2026-11-25
"""

from claims_askes.db.migrate import run_sql_file, sql_path

revision = "benefit_service_0003"
down_revision = "benefit_service_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file(sql_path(__file__, "0003_opening_balances.up.sql"))


def downgrade() -> None:
    run_sql_file(sql_path(__file__, "0003_opening_balances.down.sql"))
