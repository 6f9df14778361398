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


@pytest.fixture
def open_alert(database: Database) -> Any:
    """``open_alert(entity_id, severity, agency)`` stores a firing alert; returns its id."""
    from taydo.alerts.models import Alert
    from taydo.core import clock

    def make(entity_id: str, severity: str = "danger", agency: str = "DKTTV") -> int:
        now = clock.now()
        with database.session() as session:
            alert = Alert(
                rule_code="water-level-alarm",
                rule_kind="threshold",
                target=entity_id,
                open_key=f"water-level-alarm|{entity_id}",
                state="firing",
                severity=severity,
                level="bd3",
                value=2.35,
                entity_id=entity_id,
                metric="height",
                agency_code=agency,
                sector="natural-resources-environment",
                title=f"Mực nước vượt báo động: Báo động 3 — {entity_id}",
                title_en=f"Water level above alarm level: Alarm level 3 — {entity_id}",
                started_at=now,
                updated_at=now,
            )
            session.add(alert)
            session.flush()
            return int(alert.id)

    return make
