"""The posting outbox is emptied only by posting: no DELETE for the claims service, a
SECURITY DEFINER mark_lines_posted() that takes decided line versions out and records each
call.

Revision ID: claims_service_0010
Revises: claims_service_0009
Create Date: 2026-12-04
"""

from claims_askes.db.migrate import run_sql_file, sql_path

revision = "claims_service_0010"
down_revision = "claims_service_0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file(sql_path(__file__, "0010_outbox_by_posting.up.sql"))


def downgrade() -> None:
    run_sql_file(sql_path(__file__, "0010_outbox_by_posting.down.sql"))
