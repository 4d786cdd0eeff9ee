"""Member views that hold RLS, no writes through views, a masked view that cannot rebuild a NIK, audited dependents and eligibility snapshots.

Revision ID: member_service_0002
Revises: member_service_0001
Create Date: 2026-12-04
"""

from claims_askes.db.migrate import run_sql_file, sql_path

revision = "member_service_0002"
down_revision = "member_service_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file(sql_path(__file__, "0002_view_security.up.sql"))


def downgrade() -> None:
    run_sql_file(sql_path(__file__, "0002_view_security.down.sql"))
