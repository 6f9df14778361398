"""Air quality, traffic counts and public-service files: feeds that follow the city's day.

* Traffic follows the working day: morning (≈ 7:00) and evening (≈ 17:30) rush hours on
  weekdays, a later, flatter day at weekends, and little at night.
* Air pollutants follow traffic (NO2, CO, PM) or the sun (O3), are worse in the dry season
  (December–April: little rain, stagnant air, haze from rice-straw burning) and at night when
  the boundary layer is shallow; industrial sites add SO2.
* Public-service desks process files in office hours (Monday–Friday 7:00–11:30 and
  13:00–17:00, Saturday morning at the one-stop centre); a share comes out late, more so at
  month end.

All concentrations are µg/m³ (as VN_AQI uses them). docs/simulator.md gives the reasoning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from taydo.packs.cantho.simulator import noise
from taydo.packs.cantho.simulator.clock import day_of_year, local_hour, season, weekday
from taydo.packs.cantho.simulator.stations import Station

__all__ = ["AIR_SITES", "AirSite", "air_quality", "public_service", "traffic", "traffic_profile"]

DRY_SEASON_PEAK_DAY = 30.0  # end of January: the haziest weeks


def _bump(h: float, centre: float, width: float) -> float:
    return math.exp(-(((h - centre) / width) ** 2))


def traffic_profile(t_s: float) -> float:
    """Relative traffic at this local time, 1.0 at a weekday evening peak."""
    h = local_hour(t_s)
    if weekday(t_s) < 5:
        level = 0.05 + 0.85 * _bump(h, 7.2, 1.1) + 0.95 * _bump(h, 17.6, 1.3)
        level += 0.45 * _bump(h, 12.0, 3.5)  # midday errands and school runs
    else:
        level = 0.05 + 0.55 * _bump(h, 9.5, 2.5) + 0.7 * _bump(h, 18.5, 2.2)
    return min(level, 1.1)


def traffic(station: Station, metric: str, t_s: float, seed: int) -> float | None:
    peak = float(station.attributes.get("peak_5min", 600))
    key = noise.key_of(seed, station.id, "traffic")
    load = traffic_profile(t_s) * (1.0 + 0.12 * noise.smooth(key, t_s, 3 * 3600.0))
    n = int(t_s // 60)
    if metric == "intensity":
        count = peak * load * (1.0 + 0.05 * noise.gauss(key, n))
        return float(max(0, round(count)))
    if metric == "averageVehicleSpeed":  # km/h: free flow 40, crawling at the peaks
        return round(max(5.0, 40.0 - 28.0 * load**2 + 2.0 * noise.gauss(key, n + 1)), 1)
    if metric == "occupancy":  # fraction of time a detector is covered
        return round(min(1.0, max(0.0, 0.65 * load**1.5 + 0.02 * noise.gauss(key, n + 2))), 3)
    return None


@dataclass(frozen=True)
class AirSite:
    pm25: float  # typical daily mean PM2.5 over the year
    no2: float
    co: float
    so2: float


AIR_SITES: dict[str, AirSite] = {
    "urban_traffic": AirSite(pm25=30.0, no2=38.0, co=1300.0, so2=7.0),
    "urban_centre": AirSite(pm25=27.0, no2=30.0, co=1100.0, so2=6.0),
    "urban_background": AirSite(pm25=21.0, no2=18.0, co=750.0, so2=5.0),
    "industrial": AirSite(pm25=29.0, no2=28.0, co=1000.0, so2=24.0),
    "town": AirSite(pm25=20.0, no2=14.0, co=650.0, so2=5.0),
}


def air_quality(station: Station, metric: str, t_s: float, seed: int) -> float | None:
    site = AIR_SITES.get(str(station.attributes.get("setting", "town")), AIR_SITES["town"])
    key = noise.key_of(seed, station.id, "air")
    h = local_hour(t_s)
    dry = 1.0 + 0.45 * season(t_s, DRY_SEASON_PEAK_DAY)  # 1.45 in late January, 0.55 in July
    traffic_load = traffic_profile(t_s)
    # Shallow night-time boundary layer traps pollution from the evening into the morning.
    inversion = 0.35 * (_bump(h, 22.0, 3.0) + _bump(h, 4.0, 3.0))
    weather = math.exp(0.28 * noise.smooth(key, t_s, 18 * 3600.0))  # rain, wind
    n = int(t_s // 60)
    jitter = 1.0 + 0.04 * noise.gauss(noise.key_of(seed, station.id, metric), n)
    if metric in ("pm25", "pm10"):
        pm25 = site.pm25 * dry * (0.55 + 0.45 * traffic_load + inversion) * weather
        if metric == "pm10":
            pm25 *= 1.7 + 0.15 * noise.smooth(key, t_s, 6 * 3600.0)
        return round(max(1.0, pm25 * jitter), 1)
    if metric == "no2":
        return round(max(1.0, site.no2 * (0.35 + 0.9 * traffic_load + inversion) * jitter), 1)
    if metric == "co":
        value = site.co * (0.45 + 0.8 * traffic_load + inversion) * weather * jitter
        return round(max(50.0, value), 0)
    if metric == "so2":
        return round(max(0.5, site.so2 * (0.8 + 0.4 * weather) * jitter), 1)
    if metric == "o3":
        sun = max(0.0, math.sin(math.pi * (h - 6.5) / 12.0)) ** 1.3
        cloud = 0.75 if 120.0 <= day_of_year(t_s) <= 320.0 else 1.0  # wet-season clouds
        titration = 0.2 * traffic_load  # fresh NO from traffic eats ozone
        value = (18.0 + 95.0 * sun * cloud) * (1.0 - titration) * weather
        return round(max(2.0, value * jitter), 1)
    return None


def _open_hours(
    day_start_s: float, weekday_index: int, one_stop: bool
) -> list[tuple[float, float]]:
    """Office windows of one local day, as epoch seconds."""
    if weekday_index < 5:
        windows = [(7.0, 11.5), (13.0, 17.0)]
    elif weekday_index == 5 and one_stop:
        windows = [(7.5, 11.5)]
    else:
        windows = []
    return [(day_start_s + a * 3600.0, day_start_s + b * 3600.0) for a, b in windows]


def _open_share(t_s: float, one_stop: bool) -> float:
    """Share of the hour before ``t_s`` during which the desk was open."""
    start, end = t_s - 3600.0, t_s
    local_midnight = t_s - local_hour(t_s) * 3600.0
    open_s = 0.0
    for day in (local_midnight - 86400.0, local_midnight):
        for a, b in _open_hours(day, weekday(day + 1.0), one_stop):
            open_s += max(0.0, min(b, end) - max(a, start))
    return open_s / 3600.0


def public_service(station: Station, metric: str, t_s: float, seed: int) -> float | None:
    """Files finished in the hour before ``t_s``, split into on time and late."""
    if metric not in ("onTime", "late"):
        return None
    attrs = station.attributes
    rate = float(attrs.get("files_per_hour", 10))
    late_share = float(attrs.get("late_share", 0.05))
    key = noise.key_of(seed, station.id, "files")
    share = _open_share(t_s, one_stop="one-stop" in station.tags)
    hour = int(t_s // 3600)  # one draw per hour, so the two metrics add up consistently
    total = max(0, round(rate * share * (1.0 + 0.25 * noise.gauss(key, hour))))
    # Month end: deadlines pile up and more files come out late.
    day_of_month = (day_of_year(t_s) % 30.44) / 30.44
    if day_of_month > 0.85:
        late_share *= 1.8
    late = sum(1 for i in range(total) if noise.uniform(key, hour * 1000 + i) < late_share)
    return float(late if metric == "late" else total - late)
