"""Mechanics of the database operations flows: backups, restores, archiving and partitions."""
