"""Status history and notes insert-only and audited, the dashboard view with the invoker's rights, archive_claim_records only inside an archiving run.

Revision ID: claims_service_0009
Revises: claims_service_0008
Create Date: 2026-12-04
"""

from claims_askes.db.migrate import run_sql_file, sql_path

revision = "claims_service_0009"
down_revision = "claims_service_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file(sql_path(__file__, "0009_insert_only_history.up.sql"))


def downgrade() -> None:
    run_sql_file(sql_path(__file__, "0009_insert_only_history.down.sql"))
