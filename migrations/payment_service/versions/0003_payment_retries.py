"""Operators' retries of payments on the exception list or held by a rejected batch,
recorded once per payment and attempt.

Revision ID: payment_service_0003
Revises: payment_service_0002
Create Date: 2026-12-05
"""

from claims_askes.db.migrate import run_sql_file, sql_path

revision = "payment_service_0003"
down_revision = "payment_service_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file(sql_path(__file__, "0003_payment_retries.up.sql"))


def downgrade() -> None:
    run_sql_file(sql_path(__file__, "0003_payment_retries.down.sql"))
