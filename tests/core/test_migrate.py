"""Schema upgrades: complete and idempotent, and all-or-nothing when one step fails."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from taydo.core import migrate
from taydo.core.db import Database

BROKEN = '''"""zz: a step that fails half-way

Revision ID: zz_broken
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "zz_broken"
down_revision = None
branch_labels = ("zz",)
depends_on = None


def upgrade():
    op.create_table("zz_half_done", sa.Column("id", sa.Integer, primary_key=True))
    raise RuntimeError("power cut")


def downgrade():
    pass
'''


def test_upgrade_is_idempotent(database: Database) -> None:
    heads = migrate.current_heads(database)
    assert heads  # the fixture's database is already at heads
    migrate.upgrade(database)
    assert migrate.current_heads(database) == heads


def test_an_interrupted_upgrade_leaves_nothing_half_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    broken = tmp_path / "zz_migrations"
    broken.mkdir()
    (broken / "zz_broken.py").write_text(BROKEN, encoding="utf-8")
    real = migrate.version_locations
    monkeypatch.setattr(migrate, "version_locations", lambda: [*real(), str(broken)])
    try:
        with pytest.raises(RuntimeError, match="power cut"):
            migrate.upgrade(database)
        # Nothing of the failed upgrade remains: no table, no recorded revision.
        assert inspect(database.engine).get_table_names() == []
        monkeypatch.setattr(migrate, "version_locations", real)
        migrate.upgrade(database)  # the next start simply upgrades
        assert "observations" in inspect(database.engine).get_table_names()
    finally:
        database.dispose()
