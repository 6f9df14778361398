"""Corrections of stored points: delete points (some instants, a range, or all of a series)
and change the value of a stored point — with the rollups and latest values made right.

The write path only ever adds points (``ON CONFLICT DO NOTHING``) and folds sums into the
rollups; a correction cannot subtract a minimum. So a correction, in ONE transaction:

1. takes the locks that keep writers and compactions out of its way (SQLite: the write lock,
   ``BEGIN IMMEDIATE``; PostgreSQL: the PACKING advisory lock exclusively and the journal
   table in EXCLUSIVE mode, so no group-commit transaction journals sums meanwhile);
2. applies every journaled rollup delta (``Store.apply_journal``), so no point's sums are
   still pending when its buckets are rebuilt (they would be counted twice by a later flush);
3. deletes (or updates) the raw rows and the points inside packed hours;
4. rebuilds every hourly bucket the changed points fall in from the points left in it, then
   each daily bucket of those from its hourly rollups, and the series' latest value when the
   changed points reached it.

A writer whose transaction began before the lock commits after the correction: its points
were not visible to the rebuild and its journal row is applied by the next flush, so nothing
is counted twice or lost. A daily bucket is rebuilt from its hourly rollups: where a
retention policy keeps daily rollups longer than hourly ones, a correction in a day whose
hourly rows have expired counts only the hours still kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from taydo.core.db import Database
from taydo.observations.buckets import HOUR_MS
from taydo.observations.packed import PACKING, lock_key, pack, unpack
from taydo.observations.service import store_for
from taydo.observations.store import Store

__all__ = ["Correction", "delete_points", "set_values"]

_FOREVER = 2**62
_CHUNK = 500


@dataclass
class Correction:
    """What a correction changed: the instants (epoch ms) it deleted or updated."""

    deleted: list[int]
    updated: list[int]


def _sql(dialect: str, text: str) -> str:
    return text if dialect == "sqlite" else text.replace("?", "%s")


def delete_points(
    database: Database,
    series_id: int,
    *,
    stamps: Iterable[int] | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
    timezone: str | None = None,
) -> Correction:
    """Delete the points of a series at ``stamps`` (exact instants), or else those in
    [start_ms, end_ms) (None: unbounded), raw or packed; rollups and latest value rebuilt."""
    wanted = None if stamps is None else sorted(set(stamps))
    return _correct(database, series_id, wanted, {}, start_ms, end_ms, timezone=timezone)


def set_values(
    database: Database,
    series_id: int,
    values: dict[int, float],
    *,
    timezone: str | None = None,
) -> Correction:
    """Change the value of stored points (instant → new value); instants not stored are
    left out of the answer's ``updated``. Rollups and latest value rebuilt."""
    return _correct(database, series_id, [], dict(values), None, None, timezone=timezone)


def _correct(
    database: Database,
    series_id: int,
    stamps: list[int] | None,
    values: dict[int, float],
    start_ms: int | None,
    end_ms: int | None,
    *,
    timezone: str | None,
) -> Correction:
    store = store_for(database, timezone)
    raw = database.engine.raw_connection()
    try:
        connection: Any = raw.driver_connection
        try:
            result = _run(connection, store, series_id, stamps, values, start_ms, end_ms)
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
    finally:
        raw.close()
    return result


def _lock(connection: Any, dialect: str) -> None:
    if dialect == "sqlite":
        connection.execute("BEGIN IMMEDIATE")
    else:
        connection.execute(f"SELECT {lock_key(PACKING, shared=False)}")
        connection.execute("LOCK TABLE observations_unfolded IN EXCLUSIVE MODE")


