"""Operations support: the archive's partitioned claims, its run log, child-table indexes.

Revision ID: claims_service_0003
Revises: claims_service_0002
Create Date: 2026-11-26
"""

from claims_askes.db.migrate import run_sql_file, sql_path

revision = "claims_service_0003"
down_revision = "claims_service_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file(sql_path(__file__, "0003_operations.up.sql"))


def downgrade() -> None:
    run_sql_file(sql_path(__file__, "0003_operations.down.sql"))
