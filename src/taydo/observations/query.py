"""Reading observations: bucketed series and latest values.

Buckets of 1 h and 1 d are answered from the hourly and daily rollups (a 30-day daily chart
reads 30 rows, never the raw points); 1 m, 5 m and 15 m buckets aggregate the raw rows of the
range. Buckets are aligned in the display time zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, text

from taydo.core.db import Database
from taydo.observations.buckets import BUCKET_MS, DAY_MS, HOUR_MS, Buckets

__all__ = [
    "AGGREGATES",
    "MAX_BUCKETS",
    "LatestValue",
    "latest_values",
    "recent_points",
    "series_buckets",
]

AGGREGATES = ("avg", "min", "max", "sum", "count", "last")
MAX_BUCKETS = 50_000

# The raw path reads up to 43,200 rows (30 days of minutes): skip SQLAlchemy's text() layer.
_RAW_DRIVER = {
    True: "SELECT ts, value FROM observations "
    "WHERE series_id = :s AND ts >= :a AND ts < :b ORDER BY ts",
    False: "SELECT ts, value FROM observations "
    "WHERE series_id = %(s)s AND ts >= %(a)s AND ts < %(b)s ORDER BY ts",
}
_ROLLUP = (
    "SELECT bucket, count, sum, min, max, last_value FROM {table} "
    "WHERE series_id = :s AND bucket >= :a AND bucket < :b ORDER BY bucket"
)
_HOURLY = text(_ROLLUP.format(table="observations_hourly"))
_DAILY = text(_ROLLUP.format(table="observations_daily"))


def _pick(agg: str, count: int, total: float, low: float, high: float, last: float) -> float:
    if agg == "avg":
        return total / count
    if agg == "min":
        return low
    if agg == "max":
        return high
    if agg == "sum":
        return total
    if agg == "count":
        return float(count)
    return last


def _aggregate_raw(
    rows: Iterable[Any], size: int, agg: str, buckets: Buckets
) -> list[tuple[int, float]]:
    out: list[tuple[int, float]] = []
    current = end = -1
    count = 0
    total = low = high = last = 0.0
    for ts, value in rows:
        if ts >= end:  # rows come in time order: only a new bucket needs the zone arithmetic
            if count:
                out.append((current, _pick(agg, count, total, low, high, last)))
            current = buckets.start(ts, size)
            end = buckets.next(current, size)
            count, total, low, high = 0, 0.0, value, value
        count += 1
        total += value
        if value < low:
            low = value
        elif value > high:
            high = value
        last = value
    if count:
        out.append((current, _pick(agg, count, total, low, high, last)))
    return out


def series_buckets(
    database: Database,
    series_id: int,
    *,
    start_ms: int,
    end_ms: int,
    bucket: str,
    agg: str,
    buckets: Buckets,
) -> list[tuple[int, float]]:
    """(bucket start, value) for every non-empty bucket meeting [start_ms, end_ms).

    Whole buckets are returned: the first starts at or before ``start_ms``.
    """
    size = BUCKET_MS[bucket]
    first = buckets.start(start_ms, size)
    params = {"s": series_id, "a": first, "b": end_ms}
    with database.engine.connect() as connection:
        if size in (HOUR_MS, DAY_MS):
            statement = _HOURLY if size == HOUR_MS else _DAILY
            return [
                (row[0], _pick(agg, row[1], row[2], row[3], row[4], row[5]))
                for row in connection.execute(statement, params)
            ]
        # Raw rows up to the end of the bucket that holds the last instant of the range.
        params["b"] = buckets.next(buckets.start(end_ms - 1, size), size)
        rows = connection.exec_driver_sql(_RAW_DRIVER[database.dialect == "sqlite"], params)
        return _aggregate_raw(rows, size, agg, buckets)


@dataclass(frozen=True, slots=True)
class LatestValue:
    entity_id: str
    entity_type: str
    entity_name: str
    area_code: str | None
    agency_code: str | None
    metric: str
    unit: str
    ts: int
    value: float
    quality: int


def latest_values(
    database: Database,
    *,
    entity_type: str | None = None,
    area: str | None = None,
    agency: str | None = None,
    entity_id: str | None = None,
) -> list[LatestValue]:
    """The latest value of every metric of the selected entities; ``area`` matches the
    entity's ward/commune or, for a province code, every ward/commune of it."""
    clauses = []
    params: dict[str, Any] = {}
    if entity_type:
        clauses.append("e.type = :type")
        params["type"] = entity_type
    if area:
        clauses.append(
            "(e.area_code = :area OR e.area_code IN "
            "(SELECT code FROM areas WHERE parent_code = :area))"
        )
        params["area"] = area
    if agency:
        clauses.append("a.code = :agency")
        params["agency"] = agency
    if entity_id:
        clauses.append("e.entity_id = :entity_id")
        params["entity_id"] = entity_id
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    statement = text(
        "SELECT e.entity_id, e.type, e.name, e.area_code, a.code, m.name, m.unit, "
        "l.ts, l.value, l.quality FROM observations_latest l "
        "JOIN metrics m ON m.id = l.series_id JOIN entities e ON e.id = m.entity_pk "
        f"LEFT JOIN agencies a ON a.id = e.agency_id {where} ORDER BY e.entity_id, m.name"
    )
    with database.engine.connect() as connection:
        return [LatestValue(*row) for row in connection.execute(statement, params)]


_RECENT_CHUNK = 500  # series ids per query: well inside every driver's limit of bound values


def recent_points(
    database: Database, series_ids: list[int], since_ms: int
) -> dict[int, list[tuple[int, float]]]:
    """The points of these series from ``since_ms`` on, in time order (what a restarted
    rules engine needs to know how long a condition has held)."""
    out: dict[int, list[tuple[int, float]]] = {}
    with database.engine.connect() as connection:
        for start in range(0, len(series_ids), _RECENT_CHUNK):
            chunk = series_ids[start : start + _RECENT_CHUNK]
            statement = text(
                "SELECT series_id, ts, value FROM observations "
                "WHERE series_id IN :ids AND ts >= :since ORDER BY series_id, ts"
            ).bindparams(bindparam("ids", expanding=True))
            for series_id, ts, value in connection.execute(
                statement, {"ids": chunk, "since": since_ms}
            ):
                out.setdefault(series_id, []).append((ts, value))
    return out
