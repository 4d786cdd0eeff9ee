"""health_check()'s table_bloat counts only dead tuples autovacuum has not cleaned for an
hour: a queue table is mostly dead between two autovacuums and is healthy.

Revision ID: common_0004
Revises: common_0003
Create Date: 2026-12-05
"""

from claims_askes.db.migrate import run_sql_file, sql_path

revision = "common_0004"
down_revision = "common_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file(sql_path(__file__, "0004_bloat_autovacuum.up.sql"))


def downgrade() -> None:
    # health_check() as common 0003 defined it: that revision's own file, not a copy.
    run_sql_file(sql_path(__file__, "0003_archive_backlog.up.sql"))
