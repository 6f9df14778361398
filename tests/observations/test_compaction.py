"""Compaction of closed hours into packed rows: every read answers the same before and after,
re-sent points stay duplicates, late points are merged, a failed run loses nothing."""

from __future__ import annotations

import itertools
import random
import time
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from typer.testing import CliRunner

from taydo.core import clock
from taydo.core.db import Database
from taydo.core.runtime import runtime_of
from taydo.observations import compaction
from taydo.observations.buckets import Buckets
from taydo.observations.compaction import compact_database
from taydo.observations.maintenance import StorageMaintainer
from taydo.observations.packed import HOUR_MS
from taydo.observations.query import (
    AGGREGATES,
    count_points,
    latest_values,
    points_since,
    raw_points,
    recent_points,
    series_buckets,
)
from taydo.observations.service import Point, store_for, write_points
from tests.conftest import POSTGRES_ONLY
from tests.observations.conftest import make_series

BUCKETS = Buckets("Asia/Ho_Chi_Minh")
MINUTE = 60_000
# 2026-11-20T00:00:00Z: a day boundary in UTC, 07:00 in Cần Thơ.
BASE = int(datetime.fromisoformat("2026-11-20T00:00:00+00:00").timestamp() * 1000)
HOURS = 6
_entities = itertools.count()


def scalar(database: Database, sql: str) -> int:
    with database.engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar_one() or 0)


def points_of(database: Database, series_id: int, **kwargs: object) -> list[tuple]:
    with database.engine.connect() as connection:
        return list(raw_points(connection, database.dialect, series_id, **kwargs))  # type: ignore[arg-type]


def hourly_sums(database: Database, sid: int) -> list[tuple[int, float]]:
    window = {"start_ms": BASE, "end_ms": BASE + 2 * HOUR_MS}
    return series_buckets(database, sid, **window, bucket="1h", agg="sum", buckets=BUCKETS)


def everything(database: Database, series: list[int], entity_id: str) -> dict[str, object]:
    """Every answer a user can get from the points of ``series``."""
    start, end = BASE - 2 * HOUR_MS, BASE + (HOURS + 2) * HOUR_MS
    answers: dict[str, object] = {}
    for sid in series:
        for bucket in ("1m", "5m", "15m", "1h", "1d"):
            for agg in AGGREGATES:
                answers[f"{sid} {bucket} {agg}"] = series_buckets(
                    database,
                    sid,
                    start_ms=start,
                    end_ms=end,
                    bucket=bucket,
                    agg=agg,
                    buckets=BUCKETS,
                )
        answers[f"{sid} points"] = points_of(database, sid)
        for lo, hi in ((BASE + 37 * MINUTE, BASE + 3 * HOUR_MS + 5 * MINUTE), (None, BASE)):
            answers[f"{sid} range {lo} {hi}"] = points_of(database, sid, start_ms=lo, end_ms=hi)
        for limit in (1, 7, 1000):  # what temporal retrieval asks for: the newest N
            answers[f"{sid} newest {limit}"] = points_of(
                database, sid, newest_first=True, limit=limit
            )[:limit]
        with database.engine.connect() as connection:
            for since in (BASE + 90 * MINUTE + 1, BASE + 2 * HOUR_MS, BASE - HOUR_MS):
                answers[f"{sid} count {since}"] = count_points(connection, [sid], since)
    answers["latest"] = latest_values(database, entity_id=entity_id)
    # A cluster's hand-over reads every series' recent points in bulk: raw, packed or both.
    for since in (BASE + 90 * MINUTE + 1, BASE - HOUR_MS):
        answers[f"since {since}"] = points_since(database, series, since)
        assert answers[f"since {since}"] == recent_points(database, series, since)
    return answers


