"""Alembic migrations, one branch per domain.

Each domain keeps its revisions in its own folder, named in its ``Domain`` (``migrations``);
the first revision of a domain carries ``branch_labels = ("<domain>",)`` and ``depends_on``
the domains it references. ``upgrade`` always goes to ``heads``, so domains evolve without
touching each other's files.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect

from taydo.core.db import Database, sqlite_pragmas
from taydo.core.plugins import domains, make_plugin_manager

__all__ = ["alembic_config", "current_heads", "upgrade"]


def version_locations() -> list[str]:
    """Every registered domain's migrations folder (plugin hook ``taydo_domains``)."""
    return [str(d.migrations) for d in domains(make_plugin_manager()) if d.migrations is not None]


def alembic_config(database: Database, engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.set_main_option("version_locations", " ".join(version_locations()))
    config.set_main_option("path_separator", "space")
    config.attributes["engine"] = engine or database.engine
    return config


def _transactional_sqlite_engine(url: str) -> Engine:
    """An engine whose transactions really enclose DDL on SQLite.

    Python's sqlite3 driver commits before each DDL statement on its own, so an upgrade
    interrupted half-way would leave tables without their recorded revision. Taking over
    BEGIN (the driver's own transaction handling off) makes the whole upgrade one
    transaction: it happens entirely or not at all.
    """
    engine = create_engine(url, connect_args={"isolation_level": None, "timeout": 30})
    event.listen(engine, "connect", sqlite_pragmas)
    event.listen(engine, "begin", lambda connection: connection.exec_driver_sql("BEGIN"))
    return engine


def upgrade(database: Database, target: str = "heads") -> None:
    """Bring the database schema up to date (idempotent, and atomic on both backends)."""
    if database.dialect != "sqlite":
        command.upgrade(alembic_config(database), target)
        return
    engine = _transactional_sqlite_engine(database.url)
    try:
        command.upgrade(alembic_config(database, engine), target)
    finally:
        engine.dispose()


def current_heads(database: Database) -> set[str]:
    with database.engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return set()
        rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
        return {row[0] for row in rows}
