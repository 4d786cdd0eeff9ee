"""Archive of a claim's decision history, overrides and readjustments, moved with the claim.

Revision ID: claims_service_0006
Revises: claims_service_0005
Create Date: 2026-11-30
"""

from claims_askes.db.migrate import run_sql_file, sql_path

revision = "claims_service_0006"
down_revision = "claims_service_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file(sql_path(__file__, "0006_archive_records.up.sql"))


def downgrade() -> None:
    run_sql_file(sql_path(__file__, "0006_archive_records.down.sql"))