point_lists = st.lists(
    st.tuples(
        st.integers(0, 2),  # which of three series
        st.integers(0, HOURS * 60 - 1),  # minute
        st.integers(0, 59_999),  # ms inside the minute (out of order, not on a grid)
        st.floats(-1e6, 1e6, allow_nan=False),
        st.sampled_from([0, 0, 0, 1, 32767]),
    ),
    min_size=1,
    max_size=300,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    raw=point_lists,
    repeats=st.integers(0, 30),
    horizon=st.integers(0, HOURS + 1),
    seed=st.integers(0, 2**16),
)
def test_every_read_is_the_same_after_compaction(
    database: Database, raw: list[tuple], repeats: int, horizon: int, seed: int
) -> None:
    rng = random.Random(seed)
    local = f"P{next(_entities)}"
    ids = make_series(database, local, {"a": (None, None), "b": (None, None), "c": (None, None)})
    series = [ids["a"], ids["b"], ids["c"]]
    points = [
        Point(series[s], BASE + minute * MINUTE + ms, value, quality)
        for s, minute, ms, value, quality in raw
    ]
    # Repeats of stored keys with another value: the first stored value must win.
    points += [
        Point(p.series_id, p.ts, p.value + 1, p.quality) for p in rng.choices(points, k=repeats)
    ]
    rng.shuffle(points)
    for start in range(0, len(points), 50):
        write_points(database, points[start : start + 50])
    expected: dict[tuple[int, int], tuple[int, float, int]] = {}
    for p in points:  # first written wins
        expected.setdefault((p.series_id, p.ts), (p.ts, p.value, p.quality))
    entity_id = f"urn:ngsi-ld:WaterObserved:{local}"
    before = everything(database, series, entity_id)
    for sid in series:  # the reference itself, computed without the store
        assert before[f"{sid} points"] == sorted(v for k, v in expected.items() if k[0] == sid)

    horizon_ms = BASE + horizon * HOUR_MS
    # (The database outlives one example: earlier examples' raw points count too.)
    raw_below = f"SELECT count(*) FROM observations WHERE ts < {horizon_ms}"
    moved = scalar(database, raw_below)
    assert moved >= sum(1 for _sid, ts in expected if ts < horizon_ms)

    result = compact_database(database, horizon_ms)

    assert result.points == moved
    assert scalar(database, raw_below) == 0
    assert everything(database, series, entity_id) == before
    # Re-sending everything after compaction: all duplicates, and nothing changes.
    again = write_points(database, points)
    assert (again.accepted, again.duplicates) == (0, len(points))
    assert everything(database, series, entity_id) == before


def test_resent_points_are_duplicates_and_late_points_are_merged(database: Database) -> None:
    sid = make_series(database, "D1")["height"]
    first = [Point(sid, BASE + m * MINUTE, float(m)) for m in range(0, 120, 2)]  # even minutes
    assert write_points(database, first).accepted == 60
    hourly_before = hourly_sums(database, sid)
    assert compact_database(database, BASE + 2 * HOUR_MS).points == 60
    assert scalar(database, "SELECT count(*) FROM observations") == 0
    assert scalar(database, "SELECT count(*) FROM observations_packed") == 2

    # Through the server's path too: the writer's deferred rollups must not see them.
    store = store_for(database, "Asia/Ho_Chi_Minh")
    raw = database.engine.raw_connection()
    try:
        connection = raw.driver_connection
        rows = [(p.series_id, p.ts, p.value + 100, 0) for p in first[:10]]
        assert store.write_deferred(connection, rows) == []
        store.flush(connection)
        # A late point (odd minute) into a packed hour is new; a re-sent one is not.
        late = [(sid, BASE + 7 * MINUTE, 7.5, 3), (sid, BASE + 8 * MINUTE, 99.0, 0)]
        assert store.write_deferred(connection, late) == [late[0]]
        store.flush(connection)
    finally:
        raw.close()
    again = write_points(database, first)
    assert (again.accepted, again.duplicates) == (0, 60)
    hourly_after = hourly_sums(database, sid)
    assert hourly_after == [(hourly_before[0][0], hourly_before[0][1] + 7.5), hourly_before[1]]

    expected = sorted([(p.ts, p.value, 0) for p in first] + [(BASE + 7 * MINUTE, 7.5, 3)])
    assert points_of(database, sid) == expected  # the late point is raw, read with the packed
    assert scalar(database, "SELECT count(*) FROM observations") == 1
    result = compact_database(database, BASE + 2 * HOUR_MS)  # the same horizon again
    assert (result.points, result.hours) == (1, 1)
    assert scalar(database, "SELECT count(*) FROM observations") == 0
    assert scalar(database, "SELECT sum(count) FROM observations_packed") == 61
    assert points_of(database, sid) == expected
    # A horizon in the future stops at the current hour: the live feed is never packed.
    now = clock.now_ms()
    hour = now - now % HOUR_MS
    write_points(database, [Point(sid, hour - 1, 1.0), Point(sid, now, 2.0)])
    assert compact_database(database, now + 10 * HOUR_MS).packed_before == hour
    assert scalar(database, "SELECT count(*) FROM observations") == 1  # the current hour's


