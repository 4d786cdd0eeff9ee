"""Adjudication support in benefit_service: the accumulator posting ledger.

Revision ID: benefit_service_0002
Revises: benefit_service_0001
Create Date: 2026-11-25
"""

from claims_askes.db.migrate import run_sql_file, sql_path

revision = "benefit_service_0002"
down_revision = "benefit_service_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file(sql_path(__file__, "0002_adjudication.up.sql"))


def downgrade() -> None:
    run_sql_file(sql_path(__file__, "0002_adjudication.down.sql"))
