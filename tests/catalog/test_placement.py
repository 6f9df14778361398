"""The catalog's reads for the map and for feeders, as plain rows: placed entities, their
series, entities per area within an agency scope, the catalog's version, series by name."""

from __future__ import annotations

from taydo.catalog.schemas import EntityPatch
from taydo.catalog.service import (
    catalog_version,
    entities_per_area,
    placed_entities,
    series_by_name,
    series_owners,
    update_entity,
)
from taydo.core.access import Principal
from taydo.core.db import Database

WATER = "urn:ngsi-ld:WaterObserved:CT-NINHKIEU"


def test_placed_entities_and_their_series(loaded: Database) -> None:
    placed = {p.entity_id.rsplit(":", 1)[1]: p for p in placed_entities(loaded)}
    assert set(placed) == {"CT-NINHKIEU", "AQ-CAIRANG", "SAL-CAIRANG"}
    water = placed["CT-NINHKIEU"]
    assert (water.lat, water.lon, water.area_code, water.agency_code) == (
        10.0385,
        105.7876,
        "31135",
        "DKTTV",
    )
    assert water.attributes is not None
    assert water.attributes["alarm_levels"] == {"1": 1.7, "2": 1.9, "3": 2.1}
    owners = list(series_owners(loaded))
    by_name = series_by_name(loaded)
    assert len(owners) == len(by_name) > 0
    names = {p.pk: p.entity_id for p in placed.values()}
    assert {(names[o.entity_pk], o.metric): o.series_id for o in owners} == by_name
    assert (WATER, "height") in by_name


def test_entities_per_area_within_the_principals_agencies(loaded: Database) -> None:
    everyone = Principal("op", "operator")
    assert entities_per_area(loaded, everyone) == {"31135": 1, "31186": 1}
    officer = Principal("o", "agency_officer", frozenset({"SNNMT"}))
    assert entities_per_area(loaded, officer) == {"31186": 1}


def test_the_catalog_version_moves_with_a_change(loaded: Database) -> None:
    before = catalog_version(loaded)
    assert before.entities == 3 and before.metrics == len(series_by_name(loaded))
    assert catalog_version(loaded) == before
    update_entity(loaded, WATER, EntityPatch(name="Trạm thủy văn Cần Thơ"), None)
    assert catalog_version(loaded) != before
