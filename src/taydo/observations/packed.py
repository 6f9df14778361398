"""The packed-hour format: one series' points of one closed UTC hour in one row.

``observations_packed`` holds, per (series, hour): ``count``; ``ts`` as int32 millisecond
offsets from ``hour``; ``vals`` as doubles; ``qualities`` as int16, or NULL when every
quality is 0 (the usual case, so it costs nothing). Points are in time order, each
timestamp once.

Byte order: always little-endian, converted explicitly on a big-endian host. The blobs
travel with the database (a SQLite file copied to another machine, a ``pg_dump`` restored
elsewhere), so their meaning must not depend on the machine that wrote them; little-endian
is the native order of every machine Tây Đô runs on (x86-64, ARM64), so the conversion is
a no-op in practice.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterator, Sequence
from typing import Any

__all__ = [
    "HOUR_MS",
    "drop_packed",
    "hour_of",
    "lock_key",
    "pack",
    "read_watermark",
    "unpack",
    "unpack_offsets",
]

HOUR_MS = 3_600_000
_BIG_ENDIAN = sys.byteorder == "big"
# The format fixes these widths; CPython's array codes have them on every supported platform.
assert array("i").itemsize == 4 and array("h").itemsize == 2 and array("d").itemsize == 8

Point = tuple[int, float, int]  # (ts, value, quality)


def hour_of(ts: int) -> int:
    """The start (epoch ms) of the UTC hour holding ``ts``."""
    return ts - ts % HOUR_MS


def _encode(values: array[Any]) -> bytes:
    if _BIG_ENDIAN:
        values.byteswap()
    return values.tobytes()


def _decode(code: str, blob: bytes) -> array[Any]:
    values = array(code)
    values.frombytes(blob)
    if _BIG_ENDIAN:
        values.byteswap()
    return values


def pack(hour: int, points: Sequence[Point]) -> tuple[int, bytes, bytes, bytes | None]:
    """``(count, ts, vals, qualities)`` of points of one hour, sorted by ts, keys unique."""
    offsets = array("i", [p[0] - hour for p in points])
    values = array("d", [p[1] for p in points])
    qualities = [p[2] for p in points]
    quality_blob = _encode(array("h", qualities)) if any(qualities) else None
    return len(points), _encode(offsets), _encode(values), quality_blob


def unpack_offsets(ts: bytes) -> array[int]:
    return _decode("i", ts)


def unpack(hour: int, ts: bytes, vals: bytes, qualities: bytes | None) -> Iterator[Point]:
    """The points of a packed row, in time order."""
    offsets = _decode("i", ts)
    values = _decode("d", vals)
    if qualities is None:
        for offset, value in zip(offsets, values, strict=True):
            yield hour + offset, value, 0
    else:
        for offset, value, quality in zip(offsets, values, _decode("h", qualities), strict=True):
            yield hour + offset, value, quality


# -- the watermark and late writes -------------------------------------------------------
#
# PostgreSQL runs writers and a compaction concurrently, so two transaction-scoped advisory
# locks (keyed by schema, so test schemas of one database do not meet) order them:
#
# * WATERMARK: each write transaction holds it shared from the moment it reads the watermark;
#   a compaction takes it exclusively to raise the watermark. Once the raise has committed,
#   no writer still routes a point below the new watermark through the fast path, so the
#   fast path (points at or after the watermark) never meets a compaction batch.
# * PACKING: a write transaction with points below the watermark holds it shared while it
#   checks them against the packed rows and inserts them; each compaction batch holds it
#   exclusively. A late point is thus either seen by the batch's DELETE … RETURNING (and
#   packed) or inserted after the batch committed, having seen the packed row.
#
# SQLite needs neither: both take the database's write lock (BEGIN IMMEDIATE) first.
WATERMARK, PACKING = 1, 2


def lock_key(which: int, *, shared: bool) -> str:
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    return f"{function}(hashtext(current_schema()), {which})"


_READ_WATERMARK = "SELECT (SELECT packed_before FROM observations_watermark WHERE id = 1)"
# The packed hours of a write batch, found with one query per block of series over the
# batch's span of hours (a live-feed batch: hundreds of series, one or two hours).
_PACKED_TS = {
    "sqlite": "SELECT series_id, hour, ts FROM observations_packed "
    "WHERE series_id IN ({ids}) AND hour >= ? AND hour <= ?",
    "postgresql": "SELECT series_id, hour, ts FROM observations_packed "
    "WHERE series_id = ANY(%s) AND hour >= %s AND hour <= %s",
}
_SERIES_PER_QUERY = 500


def read_watermark(connection: Any, dialect: str) -> int:
    """``packed_before`` inside the caller's write transaction (a DB-API connection)."""
    if dialect == "postgresql":
        # The lock in a statement of its own: a READ COMMITTED statement reads with the
        # snapshot taken when it began, so a read in the lock's statement would see the
        # watermark as it was before a raise the lock waited for, and route points the
        # compaction is moving through the fast path (a re-sent point stored twice).
        connection.execute(f"SELECT {lock_key(WATERMARK, shared=True)}")
    row = connection.execute(_READ_WATERMARK).fetchone()
    return int(row[0] or 0)


def drop_packed(connection: Any, dialect: str, rows: list[Any], watermark: int) -> list[Any]:
    """``rows`` without those already stored in a packed hour. Only rows below the
    watermark can be there: the rest are returned untouched and cost nothing more."""
    hours = {(r[0], r[1] - r[1] % HOUR_MS) for r in rows if r[1] < watermark}
    if not hours:
        return rows
    if dialect == "postgresql":
        connection.execute(f"SELECT {lock_key(PACKING, shared=True)}")
    series = sorted({series_id for series_id, _hour in hours})
    first, last = min(h for _s, h in hours), max(h for _s, h in hours)
    stored: set[tuple[int, int]] = set()
    for start in range(0, len(series), _SERIES_PER_QUERY):
        block = series[start : start + _SERIES_PER_QUERY]
        if dialect == "postgresql":
            found = connection.execute(_PACKED_TS[dialect], (block, first, last))
        else:
            sql = _PACKED_TS[dialect].format(ids=", ".join("?" * len(block)))
            found = connection.execute(sql, (*block, first, last))
        for series_id, hour, ts in found.fetchall():
            if (series_id, hour) in hours:
                stored.update((series_id, hour + o) for o in unpack_offsets(bytes(ts)))
    if not stored:
        return rows
    return [r for r in rows if (r[0], r[1]) not in stored]
