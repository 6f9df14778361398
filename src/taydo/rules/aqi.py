"""VN_AQI, the Vietnamese air quality index, by Decision 1459/QĐ-TCMT (12 November 2019) of the
Vietnam Environment Administration: sub-indices by linear interpolation between the Table 2
breakpoints, NowCast (12 hourly means) for PM2.5 and PM10 in the hourly index, 24-hour means
for PM and daily maxima of 1-hour (and 8-hour for O3) means for gases in the daily index; the
index is the largest sub-index and needs PM2.5 or PM10. All concentrations in µg/m³.

``AqiTracker`` keeps hourly means per station as pollutant values arrive and returns the derived
``aqi`` (hourly) and ``aqi_daily`` values to store as metrics of the same station.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

__all__ = [
    "BREAKPOINTS",
    "POLLUTANTS",
    "AqiTracker",
    "Derived",
    "NowcastTail",
    "daily_aqi",
    "nowcast",
    "round_half_up",
    "sub_index",
]

INDEX = (0, 50, 100, 150, 200, 300, 400, 500)
# Table 2 of the guideline: breakpoints BP_i for I_i above, µg/m³.
BREAKPOINTS: dict[str, tuple[float, ...]] = {
    "o3_1h": (0, 160, 200, 300, 400, 800, 1000, 1200),
    "o3_8h": (0, 100, 120, 170, 210, 400),
    "co": (0, 10_000, 30_000, 45_000, 60_000, 90_000, 120_000, 150_000),
    "so2": (0, 125, 350, 550, 800, 1600, 2100, 2630),
    "no2": (0, 100, 200, 700, 1200, 2350, 3100, 3850),
    "pm10": (0, 50, 150, 250, 350, 420, 500, 600),
    "pm25": (0, 25, 50, 80, 150, 250, 350, 500),
}
POLLUTANTS = ("pm25", "pm10", "o3", "no2", "so2", "co")
_PM = frozenset({"pm25", "pm10"})
_HOURLY_TABLE = {"o3": "o3_1h"}  # the hourly index reads O3's 1-hour table
HOUR_MS = 3_600_000


def round_half_up(value: float) -> int:
    return int(value + 0.5) if value >= 0 else -int(-value + 0.5)


# Per parameter: the breakpoints, and per segment (BP_i, I_i, slope to the next breakpoint).
_SEGMENTS = {
    name: (
        points,
        tuple(
            (points[i], float(INDEX[i]), (INDEX[i + 1] - INDEX[i]) / (points[i + 1] - points[i]))
            for i in range(len(points) - 1)
        ),
    )
    for name, points in BREAKPOINTS.items()
}


def sub_index(parameter: str, concentration: float) -> float | None:
    """AQIx (formula 1) for one parameter; None where the table has no row (O3 8h > 400)."""
    points, segments = _SEGMENTS[parameter]
    c = concentration if concentration > 0.0 else 0.0
    if c >= points[-1]:
        return None if parameter == "o3_8h" else float(INDEX[len(points) - 1])
    # The segment whose upper breakpoint is the first >= c (a breakpoint itself belongs to
    # the segment below it, as in the guideline's table).
    low, index, slope = segments[max(bisect_left(points, c) - 1, 0)]
    return index + slope * (c - low)


def nowcast(hourly: list[float | None]) -> float | None:
    """NowCast from hourly means c1 (current hour) … c12; None without 2 of c1..c3."""
    return NowcastTail(hourly[1:12]).nowcast(hourly[0] if hourly else None)


class NowcastTail:
    """The hours c2 … c12 of a NowCast, fixed while the current hour c1 fills up.

    ``nowcast(c1)`` runs for every PM point that arrives; its weight ``w = max(Cmin/Cmax, ½)``
    only changes when c1 leaves the range of the other hours, so the weighted sums of c2 … c12
    are kept per ``w`` instead of being recomputed for every point."""

    __slots__ = ("_sums", "_values", "high", "low", "present_2_3")

    def __init__(self, values: list[float | None]) -> None:
        self._values = values
        present = [v for v in values if v is not None]
        self.low = min(present) if present else None
        self.high = max(present) if present else None
        self.present_2_3 = sum(v is not None for v in values[:2])
        self._sums: dict[float, tuple[float, float]] = {}

    def nowcast(self, c1: float | None) -> float | None:
        if (c1 is not None) + self.present_2_3 < 2:
            return None
        low, high = self.low, self.high
        if c1 is not None:
            low = c1 if low is None or c1 < low else low
            high = c1 if high is None or c1 > high else high
        assert low is not None and high is not None  # two of c1..c3 are present
        w = 0.5 if high <= 0 else max(0.5, low / high)
        sums = self._sums.get(w)
        if sums is None:
            num = den = 0.0
            power = w
            for v in self._values:
                if v is not None:
                    num += power * v
                    den += power
                power *= w
            if len(self._sums) > 16:
                self._sums.clear()
            sums = self._sums[w] = (num, den)
        num, den = sums
        if c1 is not None:
            num += c1
            den += 1.0
        if w > 0.5:
            return num / den
        return num * 0.5  # w = ½: the weights are ½^(i+1), not normalised


def daily_aqi(
    mean_24h: dict[str, float], max_1h: dict[str, float], o3_max_8h: float | None
) -> tuple[int, str] | None:
    """AQI^d: PM 24-hour means, O3 max of 1-hour and 8-hour maxima, gases' 1-hour maxima."""
    subs: dict[str, float] = {}
    for name in ("pm25", "pm10"):
        if name in mean_24h:
            subs[name] = sub_index(name, mean_24h[name]) or 0.0
    if not subs:
        return None
    for name in ("no2", "so2", "co"):
        if name in max_1h:
            subs[name] = sub_index(name, max_1h[name]) or 0.0
    o3: list[float] = []
    if "o3" in max_1h:
        o3.append(sub_index("o3_1h", max_1h["o3"]) or 0.0)
    if o3_max_8h is not None:
        eight = sub_index("o3_8h", o3_max_8h)  # not used above 400 µg/m³ (guideline note)
        if eight is not None:
            o3.append(eight)
    if o3:
        subs["o3"] = max(o3)
    dominant = max(subs, key=lambda k: subs[k])
    return round_half_up(subs[dominant]), dominant


