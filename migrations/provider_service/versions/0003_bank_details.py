"""Bank details of the providers: account numbers encrypted by the application, masked for
every reader.

Revision ID: provider_service_0003
Revises: provider_service_0002
Create Date: 2026-12-04
"""

from claims_askes.db.migrate import run_sql_file, sql_path

revision = "provider_service_0003"
down_revision = "provider_service_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file(sql_path(__file__, "0003_bank_details.up.sql"))


def downgrade() -> None:
    run_sql_file(sql_path(__file__, "0003_bank_details.down.sql"))
