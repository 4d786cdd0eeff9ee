"""Bank details of the members: account numbers encrypted by the application, masked for
every reader.

Revision ID: member_service_0004
Revises: member_service_0003
Create Date: 2026-12-04
"""

from claims_askes.db.migrate import run_sql_file, sql_path

revision = "member_service_0004"
down_revision = "member_service_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file(sql_path(__file__, "0004_bank_details.up.sql"))


def downgrade() -> None:
    run_sql_file(sql_path(__file__, "0004_bank_details.down.sql"))
