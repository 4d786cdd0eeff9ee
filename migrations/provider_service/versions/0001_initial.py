"""Initial provider_service schema: tables, functions, triggers, grants.

Revision ID: provider_service_0001
Revises:
Create Date: 2026-11-25
"""

from claims_askes.db.migrate import run_sql_file, sql_path

revision = "provider_service_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file(sql_path(__file__, "0001_initial.up.sql"))


def downgrade() -> None:
    run_sql_file(sql_path(__file__, "0001_initial.down.sql"))
