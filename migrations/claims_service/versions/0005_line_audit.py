"""Audit of claim_item: content changes only (the posting mark is bookkeeping).

Revision ID: claims_service_0005
Revises: claims_service_0004
Create Date: 2026-11-25
"""

from claims_askes.db.migrate import run_sql_file, sql_path

revision = "claims_service_0005"
down_revision = "claims_service_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file(sql_path(__file__, "0005_line_audit.up.sql"))


def downgrade() -> None:
    run_sql_file(sql_path(__file__, "0005_line_audit.down.sql"))
