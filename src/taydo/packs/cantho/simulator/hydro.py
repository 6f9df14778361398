"""Water level and salinity: the tide of the Hậu river, the Mekong flood, salt intrusion.

Water level (m above the Hòn Dấu datum) at a station is

    h(t) = base + flood · F(t) + scale · Σ A_i cos(ω_i (t − T0 − lag)) + weather(t) + ε

* the tide is the sum of the four main constituents M2, S2 (semi-diurnal) and K1, O1
  (diurnal) with their true angular speeds; amplitudes are chosen so that the Cần Thơ station
  reproduces the observed behaviour (a spring range of about 2–2.5 m, a mixed, mainly
  semi-diurnal tide with two unequal highs a day). All constituents are in phase at ``T0``,
  two days after the new moon of 6 January 2000 (the "age" of the tide), so spring tides fall
  about two days after new and full moon, as on the Mekong delta;
* ``F(t)`` is the Mekong flood: a seasonal bump that peaks in mid-October and is nil from
  March to May, which lifts the mean level so that the spring tides of September–November
  ("triều cường") cross Báo động 1/2/3 while dry-season tides stay below Báo động 1;
* ``weather`` is slow noise (wind set-up, rain) of a few centimetres; ε is white noise.

docs/simulator.md lists every parameter with its reasoning and sources.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from taydo.packs.cantho.simulator import noise
from taydo.packs.cantho.simulator.clock import local_hour, season
from taydo.packs.cantho.simulator.stations import Station

__all__ = [
    "CONSTITUENTS",
    "SALINITY",
    "WATER",
    "SalinityProfile",
    "WaterProfile",
    "salinity",
    "tide",
    "water_level",
    "water_ph",
    "water_temperature",
]

# Reference instant: 2000-01-08 18:00 UTC (new moon of 2000-01-06 18:14 UTC + 2 days).
T0_S = 947_354_400

# (name, speed in degrees per hour, amplitude in metres at the Cần Thơ station)
CONSTITUENTS: tuple[tuple[str, float, float], ...] = (
    ("M2", 28.9841042, 0.62),  # principal lunar semi-diurnal
    ("S2", 30.0000000, 0.24),  # principal solar semi-diurnal
    ("K1", 15.0410686, 0.36),  # luni-solar diurnal
    ("O1", 13.9430356, 0.26),  # principal lunar diurnal
)
_OMEGA = tuple((math.radians(speed) / 3600.0, amp) for _name, speed, amp in CONSTITUENTS)
TIDE_MAX = sum(amp for _n, _s, amp in CONSTITUENTS)

FLOOD_PEAK_DAY = 288.0  # 15 October


@dataclass(frozen=True)
class WaterProfile:
    base: float  # mean level in the dry season (m)
    flood: float  # rise of the mean level at the flood peak (m)
    scale: float = 1.0  # tide amplitude relative to Cần Thơ
    lag_h: float = 0.0  # tide arrives this many hours after Cần Thơ (negative: before)
    weather: float = 0.05  # amplitude of the slow weather noise (m)


WATER: dict[str, WaterProfile] = {
    "can-tho": WaterProfile(base=0.12, flood=0.75),
    "dai-ngai": WaterProfile(base=0.06, flood=0.66, scale=1.08, lag_h=-1.5),
    "tran-de": WaterProfile(base=0.05, flood=0.60, scale=1.25, lag_h=-2.5),
    "phung-hiep": WaterProfile(base=-0.05, flood=0.62, scale=0.72, lag_h=2.0),
    "vi-thanh": WaterProfile(base=0.00, flood=0.38, scale=0.33, lag_h=4.0),
    "thanh-an": WaterProfile(base=0.25, flood=0.95, scale=0.30, lag_h=5.0),
}
_DEFAULT_WATER = WaterProfile(base=0.10, flood=0.60, scale=0.9, lag_h=1.0)


def tide(t_s: float, *, scale: float = 1.0, lag_h: float = 0.0) -> float:
    """The astronomical tide (m) around the mean level."""
    dt = t_s - T0_S - lag_h * 3600.0
    return scale * sum(amp * math.cos(omega * dt) for omega, amp in _OMEGA)


def flood_factor(t_s: float) -> float:
    """0 in the dry season, 1 at the flood peak (mid-October)."""
    c = season(t_s, FLOOD_PEAK_DAY)
    return ((c + 1.0) / 2.0) ** 3


def _river_level(station_id: str, t_s: float, seed: int) -> float:
    p = WATER.get(station_id, _DEFAULT_WATER)
    key = noise.key_of(seed, station_id, "height")
    level = p.base + p.flood * flood_factor(t_s) + tide(t_s, scale=p.scale, lag_h=p.lag_h)
    level += p.weather * noise.smooth(key, t_s, 36 * 3600.0)
    level += 0.01 * noise.gauss(key, int(t_s // 60))
    return level


def water_level(station: Station, t_s: float, seed: int) -> float:
    """Level of a river/canal station, or water depth on the road for a street gauge."""
    attrs = station.attributes
    if attrs.get("kind") == "street_flood_gauge":
        reference = str(attrs.get("reference_station", "can-tho"))
        elevation = float(attrs.get("street_elevation_m", 2.0))
        river = _river_level(reference, t_s, seed)
        depth = max(0.0, river - elevation)
        return round(depth, 2)
    return round(_river_level(station.id, t_s, seed), 2)


@dataclass(frozen=True)
class SalinityProfile:
    peak: float  # typical highest salinity of the dry season (‰)
    scale: float = 1.0  # tide amplitude relative to Cần Thơ
    lag_h: float = 0.0


SALINITY: dict[str, SalinityProfile] = {
    "man-vinh-chau": SalinityProfile(peak=24.0, scale=1.3, lag_h=-3.0),
    "man-my-thanh": SalinityProfile(peak=17.0, scale=1.2, lag_h=-2.5),
    "man-tran-de": SalinityProfile(peak=13.0, scale=1.25, lag_h=-2.5),
    "man-cu-lao-dung": SalinityProfile(peak=10.0, scale=1.15, lag_h=-2.0),
    "man-long-phu": SalinityProfile(peak=8.0, scale=1.1, lag_h=-1.8),
    "man-dai-ngai": SalinityProfile(peak=5.5, scale=1.08, lag_h=-1.5),
    "man-nga-nam": SalinityProfile(peak=4.5, scale=0.5, lag_h=3.0),
    "man-vi-thanh": SalinityProfile(peak=4.0, scale=0.33, lag_h=4.0),
    "man-long-my": SalinityProfile(peak=3.5, scale=0.4, lag_h=3.5),
    "man-ke-sach": SalinityProfile(peak=2.2, scale=1.0, lag_h=-0.8),
    "man-phung-hiep": SalinityProfile(peak=1.8, scale=0.72, lag_h=2.0),
}
_DEFAULT_SALINITY = SalinityProfile(peak=3.0)
INTRUSION_PEAK_DAY = 75.0  # mid-March
FRESH_WATER = 0.1  # ‰ of the Hậu river in the flood season


def intrusion_factor(t_s: float) -> float:
    """0 from July to November, rising from December, 1 in mid-March, fading by June."""
    c = season(t_s, INTRUSION_PEAK_DAY)
    return max(0.0, c) ** 1.5


def salinity(station: Station, t_s: float, seed: int) -> float:
    """Salinity (‰): salt pushed in by the tide when the river runs low."""
    p = SALINITY.get(station.id, _DEFAULT_SALINITY)
    key = noise.key_of(seed, station.id, "salinity")
    # Salt follows the tide: highest around high water, lowest at low water.
    tide01 = (tide(t_s, scale=1.0, lag_h=p.lag_h + 1.0) / TIDE_MAX + 1.0) / 2.0
    # Dry years differ: a slow multiplier per ~10 days keeps the feed from looking periodic.
    year_mood = 1.0 + 0.2 * noise.smooth(key, t_s, 10 * 86400.0)
    salt = p.peak * intrusion_factor(t_s) * (0.45 + 0.55 * tide01) * year_mood
    jitter = noise.gauss(key, int(t_s // 60))
    value = FRESH_WATER * (1.0 + 0.1 * jitter) + salt * (1.0 + 0.03 * jitter)
    return round(max(0.0, value), 2)


def water_temperature(station: Station, t_s: float, seed: int) -> float:
    """Water temperature (°C): warmest in April–May, coolest in January, a small daily swing."""
    key = noise.key_of(seed, station.id, "temperature")
    seasonal = 29.0 + 1.6 * season(t_s, 120.0)  # ≈ 30.6 °C in late April, 27.4 °C in winter
    daily = 0.5 * math.sin(2.0 * math.pi * (local_hour(t_s) - 9.0) / 24.0)  # top ≈ 15:00
    value = seasonal + daily + 0.4 * noise.smooth(key, t_s, 2 * 86400.0)
    return round(value + 0.05 * noise.gauss(key, int(t_s // 60)), 2)


def water_ph(station: Station, t_s: float, seed: int) -> float:
    """pH: near neutral; lower early in the rainy season, when rain washes acid out of the
    acid-sulphate soils of the Hậu Giang and Long Mỹ canals (June peak of that effect)."""
    key = noise.key_of(seed, station.id, "pH")
    acid = 0.6 if "canal" in station.tags else 0.2
    flush = max(0.0, season(t_s, 165.0)) ** 4
    value = 7.3 - acid * flush + 0.1 * noise.smooth(key, t_s, 86400.0)
    return round(value + 0.02 * noise.gauss(key, int(t_s // 60)), 2)
