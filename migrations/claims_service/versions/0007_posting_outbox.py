"""The posting queue as a narrow outbox table instead of claim_item.posted_at.

Revision ID: claims_service_0007
Revises: claims_service_0006
Create Date: 2026-11-30
"""

from claims_askes.db.migrate import run_sql_file, sql_path

revision = "claims_service_0007"
down_revision = "claims_service_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file(sql_path(__file__, "0007_posting_outbox.up.sql"))


def downgrade() -> None:
    run_sql_file(sql_path(__file__, "0007_posting_outbox.down.sql"))
