"""Line decisions keep the whole decision (statement audit of adjudication's line update);
status history and notes insert-only, moved by the owner's archive_claim_records().

Revision ID: claims_service_0013
Revises: claims_service_0012
Create Date: 2026-12-05
"""

from claims_askes.db.migrate import run_sql_file, sql_path

revision = "claims_service_0013"
down_revision = "claims_service_0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file(sql_path(__file__, "0013_statement_audit.up.sql"))


def downgrade() -> None:
    run_sql_file(sql_path(__file__, "0013_statement_audit.down.sql"))
