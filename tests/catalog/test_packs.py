from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from taydo.catalog.models import Agency, Dataset, Entity, Metric
from taydo.catalog.service import get_entity, load_entity_types, load_pack
from taydo.core.db import Database
from taydo.core.errors import Invalid
from taydo.core.plugins import make_plugin_manager, packs
from taydo.packs.cantho.plugin import DATA_DIR

STABLE_AGENCIES = {
    "SNNMT", "SYT", "SGDDT", "SXD", "CATP", "DKTTV", "SKHCN", "VPUBND", "TTPVHCC",
    "UBND-NINHKIEU", "UBND-CAIRANG",
}  # fmt: skip
STABLE_DATASETS = {
    "water-level",
    "salinity",
    "air-quality",
    "traffic-flow",
    "public-service-records",
}


def _count(database: Database, model: type) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_pack_load_is_idempotent(database: Database, pack_dir: Path) -> None:
    first = load_pack(database, pack_dir)
    assert first["agencies_new"] == first["agencies"] >= 11
    assert first["entities_new"] == 3
    # Salinity point lists one metric of its type; the others get all of their type's.
    assert first["metrics"] == 1 + 1 + 6
    before = {m: _count(database, m) for m in (Agency, Dataset, Entity, Metric)}
    water = get_entity(database, "urn:ngsi-ld:WaterObserved:CT-NINHKIEU")

    again = load_pack(database, pack_dir)
    assert again["agencies_new"] == again["datasets_new"] == again["entities_new"] == 0
    assert {m: _count(database, m) for m in (Agency, Dataset, Entity, Metric)} == before
    # Same series ids after a reload: observations keep pointing at the right metric.
    assert (
        get_entity(database, "urn:ngsi-ld:WaterObserved:CT-NINHKIEU")["metrics"]
        == (water["metrics"])
    )


def test_pack_reload_updates_changed_rows(database: Database, pack_dir: Path) -> None:
    load_pack(database, pack_dir)
    stations = (pack_dir / "stations.yaml").read_text(encoding="utf-8")
    (pack_dir / "stations.yaml").write_text(
        stations.replace("Trạm thủy văn Cần Thơ (sông Hậu)", "Trạm Cần Thơ"), encoding="utf-8"
    )
    load_pack(database, pack_dir)
    assert get_entity(database, "urn:ngsi-ld:WaterObserved:CT-NINHKIEU")["name"] == "Trạm Cần Thơ"
    assert _count(database, Entity) == 3


def test_stations_get_metrics_units_and_ranges_from_their_type(loaded: Database) -> None:
    water = get_entity(loaded, "urn:ngsi-ld:WaterObserved:CT-NINHKIEU")
    assert water["agency"] == "DKTTV"
    assert water["dataset"] == "water-level"
    assert water["area_code"] == "31135"
    assert water["area_name"] == "Phường Ninh Kiều"
    assert water["attributes"]["alarm_levels"] == {"1": 1.7, "2": 1.9, "3": 2.1}
    (height,) = water["metrics"]
    assert (height["name"], height["unit"], height["unit_symbol"]) == ("height", "MTR", "m")
    assert (height["min_valid"], height["max_valid"]) == (-5, 10)

    air = get_entity(loaded, "urn:ngsi-ld:AirQualityObserved:AQ-CAIRANG")
    assert {m["name"] for m in air["metrics"]} == {"pm25", "pm10", "no2", "o3", "co", "so2"}
    assert {m["unit_symbol"] for m in air["metrics"]} == {"µg/m³"}
    # No area in the file and no boundaries loaded yet: the area stays unknown.
    assert air["area_code"] is None

    salinity = get_entity(loaded, "urn:ngsi-ld:WaterQualityObserved:SAL-CAIRANG")
    assert [m["name"] for m in salinity["metrics"]] == ["salinity"]
    assert salinity["metrics"][0]["unit_symbol"] == "‰"
    assert salinity["area_code"] == "31186"  # given as a YAML number, stored as the code


def test_cantho_pack_is_a_plugin_with_the_stable_codes(database: Database) -> None:
    found = packs(make_plugin_manager())
    assert "cantho" in found
    assert found["cantho"].data_dir == DATA_DIR
    load_pack(database, found["cantho"])
    with database.session() as session:
        agencies = {a.code: a for a in session.scalars(select(Agency))}
        datasets = set(session.scalars(select(Dataset.code)))
    assert set(agencies) >= STABLE_AGENCIES
    assert datasets >= STABLE_DATASETS
    assert agencies["SNNMT"].name == "Sở Nông nghiệp và Môi trường thành phố Cần Thơ"
    assert agencies["UBND-NINHKIEU"].area_code == "31135"
    assert agencies["CATP"].name_en == "Cần Thơ City Police"


def test_entity_types_follow_smart_data_models() -> None:
    types = load_entity_types(DATA_DIR)
    assert types["WaterObserved"].metrics["height"].unit == "MTR"
    assert types["WaterQualityObserved"].metrics["salinity"].unit == "NX"
    assert set(types["AirQualityObserved"].metrics) >= {"pm25", "pm10", "no2", "o3", "co", "so2"}
    assert "intensity" in types["TrafficFlowObserved"].metrics
    assert {"onTime", "late"} <= set(types["PublicServiceRecord"].metrics)
    sdm = Path("/work/shared/fixtures/smart-data-models")
    if sdm.is_dir():
        import json

        for type_name in ("WaterObserved", "WaterQualityObserved", "AirQualityObserved",
                          "TrafficFlowObserved"):  # fmt: skip
            schema = (sdm / type_name / "schema.json").read_text(encoding="utf-8")
            for metric in types[type_name].metrics:
                assert json.dumps(metric) in schema, f"{type_name}.{metric} is not an SDM name"


def _station(**fields: Any) -> str:
    base = {"id": "X", "type": "WaterObserved", "name": "x", "agency": "SNNMT"}
    return yaml.safe_dump([{**base, **fields}])


def _dataset(**fields: Any) -> str:
    base = {"code": "x", "name": "x", "agency": "SNNMT", "pillar": "society", "sector": "s"}
    return yaml.safe_dump([{**base, "update_interval": "5m", **fields}])


@pytest.mark.parametrize(
    ("file", "content", "reason"),
    [
        ("stations.yaml", _station(type="Nope"), "unknown entity type"),
        ("stations.yaml", _station(agency="NOPE"), "NOPE"),
        ("stations.yaml", _station(id="bad id"), "urn:ngsi-ld"),
        ("stations.yaml", _station(area="77777"), "77777"),
        ("stations.yaml", _station(metrics=["pm25"]), "no metric pm25"),
        ("stations.yaml", _station(lat=float("nan"), lon=1.0), "finite"),
        ("datasets.yaml", _dataset(pillar="culture"), "pillar"),
        ("datasets.yaml", _dataset(update_interval="often"), "60s, 5m"),
        ("agencies.yaml", "{not: [a list", "not valid YAML"),
        ("agencies.yaml", "code: SNNMT\n", "must be a list"),
    ],
)
def test_bad_pack_files_fail_with_the_file_and_entry(
    database: Database, pack_dir: Path, file: str, content: str, reason: str
) -> None:
    (pack_dir / file).write_text(content, encoding="utf-8")
    with pytest.raises(Invalid) as raised:
        load_pack(database, pack_dir)
    assert file in raised.value.message
    assert reason in raised.value.message
    assert _count(database, Entity) == 0  # nothing half-loaded
