"""Compaction: closed UTC hours of raw points become packed rows (``observations_packed``).

Why: a row per point costs ~92 B on PostgreSQL (tuple header, line pointer, B-tree entry);
one row per series and hour holding the hour's points as arrays costs ~14 B per point of
minute data. Recent points stay raw, where writes and late corrections are cheap.

``compact(connection, dialect, before_ms)``:

1. raises the watermark ``packed_before`` towards ``before_ms`` (rounded down to a whole
   UTC hour; only as far as the end of the last hour holding a raw point before it) in its
   own short transaction; from then on every write checks its points below the
   watermark against the packed rows (``packed.drop_packed``), so re-sending a packed point
   is still a duplicate;
2. moves the raw points below it, in bounded transactions — up to ``SERIES_PER_BATCH``
   series over a window of whole hours sized to about ``TARGET_ROWS`` points — each one
   ``DELETE … RETURNING`` the raw rows, merging them into the packed rows of their hours
   (late points into an already packed hour) and committing. A failure rolls back that batch
   only: every point is then still raw or already packed, never both, never neither;
3. on PostgreSQL, TRUNCATEs monthly partitions that lie wholly below the watermark and were
   emptied, so their space returns to the operating system (rows deleted from a closed month
   would never be reused). The IOC's database account owns these tables and so holds
   ``TRUNCATE``; docs/security.md ("The database account") keeps the audit journal out of
   its reach instead.

"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from taydo.core import clock
from taydo.core.db import Database
from taydo.observations.packed import HOUR_MS, PACKING, WATERMARK, lock_key, pack, unpack
from taydo.observations.partitions import PACKED, Partitions

__all__ = ["Compaction", "compact", "compact_database"]

log = logging.getLogger(__name__)

SERIES_PER_BATCH = 100
TARGET_ROWS = 50_000  # points per transaction: a few hundred ms of work, so writers barely wait
MAX_WINDOW_HOURS = 24

_SQL = {
    "sqlite": {
        "raise": "INSERT INTO observations_watermark (id, packed_before) VALUES (1, ?) "
        "ON CONFLICT (id) DO UPDATE SET packed_before = "
        "max(observations_watermark.packed_before, excluded.packed_before) "
        "RETURNING packed_before",
        "last": "SELECT max(ts) FROM observations WHERE series_id = ? AND ts < ?",
        "first": "SELECT min(ts) FROM observations WHERE series_id = ? AND ts >= ? AND ts < ?",
        "take": "DELETE FROM observations WHERE series_id IN ({ids}) AND ts >= ? AND ts < ? "
        "RETURNING series_id, ts, value, quality",
        "packed": "SELECT series_id, hour, ts, vals, qualities FROM observations_packed "
        "WHERE series_id IN ({ids}) AND hour >= ? AND hour < ?",
        "put": "INSERT INTO observations_packed (series_id, hour, count, ts, vals, qualities) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (series_id, hour) DO UPDATE SET "
        "count = excluded.count, ts = excluded.ts, vals = excluded.vals, "
        "qualities = excluded.qualities",
    },
    "postgresql": {
        "raise": "INSERT INTO observations_watermark (id, packed_before) VALUES (1, %s) "
        "ON CONFLICT (id) DO UPDATE SET packed_before = "
        "GREATEST(observations_watermark.packed_before, excluded.packed_before) "
        "RETURNING packed_before",
        "last": "SELECT max((SELECT max(ts) FROM observations o WHERE o.series_id = s.id "
        "AND o.ts < %s)) FROM unnest(%s::bigint[]) AS s(id)",
        # One index probe per series; the partitions are scanned in time order and the
        # first row found ends the probe.
        "first": "SELECT min((SELECT min(ts) FROM observations o WHERE o.series_id = s.id "
        "AND o.ts >= %s AND o.ts < %s)) FROM unnest(%s::bigint[]) AS s(id)",
        "take": "DELETE FROM observations WHERE series_id = ANY(%s) AND ts >= %s AND ts < %s "
        "RETURNING series_id, ts, value, quality",
        "packed": "SELECT series_id, hour, ts, vals, qualities FROM observations_packed "
        "WHERE series_id = ANY(%s) AND hour >= %s AND hour < %s",
        "put": "INSERT INTO observations_packed (series_id, hour, count, ts, vals, qualities) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (series_id, hour) DO UPDATE SET "
        "count = excluded.count, ts = excluded.ts, vals = excluded.vals, "
        "qualities = excluded.qualities",
    },
}
# The series with raw points before the horizon, by a loose index scan of the primary key:
# one probe per series, never a scan of every row.
_NEXT_SERIES = (
    "SELECT series_id FROM observations WHERE series_id > ? AND ts < ? ORDER BY series_id LIMIT 1"
)
_PG_SERIES = (
    "WITH RECURSIVE s(id) AS ("
    "(SELECT series_id FROM observations WHERE ts < %(b)s ORDER BY series_id LIMIT 1) "
    "UNION ALL SELECT (SELECT o.series_id FROM observations o WHERE o.series_id > s.id "
    "AND o.ts < %(b)s ORDER BY o.series_id LIMIT 1) FROM s WHERE s.id IS NOT NULL) "
    "SELECT id FROM s WHERE id IS NOT NULL"
)
_PARTITIONS = (
    "SELECT c.relname, pg_relation_size(c.oid) FROM pg_inherits i "
    "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'observations'::regclass"
)


@dataclass
class Compaction:
    """What one run did."""

    packed_before: int
    points: int = 0  # raw points moved into packed rows
    hours: int = 0  # packed rows written (new or merged)
    batches: int = 0  # transactions
    truncated: list[str] = field(default_factory=list)  # PostgreSQL partitions emptied


def compact(
    connection: Any,
    dialect: str,
    before_ms: int,
    *,
    stopping: Callable[[], bool] = lambda: False,
) -> Compaction:
    """Pack every raw point before ``before_ms`` (rounded down to a whole UTC hour, and
    never past the start of the current hour);
    ``connection`` is a DB-API connection (sqlite3 or psycopg) that is not in a transaction.
    ``stopping`` is asked between transactions (a server shutting down stops early; what is
    left is packed by the next run)."""
    # Never an hour still running: the live feed writes there, and every point below the
    # watermark costs a look at the packed rows.
    before = min(before_ms, clock.now_ms())
    before -= before % HOUR_MS
    sql = _SQL[dialect]
    series = _series(connection, dialect, before) if before > 0 else []
    last = _last(connection, dialect, sql, series, before)
    # The watermark goes only as far as the last hour holding a raw point: with nothing to
    # pack (a new database, a server started on old data being backfilled) every write keeps
    # the plain path instead of looking up packed hours.
    target = 0 if last is None else min(before, last - last % HOUR_MS + HOUR_MS)
    result = Compaction(packed_before=_raise_watermark(connection, dialect, target))
    horizon, before = before, target
    # Known partitions of this run only: a retention run may drop old ones between runs.
    partitions = Partitions()
    for offset in range(0, len(series), SERIES_PER_BATCH):
        chunk = series[offset : offset + SERIES_PER_BATCH]
        window = 1  # hours; grown from what the first hour held (a series may be dense)
        start = _first(connection, dialect, sql, chunk, 0, before)
        while start is not None and not stopping():
            start -= start % HOUR_MS
            end = min(start + window * HOUR_MS, before)
            if dialect == "postgresql":  # the packed rows' partitions, before the batch
                partitions.ensure(connection, PACKED, (start, end - HOUR_MS))
            moved, hours = _batch(connection, dialect, sql, chunk, start, end)
            result.points += moved
            result.hours += hours
            result.batches += 1
            if moved:  # size the next window to about TARGET_ROWS points
                per_hour = moved / ((end - start) // HOUR_MS)
                window = max(1, min(MAX_WINDOW_HOURS, int(TARGET_ROWS // per_hour)))
            start = _first(connection, dialect, sql, chunk, end, before)
    if dialect == "postgresql" and not stopping():
        # Months that ended before the horizon (not only before the watermark, which stops
        # at the last raw point: a month whose data ends early must still give its space back).
        result.truncated = _truncate_emptied(connection, horizon)
    return result


def _raise_watermark(connection: Any, dialect: str, before: int) -> int:
    """Raise the watermark to ``before`` (never lower it); the watermark now."""
    try:
        if dialect == "postgresql":
            # Waits for the write transactions that read the old watermark to end.
            connection.execute(f"SELECT {lock_key(WATERMARK, shared=False)}")
        else:
            connection.execute("BEGIN IMMEDIATE")
        now = connection.execute(_SQL[dialect]["raise"], (before,)).fetchone()[0]
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    return int(now)


def _last(
    connection: Any, dialect: str, sql: dict[str, str], series: list[int], before: int
) -> int | None:
    """The latest raw ts before ``before`` of ``series``, or None."""
    if not series:
        return None
    try:
        if dialect == "postgresql":
            found = connection.execute(sql["last"], (before, series)).fetchone()[0]
        else:
            stamps = [connection.execute(sql["last"], (s, before)).fetchone()[0] for s in series]
            found = max((s for s in stamps if s is not None), default=None)
    finally:
        connection.rollback()
    return None if found is None else int(found)


def _series(connection: Any, dialect: str, before: int) -> list[int]:
    try:
        if dialect == "postgresql":
            return [row[0] for row in connection.execute(_PG_SERIES, {"b": before}).fetchall()]
        found: list[int] = []
        last = -(2**63)
        while (row := connection.execute(_NEXT_SERIES, (last, before)).fetchone()) is not None:
            last = row[0]
            found.append(last)
        return found
    finally:
        connection.rollback()  # end the read transaction psycopg opened


def _first(
    connection: Any, dialect: str, sql: dict[str, str], chunk: list[int], start: int, end: int
) -> int | None:
    """The earliest raw ts in [start, end) of the series of ``chunk``, or None."""
    try:
        if dialect == "postgresql":
            found = connection.execute(sql["first"], (start, end, chunk)).fetchone()[0]
        else:
            stamps = [
                connection.execute(sql["first"], (series_id, start, end)).fetchone()[0]
                for series_id in chunk
            ]
            found = min((s for s in stamps if s is not None), default=None)
    finally:
        connection.rollback()
    return None if found is None else int(found)


def _batch(
    connection: Any, dialect: str, sql: dict[str, str], chunk: list[int], start: int, end: int
) -> tuple[int, int]:
    """One transaction: move the raw points of ``chunk`` in [start, end) (whole hours)
    into packed rows. Returns (points moved, packed rows written)."""
    try:
        if dialect == "postgresql":
            connection.execute(f"SELECT {lock_key(PACKING, shared=False)}")
            taken = connection.execute(sql["take"], (chunk, start, end)).fetchall()
            existing = connection.execute(sql["packed"], (chunk, start, end)).fetchall()
        else:
            connection.execute("BEGIN IMMEDIATE")
            ids = ", ".join("?" * len(chunk))
            taken = connection.execute(sql["take"].format(ids=ids), (*chunk, start, end)).fetchall()
            existing = connection.execute(
                sql["packed"].format(ids=ids), (*chunk, start, end)
            ).fetchall()
        rows = _packed_rows(taken, existing)
        if rows:
            cursor = connection.cursor()
            try:
                cursor.executemany(sql["put"], rows)
            finally:
                cursor.close()
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    return len(taken), len(rows)


def _packed_rows(taken: list[Any], existing: list[Any]) -> list[tuple[Any, ...]]:
    """Packed rows for every (series, hour) of the raw points ``taken``, merged with the
    packed row already stored for that hour. A key in both (which the write path prevents)
    keeps the packed point: the first stored value wins, as everywhere else."""
    hours: dict[tuple[int, int], dict[int, tuple[int, float, int]]] = defaultdict(dict)
    for series_id, ts, value, quality in taken:
        hours[(series_id, ts - ts % HOUR_MS)][ts] = (ts, value, quality)
    for series_id, hour, ts, vals, qualities in existing:
        points = hours.get((series_id, hour))
        if points is not None:
            for point in unpack(hour, bytes(ts), bytes(vals), _bytes(qualities)):
                points[point[0]] = point
    out = []
    for (series_id, hour), points in sorted(hours.items()):
        ordered = [points[ts] for ts in sorted(points)]
        out.append((series_id, hour, *pack(hour, ordered)))
    return out


def _bytes(blob: Any) -> bytes | None:
    return None if blob is None else bytes(blob)


def _truncate_emptied(connection: Any, before: int) -> list[str]:
    """TRUNCATE the monthly partitions wholly below ``before`` that hold no row any more.
    The emptiness check runs under the partition's exclusive lock, so no point can slip in
    between (a late point afterwards goes into the emptied partition as into any other); a
    lock not granted within 2 s (a long reader) leaves it for the next run."""
    partitions = connection.execute(_PARTITIONS).fetchall()
    connection.rollback()
    truncated = []
    for name, size in sorted(partitions):
        if not size or not name.startswith("observations_p"):
            continue
        try:
            year, month = int(name[-6:-2]), int(name[-2:])
        except ValueError:
            continue
        following = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
        if int(following.timestamp() * 1000) > before:
            continue
        try:
            connection.execute("SET LOCAL lock_timeout = '2s'")
            connection.execute(f'LOCK TABLE "{name}" IN ACCESS EXCLUSIVE MODE')
            if connection.execute(f'SELECT 1 FROM "{name}" LIMIT 1').fetchone() is None:  # noqa: S608 — a partition name read from pg_inherits, not input
                connection.execute(f'TRUNCATE "{name}"')
                truncated.append(name)
            connection.commit()
        except Exception:
            connection.rollback()
            log.warning("partition %s not truncated this time (locked or failed)", name)
    return truncated


def compact_database(
    database: Database, before_ms: int, *, stopping: Callable[[], bool] = lambda: False
) -> Compaction:
    """``compact`` on a connection of its own (the CLI, the server's periodic run)."""
    raw = database.engine.raw_connection()
    try:
        return compact(raw.driver_connection, database.dialect, before_ms, stopping=stopping)
    finally:
        raw.close()
