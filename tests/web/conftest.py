"""Fixtures of the console tests: a small catalog with a water-level station."""

from __future__ import annotations

from typing import Any

import pytest

from taydo.core.db import Database


@pytest.fixture
def stations(database: Database) -> dict[str, Any]:
    """Two agencies, one water-level station each (alarm levels 1.8/1.9/2.0 m) and one
    station with no values yet. Returns the ids."""
    from taydo.catalog.models import Agency, Entity, Metric
    from taydo.core import clock

    now = clock.now()
    ids: dict[str, Any] = {}
    with database.session() as session:
        for code, name in (("DKTTV", "Đài Khí tượng Thủy văn"), ("SXD", "Sở Xây dựng")):
            agency = Agency(code=code, name=name, name_en="", kind="so")
            session.add(agency)
            session.flush()
            ids[code] = agency.id
        for local, agency, lon, lat in (
            ("can-tho", "DKTTV", 105.7885, 10.0355),
            ("cai-rang", "SXD", 105.75, 10.0),
            ("quiet", "DKTTV", 105.70, 10.05),
        ):
            entity = Entity(
                entity_id=f"urn:ngsi-ld:WaterObserved:{local}",
                type="WaterObserved",
                name=f"Trạm {local}",
                agency_id=ids[agency],
                lon=lon,
                lat=lat,
                attributes={"alarm_levels": {"1": 1.8, "2": 1.9, "3": 2.0}},
                tags=[],
                created_at=now,
                updated_at=now,
            )
            session.add(entity)
            session.flush()
            metric = Metric(entity_pk=entity.id, name="height", unit="MTR")
            session.add(metric)
            session.flush()
            ids[local] = metric.id
    return ids
