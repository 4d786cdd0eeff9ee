"""Audit of benefit limitations and exclusions.

Revision ID: benefit_service_0004
Revises: benefit_service_0003
Create Date: 2026-12-04
"""

from claims_askes.db.migrate import run_sql_file, sql_path

revision = "benefit_service_0004"
down_revision = "benefit_service_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file(sql_path(__file__, "0004_limitation_audit.up.sql"))


def downgrade() -> None:
    run_sql_file(sql_path(__file__, "0004_limitation_audit.down.sql"))