def test_nothing_to_pack_leaves_the_watermark_alone(database: Database) -> None:
    sid = make_series(database, "W1")["height"]
    write_points(database, [Point(sid, BASE + 3 * HOUR_MS, 1.0)])
    # Nothing before the horizon: writes keep the plain path (no watermark to compare with).
    assert compact_database(database, BASE + 2 * HOUR_MS).packed_before == 0
    # The watermark goes only to the end of the last hour holding a raw point.
    assert compact_database(database, BASE + 30 * HOUR_MS).packed_before == BASE + 4 * HOUR_MS
    assert points_of(database, sid) == [(BASE + 3 * HOUR_MS, 1.0, 0)]


def test_a_failed_compaction_loses_and_duplicates_nothing(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = make_series(database, "F1", {f"m{k}": (None, None) for k in range(4)})
    series = sorted(ids.values())
    points = [
        Point(sid, BASE + m * MINUTE, float(m + sid)) for sid in series for m in range(0, 300, 3)
    ]
    write_points(database, points)
    expected = {sid: points_of(database, sid) for sid in series}
    monkeypatch.setattr(compaction, "SERIES_PER_BATCH", 1)
    calls = 0
    real = compaction._packed_rows

    def failing(taken, existing):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls == 3:  # after the raw rows of this batch were deleted
            raise RuntimeError("disk on fire")
        return real(taken, existing)

    monkeypatch.setattr(compaction, "_packed_rows", failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        compact_database(database, BASE + 4 * HOUR_MS)
    stored = scalar(database, "SELECT count(*) FROM observations") + scalar(
        database, "SELECT coalesce(sum(count), 0) FROM observations_packed"
    )
    assert stored == len(points)
    assert scalar(database, "SELECT count(*) FROM observations_packed") > 0  # some batches done
    assert {sid: points_of(database, sid) for sid in series} == expected
    # The next run finishes the job.
    monkeypatch.setattr(compaction, "_packed_rows", real)
    compact_database(database, BASE + 4 * HOUR_MS)
    assert (
        scalar(database, f"SELECT count(*) FROM observations WHERE ts < {BASE + 4 * HOUR_MS}") == 0
    )
    assert {sid: points_of(database, sid) for sid in series} == expected


@POSTGRES_ONLY  # SQLite writers and compactions take one write lock
def test_a_writer_waiting_for_a_raise_reads_the_raised_watermark(database: Database) -> None:
    """A write transaction that waited for a compaction raising the watermark must route its
    points by the new one (a stale read sent points being packed through the fast path, so a
    re-sent point could be stored raw and packed at once: found once in CI)."""
    import threading

    from taydo.observations.packed import WATERMARK, lock_key, read_watermark

    compacting = database.engine.raw_connection()
    writing = database.engine.raw_connection()
    seen: list[int] = []
    try:
        raw = compacting.driver_connection
        raw.execute(f"SELECT {lock_key(WATERMARK, shared=False)}")  # a raise, not yet committed
        raw.execute(compaction._SQL["postgresql"]["raise"], (BASE + HOUR_MS,))
        writer = threading.Thread(
            target=lambda: seen.append(read_watermark(writing.driver_connection, "postgresql"))
        )
        writer.start()
        # until PostgreSQL shows the writer's session waiting for a lock: then it is blocked
        # (not merely slow to start) and cannot have read the watermark
        pid = writing.driver_connection.info.backend_pid
        deadline = time.monotonic() + 20
        while not scalar(
            database, f"SELECT count(*) FROM pg_locks WHERE pid = {pid} AND NOT granted"
        ):
            assert time.monotonic() < deadline, "the writer never waited for the lock"
            time.sleep(0.01)
        assert seen == []
        raw.commit()
        writer.join(10)
        assert seen == [BASE + HOUR_MS]
    finally:
        writing.rollback()
        compacting.close()
        writing.close()


@POSTGRES_ONLY  # SQLite has no partitions
@pytest.mark.parametrize("days", [31, 29])  # up to the month's end, or ending days before it
def test_an_emptied_closed_month_gives_its_space_back(database: Database, days: int) -> None:
    sid = make_series(database, "M1")["height"]
    january = int(datetime.fromisoformat("2025-01-01T00:00:00+00:00").timestamp() * 1000)
    points = [Point(sid, january + m * MINUTE, float(m % 97)) for m in range(0, days * 1440, 10)]
    write_points(database, points)
    size = "SELECT pg_total_relation_size('observations_p202501')"
    assert scalar(database, size) > 100_000
    expected = points_of(database, sid)
    february = int(datetime.fromisoformat("2025-02-01T00:00:00+00:00").timestamp() * 1000)
    result = compact_database(database, february + 3 * HOUR_MS)
    assert "observations_p202501" in result.truncated
    assert scalar(database, size) <= 8192  # what is left: the empty index's metapage
    assert points_of(database, sid) == expected
    # A late point for that month still has its partition.
    assert write_points(database, [Point(sid, january + 5, 1.0)]).accepted == 1
    assert len(points_of(database, sid)) == len(expected) + 1


def test_the_cli_compacts(database: Database, tmp_path: Path) -> None:
    from taydo.cli import app as cli_app

    sid = make_series(database, "C1")["height"]
    write_points(database, [Point(sid, BASE + m * MINUTE, float(m)) for m in range(180)])
    expected = points_of(database, sid)
    env = {"TAYDO_DATABASE_URL": database.url, "TAYDO_CONFIG_FILE": str(tmp_path / "none.toml")}
    runner = CliRunner()
    bad = runner.invoke(cli_app, ["db", "compact", "--before", "yesterday"], env=env)
    assert bad.exit_code == 2, bad.output
    answer = runner.invoke(
        cli_app, ["db", "compact", "--before", "2026-11-20T09:00:00+07:00"], env=env
    )
    assert answer.exit_code == 0, answer.output
    assert "120" in answer.output and "2026-11-20T02:00:00" in answer.output
    assert scalar(database, "SELECT count(*) FROM observations") == 60
    assert points_of(database, sid) == expected
    # By default it packs what ended TAYDO_OBSERVATIONS_PACK_AFTER_HOURS ago: here, all of it.
    answer = runner.invoke(cli_app, ["db", "compact"], env=env)
    assert answer.exit_code == 0, answer.output
    assert scalar(database, "SELECT count(*) FROM observations") == 0
    assert points_of(database, sid) == expected


def test_the_server_compacts_periodically(database: Database, headers_for) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from taydo.app import create_app
    from taydo.core.settings import Settings

    sid = make_series(database, "S1")["height"]
    write_points(database, [Point(sid, BASE + m * MINUTE, float(m)) for m in range(120)])
    expected = points_of(database, sid)
    off = Settings(  # type: ignore[call-arg]
        database_url=database.url, dev=True, observations_pack_after_hours=0, _env_file=None
    )
    with TestClient(create_app(off, database=database)) as client:
        assert runtime_of(client.app).find(StorageMaintainer) is None
    assert scalar(database, "SELECT count(*) FROM observations_packed") == 0
    on = off.model_copy(
        update={"observations_pack_after_hours": 24.0, "observations_pack_interval_s": 0.1}
    )
    headers = headers_for("operator")
    with TestClient(create_app(on, database=database)) as client:
        compactor = runtime_of(client.app).find(StorageMaintainer)
        deadline = time.monotonic() + 20
        while compactor.runs < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert compactor.runs >= 2  # it runs again and again
        answer = client.get(
            "/api/v1/entities/urn:ngsi-ld:WaterObserved:S1/series/height",
            params={"from": BASE, "to": BASE + 2 * HOUR_MS, "bucket": "1m", "agg": "max"},
            headers=headers,
        )
        assert answer.status_code == 200, answer.text
        assert [p["v"] for p in answer.json()["points"]] == [float(m) for m in range(120)]
    assert scalar(database, "SELECT count(*) FROM observations") == 0
    assert scalar(database, "SELECT sum(count) FROM observations_packed") == 120
    assert points_of(database, sid) == expected


def test_writes_during_compactions_stay_exact(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer re-sending stored points and sending new late ones while compactions run
    (in many small transactions): each point is stored once and counted new once."""
    import threading

    monkeypatch.setattr(compaction, "SERIES_PER_BATCH", 1)
    monkeypatch.setattr(compaction, "TARGET_ROWS", 30)  # many short transactions
    ids = make_series(database, "X1", {f"m{k}": (None, None) for k in range(4)})
    series = sorted(ids.values())
    minutes = range(HOURS * 60)
    stored = [Point(s, BASE + m * MINUTE, float(m)) for s in series for m in minutes if m % 2 == 0]
    late = [Point(s, BASE + m * MINUTE, float(m)) for s in series for m in minutes if m % 2]
    write_points(database, stored)
    accepted: list[int] = []
    failures: list[BaseException] = []
    rng = random.Random(3)

    def write() -> None:
        try:
            for _round in range(4):
                todo = late + rng.sample(stored, 200)
                rng.shuffle(todo)
                for start in range(0, len(todo), 97):
                    accepted.append(write_points(database, todo[start : start + 97]).accepted)
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    writer = threading.Thread(target=write)
    writer.start()
    hour = 0
    while writer.is_alive():  # the horizon moves an hour a run, then late points are merged
        hour = min(hour + 1, HOURS)
        compact_database(database, BASE + hour * HOUR_MS)
    writer.join()
    assert failures == []
    assert sum(accepted) == len(late)  # every late point new exactly once
    compact_database(database, BASE + HOURS * HOUR_MS)  # the late points written last
    expected = sorted((p.ts, p.value, 0) for p in stored + late if p.series_id == series[0])
    assert points_of(database, series[0]) == expected
    total = scalar(database, "SELECT coalesce(sum(count), 0) FROM observations_packed")
    assert total + scalar(database, "SELECT count(*) FROM observations") == len(stored + late)
    assert scalar(database, "SELECT sum(count) FROM observations_hourly") == len(stored + late)


def test_a_downgrade_never_drops_packed_points(tmp_path: Path) -> None:
    from alembic import command

    from taydo.core.migrate import alembic_config, upgrade

    database = Database(f"sqlite:///{tmp_path / 'down.db'}")  # a file of its own: DDL below
    try:
        upgrade(database)
        sid = make_series(database, "G1")["height"]
        write_points(database, [Point(sid, BASE, 1.0)])
        compact_database(database, BASE + HOUR_MS)
        with pytest.raises(RuntimeError, match="would lose"):
            command.downgrade(alembic_config(database), "o2_observations_unfolded")
        assert points_of(database, sid) == [(BASE, 1.0, 0)]
    finally:
        database.dispose()