def _run(
    connection: Any,
    store: Store,
    series_id: int,
    stamps: list[int] | None,
    values: dict[int, float],
    start_ms: int | None,
    end_ms: int | None,
) -> Correction:
    dialect = store.dialect
    _lock(connection, dialect)
    store.apply_journal(connection)
    deleted: list[int] = []
    updated: list[int] = []
    # raw rows
    if stamps is None:
        low = -_FOREVER if start_ms is None else start_ms
        high = _FOREVER if end_ms is None else end_ms
        rows = connection.execute(
            _sql(
                dialect,
                "DELETE FROM observations WHERE series_id = ? AND ts >= ? AND ts < ? RETURNING ts",
            ),
            (series_id, low, high),
        ).fetchall()
        deleted.extend(int(r[0]) for r in rows)
    else:
        for i in range(0, len(stamps), _CHUNK):
            chunk = stamps[i : i + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            rows = connection.execute(
                _sql(
                    dialect,
                    f"DELETE FROM observations WHERE series_id = ? AND ts IN ({marks}) "  # noqa: S608 — placeholders only
                    "RETURNING ts",
                ),
                (series_id, *chunk),
            ).fetchall()
            deleted.extend(int(r[0]) for r in rows)
    for ts, value in values.items():
        changed = connection.execute(
            _sql(
                dialect,
                "UPDATE observations SET value = ? WHERE series_id = ? AND ts = ? RETURNING ts",
            ),
            (float(value), series_id, ts),
        ).fetchall()
        if changed:
            updated.append(ts)
    # packed hours
    wanted = set(stamps) - set(deleted) if stamps is not None else None
    pending = {ts: v for ts, v in values.items() if ts not in set(updated)}
    hours: set[int] | None = None
    if wanted is not None or pending:
        hours = {ts - ts % HOUR_MS for ts in (wanted or set()) | set(pending)}
    if hours is None or hours:
        _fix_packed(connection, dialect, series_id, hours, wanted, pending, start_ms, end_ms,
                    deleted, updated)  # fmt: skip
    changed = deleted + updated
    if changed:
        _rebuild(connection, store, series_id, changed)
    return Correction(sorted(deleted), sorted(updated))


def _fix_packed(
    connection: Any,
    dialect: str,
    series_id: int,
    hours: set[int] | None,
    wanted: set[int] | None,
    pending: dict[int, float],
    start_ms: int | None,
    end_ms: int | None,
    deleted: list[int],
    updated: list[int],
) -> None:
    """Delete (``wanted``, or the range when ``wanted`` is None) or update (``pending``)
    points stored in packed hours: each touched hour is decoded, changed and packed again
    (or its row deleted when nothing is left)."""
    if hours is not None:
        found: list[Any] = []
        ordered = sorted(hours)
        for i in range(0, len(ordered), _CHUNK):
            chunk = ordered[i : i + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            found += connection.execute(
                _sql(
                    dialect,
                    "SELECT hour, ts, vals, qualities FROM observations_packed "  # noqa: S608 — placeholders only
                    f"WHERE series_id = ? AND hour IN ({marks})",
                ),
                (series_id, *chunk),
            ).fetchall()
    else:
        low = -_FOREVER if start_ms is None else start_ms - start_ms % HOUR_MS
        high = _FOREVER if end_ms is None else end_ms
        found = connection.execute(
            _sql(
                dialect,
                "SELECT hour, ts, vals, qualities FROM observations_packed "
                "WHERE series_id = ? AND hour >= ? AND hour < ?",
            ),
            (series_id, low, high),
        ).fetchall()
    lo = -_FOREVER if start_ms is None else start_ms
    hi = _FOREVER if end_ms is None else end_ms
    for hour, ts_blob, vals, qualities in found:
        points = list(
            unpack(
                hour, bytes(ts_blob), bytes(vals), None if qualities is None else bytes(qualities)
            )
        )
        kept: list[tuple[int, float, int]] = []
        touched = False
        for ts, value, quality in points:
            gone = (ts in wanted) if wanted is not None else (lo <= ts < hi and not pending)
            if gone:
                deleted.append(ts)
                touched = True
                continue
            if ts in pending:
                value = float(pending[ts])
                updated.append(ts)
                touched = True
            kept.append((ts, value, quality))
        if not touched:
            continue
        if not kept:
            connection.execute(
                _sql(dialect, "DELETE FROM observations_packed WHERE series_id = ? AND hour = ?"),
                (series_id, hour),
            )
            continue
        count, ts_packed, vals_packed, qualities_packed = pack(hour, kept)
        connection.execute(
            _sql(
                dialect,
                "UPDATE observations_packed SET count = ?, ts = ?, vals = ?, qualities = ? "
                "WHERE series_id = ? AND hour = ?",
            ),
            (count, ts_packed, vals_packed, qualities_packed, series_id, hour),
        )


def _points(connection: Any, dialect: str, series_id: int, start: int, end: int) -> list[Any]:
    """Every stored point ``(ts, value, quality)`` of the series in [start, end), in time
    order, raw and packed, as this transaction sees them."""
    out = list(
        connection.execute(
            _sql(
                dialect,
                "SELECT ts, value, quality FROM observations "
                "WHERE series_id = ? AND ts >= ? AND ts < ?",
            ),
            (series_id, start, end),
        ).fetchall()
    )
    for hour, ts_blob, vals, qualities in connection.execute(
        _sql(
            dialect,
            "SELECT hour, ts, vals, qualities FROM observations_packed "
            "WHERE series_id = ? AND hour >= ? AND hour < ?",
        ),
        (series_id, start - start % HOUR_MS, end),
    ).fetchall():
        for point in unpack(
            hour, bytes(ts_blob), bytes(vals), None if qualities is None else bytes(qualities)
        ):
            if start <= point[0] < end:
                out.append(point)
    out.sort(key=lambda p: p[0])
    return out


_UPSERT = (
    "INSERT INTO {t} (series_id, bucket, count, sum, min, max, last_ts, last_value) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (series_id, bucket) DO UPDATE SET "
    "count = excluded.count, sum = excluded.sum, min = excluded.min, max = excluded.max, "
    "last_ts = excluded.last_ts, last_value = excluded.last_value"
)
_LATEST = (
    "INSERT INTO observations_latest (series_id, ts, value, quality) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (series_id) DO UPDATE SET ts = excluded.ts, value = excluded.value, "
    "quality = excluded.quality"
)


def _summary(points: list[Any]) -> tuple[int, float, float, float, int, float]:
    values = [p[1] for p in points]
    return (len(values), sum(values), min(values), max(values), points[-1][0], points[-1][1])


def _rebuild(connection: Any, store: Store, series_id: int, changed: list[int]) -> None:
    dialect = store.dialect
    slot = store.buckets.slot
    hours = sorted({slot(ts)[1] for ts in changed})
    days = sorted({slot(ts)[2] for ts in changed})
    # hourly buckets from the points left in them (one read per run of adjacent hours)
    runs: list[list[int]] = []
    for hour in hours:
        if runs and runs[-1][-1] + HOUR_MS == hour:
            runs[-1].append(hour)
        else:
            runs.append([hour])
    for run in runs:
        by_hour: dict[int, list[Any]] = {}
        for point in _points(connection, dialect, series_id, run[0], run[-1] + HOUR_MS):
            by_hour.setdefault(slot(point[0])[1], []).append(point)
        for hour in run:
            points = by_hour.get(hour)
            if points:
                connection.execute(
                    _sql(dialect, _UPSERT.format(t="observations_hourly")),
                    (series_id, hour, *_summary(points)),
                )
            else:
                connection.execute(
                    _sql(
                        dialect,
                        "DELETE FROM observations_hourly WHERE series_id = ? AND bucket = ?",
                    ),
                    (series_id, hour),
                )
    # daily buckets from their hourly rollups
    for day in days:
        end = store.buckets.next(day, 86_400_000)
        rows = connection.execute(
            _sql(
                dialect,
                "SELECT count, sum, min, max, last_ts, last_value FROM observations_hourly "
                "WHERE series_id = ? AND bucket >= ? AND bucket < ? ORDER BY bucket",
            ),
            (series_id, day, end),
        ).fetchall()
        if rows:
            summary = (
                sum(int(r[0]) for r in rows),
                sum(float(r[1]) for r in rows),
                min(float(r[2]) for r in rows),
                max(float(r[3]) for r in rows),
                int(rows[-1][4]),
                float(rows[-1][5]),
            )
            connection.execute(
                _sql(dialect, _UPSERT.format(t="observations_daily")), (series_id, day, *summary)
            )
        else:
            connection.execute(
                _sql(dialect, "DELETE FROM observations_daily WHERE series_id = ? AND bucket = ?"),
                (series_id, day),
            )
    # the latest value, when a changed point was it (or newer than what it holds)
    latest = connection.execute(
        _sql(dialect, "SELECT ts FROM observations_latest WHERE series_id = ?"), (series_id,)
    ).fetchone()
    if latest is not None and int(latest[0]) > max(changed):
        return
    newest = _newest(connection, dialect, series_id)
    if newest is None:
        connection.execute(
            _sql(dialect, "DELETE FROM observations_latest WHERE series_id = ?"), (series_id,)
        )
    else:
        connection.execute(_sql(dialect, _LATEST), (series_id, *newest))


def _newest(connection: Any, dialect: str, series_id: int) -> tuple[int, float, int] | None:
    row = connection.execute(
        _sql(
            dialect,
            "SELECT ts, value, quality FROM observations WHERE series_id = ? "
            "ORDER BY ts DESC LIMIT 1",
        ),
        (series_id,),
    ).fetchone()
    packed = connection.execute(
        _sql(
            dialect,
            "SELECT hour, ts, vals, qualities FROM observations_packed WHERE series_id = ? "
            "ORDER BY hour DESC LIMIT 1",
        ),
        (series_id,),
    ).fetchone()
    best = None if row is None else (int(row[0]), float(row[1]), int(row[2]))
    if packed is not None:
        hour, ts_blob, vals, qualities = packed
        points = list(
            unpack(
                hour, bytes(ts_blob), bytes(vals), None if qualities is None else bytes(qualities)
            )
        )
        if points and (best is None or points[-1][0] > best[0]):
            best = (int(points[-1][0]), float(points[-1][1]), int(points[-1][2]))
    return best
