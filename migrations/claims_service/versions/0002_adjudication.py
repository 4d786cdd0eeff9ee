"""Adjudication support in claims_service (and archive): leases, decision columns.

Revision ID: claims_service_0002
Revises: claims_service_0001
Create Date: 2026-11-25
"""

from claims_askes.db.migrate import run_sql_file, sql_path

revision = "claims_service_0002"
down_revision = "claims_service_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file(sql_path(__file__, "0002_adjudication.up.sql"))


def downgrade() -> None:
    run_sql_file(sql_path(__file__, "0002_adjudication.down.sql"))
