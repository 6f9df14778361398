"""The Cần Thơ simulator: seeded, reproducible synthetic feeds at the pack's stations.

``value(station, metric, ts, seed=…)`` is a pure function: the same seed and instant always
give the same value, so live feeds, backfills and tests agree. ``Simulator`` walks every
station and metric; ``taydo.packs.cantho.simulator.driver`` writes the values (backfill) and
sends them live. The models and their parameters are documented in docs/simulator.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from taydo.packs.cantho.simulator.hydro import salinity, water_level, water_ph, water_temperature
from taydo.packs.cantho.simulator.stations import Station, load_stations
from taydo.packs.cantho.simulator.urban import air_quality, public_service, traffic

__all__ = ["FEEDS", "Reading", "Simulator", "Station", "load_stations", "metrics_of", "value"]

Model = Callable[[Station, str, float, int], float | None]


def _water(station: Station, metric: str, t_s: float, seed: int) -> float | None:
    return water_level(station, t_s, seed) if metric == "height" else None


def _water_quality(station: Station, metric: str, t_s: float, seed: int) -> float | None:
    if metric == "salinity":
        return salinity(station, t_s, seed)
    if metric == "temperature":
        return water_temperature(station, t_s, seed)
    if metric == "pH":
        return water_ph(station, t_s, seed)
    return None


# entity type → (metrics the simulator produces by default, model)
FEEDS: dict[str, tuple[tuple[str, ...], Model]] = {
    "WaterObserved": (("height",), _water),
    "WaterQualityObserved": (("salinity", "temperature", "pH"), _water_quality),
    "AirQualityObserved": (("pm25", "pm10", "no2", "o3", "co", "so2"), air_quality),
    "TrafficFlowObserved": (("intensity", "averageVehicleSpeed"), traffic),
    "PublicServiceRecord": (("onTime", "late"), public_service),
}


def _seconds(ts: int | float | datetime) -> float:
    if isinstance(ts, datetime):
        if ts.tzinfo is None:
            raise ValueError("naive datetime: a time zone is required")
        return ts.timestamp()
    return ts / 1000.0  # epoch milliseconds


def value(
    station: Station, metric: str, ts: int | float | datetime, *, seed: int = 0
) -> float | None:
    """The simulated value of ``metric`` at ``station`` at ``ts`` (epoch ms or aware datetime);
    None for a metric this simulator does not model."""
    feed = FEEDS.get(station.type)
    if feed is None:
        return None
    return feed[1](station, metric, _seconds(ts), seed)


def metrics_of(station: Station) -> tuple[str, ...]:
    if station.metrics is not None:
        return station.metrics
    feed = FEEDS.get(station.type)
    return feed[0] if feed else ()


@dataclass(frozen=True, slots=True)
class Reading:
    entity_id: str
    metric: str
    ts: int  # epoch ms UTC
    value: float


class Simulator:
    """Every (station, metric) pair the simulator can feed."""

    def __init__(self, stations: Iterable[Station] | None = None, *, seed: int = 0) -> None:
        self.seed = seed
        self.stations = list(stations if stations is not None else load_stations())
        self.pairs: list[tuple[Station, str]] = [
            (station, metric) for station in self.stations for metric in metrics_of(station)
        ]

    def only(self, wanted: set[tuple[str, str]]) -> Simulator:
        """A copy restricted to the (entity_id, metric) pairs in ``wanted`` (the catalog's)."""
        copy = Simulator(self.stations, seed=self.seed)
        copy.pairs = [(s, m) for s, m in self.pairs if (s.entity_id, m) in wanted]
        return copy

    def readings(self, ts_ms: int) -> list[Reading]:
        out = []
        for station, metric in self.pairs:
            found = value(station, metric, ts_ms, seed=self.seed)
            if found is not None:
                out.append(Reading(station.entity_id, metric, ts_ms, found))
        return out
