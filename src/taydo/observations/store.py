"""The write path: new points, exactly once, and their hourly and daily rollups and latest values.

It works on the raw DB-API connection (sqlite3 or psycopg) because the hot path cannot
afford an ORM or per-row SQLAlchemy overhead. Rows are plain tuples
``(series_id, ts_ms, value, quality)``.

Points below the compaction watermark may already sit in a packed hour
(``taydo.observations.packed``): each write transaction reads the watermark and checks only
those rows against the packed hours, so a re-sent packed point is still a duplicate and the
live feed (always above the watermark) keeps its path.

How rollups stay exact when a batch re-sends stored points: the insert learns which rows it
really stored (PostgreSQL: ``ON CONFLICT DO NOTHING RETURNING``; SQLite: the change counter,
with a precise retry when it reports duplicates), and only those rows are folded into the
hourly and daily rollups and the latest values.

Two ways to fold them:

* ``write``: in the same transaction (command-line imports, the simulator's backfill).
* ``write_deferred`` + ``flush`` (the server's group-commit writer): the transaction stores the
  new points and ONE journal row (``observations_unfolded``) holding their per-(series, hour)
  sums; ``flush`` later claims every journal row (``DELETE … RETURNING``), merges them and
  applies them to the rollups and latest values in one transaction. Each journal row is thus
  applied exactly once, whichever process flushes it, and a crash between the two only delays
  the rollups until the next flush (the writer flushes on start). Why: a live-feed transaction
  touches every series, and upserting ~3 rollup rows per series per transaction cost more than
  inserting the points themselves; a flush every second pays that once per second instead.
"""

from __future__ import annotations

import functools
import sqlite3
import weakref
from array import array
from collections.abc import Sequence
from itertools import chain
from typing import Any

from taydo.observations.buckets import QUARTER_MS, Buckets
from taydo.observations.packed import drop_packed, read_watermark
from taydo.observations.partitions import DAILY, HOURLY, RAW, Partitions, missing_partition

__all__ = ["Row", "Store"]

Row = tuple[int, int, float, int]

WAL_CHECKPOINT_PAGES = 10_000

# SQLite: each transaction's rows go in as few multi-row INSERT statements as the limit on
# bound values allows (one for a usual group), each padded to a multiple of _SQLITE_UNIT rows
# by repeating its last row, so that the statements come in a handful of sizes, all in the
# driver's statement cache. A repeat is a conflict with the row before it: ignored, it adds
# nothing to the change counter that ``_insert_sqlite`` reads. Why: a statement is one
# sqlite3_step, run without the GIL, and the writer must take the GIL back after each, waiting
# for the request threads every time; ``executemany`` steps once per row. Measured (live
# shape, /tmp scripts in the performance notes): 1,024-row statements cut the CPU per 600,000
# rows from 3.3 s to 2.3 s; one padded statement per group then gave ×1.3–1.4 rows/s over
# 1,024-row statements with their power-of-two remainders.
_SQLITE_UNIT = 512
_SQLITE_MAX_ROWS = 8192  # 16 statement sizes at most; a group holds up to 20,000 rows
_SQLITE_DEFAULT_MAX_VALUES = 32_766  # SQLITE_MAX_VARIABLE_NUMBER since SQLite 3.32


@functools.cache
def _sqlite_insert(rows: int) -> str:
    return (
        "INSERT INTO observations (series_id, ts, value, quality) VALUES "  # noqa: S608 — only placeholders, counted
        + ",".join(["(?,?,?,?)"] * rows)
        + " ON CONFLICT DO NOTHING"
    )


def _sqlite_max_values(connection: Any) -> int:
    try:
        limit: int = connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    except AttributeError:  # a driver connection without getlimit (Python < 3.11)
        limit = _SQLITE_DEFAULT_MAX_VALUES
    return limit


