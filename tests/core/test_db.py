"""The database handle refuses what it cannot use with a message a user can act on."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from taydo.core.db import Database, DatabaseUnavailable
from taydo.core.migrate import upgrade


def test_a_missing_sqlite_file_is_reported_not_created(tmp_path: Path) -> None:
    path = tmp_path / "taydo.db"
    database = Database(f"sqlite:///{path}")
    try:
        with (
            pytest.raises(DatabaseUnavailable, match=r"does not exist.*taydo db upgrade"),
            database.engine.connect() as connection,
        ):
            connection.execute(text("SELECT 1"))
        assert not path.exists()
        upgrade(database)  # the schema's creator makes the file
        with database.engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar() == 1
    finally:
        database.dispose()


@pytest.mark.parametrize("url", ["postgres://ioc:pw@host/db", "mysql+nosuchdriver://x/y", "x"])
def test_an_unusable_url_fails_at_once_without_its_password(url: str) -> None:
    with pytest.raises(DatabaseUnavailable, match="TAYDO_DATABASE_URL") as raised:
        Database(url)
    assert ":pw@" not in str(raised.value) and "\n" not in str(raised.value)


def test_an_in_memory_database_needs_no_file() -> None:
    database = Database("sqlite://")
    try:
        with database.engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar() == 1
    finally:
        database.dispose()
