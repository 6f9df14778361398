"""Latest values read many series at a time: every series' value, the newest timestamp."""

from __future__ import annotations

from taydo.core.db import Database
from taydo.observations.latest import latest_value_by_series, newest_timestamp
from taydo.observations.service import Point, write_points
from tests.observations.conftest import MakeSeries

T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC


def test_latest_values_and_the_newest_timestamp(database: Database, series_of: MakeSeries) -> None:
    a = series_of("a")["height"]
    b = series_of("b")["height"]
    quiet = series_of("quiet")["height"]
    assert latest_value_by_series(database) == {}
    assert newest_timestamp(database, [a, b, quiet]) is None
    write_points(
        database,
        [Point(a, T0, 1.0), Point(a, T0 + 60_000, 1.5), Point(b, T0 + 120_000, 2.5)],
    )
    assert latest_value_by_series(database) == {a: 1.5, b: 2.5}
    assert newest_timestamp(database, [a, b, quiet]) == T0 + 120_000
    assert newest_timestamp(database, [a]) == T0 + 60_000
    assert newest_timestamp(database, [quiet]) is None
    assert newest_timestamp(database, []) is None
