"""Reading observations: bucketed series and latest values.

Buckets of 1 h and 1 d are answered from the hourly and daily rollups (a 30-day daily chart
reads 30 rows, never the raw points); 1 m, 5 m and 15 m buckets aggregate the points of the
range, read by ``raw_points`` from the raw rows and the packed hours alike (a compaction
changes no answer). Buckets are aligned in the display time zone.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, bindparam, text

from taydo.core.db import Database
from taydo.observations.buckets import BUCKET_MS, DAY_MS, HOUR_MS, Buckets
from taydo.observations.packed import unpack, unpack_offsets

__all__ = [
    "AGGREGATES",
    "MAX_BUCKETS",
    "LatestValue",
    "count_points",
    "latest_points",
    "latest_values",
    "points_since",
    "raw_points",
    "recent_points",
    "rollup_buckets",
    "series_buckets",
]

AGGREGATES = ("avg", "min", "max", "sum", "count", "last")
MAX_BUCKETS = 50_000

# The raw path reads up to 43,200 rows (30 days of minutes): skip SQLAlchemy's text() layer.
_RAW = (
    "SELECT ts, value, quality FROM observations WHERE series_id = {s} AND ts >= {a} AND ts < {b}"
)
_PACKED = (
    "SELECT hour, ts, vals, qualities FROM observations_packed "
    "WHERE series_id = {s} AND hour >= {a} AND hour < {b} ORDER BY hour {order} LIMIT {n}"
)
_STYLE = {
    "sqlite": {"s": ":s", "a": ":a", "b": ":b", "n": ":n"},
    "postgresql": {"s": "%(s)s", "a": "%(a)s", "b": "%(b)s", "n": "%(n)s"},
}
_RAW_SQL = {
    (dialect, newest_first, limited): _RAW.format(**style)
    + (" ORDER BY ts DESC" if newest_first else " ORDER BY ts")
    + (f" LIMIT {style['n']}" if limited else "")
    for dialect, style in _STYLE.items()
    for newest_first in (False, True)
    for limited in (False, True)
}
_PACKED_SQL = {
    (dialect, newest_first): _PACKED.format(order="DESC" if newest_first else "ASC", **style)
    for dialect, style in _STYLE.items()
    for newest_first in (False, True)
}
_PACKED_PAGE = 256  # packed hours per query: ~200 kB of minute data
_FOREVER = 2**62
_COUNT_RAW = text(
    "SELECT count(*) FROM observations WHERE series_id IN :ids AND ts >= :since"
).bindparams(bindparam("ids", expanding=True))
_COUNT_PACKED = text(
    "SELECT coalesce(sum(count), 0) FROM observations_packed "
    "WHERE series_id IN :ids AND hour >= :full"
).bindparams(bindparam("ids", expanding=True))
_RAW_SINCE = text(
    "SELECT series_id, ts, value FROM observations WHERE series_id IN :ids AND ts >= :since "
    "ORDER BY series_id, ts"
).bindparams(bindparam("ids", expanding=True))
_PACKED_SINCE = text(
    "SELECT DISTINCT series_id FROM observations_packed WHERE series_id IN :ids AND hour >= :hour"
).bindparams(bindparam("ids", expanding=True))
_PARTIAL_PACKED = text(
    "SELECT ts FROM observations_packed WHERE series_id IN :ids AND hour = :hour"
).bindparams(bindparam("ids", expanding=True))

# Rollup buckets: the aggregate is worked out by the database, and the rows are read as plain
# tuples from the driver's cursor. A year of hourly buckets is 8,760 rows: through
# SQLAlchemy's result rows and a Python ``_pick`` per row it cost 16-34 ms on PostgreSQL;
# this way ~4 ms (``benchmarks/storage.py``, same run).
_ROLLUP_VALUE = {
    "avg": "sum / count",
    "min": "min",
    "max": "max",
    "sum": "sum",
    "count": "CAST(count AS DOUBLE PRECISION)",  # SQLite: a REAL (the name holds DOUB)
    "last": "last_value",
}
_ROLLUP_SQL = {
    (dialect, table, agg): (
        f"SELECT bucket, {value} FROM {table} "  # noqa: S608 — constant text: our tables and expressions
        f"WHERE series_id = {style['s']} AND bucket >= {style['a']} AND bucket < {style['b']} "
        "ORDER BY bucket"
    )
    for dialect, style in _STYLE.items()
    for table in ("observations_hourly", "observations_daily")
    for agg, value in _ROLLUP_VALUE.items()
}


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
    for ts, value, _quality in rows:
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
            table = "observations_hourly" if size == HOUR_MS else "observations_daily"
            return rollup_buckets(connection, database.dialect, table, agg, params)
        # Raw rows up to the end of the bucket that holds the last instant of the range.
        params["b"] = buckets.next(buckets.start(end_ms - 1, size), size)
        rows = raw_points(connection, database.dialect, series_id, params["a"], params["b"])
        return _aggregate_raw(rows, size, agg, buckets)


def rollup_buckets(
    connection: Connection, dialect: str, table: str, agg: str, params: dict[str, int]
) -> list[tuple[int, float]]:
    """(bucket, value) of one series' rollup rows in [a, b) (``params``: s, a, b)."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(_ROLLUP_SQL[(dialect, table, agg)], params)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def raw_points(
    connection: Connection,
    dialect: str,
    series_id: int,
    start_ms: int | None = None,
    end_ms: int | None = None,
    *,
    newest_first: bool = False,
    limit: int | None = None,
) -> Iterator[tuple[int, float, int]]:
    """Every stored point ``(ts, value, quality)`` of a series in [start_ms, end_ms), in time
    order (or newest first), whether still raw or packed by a compaction: the one reader of
    raw points, so a compaction changes no answer. ``limit`` bounds how many are wanted
    (the caller stops iterating there; it only spares reading more raw rows)."""
    start = -_FOREVER if start_ms is None else start_ms
    end = _FOREVER if end_ms is None else end_ms
    params = {"s": series_id, "a": start, "b": end, "n": limit}
    raw_sql = _RAW_SQL[(dialect, newest_first, limit is not None)]
    raw: Sequence[Any] = connection.exec_driver_sql(raw_sql, params).fetchall()
    packed = _packed_points(connection, dialect, series_id, start, end, newest_first)
    first = next(packed, None)
    if first is None:  # nothing packed in the range: the raw rows as they are
        return iter(raw)
    packed = chain((first,), packed)
    if not raw:
        return packed
    return heapq.merge(raw, packed, key=itemgetter(0), reverse=newest_first)


