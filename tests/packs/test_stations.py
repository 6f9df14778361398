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


def test_levels_corrected_against_the_bulletins() -> None:
    """Issue 17 #7: Phụng Hiệp's BĐ3 is 1.40 m (Hậu Giang station bulletins 2022–2024), its
    BĐ1/BĐ2 re-derived 0.10 m apart; Trần Đề's BĐ2 is 2.14 − 0.03 = 2.11 m; Vị Thanh's BĐ2
    0.65 m is published (Báo Hậu Giang, 19 January 2022)."""
    rows = {r["id"]: r["attributes"] for r in yaml.safe_load(STATIONS_FILE.read_text("utf-8"))}
    assert rows["phung-hiep"]["alarm_levels"] == {"1": 1.20, "2": 1.30, "3": 1.40}
    assert "Hậu Giang" in rows["phung-hiep"]["alarm_levels_source"]
    assert rows["tran-de"]["alarm_levels"] == {"1": 2.01, "2": 2.11, "3": 2.21}
    assert rows["vi-thanh"]["alarm_levels"]["2"] == 0.65
    assert "Báo Hậu Giang, 19 January 2022" in rows["vi-thanh"]["alarm_levels_source"]
