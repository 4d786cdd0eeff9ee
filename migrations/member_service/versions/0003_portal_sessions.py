"""Real purposes on members: the batch role reads every member, a new member-facing login
role (member_portal_user) reads only the member its session was bound to by a signed token.

Revision ID: member_service_0003
Revises: member_service_0002
Create Date: 2026-12-04
"""

from claims_askes.db.migrate import run_sql_file, sql_path

revision = "member_service_0003"
down_revision = "member_service_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file(sql_path(__file__, "0003_portal_sessions.up.sql"))


def downgrade() -> None:
    run_sql_file(sql_path(__file__, "0003_portal_sessions.down.sql"))
