"""VN_AQI against the worked examples of Decision 1459/QĐ-TCMT, section 2.3."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from taydo.rules.aqi import (
    BREAKPOINTS,
    HOUR_MS,
    INDEX,
    AqiTracker,
    daily_aqi,
    nowcast,
    sub_index,
)
from taydo.rules.choices import aqi_band


def test_nowcast_matches_the_guideline_example() -> None:
    # hourly PM2.5 09:00..20:00 from the guideline; c1 is the current hour (20:00)
    series = [26.9, 24.7, 20.5, 23.5, 19.5, 16.5, 19.0, 16.5, 20.3, 22.4, 19.6, 20.6]
    value = nowcast(list(reversed(series)))
    assert value is not None and round(value, 1) == 20.3


def test_nowcast_needs_two_of_the_last_three_hours() -> None:
    assert nowcast([None, None, 30.0, 30.0]) is None
    assert nowcast([30.0, None, 30.0]) == 30.0


def test_hourly_sub_indices_of_the_guideline_example() -> None:
    assert round(sub_index("o3_1h", 136.1) or 0) == 43
    assert round(sub_index("pm25", 20.3) or 0) == 41


def test_daily_aqi_matches_the_guideline_example() -> None:
    result = daily_aqi({"pm25": 55.7}, {"o3": 114.6, "no2": 130.8}, 89.3)
    assert result == (110, "pm25")


def test_daily_aqi_needs_particulate_matter() -> None:
    assert daily_aqi({}, {"o3": 300.0}, None) is None


def test_bands_carry_the_official_colours() -> None:
    assert aqi_band(50).colour == "#00e400"
    assert aqi_band(101).code == "poor" and aqi_band(101).colour == "#ff7e00"
    assert aqi_band(350).vi == "Nguy hại" and aqi_band(350).colour == "#7e0023"


@given(st.sampled_from(sorted(BREAKPOINTS)), st.floats(min_value=0, max_value=1, exclude_max=True))
@example("o3_8h", 0.9999999999999999)  # 210 + share × 190 rounds to 400.0, the table's top
def test_sub_index_is_formula_1_between_the_breakpoints(parameter: str, share: float) -> None:
    """AQIx = (I_i+1 − I_i) / (BP_i+1 − BP_i) × (C − BP_i) + I_i, C in [BP_i, BP_i+1]; a
    breakpoint's own value is its I_i whichever segment computes it."""
    points = BREAKPOINTS[parameter]
    for i in range(len(points) - 1):
        low, high = points[i], points[i + 1]
        c = low + share * (high - low)
        if c >= points[-1]:  # rounded up to the top breakpoint: O3 8 h has no row there
            top = None if parameter == "o3_8h" else float(INDEX[len(points) - 1])
            assert sub_index(parameter, c) == top
            continue
        expected = (INDEX[i + 1] - INDEX[i]) / (high - low) * (c - low) + INDEX[i]
        assert sub_index(parameter, c) == pytest.approx(expected, abs=1e-9)
        assert sub_index(parameter, low) == pytest.approx(INDEX[i], abs=1e-9)


@given(st.floats(min_value=0, max_value=2000, allow_nan=False))
def test_sub_index_is_monotonic_and_bounded(concentration: float) -> None:
    low = sub_index("pm25", concentration) or 0
    high = sub_index("pm25", concentration + 1) or 0
    assert 0 <= low <= high <= 500


def test_tracker_derives_hourly_and_daily_values_as_data_arrives() -> None:
    tracker = AqiTracker(ZoneInfo("Asia/Ho_Chi_Minh"))
    start = 1_764_176_400_000 - 1_764_176_400_000 % HOUR_MS  # some hour
    out = []
    for hour in range(30):
        out += tracker.add(
            1, "urn:ngsi-ld:AirQualityObserved:x", "pm25", start + hour * HOUR_MS, 60.0
        )
    hourly = [d for d in out if d.metric == "aqi"]
    daily = [d for d in out if d.metric == "aqi_daily"]
    assert hourly and hourly[-1].value == 117  # NowCast of a steady 60 µg/m³ is 60
    assert len(daily) == 1 and daily[0].value == 117
    # a late point is used for means but never rewinds the hourly series
    late = tracker.add(1, "urn:ngsi-ld:AirQualityObserved:x", "pm25", start, 500.0)
    assert all(d.metric != "aqi" for d in late)


def _reference_nowcast(values: list[float | None]) -> float | None:
    """The guideline's formula written out plainly, to check the incremental one against."""
    if sum(v is not None for v in values[:3]) < 2:
        return None
    present = [v for v in values if v is not None]
    w = max(0.5, min(present) / max(present)) if max(present) > 0 else 0.5
    if w > 0.5:
        pairs = [(w**i, v) for i, v in enumerate(values) if v is not None]
        return sum(p * v for p, v in pairs) / sum(p for p, _ in pairs)
    return sum(0.5 ** (i + 1) * v for i, v in enumerate(values) if v is not None)


def test_incremental_nowcast_matches_the_formula_as_the_hour_fills() -> None:
    import random

    from taydo.rules.aqi import NowcastTail

    rng = random.Random(5)
    for _ in range(300):
        tail = [None if rng.random() < 0.2 else rng.uniform(0, 200) for _ in range(11)]
        cached = NowcastTail(tail)
        for _ in range(20):  # the same earlier hours, a new current-hour mean each time
            c1 = None if rng.random() < 0.1 else rng.uniform(0, 250)
            expected = _reference_nowcast([c1, *tail])
            got = cached.nowcast(c1)
            assert (got is None) == (expected is None)
            if expected is not None:
                assert abs(got - expected) < 1e-9 * max(1.0, expected)
