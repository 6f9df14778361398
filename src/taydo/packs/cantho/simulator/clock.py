"""Calendar arithmetic the models need, done on epoch seconds (cheap in a backfill loop).

Cần Thơ keeps UTC+7 all year (no daylight saving), so local time is a fixed offset.
"""

from __future__ import annotations

import math

__all__ = ["LOCAL_OFFSET_S", "day_of_year", "local_hour", "season", "weekday"]

LOCAL_OFFSET_S = 7 * 3600
_YEAR_DAYS = 365.2425


def local_hour(t_s: float) -> float:
    """Hour of the local day, 0 ≤ h < 24."""
    return ((t_s + LOCAL_OFFSET_S) % 86400.0) / 3600.0


def weekday(t_s: float) -> int:
    """Local weekday, Monday = 0 (1 January 1970 was a Thursday)."""
    return (math.floor((t_s + LOCAL_OFFSET_S) / 86400.0) + 3) % 7


def day_of_year(t_s: float) -> float:
    """Fractional day of the year, 0 on 1 January. The mean Gregorian year keeps it within
    a day of the calendar for centuries, which is all a seasonal cycle needs."""
    return ((t_s + LOCAL_OFFSET_S) / 86400.0) % _YEAR_DAYS


def season(t_s: float, peak_day: float) -> float:
    """cos of the phase from ``peak_day``: 1 on that day, −1 half a year away."""
    return math.cos(2.0 * math.pi * (day_of_year(t_s) - peak_day) / _YEAR_DAYS)
