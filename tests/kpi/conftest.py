"""KPI fixtures: the Cần Thơ pack's catalog (52 stations) and its KPIs and DTI frameworks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from taydo.catalog.service import load_pack, series_by_name
from taydo.core.db import Database
from taydo.core.plugins import make_plugin_manager, packs
from taydo.core.settings import Settings
from taydo.kpi.service import load_dti, load_kpis
from taydo.observations.service import write_rows

ZONE = "Asia/Ho_Chi_Minh"
# October 2026 in Cần Thơ: 2026-09-30T17:00Z … 2026-10-31T17:00Z (744 hours)
OCT_START = datetime(2026, 9, 30, 17, tzinfo=UTC)
HOUR_MS = 3_600_000
NOW = datetime(2026, 12, 3, 5, tzinfo=UTC)


@pytest.fixture
def cantho(database: Database) -> Database:
    pack = packs(make_plugin_manager())["cantho"]
    load_pack(database, pack)
    load_kpis(database, pack)
    load_dti(database, pack)
    return database


def put(
    database: Database,
    entity: str,
    metric: str,
    values: list[float],
    *,
    start: datetime = OCT_START,
) -> None:
    """Hourly values of one series from ``start`` (one point per hour)."""
    series = series_by_name(database)[(f"urn:ngsi-ld:{entity}", metric)]
    base = int(start.timestamp() * 1000)
    rows = [(series, base + n * HOUR_MS, float(v), 0) for n, v in enumerate(values)]
    write_rows(database, rows, timezone=ZONE)


@pytest.fixture
def settings(database: Database) -> Settings:
    return Settings(  # type: ignore[call-arg]
        database_url=database.url,
        dev=True,
        observations_pack_after_hours=0,
        kpi_interval_s=0,  # the tests compute when they mean to
        _env_file=None,
    )
