"""The write path: duplicates, exact rollups, latest values, partitions."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from taydo.core.db import Database
from taydo.observations.service import Point, store_for, write_points
from tests.conftest import POSTGRES_ONLY
from tests.observations.conftest import MakeSeries

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def ms(text_time: str) -> int:
    return int(datetime.fromisoformat(text_time).timestamp() * 1000)


def rows(database: Database, sql: str, **params: object) -> list[tuple]:
    with database.engine.connect() as connection:
        return [tuple(r) for r in connection.execute(text(sql), params)]


def expected_rollups(database: Database, unit: str) -> dict[tuple[int, int], tuple]:
    """Aggregates computed from the raw rows with zoneinfo, independently of the writer."""
    groups: dict[tuple[int, int], list[tuple[int, float]]] = defaultdict(list)
    for series_id, ts, value in rows(database, "SELECT series_id, ts, value FROM observations"):
        local = datetime.fromtimestamp(ts / 1000, HCM)
        if unit == "hour":
            start = local.replace(minute=0, second=0, microsecond=0)
        else:
            start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        groups[(series_id, int(start.timestamp() * 1000))].append((ts, value))
    out = {}
    for key, points in groups.items():
        values = [v for _, v in points]
        last_ts, last_value = max(points)
        out[key] = (len(points), sum(values), min(values), max(values), last_ts, last_value)
    return out


def stored_rollups(database: Database, table: str) -> dict[tuple[int, int], tuple]:
    return {
        (r[0], r[1]): tuple(r[2:])
        for r in rows(
            database,
            f"SELECT series_id, bucket, count, sum, min, max, last_ts, last_value FROM {table}",
        )
    }


def test_resending_never_duplicates_and_counts_duplicates(
    database: Database, series_of: MakeSeries
) -> None:
    sid = series_of("CT-1")["height"]
    base = ms("2026-11-27T10:00:00+07:00")
    first = [Point(sid, base + i * 60_000, 1.0 + i / 4) for i in range(10)]
    assert write_points(database, first).accepted == 10
    again = write_points(database, [*first[5:], Point(sid, base + 10 * 60_000, 9.0)])
    assert (again.accepted, again.duplicates) == (1, 5)
    # The same key twice in one batch: the first occurrence is stored, the second counted.
    twice = write_points(database, [Point(sid, base - 60_000, 2.0), Point(sid, base - 60_000, 3.0)])
    assert (twice.accepted, twice.duplicates) == (1, 1)
    stored = rows(database, "SELECT ts, value FROM observations WHERE ts = :t", t=base - 60_000)
    assert stored == [(base - 60_000, 2.0)]
    assert rows(database, "SELECT count(*) FROM observations") == [(12,)]


def test_rollups_are_exact_with_duplicates_and_disorder(
    database: Database, series_of: MakeSeries
) -> None:
    ids = series_of("CT-2", {"height": (None, None), "salinity": (None, None)})
    rng = random.Random(7)
    # Around local midnight (17:00 UTC) and across several hours and days, shuffled.
    start = ms("2026-11-26T21:30:00+07:00")
    keys = [
        (sid, start + rng.randrange(0, 3 * 86_400) * 1000)
        for sid in ids.values()
        for _ in range(400)
    ]
    points = [Point(s, t, rng.randrange(-4000, 4000) / 8) for s, t in keys]
    rng.shuffle(points)
    for chunk in range(0, len(points), 97):
        batch = points[chunk : chunk + 97]
        # Re-send part of an earlier batch with other values: those must change nothing.
        replay = [
            Point(p.series_id, p.ts, p.value + 1000) for p in points[max(0, chunk - 50) : chunk]
        ]
        write_points(database, batch + replay)
    assert stored_rollups(database, "observations_hourly") == expected_rollups(database, "hour")
    assert stored_rollups(database, "observations_daily") == expected_rollups(database, "day")
    # Daily buckets start at local midnight of Asia/Ho_Chi_Minh (17:00 UTC the day before).
    for _series, bucket in stored_rollups(database, "observations_daily"):
        local = datetime.fromtimestamp(bucket / 1000, HCM)
        assert (local.hour, local.minute) == (0, 0)


def test_latest_only_moves_forward(database: Database, series_of: MakeSeries) -> None:
    sid = series_of("CT-3")["height"]
    base = ms("2026-11-27T08:00:00+07:00")
    write_points(database, [Point(sid, base, 1.0, 0)])
    write_points(database, [Point(sid, base - 3_600_000, 5.0)])  # older: latest unchanged
    assert rows(database, "SELECT ts, value FROM observations_latest") == [(base, 1.0)]
    write_points(database, [Point(sid, base + 60_000, 2.0, 3), Point(sid, base + 30_000, 7.0)])
    assert rows(database, "SELECT ts, value, quality FROM observations_latest") == [
        (base + 60_000, 2.0, 3)
    ]
    write_points(database, [Point(sid, base + 60_000, 9.0)])  # a duplicate moves nothing
    assert rows(database, "SELECT value FROM observations_latest") == [(2.0,)]


def test_points_far_apart_in_time_are_stored(database: Database, series_of: MakeSeries) -> None:
    """On PostgreSQL each month lives in its own partition, created on demand."""
    sid = series_of("CT-4")["height"]
    moments = [
        ms("2019-02-28T23:59:00+07:00"),
        ms("2024-12-31T23:59:59+07:00"),
        ms("2026-11-27T00:00:00Z"),
    ]
    result = write_points(database, [Point(sid, t, 1.5) for t in moments])
    assert result.accepted == 3
    assert write_points(database, [Point(sid, t, 1.5) for t in moments]).duplicates == 3
    assert sorted(r[0] for r in rows(database, "SELECT ts FROM observations")) == moments


@POSTGRES_ONLY  # SQLite keeps one table
def test_postgres_months_get_their_own_partitions(
    database: Database, series_of: MakeSeries
) -> None:
    sid = series_of("CT-5")["height"]
    write_points(database, [Point(sid, ms("2031-03-15T00:00:00Z"), 1.0)])
    names = {
        r[0]
        for r in rows(
            database,
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'observations'::regclass",
        )
    }
    assert "observations_p203103" in names


def _shuffled_points(ids: list[int], seed: int) -> list[Point]:
    rng = random.Random(seed)
    start = ms("2026-11-26T21:30:00+07:00")  # around local midnight, over three days
    points = [
        Point(sid, start + rng.randrange(0, 3 * 86_400) * 1000, rng.randrange(-4000, 4000) / 8, q)
        for sid in ids
        for q in range(300)
    ]
    rng.shuffle(points)
    return points


def test_deferred_rollups_match_the_raw_rows_once_flushed(
    database: Database, series_of: MakeSeries
) -> None:
    """The server's writer journals rollup sums and applies them later: after a flush the
    rollups and latest values are exactly those of the stored rows, re-sent points included,
    and every journal row was applied once."""
    ids = list(series_of("CT-5", {"height": (None, None), "salinity": (None, None)}).values())
    points = _shuffled_points(ids, 11)
    store = store_for(database, "Asia/Ho_Chi_Minh")
    raw = database.engine.raw_connection()
    try:
        connection = raw.driver_connection
        for chunk in range(0, len(points), 89):
            batch = [(p.series_id, p.ts, p.value, p.quality) for p in points[chunk : chunk + 89]]
            replay = [(s, t, v + 1000, q) for s, t, v, q in batch[:20]]
            store.write_deferred(connection, batch + replay)
            if chunk % (89 * 3) == 0:
                store.write_deferred(connection, replay)  # only duplicates: nothing journaled
        journaled = rows(database, "SELECT count(*) FROM observations_unfolded")[0][0]
        assert journaled == -(-len(points) // 89)  # one journal row per transaction
        assert rows(database, "SELECT count(*) FROM observations_hourly") == [(0,)]
        assert store.flush(connection) == journaled
        assert store.flush(connection) == 0  # applied once: the journal is empty
    finally:
        raw.close()
    # The first occurrence of a key repeated inside a batch won (the copies carry +1000).
    assert rows(database, "SELECT max(value) FROM observations")[0][0] < 500
    assert stored_rollups(database, "observations_hourly") == expected_rollups(database, "hour")
    assert stored_rollups(database, "observations_daily") == expected_rollups(database, "day")
    newest = {}
    for sid, ts, value, quality in rows(
        database, "SELECT series_id, ts, value, quality FROM observations"
    ):
        if sid not in newest or ts > newest[sid][0]:
            newest[sid] = (ts, value, quality)
    latest = rows(database, "SELECT series_id, ts, value, quality FROM observations_latest")
    assert {r[0]: r[1:] for r in latest} == newest


def test_inline_and_deferred_writes_fold_into_the_same_rollups(
    database: Database, series_of: MakeSeries
) -> None:
    """A command-line import (inline) and the server (deferred) may write the same series at
    the same time: each point is folded exactly once either way."""
    ids = list(series_of("CT-6", {"height": (None, None)}).values())
    points = _shuffled_points(ids, 12)
    store = store_for(database, "Asia/Ho_Chi_Minh")
    raw = database.engine.raw_connection()
    try:
        connection = raw.driver_connection
        for n, chunk in enumerate(range(0, len(points), 50)):
            batch = [(p.series_id, p.ts, p.value, p.quality) for p in points[chunk : chunk + 50]]
            if n % 2:
                store.write(connection, batch)
            else:
                store.write_deferred(connection, batch)
            if n % 5 == 4:
                store.flush(connection)
        store.flush(connection)
    finally:
        raw.close()
    assert stored_rollups(database, "observations_hourly") == expected_rollups(database, "hour")
    assert stored_rollups(database, "observations_daily") == expected_rollups(database, "day")


@pytest.mark.parametrize("size", [1, 3, 511, 512, 513, 2900, 8192, 8193])
def test_batches_of_any_size_store_each_new_point_once(
    database: Database, series_of: MakeSeries, size: int
) -> None:
    """SQLite inserts in multi-row statements of up to 8,192 rows, padded to a multiple of
    512 by repeating the last row: every size stores every new point once and counts the
    duplicates (in the batch, in the store) exactly."""
    sid = series_of(f"CT-SIZE-{size}")["height"]
    base = ms("2026-11-27T00:00:00+07:00")
    rng = random.Random(size)
    first = [Point(sid, base + i * 1000, float(i)) for i in range(size)]
    assert write_points(database, first).accepted == size
    stored_again = rng.sample(first, k=min(size, 7))
    fresh = [Point(sid, base - (i + 1) * 1000, -float(i)) for i in range(size)]
    twice = fresh[: min(size, 5)]
    batch = fresh + stored_again + twice
    rng.shuffle(batch)
    result = write_points(database, batch)
    assert (result.accepted, result.duplicates) == (size, len(stored_again) + len(twice))
    stored = rows(database, "SELECT ts, value FROM observations WHERE series_id = :s", s=sid)
    assert sorted(stored) == sorted((p.ts, p.value) for p in first + fresh)


def test_a_flush_of_thousands_of_series_keeps_every_rollup_exact(
    database: Database, series_of: MakeSeries
) -> None:
    """A flush touching more series than one multi-row upsert holds (1,024 rows on SQLite):
    every hour, day and latest value is that of the stored rows, whether each series has one
    hour in the flush (no merging) or several (merged first)."""
    ids = list(series_of("CT-WIDE", {f"m{i}": (None, None) for i in range(2_100)}).values())
    hour = ms("2026-11-27T08:00:00+07:00")
    store = store_for(database, "Asia/Ho_Chi_Minh")
    raw = database.engine.raw_connection()
    try:
        connection = raw.driver_connection
        # One hour of each series, in two transactions: a flush with no merging to do.
        store.write_deferred(connection, [(s, hour + 1_000, float(s % 97), 0) for s in ids])
        store.write_deferred(connection, [(s, hour + 2_000, float(s % 89), 1) for s in ids])
        store.flush(connection)
        # Then two hours of each series (and the same hour again): merged before the upsert.
        store.write_deferred(connection, [(s, hour + 3_000, -float(s % 7), 0) for s in ids])
        store.write_deferred(connection, [(s, hour + 3_600_000, float(s % 5), 2) for s in ids])
        store.flush(connection)
    finally:
        raw.close()
    assert stored_rollups(database, "observations_hourly") == expected_rollups(database, "hour")
    assert stored_rollups(database, "observations_daily") == expected_rollups(database, "day")
    latest = rows(database, "SELECT series_id, ts, value, quality FROM observations_latest")
    assert {r[0]: r[1:] for r in latest} == {s: (hour + 3_600_000, float(s % 5), 2) for s in ids}