def _sqlite_rows_per_statement(connection: Any) -> int:
    limit = _sqlite_max_values(connection)
    return max(min(limit // 4, _SQLITE_MAX_ROWS) // _SQLITE_UNIT * _SQLITE_UNIT, 1)


def _insert_all_sqlite(connection: Any, rows: Sequence[Row], per_statement: int) -> None:
    unit = _SQLITE_UNIT if per_statement >= _SQLITE_UNIT else 1
    for start in range(0, len(rows), per_statement):
        part = rows[start : start + per_statement]
        size = -(-len(part) // unit) * unit
        values = list(chain.from_iterable(part))
        if size > len(part):
            values.extend(part[-1] * (size - len(part)))
        connection.execute(_sqlite_insert(size), values)


_SQLITE_EXISTS = "SELECT 1 FROM observations WHERE series_id = ? AND ts = ?"
_ROLLUP_SET = (
    "count = {t}.count + excluded.count, sum = {t}.sum + excluded.sum, "
    "min = CASE WHEN excluded.min < {t}.min THEN excluded.min ELSE {t}.min END, "
    "max = CASE WHEN excluded.max > {t}.max THEN excluded.max ELSE {t}.max END, "
    "last_value = CASE WHEN excluded.last_ts > {t}.last_ts "
    "THEN excluded.last_value ELSE {t}.last_value END, "
    "last_ts = CASE WHEN excluded.last_ts > {t}.last_ts THEN excluded.last_ts ELSE {t}.last_ts END"
)
_LATEST_SET = (
    "ON CONFLICT (series_id) DO UPDATE SET ts = excluded.ts, value = excluded.value, "
    "quality = excluded.quality WHERE excluded.ts > observations_latest.ts"
)
# SQLite: (head, values a row, conflict clause) of the multi-row upserts (``_sqlite_upsert``).
_SQLITE_UPSERTS = {
    table: (
        f"INSERT INTO {table} (series_id, bucket, count, sum, min, max, last_ts, last_value)",
        8,
        "ON CONFLICT (series_id, bucket) DO UPDATE SET " + _ROLLUP_SET.format(t=table),
    )
    for table in ("observations_hourly", "observations_daily")
}
_SQLITE_UPSERTS["observations_latest"] = (
    "INSERT INTO observations_latest (series_id, ts, value, quality)",
    4,
    _LATEST_SET,
)
# PostgreSQL: binary COPY into a per-connection temporary table, then one INSERT … SELECT.
# Measured against one INSERT … SELECT FROM unnest(arrays): ~1.5× the rows/s and a quarter
# of the writer's Python CPU (which it shares with the request handlers under the GIL).
_PG_STAGE = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS observations_in "
    "(series_id BIGINT, ts BIGINT, value DOUBLE PRECISION, quality SMALLINT) "
    "ON COMMIT DELETE ROWS"
)
_PG_COPY = "COPY observations_in FROM STDIN (FORMAT BINARY)"
_PG_INSERT = (
    "INSERT INTO observations (series_id, ts, value, quality) "
    "SELECT series_id, ts, value, quality FROM observations_in "
    "ON CONFLICT DO NOTHING RETURNING series_id, ts"
)
_PG_TYPES = ("int8", "int8", "float8", "int2")
_PG_ROLLUP = (
    "INSERT INTO {t} (series_id, bucket, count, sum, min, max, last_ts, last_value) "  # noqa: S608 — constant text; {t} is our rollup table name
    "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::int[], %s::float8[], %s::float8[], "
    "%s::float8[], %s::bigint[], %s::float8[]) "
    "ON CONFLICT (series_id, bucket) DO UPDATE SET " + _ROLLUP_SET
)
_JOURNAL_INSERT = {
    "sqlite": "INSERT INTO observations_unfolded (deltas) VALUES (?)",
    "postgresql": "INSERT INTO observations_unfolded (deltas) VALUES (%s)",
}
_JOURNAL_CLAIM = "DELETE FROM observations_unfolded RETURNING deltas"
_JOURNAL_READ = "SELECT deltas FROM observations_unfolded"
# One journal entry per (series, hour) of a transaction, as doubles (ids and epoch ms are
# exact in a double): series, hour, day, count, sum, min, max, last_ts, last_value, quality.
_DELTA_FIELDS = 10
_INTEGER_FIELDS = (0, 1, 2, 3, 7, 9)
_PG_LATEST = (
    "INSERT INTO observations_latest (series_id, ts, value, quality) "  # noqa: S608 — constant SQL text joined
    "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::float8[], %s::int2[]) " + _LATEST_SET
)


class Store:
    """Writes batches for one database. ``dialect`` is ``sqlite`` or ``postgresql``."""

    def __init__(self, dialect: str, buckets: Buckets) -> None:
        self.dialect = dialect
        self.buckets = buckets
        self.partitions = Partitions()
        # PostgreSQL connections that already have their temporary staging table.
        self._staged: weakref.WeakSet[Any] = weakref.WeakSet()

    def prepare(self, connection: Any) -> None:
        """Tune a long-lived writer connection. SQLite: checkpoint the WAL every ~40 MB
        instead of every 4 MB; a batch in live-feed order dirties one page per series, and
        each checkpoint (with its fsync) otherwise costs more than the inserts themselves."""
        if self.dialect == "sqlite":
            connection.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")

    # -- the one entry point -------------------------------------------------------------

    def write(self, connection: Any, rows: Sequence[Row]) -> list[Row]:
        """Store ``rows`` in one transaction, rollups and latest values included, and commit;
        return the rows that were new (first occurrence wins for a (series, ts) repeated
        inside ``rows``)."""
        return self._write(connection, rows, deferred=False)

    def write_deferred(
        self, connection: Any, rows: Sequence[Row], folded: bytes | None = None
    ) -> list[Row]:
        """Like ``write``, but the rollups and latest values of the new rows are journaled
        in the same transaction and applied by a later ``flush``. ``folded``: ``fold(rows)``
        worked out beforehand (off the writer's thread); used when every row is new."""
        return self._write(connection, rows, deferred=True, folded=folded)

    def fold(self, rows: Sequence[Row]) -> bytes:
        """The journal's deltas of ``rows``: per (series, hour) sums as packed doubles.
        Entries of one key from several folds add up at the flush, so folds of parts of a
        transaction may simply be concatenated."""
        return array("d", [x for acc in self._hourly(rows) for x in acc]).tobytes()

    def _write(
        self,
        connection: Any,
        rows: Sequence[Row],
        *,
        deferred: bool,
        folded: bytes | None = None,
    ) -> list[Row]:
        # The first occurrence of a key wins: later duplicates of the batch are dropped,
        # earlier stored points kept by ON CONFLICT DO NOTHING.
        if not rows:
            return []
        try:
            return self._write_once(connection, rows, deferred=deferred, folded=folded)
        except Exception as error:
            if not missing_partition(error):
                raise
        # A partition this process had created was dropped since (a retention run, maybe in
        # another process): forget what we knew and write again.
        self.partitions.forget()
        return self._write_once(connection, rows, deferred=deferred, folded=folded)

    def _write_once(
        self,
        connection: Any,
        rows: Sequence[Row],
        *,
        deferred: bool,
        folded: bytes | None,
    ) -> list[Row]:
        try:
            if self.dialect == "postgresql":
                unique = _first_of_each_key(rows)
                self._ensure_partitions(connection, [r[1] for r in unique])
                unique = self._unpacked(connection, unique)
                new = self._insert_pg(connection, unique) if unique else []
            else:
                new = self._insert_sqlite(connection, rows)
            if new and deferred:
                if folded is None or len(new) != len(rows):  # duplicates: fold what is new
                    folded = self.fold(new)
                connection.execute(_JOURNAL_INSERT[self.dialect], (folded,))
            elif new:
                self._apply(connection, self._hourly(new))
            connection.commit()
        except BaseException:
            connection.rollback()
            self._staged.discard(connection)  # its staging table may have been rolled back
            raise
        return new

    def flush(self, connection: Any) -> int:
        """Apply every journaled rollup delta (from any writer) in one transaction; return
        how many journal rows it applied."""
        try:
            return self._flush_once(connection)
        except Exception as error:
            if not missing_partition(error):
                raise
        # A rollup partition was dropped since (see ``_write``): the deltas went back to the
        # journal with the rollback; create what they need and apply them again.
        self.partitions.forget()
        blobs = connection.execute(_JOURNAL_READ).fetchall()
        connection.rollback()
        values = array("d")
        for (blob,) in blobs:
            values.frombytes(blob)
        hours = values[1::_DELTA_FIELDS]
        self._ensure_partitions(connection, [int(h) for h in hours])
        return self._flush_once(connection)

    def _flush_once(self, connection: Any) -> int:
        try:
            if self.dialect == "sqlite":
                connection.execute("BEGIN IMMEDIATE")
            claimed = self.apply_journal(connection)
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        return claimed

    def apply_journal(self, connection: Any) -> int:
        """Claim every journal row and apply it to the rollups and latest values inside the
        caller's transaction (no commit); how many rows it claimed. A correction
        (``taydo.observations.corrections``) runs it first, so a point's journaled sums are
        never added to a bucket it recomputes from the stored points."""
        claimed = connection.execute(_JOURNAL_CLAIM).fetchall()
        if claimed:
            merged: dict[tuple[int, int], list[Any]] = {}
            values = array("d")
            for (blob,) in claimed:
                values.frombytes(blob)
            entries, keys = _entries(values)
            merged = dict(zip(keys, entries, strict=True))
            if len(merged) < len(entries):  # a (series, hour) in several journal rows
                merged = {}
                for key, acc in zip(keys, entries, strict=True):
                    found = merged.setdefault(key, acc)
                    if found is not acc:
                        _merge(found, acc)
            self._apply(connection, list(merged.values()))
        return len(claimed)

    # -- inserts ---------------------------------------------------------------------------

    def _unpacked(self, connection: Any, rows: list[Row]) -> list[Row]:
        """Read the compaction watermark in this write transaction and leave out the rows
        already stored in packed hours (only rows below the watermark can be; see
        ``packed.drop_packed``). Without a compaction yet this is one tiny SELECT."""
        watermark = read_watermark(connection, self.dialect)
        if watermark and min(r[1] for r in rows) < watermark:
            return drop_packed(connection, self.dialect, rows, watermark)
        return rows

    def _insert_sqlite(self, connection: Any, rows: Sequence[Row]) -> list[Row]:
        # RETURNING makes SQLite's inserts several times slower, so learn what was new from
        # the change counter instead: when it says every row was stored
        # (the usual case: no stored point re-sent, no key twice in the batch) we are done;
        # otherwise undo, keep the first of each key, find the stored keys, insert the rest.
        # The insert is the transaction's first write, so "undo" is a plain rollback: a
        # SAVEPOINT would make SQLite copy every page it touches into a statement journal
        # (measured in the live-feed shape: 1.8 s instead of 1.0 s of CPU per 400,000 rows).
        connection.execute("BEGIN IMMEDIATE")
        offered = self._unpacked(connection, list(rows))
        per_statement = _sqlite_rows_per_statement(connection)
        before = connection.total_changes
        _insert_all_sqlite(connection, offered, per_statement)
        if connection.total_changes - before == len(offered):
            return offered
        connection.rollback()
        # A compaction may have run between the two transactions: check the watermark again.
        connection.execute("BEGIN IMMEDIATE")
        new = [
            r
            for r in self._unpacked(connection, _first_of_each_key(rows))
            if connection.execute(_SQLITE_EXISTS, r[:2]).fetchone() is None
        ]
        _insert_all_sqlite(connection, new, per_statement)
        return new

    def _insert_pg(self, connection: Any, rows: list[Row]) -> list[Row]:
        with connection.cursor() as cursor:
            if connection not in self._staged:
                cursor.execute(_PG_STAGE)
                self._staged.add(connection)
            with cursor.copy(_PG_COPY) as copy:
                copy.set_types(_PG_TYPES)
                for row in rows:
                    copy.write_row(row)
            cursor.execute(_PG_INSERT)
            inserted = cursor.fetchall()
        if len(inserted) == len(rows):
            return rows
        keys = set(inserted)
        return [r for r in rows if (r[0], r[1]) in keys]

    def _ensure_partitions(self, connection: Any, stamps: list[int]) -> None:
        """PostgreSQL: the raw, hourly and daily partitions that points at ``stamps`` go
        into, created before the write transaction (each creation commits on its own).
        Rollup buckets start in the display zone, so a point's daily bucket may lie in the
        UTC month (or year) before its own."""
        partitions = self.partitions
        starts = [quarter * QUARTER_MS for quarter in {ts // QUARTER_MS for ts in stamps}]
        partitions.ensure(connection, RAW, starts)
        slot = self.buckets.slot
        slots = [slot(start) for start in starts]
        partitions.ensure(connection, HOURLY, [s[1] for s in slots])
        partitions.ensure(connection, DAILY, [s[2] for s in slots])

    # -- rollups and latest values ---------------------------------------------------------

    def _hourly(self, rows: Sequence[Row]) -> list[list[Any]]:
        """Per (series, hour): [series, hour, day, count, sum, min, max, last_ts, last_value,
        quality of the last point]."""
        slot = self.buckets.slot
        hourly: dict[tuple[int, int], list[Any]] = {}
        for series_id, ts, value, quality in rows:
            _offset, hour, day = slot(ts)
            key = (series_id, hour)
            acc = hourly.get(key)
            if acc is None:
                hourly[key] = [series_id, hour, day, 1, value, value, value, ts, value, quality]
            else:
                acc[3] += 1
                acc[4] += value
                if value < acc[5]:
                    acc[5] = value
                if value > acc[6]:
                    acc[6] = value
                if ts > acc[7]:
                    acc[7] = ts
                    acc[8] = value
                    acc[9] = quality
        return list(hourly.values())

    def _apply(self, connection: Any, hourly: list[list[Any]]) -> None:
        """Fold per-hour sums into the hourly and daily rollups and the latest values."""
        daily: dict[tuple[int, int], list[Any]] = {}
        latest: dict[int, list[Any]] = {}
        if len({acc[0] for acc in hourly}) == len(hourly):
            # One hour of each series (a flush of a feed that sends each series a few times
            # an hour at most, the usual case): each hour is its series' day and latest
            # value, nothing to merge (and nothing mutated: no copies).
            daily = {(acc[0], acc[2]): acc for acc in hourly}
            latest = {acc[0]: [acc[0], acc[7], acc[8], acc[9]] for acc in hourly}
        else:
            for acc in hourly:
                key = (acc[0], acc[2])
                day_acc = daily.get(key)
                if day_acc is None:
                    daily[key] = acc.copy()
                else:
                    _merge(day_acc, acc)
                found = latest.get(acc[0])
                if found is None or acc[7] > found[1]:
                    latest[acc[0]] = [acc[0], acc[7], acc[8], acc[9]]
        # Sorted, so concurrent writers (two API processes, a backfill) lock rollup rows in
        # the same order and cannot deadlock each other. Rollup rows are
        # (series, bucket, count, sum, min, max, last_ts, last_value).
        self._upsert(
            connection,
            sorted([a[0], a[1], *a[3:9]] for a in hourly),
            sorted([a[0], a[2], *a[3:9]] for a in daily.values()),
            dict(sorted(latest.items())),
        )

    def _upsert(
        self,
        connection: Any,
        hourly: list[list[Any]],
        daily: list[list[Any]],
        latest: dict[int, list[Any]],
    ) -> None:
        if self.dialect == "postgresql":
            with connection.cursor() as cursor:
                for table, accs in (("observations_hourly", hourly), ("observations_daily", daily)):
                    cursor.execute(_PG_ROLLUP.format(t=table), _columns(accs))
                cursor.execute(_PG_LATEST, _columns(list(latest.values())))
        else:
            _upsert_all_sqlite(connection, "observations_hourly", hourly)
            _upsert_all_sqlite(connection, "observations_daily", daily)
            _upsert_all_sqlite(connection, "observations_latest", list(latest.values()))


# SQLite rollups and latest values: multi-row upserts, as the points' inserts are (an
# ``executemany`` steps once a row, taking the GIL back from the request threads each time).
# They cannot be padded by repeating a row as the inserts are (a repeated delta would be
# added twice), so a group goes in as full statements of _SQLITE_UPSERT_ROWS rows and its
# remainder in power-of-two parts: a handful of statement sizes, all in the driver's cache.
# The rows of one call have distinct keys (merged beforehand), and they are sorted, so
# concurrent writers still lock in the same order.
_SQLITE_UPSERT_ROWS = 1024  # x 8 values: under SQLite's default limit since 3.32 (32,766)


@functools.cache
def _sqlite_upsert(table: str, rows: int) -> str:
    head, width, tail = _SQLITE_UPSERTS[table]
    markers = "(" + ",".join("?" * width) + ")"
    return f"{head} VALUES {','.join([markers] * rows)} {tail}"


def _upsert_all_sqlite(connection: Any, table: str, rows: Sequence[Sequence[Any]]) -> None:
    # Full statements within the driver's limit on bound values (999 before SQLite 3.32).
    width = _SQLITE_UPSERTS[table][1]
    full = _SQLITE_UPSERT_ROWS
    limit = _sqlite_max_values(connection)
    while full > 1 and full * width > limit:
        full //= 2
    start, total = 0, len(rows)
    while start < total:
        left = total - start
        size = full if left >= full else 1 << (left.bit_length() - 1)
        part = rows[start : start + size]
        connection.execute(_sqlite_upsert(table, size), list(chain.from_iterable(part)))
        start += size


def _merge(into: list[Any], acc: list[Any]) -> None:
    """Merge per-hour sums ``acc`` into ``into`` (same layout as ``Store._hourly``)."""
    into[3] += acc[3]
    into[4] += acc[4]
    if acc[5] < into[5]:
        into[5] = acc[5]
    if acc[6] > into[6]:
        into[6] = acc[6]
    if acc[7] > into[7]:
        into[7] = acc[7]
        into[8] = acc[8]
        into[9] = acc[9]


def _entries(values: array[float]) -> tuple[list[list[Any]], list[tuple[int, int]]]:
    """The journal's deltas as entries (``_hourly``'s layout, ids and times as integers)
    and each entry's (series, hour): converted a column at a time (``map`` in C), not a
    field at a time — a flush of a large feed holds one entry per series."""
    flat = values.tolist()
    columns: list[list[Any]] = [flat[k::_DELTA_FIELDS] for k in range(_DELTA_FIELDS)]
    for k in _INTEGER_FIELDS:
        columns[k] = list(map(int, columns[k]))
    return list(map(list, zip(*columns, strict=True))), list(
        zip(columns[0], columns[1], strict=True)
    )


def _first_of_each_key(rows: Sequence[Row]) -> list[Row]:
    unique = list({(r[0], r[1]): r for r in reversed(rows)}.values())
    unique.reverse()
    return unique


def _columns(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Row tuples to column lists (psycopg sends each list as one array parameter)."""
    return [list(column) for column in zip(*rows, strict=True)]
