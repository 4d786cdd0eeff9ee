"""The authenticated login of whoever writes a reviewer's override, beside the display name.

Revision ID: claims_service_0008
Revises: claims_service_0007
Create Date: 2026-12-04
"""

from claims_askes.db.migrate import run_sql_file, sql_path

revision = "claims_service_0008"
down_revision = "claims_service_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file(sql_path(__file__, "0008_override_login.up.sql"))


def downgrade() -> None:
    run_sql_file(sql_path(__file__, "0008_override_login.down.sql"))