def _packed_points(
    connection: Connection, dialect: str, series_id: int, start: int, end: int, newest_first: bool
) -> Iterator[tuple[int, float, int]]:
    """The packed points in [start, end), read a page of hours at a time."""
    sql = _PACKED_SQL[(dialect, newest_first)]
    low, high = start - start % HOUR_MS, end  # hours that meet the range
    while low < high:
        params = {"s": series_id, "a": low, "b": high, "n": _PACKED_PAGE}
        page = connection.exec_driver_sql(sql, params).fetchall()
        for hour, ts, vals, qualities in page:
            points = unpack(
                hour, bytes(ts), bytes(vals), None if qualities is None else bytes(qualities)
            )
            if newest_first:
                points = reversed(list(points))
            for point in points:
                if start <= point[0] < end:
                    yield point
        if len(page) < _PACKED_PAGE:
            return
        if newest_first:
            high = page[-1][0]
        else:
            low = page[-1][0] + HOUR_MS


def count_points(connection: Connection, series_ids: list[int], since_ms: int) -> int:
    """How many points of ``series_ids`` are stored at or after ``since_ms``, raw or packed."""
    count = connection.execute(_COUNT_RAW, {"ids": series_ids, "since": since_ms}).scalar() or 0
    partial = since_ms - since_ms % HOUR_MS
    full = partial if partial == since_ms else partial + HOUR_MS
    count += connection.execute(_COUNT_PACKED, {"ids": series_ids, "full": full}).scalar() or 0
    if partial != since_ms:  # the hour holding ``since_ms``: count its points one by one
        offset = since_ms - partial
        for (ts,) in connection.execute(_PARTIAL_PACKED, {"ids": series_ids, "hour": partial}):
            count += sum(1 for o in unpack_offsets(bytes(ts)) if o >= offset)
    return int(count)


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
        "SELECT e.entity_id, e.type, e.name, e.area_code, a.code, m.name, m.unit, "  # noqa: S608 — WHERE of fixed clauses; values are bound
        "l.ts, l.value, l.quality FROM observations_latest l "
        "JOIN metrics m ON m.id = l.series_id JOIN entities e ON e.id = m.entity_pk "
        f"LEFT JOIN agencies a ON a.id = e.agency_id {where} ORDER BY e.entity_id, m.name"
    )
    with database.engine.connect() as connection:
        return [LatestValue(*row) for row in connection.execute(statement, params)]


def latest_points(database: Database, series_ids: list[int]) -> list[tuple[int, int, float]]:
    """The newest stored point ``(series_id, ts, value)`` of each of these series that has
    one (a restarted rules engine judges it again). Callers in a process with a running
    writer ``await writer.sync()`` first, so the latest values hold every answered point."""
    statement = text(
        "SELECT series_id, ts, value FROM observations_latest WHERE series_id IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    out: list[tuple[int, int, float]] = []
    with database.engine.connect() as connection:
        for start in range(0, len(series_ids), 500):
            found = connection.execute(statement, {"ids": series_ids[start : start + 500]})
            out.extend((int(s), int(ts), float(v)) for s, ts, v in found)
    return out


def recent_points(
    database: Database, series_ids: list[int], since_ms: int
) -> dict[int, list[tuple[int, float]]]:
    """The points of these series from ``since_ms`` on, raw or packed, in time order (what a
    restarted rules engine needs to know how long a condition has held)."""
    out: dict[int, list[tuple[int, float]]] = {}
    with database.engine.connect() as connection:
        for series_id in series_ids:
            points = [
                (ts, value)
                for ts, value, _quality in raw_points(
                    connection, database.dialect, series_id, since_ms
                )
            ]
            if points:
                out[series_id] = points
    return out


def points_since(
    database: Database, series_ids: list[int], since_ms: int
) -> dict[int, list[tuple[int, float]]]:
    """Like ``recent_points``, read in bulk (500 series a query): a cluster's hand-over
    judges every stored point of its series in the last minutes. Series with packed hours
    in the range (a compaction ran over it) are read one by one through ``raw_points``."""
    out: dict[int, list[tuple[int, float]]] = {}
    hour = since_ms - since_ms % HOUR_MS
    with database.engine.connect() as connection:
        for start in range(0, len(series_ids), 500):
            ids = series_ids[start : start + 500]
            packed = {
                int(row[0]) for row in connection.execute(_PACKED_SINCE, {"ids": ids, "hour": hour})
            }
            for series_id, ts, value in connection.execute(
                _RAW_SINCE, {"ids": ids, "since": since_ms}
            ):
                if series_id not in packed:
                    out.setdefault(int(series_id), []).append((int(ts), float(value)))
            for series_id in sorted(packed):
                points = [
                    (ts, value)
                    for ts, value, _quality in raw_points(
                        connection, database.dialect, series_id, since_ms
                    )
                ]
                if points:
                    out[series_id] = points
    return out
