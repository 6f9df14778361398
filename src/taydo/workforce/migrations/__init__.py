"""Alembic revisions of this domain (loaded by file path; see taydo.core.migrate)."""