class Derived(NamedTuple):  # a named tuple: one is made for most PM points that arrive
    entity_pk: int
    entity_id: str
    metric: str  # "aqi" or "aqi_daily"
    ts: int
    value: float


@dataclass
class _Station:
    # pollutant -> hour start ms -> [sum, count]
    hours: dict[str, dict[int, list[float]]] = field(default_factory=dict)
    last_hourly_ts: int = -(2**62)
    day: int | None = None  # local day start (ms) of the newest data
    newest_hour: int = -(2**62)
    # (pollutant, hour) -> means of the 11 hours before it, for NowCast: they only change
    # when a late point arrives, and recomputing them for every point was most of the cost.
    tails: dict[tuple[str, int], NowcastTail] = field(default_factory=dict)


class AqiTracker:
    """Hourly means per station, kept 36 hours back; pure computation, no I/O."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self._stations: dict[int, _Station] = {}
        self._days: dict[int, int] = {}  # UTC quarter hour -> local day start

    def _day_start(self, ts: int) -> int:
        quarter = ts // 900_000  # offsets change on quarter-hour boundaries only
        found = self._days.get(quarter)
        if found is None:
            moment = datetime.fromtimestamp(ts / 1000, self.tz)
            start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
            found = int(start.timestamp() * 1000)
            if len(self._days) > 10_000:
                self._days.clear()
            self._days[quarter] = found
        return found

    def add(
        self, entity_pk: int, entity_id: str, pollutant: str, ts: int, value: float
    ) -> list[Derived]:
        station = self._stations.setdefault(entity_pk, _Station())
        hour = ts - ts % HOUR_MS
        buckets = station.hours.setdefault(pollutant, {})
        bucket = buckets.setdefault(hour, [0.0, 0.0])
        bucket[0] += value
        bucket[1] += 1
        if hour < station.newest_hour:  # a late point: the cached NowCast inputs are stale
            station.tails.clear()
        elif hour > station.newest_hour:
            station.newest_hour = hour
            station.tails.clear()  # only the new hour's inputs will be asked for
            self._prune(station, hour)
        out: list[Derived] = []
        day = self._day_start(ts)
        if station.day is not None and day > station.day:
            daily = self._daily(station, station.day)
            if daily is not None:
                out.append(Derived(entity_pk, entity_id, "aqi_daily", station.day, daily))
        if station.day is None or day > station.day:
            station.day = day
        if ts > station.last_hourly_ts:  # a late point updates means but not the series
            hourly = self._hourly(station, hour)
            if hourly is not None:
                station.last_hourly_ts = ts
                out.append(Derived(entity_pk, entity_id, "aqi", ts, float(hourly)))
        return out

    @staticmethod
    def _mean(buckets: dict[int, list[float]], hour: int) -> float | None:
        bucket = buckets.get(hour)
        return bucket[0] / bucket[1] if bucket and bucket[1] else None

    def _hourly(self, station: _Station, hour: int) -> int | None:
        """AQI^h: the largest sub-index of NowCast PM2.5/PM10 and the 1-hour means of
        O3/NO2/SO2/CO, rounded; None without PM (the guideline requires PM2.5 or PM10).
        Written without dictionaries: this runs for most PM points."""
        best = -1.0
        has_pm = False
        for name, buckets in station.hours.items():
            bucket = buckets.get(hour)
            mean = bucket[0] / bucket[1] if bucket and bucket[1] else None
            if name in _PM:
                tail = station.tails.get((name, hour))
                if tail is None:
                    tail = NowcastTail(
                        [self._mean(buckets, hour - i * HOUR_MS) for i in range(1, 12)]
                    )
                    station.tails[(name, hour)] = tail
                concentration = tail.nowcast(mean)
                if concentration is None:
                    continue
                has_pm = True
            elif mean is None:
                continue
            else:
                concentration = mean
            sub = sub_index(_HOURLY_TABLE.get(name, name), concentration) or 0.0
            if sub > best:
                best = sub
        return round_half_up(best) if has_pm else None

    def _daily(self, station: _Station, day: int) -> int | None:
        end = int(
            (datetime.fromtimestamp(day / 1000, self.tz) + timedelta(days=1)).timestamp() * 1000
        )
        mean_24h: dict[str, float] = {}
        max_1h: dict[str, float] = {}
        o3_8h: float | None = None
        for name, buckets in station.hours.items():
            hourly = {h: b[0] / b[1] for h, b in buckets.items() if day <= h < end and b[1]}
            if not hourly:
                continue
            if name in ("pm25", "pm10"):
                mean_24h[name] = sum(hourly.values()) / len(hourly)
            else:
                max_1h[name] = max(hourly.values())
            if name == "o3":
                for h in hourly:
                    window = [
                        m
                        for k in range(8)
                        if (m := self._mean(buckets, h - k * HOUR_MS)) is not None
                    ]
                    if len(window) >= 6:  # an 8-hour mean needs most of its hours
                        mean = sum(window) / len(window)
                        o3_8h = mean if o3_8h is None else max(o3_8h, mean)
        result = daily_aqi(mean_24h, max_1h, o3_8h)
        return result[0] if result else None

    @staticmethod
    def _prune(station: _Station, hour: int) -> None:
        horizon = hour - 36 * HOUR_MS
        for buckets in station.hours.values():
            if len(buckets) > 40:
                for old in [h for h in buckets if h < horizon]:
                    del buckets[old]
