"""The o4 migration: an existing PostgreSQL database's packed hours and rollups move into
time partitions with every row kept, and back on a downgrade."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from taydo.core.db import Database
from taydo.core.migrate import alembic_config, upgrade
from taydo.observations.partitions import DAILY, HOURLY, PACKED, RAW, missing_partition
from tests.conftest import POSTGRES_URL, skip_server

HOUR = 3_600_000
MARCH = 1_740_787_200_000  # 2025-03-01T00:00:00Z
ROWS = {
    "observations_packed": "(7, {t}, 1, '\\x00000000'::bytea, '\\x0000000000000000'::bytea, NULL)",
    "observations_hourly": "(7, {t}, 1, 2.0, 2.0, 2.0, {t}, 2.0)",
    "observations_daily": "(7, {t}, 1, 2.0, 2.0, 2.0, {t}, 2.0)",
}


@pytest.fixture
def fresh() -> Iterator[Database]:
    """A schema of its own, for migrating up and down."""
    if not POSTGRES_URL:
        skip_server("PostgreSQL", "TAYDO_TEST_POSTGRES_URL is not set")
    schema = f"taydo_test_{uuid.uuid4().hex[:10]}"
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


def partitions_of(database: Database, table: str) -> list[str]:
    with database.engine.connect() as connection:
        return sorted(
            connection.execute(
                text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "WHERE i.inhparent = to_regclass(:t)"
                ),
                {"t": table},
            ).scalars()
        )


@pytest.mark.postgres
def test_o4_moves_every_row_into_partitions_and_back(fresh: Database) -> None:
    from alembic import command

    upgrade(fresh, "o3_observations_packed")
    stamps = [MARCH + 5 * HOUR, MARCH + 40 * 24 * HOUR, MARCH + 400 * 24 * HOUR]
    with fresh.engine.begin() as connection:
        for table, row in ROWS.items():
            values = ", ".join(row.format(t=t) for t in stamps)
            connection.exec_driver_sql(f"INSERT INTO {table} VALUES {values}")
    upgrade(fresh)
    assert partitions_of(fresh, "observations_packed")[:3] == [
        "observations_packed_p202503",
        "observations_packed_p202504",
        "observations_packed_p202505",  # every month between the oldest and newest row
    ]
    assert "observations_hourly_p202604" in partitions_of(fresh, "observations_hourly")
    assert partitions_of(fresh, "observations_daily")[:2] == [
        "observations_daily_p2025",
        "observations_daily_p2026",
    ]
    for table in ROWS:
        with fresh.engine.connect() as connection:
            found = connection.exec_driver_sql(
                f"SELECT hour FROM {table}" if "packed" in table else f"SELECT bucket FROM {table}"
            )
            assert sorted(row[0] for row in found) == stamps
    command.downgrade(alembic_config(fresh), "o3_observations_packed")
    for table in ROWS:
        assert partitions_of(fresh, table) == []
        with fresh.engine.connect() as connection:
            assert connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() == 3


def test_partition_names_and_bounds() -> None:
    assert RAW.bounds(MARCH + 5) == ("observations_p202503", MARCH, 1_743_465_600_000)
    assert DAILY.bounds(MARCH)[0] == "observations_daily_p2025"
    assert DAILY.span_of("observations_daily_p2025") == (1_735_689_600_000, 1_767_225_600_000)
    assert PACKED.span_of("observations_packed_p202503") == (MARCH, 1_743_465_600_000)
    assert HOURLY.span_of("observations_hourly_p202513") is None
    assert RAW.span_of("observations_packed_p202503") is None
    assert not missing_partition(ValueError("no partition"))
