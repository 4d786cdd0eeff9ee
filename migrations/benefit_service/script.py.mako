"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from pathlib import Path

from claims_askes.db.migrate import run_sql_file, sql_path

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None
# The SQL lives beside the schema: sql/<this file's name>.up.sql and .down.sql.
STEM = Path(__file__).stem


def upgrade() -> None:
    run_sql_file(sql_path(__file__, f"{STEM}.up.sql"))


def downgrade() -> None:
    run_sql_file(sql_path(__file__, f"{STEM}.down.sql"))
