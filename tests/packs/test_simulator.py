"""The simulator's feeds: reproducible, and shaped like the real city's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taydo.packs.cantho.simulator import Simulator, load_stations, value

STATIONS = {s.id: s for s in load_stations()}
CAN_THO = STATIONS["can-tho"]


def _span(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    out, moment = [], start
    while moment < end:
        out.append(moment)
        moment += step
    return out


def _max_level(station_id: str, start: datetime, end: datetime, seed: int) -> float:
    station = STATIONS[station_id]
    found = [
        value(station, "height", t, seed=seed) for t in _span(start, end, timedelta(minutes=10))
    ]
    return max(v for v in found if v is not None)


@given(
    ms=st.integers(min_value=946_684_800_000, max_value=4_102_444_800_000),
    seed=st.integers(min_value=0, max_value=2**31),
)
@settings(max_examples=200, deadline=None)
def test_same_seed_and_time_give_the_same_value(ms: int, seed: int) -> None:
    first = Simulator(seed=seed).readings(ms)
    again = Simulator(seed=seed).readings(ms)
    assert first == again
    assert first, "every station yields values"


def test_datetime_and_epoch_ms_agree_and_seeds_differ() -> None:
    moment = datetime(2026, 10, 20, 6, 30, tzinfo=UTC)
    ms = int(moment.timestamp() * 1000)
    assert value(CAN_THO, "height", moment, seed=3) == value(CAN_THO, "height", ms, seed=3)
    pm = STATIONS["kk-ninh-kieu"]
    series = [int((moment + timedelta(hours=h)).timestamp() * 1000) for h in range(48)]
    assert [value(pm, "pm25", t, seed=1) for t in series] != [
        value(pm, "pm25", t, seed=2) for t in series
    ]


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        value(CAN_THO, "height", datetime(2026, 1, 1))


@pytest.mark.parametrize("seed", [0, 1, 7])
@pytest.mark.parametrize("station_id", ["can-tho", "dai-ngai", "tran-de", "phung-hiep", "vi-thanh"])
def test_alarm_levels_crossed_in_flood_season_not_in_dry_season(station_id: str, seed: int) -> None:
    levels = STATIONS[station_id].attributes["alarm_levels"]
    flood = _max_level(
        station_id, datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC), seed
    )
    dry = _max_level(
        station_id, datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC), seed
    )
    assert flood > levels["3"], f"{station_id} never reaches Báo động 3 in Sep–Nov: {flood}"
    assert dry < levels["1"], f"{station_id} reaches Báo động 1 in Feb–Apr: {dry}"


def test_can_tho_tide_is_semi_diurnal_with_two_highs_a_day() -> None:
    day = _span(
        datetime(2026, 3, 10, tzinfo=UTC), datetime(2026, 3, 11, tzinfo=UTC), timedelta(minutes=10)
    )
    levels = [value(CAN_THO, "height", t, seed=0) for t in day]
    highs = [
        i
        for i in range(1, len(levels) - 1)
        if levels[i] is not None
        and levels[i] > max(levels[max(0, i - 12) : i] + levels[i + 1 : i + 13])
    ]
    assert len(highs) == 2
    assert max(levels) - min(levels) > 1.0  # metres of range


def test_street_gauges_flood_only_at_king_tides() -> None:
    gauge = STATIONS["ngap-hai-ba-trung"]
    dry = [
        value(gauge, "height", t, seed=0)
        for t in _span(
            datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC), timedelta(hours=1)
        )
    ]
    wet = [
        value(gauge, "height", t, seed=0)
        for t in _span(
            datetime(2026, 10, 1, tzinfo=UTC),
            datetime(2026, 12, 1, tzinfo=UTC),
            timedelta(minutes=10),
        )
    ]
    assert set(dry) == {0.0}
    assert max(v for v in wet if v is not None) > 0.1


def test_salinity_intrudes_in_the_dry_season_and_rises_towards_the_sea() -> None:
    def peak(station_id: str, month: int) -> float:
        station = STATIONS[station_id]
        span = _span(
            datetime(2026, month, 1, tzinfo=UTC),
            datetime(2026, month, 28, tzinfo=UTC),
            timedelta(hours=1),
        )
        return max(value(station, "salinity", t, seed=0) or 0.0 for t in span)

    assert peak("man-tran-de", 3) > 4.0  # ‰: salt water at the river mouth in March
    assert peak("man-tran-de", 9) < 0.5  # fresh during the flood
    assert peak("man-tran-de", 3) > peak("man-dai-ngai", 3) > peak("man-ke-sach", 3)


def test_traffic_has_rush_hours_and_quieter_weekends() -> None:
    counter = STATIONS["gt-nguyen-van-cu-cmt8"]

    def count(day: int, hour: int, minute: int = 0) -> float:
        local = datetime(2026, 11, day, hour, minute, tzinfo=UTC) - timedelta(hours=7)
        return value(counter, "intensity", local, seed=0) or 0.0

    # 2026-11-24 is a Tuesday, 2026-11-29 a Sunday (local dates).
    assert count(24, 17, 30) > 3 * count(24, 3)
    assert count(24, 7, 15) > 2 * count(24, 10)
    assert count(29, 17, 30) < count(24, 17, 30)


def test_air_quality_is_worse_in_the_dry_season_and_ozone_peaks_by_day() -> None:
    station = STATIONS["kk-cai-khe"]

    def mean(metric: str, month: int, hours: range) -> float:
        found = [
            value(station, metric, datetime(2026, month, d, h, tzinfo=UTC) - timedelta(hours=7))
            for d in range(1, 28)
            for h in hours
        ]
        return sum(v or 0.0 for v in found) / len(found)

    assert mean("pm25", 1, range(24)) > 1.4 * mean("pm25", 7, range(24))
    assert mean("o3", 3, range(12, 15)) > 2 * mean("o3", 3, range(0, 4))
    for metric in ("pm25", "pm10", "no2", "o3", "co", "so2"):
        assert mean(metric, 5, range(24)) > 0


def test_public_service_desks_work_office_hours() -> None:
    desk = STATIONS["mot-cua-ninh-kieu"]

    def files(day: int, hour: int) -> tuple[float, float]:
        moment = datetime(2026, 11, day, hour, tzinfo=UTC) - timedelta(hours=7)
        return (value(desk, "onTime", moment) or 0.0, value(desk, "late", moment) or 0.0)

    assert files(24, 22) == (0.0, 0.0)  # Tuesday night
    assert files(29, 10) == (0.0, 0.0)  # Sunday
    weekday = [files(d, h) for d in (23, 24, 25, 26, 27) for h in (9, 10, 11, 14, 15, 16)]
    assert sum(a for a, _ in weekday) > 300
    late = sum(b for _, b in weekday) / sum(a + b for a, b in weekday)
    assert 0.0 < late < 0.2


def test_unknown_metric_is_not_invented() -> None:
    assert value(CAN_THO, "pm25", datetime(2026, 1, 1, tzinfo=UTC)) is None
