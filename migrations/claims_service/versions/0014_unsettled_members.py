"""One definition of the members whose accumulators are not settled, for every lease.

Revision ID: claims_service_0014
Revises: claims_service_0013
Create Date: 2026-12-05
"""

from claims_askes.db.migrate import run_sql_file, sql_path

revision = "claims_service_0014"
down_revision = "claims_service_0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file(sql_path(__file__, "0014_unsettled_members.up.sql"))


def downgrade() -> None:
    run_sql_file(sql_path(__file__, "0014_unsettled_members.down.sql"))
