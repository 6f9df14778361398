"""KPI periods in the city's calendar (Asia/Ho_Chi_Minh by default): day, ISO week, month,
quarter and year, each with a key (``2026-11-03``, ``2026-W45``, ``2026-11``, ``2026-Q4``,
``2026``) and its [start, end) in UTC."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = ["PERIODS", "Period", "parse_key", "period_of", "recent"]

PERIODS: dict[str, tuple[str, str]] = {
    "day": ("Ngày", "Day"),
    "week": ("Tuần", "Week"),
    "month": ("Tháng", "Month"),
    "quarter": ("Quý", "Quarter"),
    "year": ("Năm", "Year"),
}

_KEYS = {
    "day": re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"),
    "week": re.compile(r"^(\d{4})-W(\d{2})$"),
    "month": re.compile(r"^(\d{4})-(\d{2})$"),
    "quarter": re.compile(r"^(\d{4})-Q([1-4])$"),
    "year": re.compile(r"^(\d{4})$"),
}


@dataclass(frozen=True)
class Period:
    kind: str
    key: str
    first: date  # first local day
    after: date  # first local day after the period
    zone: str

    def _utc(self, day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(self.zone)).astimezone(UTC)

    @property
    def start(self) -> datetime:
        return self._utc(self.first)

    @property
    def end(self) -> datetime:
        return self._utc(self.after)

    def previous(self) -> Period:
        return _containing(self.kind, self.first - timedelta(days=1), self.zone)

    def next(self) -> Period:
        return _containing(self.kind, self.after, self.zone)


def _month_after(year: int, month: int) -> date:
    return date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)


def _containing(kind: str, day: date, zone: str) -> Period:
    if kind == "day":
        return Period(kind, day.isoformat(), day, day + timedelta(days=1), zone)
    if kind == "week":
        iso = day.isocalendar()
        first = day - timedelta(days=iso.weekday - 1)
        return Period(kind, f"{iso.year}-W{iso.week:02d}", first, first + timedelta(7), zone)
    if kind == "month":
        first = day.replace(day=1)
        return Period(
            kind, f"{day.year}-{day.month:02d}", first, _month_after(day.year, day.month), zone
        )
    if kind == "quarter":
        q = (day.month - 1) // 3
        first = date(day.year, 3 * q + 1, 1)
        return Period(kind, f"{day.year}-Q{q + 1}", first, _month_after(day.year, 3 * q + 3), zone)
    if kind == "year":
        return Period(kind, str(day.year), date(day.year, 1, 1), date(day.year + 1, 1, 1), zone)
    raise ValueError(f"unknown period {kind!r}")


def period_of(kind: str, moment: datetime, zone: str) -> Period:
    """The period of ``kind`` holding ``moment`` (aware) in the zone's calendar."""
    return _containing(kind, moment.astimezone(ZoneInfo(zone)).date(), zone)


def parse_key(kind: str, key: str, zone: str) -> Period:
    """The period a key names; ``ValueError`` with the expected shape otherwise."""
    pattern = _KEYS.get(kind)
    if pattern is None:
        raise ValueError(f"unknown period {kind!r}")
    found = pattern.match(key.strip())
    if found is None:
        raise ValueError(
            f"a {kind} period is written like {_containing(kind, date(2026, 11, 3), zone).key}"
        )
    parts = [int(p) for p in found.groups()]
    try:
        if kind == "day":
            day = date(parts[0], parts[1], parts[2])
        elif kind == "week":
            day = date.fromisocalendar(parts[0], parts[1], 1)
        elif kind == "month":
            day = date(parts[0], parts[1], 1)
        elif kind == "quarter":
            day = date(parts[0], 3 * parts[1] - 2, 1)
        else:
            day = date(parts[0], 1, 1)
    except ValueError as error:
        raise ValueError(f"no such {kind}: {key!r} ({error})") from None
    if not 2000 <= day.year <= 2100:
        raise ValueError(f"the year must be between 2000 and 2100, not {day.year}")
    return _containing(kind, day, zone)


def recent(kind: str, now: datetime, zone: str, count: int) -> list[Period]:
    """The ``count`` periods up to and including the one holding ``now``, oldest first."""
    current = period_of(kind, now, zone)
    out = [current]
    for _ in range(count - 1):
        out.append(out[-1].previous())
    return out[::-1]
