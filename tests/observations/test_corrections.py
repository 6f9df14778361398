"""Corrections of stored points: deletes and value changes leave the rollups and latest values
exactly as if the points had been written that way, whether the points are raw, packed, or
still have their rollup sums in the group-commit journal."""

from __future__ import annotations

import itertools
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taydo.core.db import Database
from taydo.observations.compaction import compact_database
from taydo.observations.corrections import delete_points, set_values
from taydo.observations.service import Point, store_for, write_points
from tests.observations.conftest import MakeSeries
from tests.observations.test_store import expected_rollups, ms, rows, stored_rollups

BASE = ms("2026-11-20T00:00:00+00:00")
MIN = 60_000
_RUNS = itertools.count()


def _rounded(rollups: dict[tuple[int, int], tuple]) -> dict[tuple[int, int], tuple]:
    """Sums compared to 9 decimals: a rebuilt bucket adds its values in another order."""
    return {k: (v[0], round(v[1], 9), *v[2:]) for k, v in rollups.items()}


def check_consistent(database: Database) -> None:
    for table, unit in (("observations_hourly", "hour"), ("observations_daily", "day")):
        assert _rounded(stored_rollups(database, table)) == _rounded(
            expected_rollups(database, unit)
        )
    newest: dict[int, tuple[int, float]] = {}
    for series_id, ts, value in rows(database, "SELECT series_id, ts, value FROM observations"):
        if series_id not in newest or ts > newest[series_id][0]:
            newest[series_id] = (ts, value)
    latest = {
        r[0]: (r[1], r[2])
        for r in rows(database, "SELECT series_id, ts, value FROM observations_latest")
    }
    assert latest == newest


def test_delete_and_change_points(database: Database, series_of: MakeSeries) -> None:
    sid = series_of("C1")["height"]
    other = series_of("C2")["height"]
    stamps = [BASE + i * 20 * MIN for i in range(80)]  # 26 h 40 min: two local days
    write_points(database, [Point(sid, ts, float(i % 7)) for i, ts in enumerate(stamps)])
    write_points(database, [Point(other, ts, 1.0) for ts in stamps[:5]])
    check_consistent(database)
    done = delete_points(database, sid, stamps=[stamps[3], stamps[40], BASE + 1])
    assert done.deleted == [stamps[3], stamps[40]]  # an instant never stored is no error
    check_consistent(database)
    changed = set_values(database, sid, {stamps[10]: 99.0, BASE + 7: 5.0})
    assert changed.updated == [stamps[10]]
    check_consistent(database)
    # the newest point: the latest value moves back to the one before it
    delete_points(database, sid, stamps=[stamps[-1]])
    check_consistent(database)
    # a range, then everything; the other series is untouched
    ranged = delete_points(database, sid, start_ms=stamps[20], end_ms=stamps[30])
    assert ranged.deleted == stamps[20:30]
    check_consistent(database)
    delete_points(database, sid)
    check_consistent(database)
    assert rows(database, "SELECT count(*) FROM observations WHERE series_id = :s", s=sid) == [(0,)]
    assert rows(
        database, "SELECT count(*) FROM observations_hourly WHERE series_id = :s", s=sid
    ) == [(0,)]
    assert rows(database, "SELECT count(*) FROM observations WHERE series_id = :s", s=other) == [
        (5,)
    ]


def test_journaled_sums_are_not_counted_twice(database: Database, series_of: MakeSeries) -> None:
    """Points written by the group-commit path (sums journaled, not yet applied) and then
    corrected: the correction applies the journal first, a later flush adds nothing twice."""
    sid = series_of("J1")["height"]
    store = store_for(database)
    raw = database.engine.raw_connection()
    try:
        points = [(sid, BASE + i * MIN, float(i), 0) for i in range(30)]
        store.write_deferred(raw.driver_connection, points)
        assert rows(database, "SELECT count(*) FROM observations_unfolded") == [(1,)]
        delete_points(database, sid, stamps=[BASE + 5 * MIN])
        more = [(sid, BASE + 40 * MIN, 3.0, 0)]
        store.write_deferred(raw.driver_connection, more)
        store.flush(raw.driver_connection)
    finally:
        raw.close()
    check_consistent(database)


def test_corrections_in_packed_hours(database: Database, series_of: MakeSeries) -> None:
    sid = series_of("P1")["height"]
    stamps = [BASE + i * 15 * MIN for i in range(16)]  # four hours
    write_points(database, [Point(sid, ts, float(i)) for i, ts in enumerate(stamps)])
    assert compact_database(database, BASE + 3 * 3_600_000).points == 12

    def all_points() -> list[tuple[int, float]]:
        from taydo.observations.query import raw_points

        with database.engine.connect() as connection:
            return [(p[0], p[1]) for p in raw_points(connection, database.dialect, sid)]

    delete_points(database, sid, stamps=[stamps[1], stamps[13]])  # packed and raw
    set_values(database, sid, {stamps[2]: 50.0})
    points = all_points()
    assert len(points) == 14 and (stamps[2], 50.0) in points and stamps[1] not in dict(points)
    hourly = stored_rollups(database, "observations_hourly")
    first_hour = hourly[(sid, BASE)]
    assert first_hour[:4] == (3, 0.0 + 50.0 + 3.0, 0.0, 50.0)
    # a whole packed hour deleted: its packed row goes
    delete_points(database, sid, start_ms=stamps[4], end_ms=stamps[8])
    assert rows(
        database, "SELECT count(*) FROM observations_packed WHERE series_id = :s", s=sid
    ) == [(2,)]
    assert (sid, BASE + 3_600_000) not in stored_rollups(database, "observations_hourly")


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.integers(0, 200), min_size=1, max_size=60, unique=True),
    st.lists(st.integers(0, 200), max_size=20),
    st.integers(0, 2**16),
)
def test_any_correction_keeps_rollups_exact(
    database: Database, series_of: MakeSeries, kept: list[int], gone: list[int], seed: int
) -> None:
    sid = series_of(f"F{next(_RUNS)}")["height"]
    rnd = random.Random(seed)
    write_points(database, [Point(sid, BASE + k * 7 * MIN, rnd.uniform(-5, 10)) for k in kept])
    delete_points(database, sid, stamps=[BASE + g * 7 * MIN for g in gone])
    if kept:
        set_values(database, sid, {BASE + kept[0] * 7 * MIN: rnd.uniform(-5, 10)})
    check_consistent(database)
    delete_points(database, sid)
