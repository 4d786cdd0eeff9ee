"""Audit of provider facilities and specialties.

Revision ID: provider_service_0002
Revises: provider_service_0001
Create Date: 2026-12-04
"""

from claims_askes.db.migrate import run_sql_file, sql_path

revision = "provider_service_0002"
down_revision = "provider_service_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file(sql_path(__file__, "0002_facility_specialty_audit.up.sql"))


def downgrade() -> None:
    run_sql_file(sql_path(__file__, "0002_facility_specialty_audit.down.sql"))
