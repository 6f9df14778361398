"""The pack's stations sit at real places of Cần Thơ, with official ward/commune codes."""

from __future__ import annotations

from collections import Counter

import vietnam_provinces as vp
import yaml

from taydo.packs.cantho.simulator.stations import STATIONS_FILE, load_stations

CAN_THO = 92


def _wards() -> dict[str, str]:
    return {str(w.code): w.name for w in vp.Ward.iter_all() if w.province_code == CAN_THO}


def test_at_least_fifty_stations_of_every_feed() -> None:
    stations = load_stations()
    assert len(stations) >= 50
    kinds = Counter(s.type for s in stations)
    for kind in (
        "WaterObserved",
        "WaterQualityObserved",
        "AirQualityObserved",
        "TrafficFlowObserved",
        "PublicServiceRecord",
    ):
        assert kinds[kind] >= 5, kind


def test_every_station_is_in_an_official_ward_of_can_tho() -> None:
    wards = _wards()
    for station in load_stations():
        assert station.area in wards, f"{station.id}: {station.area} is not a ward of Cần Thơ"
        # The 2025 city spans the old Cần Thơ, Hậu Giang and Sóc Trăng: about 9.2–10.4 N.
        assert 9.2 <= station.lat <= 10.4 and 105.2 <= station.lon <= 106.4, station.id


def test_ids_are_unique_and_entity_ids_follow_ngsi_ld() -> None:
    stations = load_stations()
    ids = [s.entity_id for s in stations]
    assert len(ids) == len(set(ids))
    assert all(i.startswith("urn:ngsi-ld:") for i in ids)


def test_can_tho_station_carries_the_official_alarm_levels() -> None:
    rows = yaml.safe_load(STATIONS_FILE.read_text(encoding="utf-8"))
    can_tho = next(r for r in rows if r["id"] == "can-tho")
    assert can_tho["area"] == "31135"
    assert _wards()[can_tho["area"]] == "Phường Ninh Kiều"
    assert can_tho["attributes"]["alarm_levels"] == {"1": 1.80, "2": 1.90, "3": 2.00}
    for row in rows:
        levels = row.get("attributes", {}).get("alarm_levels")
        if levels:
            assert levels["1"] < levels["2"] < levels["3"], row["id"]
            assert row["attributes"].get("alarm_levels_source"), row["id"]


def test_names_keep_their_diacritics() -> None:
    names = {s.name for s in load_stations()}
    assert "Trạm thủy văn Cần Thơ (sông Hậu)" in names
    assert any("Cách Mạng Tháng Tám" in n for n in names)
