"""The aggregated temporal representation (``aggrMethods``, ``aggrPeriodDuration``).

Periods of ``aggrPeriodDuration`` follow each other from the start of the requested range
(``timeAt`` of ``after``/``between``), or without one from the start of the hour (display
zone) of the attribute's first stored instance; ``P0D`` (the default) is one period covering
the whole range. Each method gives ``[value, startAt, endAt]`` per non-empty period.

Answered from the hourly (or daily) rollups when they fit: every method is one of
``totalCount``, ``sum``, ``avg``, ``min``, ``max`` (what a rollup row holds), the period is
a whole number of hours (days), and the periods start and the range ends on rollup bucket
boundaries. Otherwise — ``distinctCount``, ``stddev``, ``sumsq``, a 15-minute period, a range
starting at 10:20 — computed from the stored points of the range.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from taydo.ingest.ngsild.errors import NgsiError
from taydo.observations.buckets import DAY_MS, HOUR_MS, Buckets

__all__ = ["METHODS", "Aggregation", "aggregate", "parse_aggregation"]

METHODS = ("totalCount", "distinctCount", "sum", "avg", "min", "max", "stddev", "sumsq")
ROLLUP_METHODS = frozenset({"totalCount", "sum", "avg", "min", "max"})
_DURATION = re.compile(
    r"^P(?:(?P<w>\d{1,6})W|(?:(?P<d>\d{1,6})D)?(?:T(?:(?P<h>\d{1,7})H)?(?:(?P<m>\d{1,9})M)?"
    r"(?:(?P<s>\d{1,10}(?:\.\d{1,3})?)S)?)?)$"
)
MAX_PERIODS = 100_000


@dataclass(frozen=True)
class Aggregation:
    methods: tuple[str, ...]
    period_ms: int  # 0: the whole range is one period


def parse_duration(text: str) -> int:
    """Milliseconds of an ISO 8601 duration in weeks, days, hours, minutes and seconds."""
    text = text.strip()
    found = _DURATION.match(text) if len(text) <= 40 else None
    if found is None or text in ("P", "PT") or text.endswith("T"):
        date_part = text.split("T", 1)[0]
        if text.startswith("P") and ("Y" in date_part or "M" in date_part):
            raise NgsiError(
                "BadRequestData",
                "aggrPeriodDuration in months or years is not supported (use days or weeks)",
            )
        raise NgsiError(
            "BadRequestData", f"aggrPeriodDuration is not an ISO 8601 duration: {text[:40]!r}"
        )
    parts = found.groupdict()
    total = 0.0
    total += int(parts["w"] or 0) * 7 * DAY_MS
    total += int(parts["d"] or 0) * DAY_MS
    total += int(parts["h"] or 0) * HOUR_MS
    total += int(parts["m"] or 0) * 60_000
    total += float(parts["s"] or 0) * 1000
    return int(total)


def parse_aggregation(
    methods: str | None, period: str | None, options: set[str]
) -> Aggregation | None:
    """The aggregation a request asks for, or None for the plain representation."""
    wanted = "aggregatedValues" in options
    if methods is None:
        if wanted or period is not None:
            raise NgsiError("BadRequestData", "aggregated values need aggrMethods")
        return None
    names = [m.strip() for m in methods.split(",") if m.strip()]
    if not names:
        raise NgsiError("BadRequestData", "aggrMethods is empty")
    unknown = [m for m in names if m not in METHODS]
    if unknown:
        raise NgsiError(
            "BadRequestData",
            f"unknown aggrMethods {', '.join(u[:40] for u in unknown[:5])}; "
            f"one of {', '.join(METHODS)}",
        )
    period_ms = parse_duration(period) if period is not None else 0
    return Aggregation(tuple(dict.fromkeys(names)), period_ms)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def fits_rollups(
    aggregation: Aggregation, buckets: Buckets, origin: int, end: int | None
) -> int | None:
    """The rollup bucket size (HOUR_MS or DAY_MS) that answers this aggregation, or None."""
    if not set(aggregation.methods) <= ROLLUP_METHODS:
        return None
    period = aggregation.period_ms
    for size in (DAY_MS, HOUR_MS):
        if period % size or (period == 0 and size == DAY_MS):
            continue
        if buckets.start(origin, size) != origin:
            continue
        if end is not None and buckets.start(end, size) != end:
            continue
        if size == DAY_MS and period % DAY_MS:
            continue
        return size
    return None


def _periods(origin: int, period: int, end: int | None, last: int) -> int:
    stop = end if end is not None else last + 1
    if period == 0:
        return 1
    return max(1, -(-(stop - origin) // period))


def _finish(
    aggregation: Aggregation, groups: dict[int, list[float]], origin: int, end: int | None,
    last: int, last_n: int | None,
) -> dict[str, list[list[Any]]]:  # fmt: skip
    """``groups``: period index → [count, sum, min, max, sumsq (nan when unknown),
    distinct (nan when unknown)]."""
    period = aggregation.period_ms
    stop = end if end is not None else last + 1
    keys = sorted(groups)
    if last_n is not None:
        keys = keys[-last_n:]
    out: dict[str, list[list[Any]]] = {m: [] for m in aggregation.methods}
    for index in keys:
        count, total, low, high, squares, distinct = groups[index]
        begin = origin + index * period
        finish = stop if period == 0 else min(begin + period, stop)
        span = [_iso(begin), _iso(finish)]
        for method in aggregation.methods:
            if method == "totalCount":
                value: Any = int(count)
            elif method == "distinctCount":
                value = int(distinct)
            elif method == "sum":
                value = total
            elif method == "avg":
                value = total / count
            elif method == "min":
                value = low
            elif method == "max":
                value = high
            elif method == "sumsq":
                value = squares
            else:  # stddev (sample standard deviation; 0 for a single value)
                mean = total / count
                value = (
                    math.sqrt(max(squares - count * mean * mean, 0.0) / (count - 1))
                    if count > 1
                    else 0.0
                )
            out[method].append([value, *span])
    return out


def aggregate(
    connection: Any,
    dialect: str,
    buckets: Buckets,
    series_id: int,
    aggregation: Aggregation,
    span: tuple[int | None, int | None],
    last_n: int | None,
    read_points: Any,
) -> tuple[dict[str, list[list[Any]]] | None, str]:
    """The aggregated values of one series over ``span``, and where they came from
    (``rollups`` or ``points``); None when the range holds no point."""
    start, end = span
    origin = start
    if origin is None:
        first = next(iter(read_points(connection, dialect, series_id, None, end, limit=1)), None)
        if first is None:
            return None, "points"
        origin = buckets.start(first[0], HOUR_MS)
    period = aggregation.period_ms
    size = fits_rollups(aggregation, buckets, origin, end)
    if size is not None:
        table = "observations_hourly" if size == HOUR_MS else "observations_daily"
        rows = _rollup_rows(connection, dialect, table, series_id, origin, end)
        if not rows:
            return None, "rollups"
        last = max(int(r[5]) for r in rows)
        if _periods(origin, period, end, last) > MAX_PERIODS:
            raise NgsiError(
                "TooManyResults",
                f"more than {MAX_PERIODS} periods: give a longer aggrPeriodDuration",
            )
        groups: dict[int, list[float]] = {}
        for bucket, count, total, low, high, _last_ts in rows:
            index = 0 if period == 0 else (int(bucket) - origin) // period
            acc = groups.get(index)
            if acc is None:
                groups[index] = [
                    int(count),
                    float(total),
                    float(low),
                    float(high),
                    math.nan,
                    math.nan,
                ]
            else:
                acc[0] += int(count)
                acc[1] += float(total)
                acc[2] = min(acc[2], float(low))
                acc[3] = max(acc[3], float(high))
        return _finish(aggregation, groups, origin, end, last, last_n), "rollups"
    groups = {}
    distinct: dict[int, set[float]] = {}
    last = origin
    seen = 0
    for ts, value, _quality in read_points(connection, dialect, series_id, origin, end):
        index = 0 if period == 0 else (ts - origin) // period
        if index >= MAX_PERIODS:
            raise NgsiError(
                "TooManyResults",
                f"more than {MAX_PERIODS} periods: give a longer aggrPeriodDuration",
            )
        acc = groups.get(index)
        if acc is None:
            groups[index] = [1, value, value, value, value * value, 0]
            distinct[index] = {value}
        else:
            acc[0] += 1
            acc[1] += value
            if value < acc[2]:
                acc[2] = value
            if value > acc[3]:
                acc[3] = value
            acc[4] += value * value
            distinct[index].add(value)
        last = ts
        seen += 1
    if not seen:
        return None, "points"
    for index, acc in groups.items():
        acc[5] = len(distinct[index])
    return _finish(aggregation, groups, origin, end, last, last_n), "points"


def _rollup_rows(
    connection: Any, dialect: str, table: str, series_id: int, start: int, end: int | None
) -> list[Any]:
    mark = "?" if dialect == "sqlite" else "%s"
    sql = (
        f"SELECT bucket, count, sum, min, max, last_ts FROM {table} "  # noqa: S608 — our table names
        f"WHERE series_id = {mark} AND bucket >= {mark} AND bucket < {mark} ORDER BY bucket"
    )
    rows: Iterable[Any] = connection.exec_driver_sql(
        sql, (series_id, start, end if end is not None else 2**62)
    ).fetchall()
    return list(rows)
