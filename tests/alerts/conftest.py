"""Catalog rows for alert tests, a bus-publishing helper and a polling wait."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from taydo.catalog.models import Agency, Dataset, Entity, Metric
from taydo.core import clock
from taydo.core.db import Database
from taydo.core.runtime import runtime_of
from taydo.geo.models import Area
from taydo.rules.service import parse_rule, save_rules

WATER = "urn:ngsi-ld:WaterObserved:CanTho-NinhKieu"
SALT = "urn:ngsi-ld:WaterQualityObserved:SocTrang-1"

ALARM_RULE = {
    "code": "water-level-alarm",
    "kind": "threshold",
    "name": "Mực nước vượt báo động",
    "name_en": "Water level above alarm level",
    "metric": "height",
    "target": {"types": ["WaterObserved"]},
    "hysteresis": 0.05,
    "public": True,
    "cap_category": "Met",
    "instruction": "Theo dõi bản tin thủy văn.",
    "instruction_en": "Follow hydrological bulletins.",
    "levels": [
        {
            "code": "bd1",
            "label": "Báo động 1",
            "label_en": "Alarm 1",
            "attribute": "alarm_levels.1",
            "severity": "watch",
        },
        {
            "code": "bd2",
            "label": "Báo động 2",
            "label_en": "Alarm 2",
            "attribute": "alarm_levels.2",
            "severity": "warning",
        },
        {
            "code": "bd3",
            "label": "Báo động 3",
            "label_en": "Alarm 3",
            "attribute": "alarm_levels.3",
            "severity": "danger",
        },
    ],
}
SALT_RULE = {
    "code": "salinity-rice",
    "kind": "threshold",
    "name": "Độ mặn",
    "metric": "salinity",
    "levels": [{"code": "danger-4ppt", "label": "Độ mặn ≥ 4‰", "value": 4, "severity": "danger"}],
}


def make_catalog(database: Database) -> dict[str, int]:
    """Two agencies, two stations in two wards; returns series ids by entity id."""
    now = clock.now()
    with database.session() as s:
        s.add(Area(code="92", name="Thành phố Cần Thơ", kind="thành phố", level=1))
        s.flush()
        s.add(Area(code="31117", name="Phường Ninh Kiều", kind="phường", level=2, parent_code="92"))
        s.add(Area(code="31999", name="Phường Sóc Trăng", kind="phường", level=2, parent_code="92"))
        kttv = Agency(code="KTTV", name="Đài Khí tượng Thủy văn", name_en="Hydromet", kind="dai")
        snn = Agency(code="SNNMT", name="Sở Nông nghiệp và Môi trường", name_en="DARE", kind="so")
        s.add_all([kttv, snn])
        s.flush()
        water = Dataset(
            code="water-level",
            name="Mực nước",
            agency_id=kttv.id,
            pillar="government",
            sector="environment",
            description="",
            update_interval_s=60,
            licence="",
        )
        salt = Dataset(
            code="salinity",
            name="Độ mặn",
            agency_id=snn.id,
            pillar="economy",
            sector="agriculture",
            description="",
            update_interval_s=300,
            licence="",
        )
        s.add_all([water, salt])
        s.flush()
        ids = {}
        for entity_id, type_, name, agency, dataset, area, metric, attrs in (
            (
                WATER,
                "WaterObserved",
                "Trạm thủy văn Cần Thơ",
                kttv,
                water,
                "31117",
                "height",
                {"alarm_levels": {"1": 1.7, "2": 1.9, "3": 2.1}},
            ),
            (
                SALT,
                "WaterQualityObserved",
                "Trạm đo mặn Sóc Trăng",
                snn,
                salt,
                "31999",
                "salinity",
                {},
            ),
        ):
            entity = Entity(
                entity_id=entity_id,
                type=type_,
                name=name,
                agency_id=agency.id,
                dataset_id=dataset.id,
                lon=105.78,
                lat=10.03,
                area_code=area,
                attributes=attrs,
                tags=[],
                created_at=now,
                updated_at=now,
            )
            s.add(entity)
            s.flush()
            m = Metric(entity_pk=entity.id, name=metric, unit="")
            s.add(m)
            s.flush()
            ids[entity_id] = m.id
    save_rules(database, [parse_rule(ALARM_RULE), parse_rule(SALT_RULE)])
    return ids


def wait_for(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


@pytest.fixture
def catalog(database: Database) -> dict[str, int]:
    return make_catalog(database)


class Judged:
    """What the alerting runtime of a running app has finished judging: wraps the handler of
    its ``observations.committed`` subscription, so a test that asserts "nothing happened"
    first waits until the batch in question was judged (and its transitions applied) instead
    of sleeping and hoping the runtime was quick enough."""

    def __init__(self, client: Any) -> None:
        from taydo.alerts.runtime import AlertingRuntime

        runtime = runtime_of(client.app).get(AlertingRuntime)
        subscription = next(
            s for s in runtime._subscriptions if s.pattern == "observations.committed"
        )
        inner = subscription.handler
        self.points: set[tuple[int, int]] = set()  # (series id, ts) judged

        async def handler(event: Any) -> None:
            await inner(event)
            self.points.update((point[0], point[1]) for point in event.data)

        subscription.handler = handler

    def wait(self, series: int, ts: int) -> None:
        wait_for(lambda: (series, ts) in self.points)


def publish(client: Any, points: list[tuple[int, int, float]]) -> None:
    """What the observation writer does after a commit (until the obs branch is merged)."""
    client.portal.call(runtime_of(client.app).bus.publish, "observations.committed", points)
