"""An update audit of content changes only (bookkeeping columns named per table).

Revision ID: audit_0002
Revises: audit_0001
Create Date: 2026-11-25
"""

from claims_askes.db.migrate import run_sql_file, sql_path

revision = "audit_0002"
down_revision = "audit_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file(sql_path(__file__, "0002_content_audit.up.sql"))


def downgrade() -> None:
    run_sql_file(sql_path(__file__, "0002_content_audit.down.sql"))
