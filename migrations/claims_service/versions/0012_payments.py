"""Payments settle claims: a paid claim_payment says when and with which bank reference; a
supplementary payment names the readjustment it settles; a readjustment says how it settled.

Revision ID: claims_service_0012
Revises: claims_service_0011
Create Date: 2026-12-04
"""

from claims_askes.db.migrate import run_sql_file, sql_path

revision = "claims_service_0012"
down_revision = "claims_service_0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file(sql_path(__file__, "0012_payments.up.sql"))


def downgrade() -> None:
    run_sql_file(sql_path(__file__, "0012_payments.down.sql"))
