"""Payment runs: batches by method, payee type and value date; approvals, bank files, bank
answers, offsets; insert-only records.

Revision ID: payment_service_0002
Revises: payment_service_0001
Create Date: 2026-12-04
"""

from claims_askes.db.migrate import run_sql_file, sql_path

revision = "payment_service_0002"
down_revision = "payment_service_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file(sql_path(__file__, "0002_payment_runs.up.sql"))


def downgrade() -> None:
    run_sql_file(sql_path(__file__, "0002_payment_runs.down.sql"))
