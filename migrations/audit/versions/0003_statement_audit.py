"""Statement audit of registered batch runs; row audit for everything else.

Revision ID: audit_0003
Revises: audit_0002
Create Date: 2026-12-05
"""

from claims_askes.db.migrate import run_sql_file, sql_path

revision = "audit_0003"
down_revision = "audit_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file(sql_path(__file__, "0003_statement_audit.up.sql"))


def downgrade() -> None:
    run_sql_file(sql_path(__file__, "0003_statement_audit.down.sql"))
