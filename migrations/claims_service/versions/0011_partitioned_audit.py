"""Row audit of claim_partitioned: the last table the claims service may change without it.

Revision ID: claims_service_0011
Revises: claims_service_0010
Create Date: 2026-12-04
"""

from claims_askes.db.migrate import run_sql_file, sql_path

revision = "claims_service_0011"
down_revision = "claims_service_0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file(sql_path(__file__, "0011_partitioned_audit.up.sql"))


def downgrade() -> None:
    run_sql_file(sql_path(__file__, "0011_partitioned_audit.down.sql"))
