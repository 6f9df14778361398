"""A database whose KPIs said "target: proposed" in English in their target source is
upgraded (``k3_target_proposed``) to the flag, keeping only a note of its own; the downgrade
writes the words back. On SQLite and on PostgreSQL (a schema of its own, migrated by steps)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from taydo.core import migrate
from taydo.core.db import Database
from tests.conftest import POSTGRES_URL, skip_server

BEFORE = "k2_dti_computed"
NOTE = "4‰: the level that harms rice, rules.yaml"
QCVN = "QCVN 05:2013/BTNMT — PM2.5 trung bình năm 25 µg/m³"

# stored target source → (target_proposed, target source) after the upgrade
CASES: list[tuple[str, tuple[bool, str]]] = [
    ("target: proposed", (True, "")),
    (f"target: proposed ({NOTE})", (True, NOTE)),
    (QCVN, (False, QCVN)),
    ("", (False, "")),
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database with no schema yet."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'old.db'}")
        try:
            yield database
        finally:
            database.dispose()
        return
    if not POSTGRES_URL:
        skip_server("PostgreSQL", "TAYDO_TEST_POSTGRES_URL is not set")
    schema = f"taydo_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    database = Database(f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}")
    try:
        yield database
    finally:
        database.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _stored(database: Database) -> dict[int, tuple[bool, str]]:
    with database.engine.connect() as connection:
        rows = connection.execute(text("SELECT id, target_proposed, target_source FROM kpis"))
        return {row.id: (bool(row.target_proposed), row.target_source) for row in rows}


def test_stored_proposed_targets_become_the_flag(empty: Database) -> None:
    database = empty
    for target in ("geo@head", "catalog@head", BEFORE):
        migrate.upgrade(database, target)
    assert "k3_target_proposed" not in migrate.current_heads(database)
    with database.engine.begin() as connection:
        for number, (source, _after) in enumerate(CASES, 1):
            connection.execute(
                text(
                    "INSERT INTO kpis (id, code, name, name_en, pillar, unit, direction, period, "
                    "target, target_source, source_kind, source, description, version, origin, "
                    "updated_at) VALUES (:id, :code, 'K', '', 'nen-tang', '%', 'higher', "
                    "'month', 50, :source, 'records', '{}', '', 1, 'pack:cantho', "
                    "'2026-12-01 00:00:00')"
                ),
                {"id": number, "code": f"k{number}", "source": source},
            )
    migrate.upgrade(database)
    assert "k3_target_proposed" in migrate.current_heads(database)
    assert _stored(database) == {n: after for n, (_source, after) in enumerate(CASES, 1)}

    command.downgrade(migrate.alembic_config(database), BEFORE)
    with database.engine.connect() as connection:
        rows = connection.execute(text("SELECT id, target_source FROM kpis"))
        back = {row.id: row.target_source for row in rows}
    assert back == {n: source for n, (source, _after) in enumerate(CASES, 1)}
