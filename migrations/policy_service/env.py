"""Alembic environment of one service schema: the shared runner does the work."""

from claims_askes.db.migrate import run_env

run_env()
