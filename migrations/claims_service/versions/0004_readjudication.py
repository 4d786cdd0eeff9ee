"""Re-adjudication: decision history, manual overrides, readjustments for payment follow-up.

Revision ID: claims_service_0004
Revises: claims_service_0003
Create Date: 2026-11-25
"""

from claims_askes.db.migrate import run_sql_file, sql_path

revision = "claims_service_0004"
down_revision = "claims_service_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file(sql_path(__file__, "0004_readjudication.up.sql"))


def downgrade() -> None:
    run_sql_file(sql_path(__file__, "0004_readjudication.down.sql"))
