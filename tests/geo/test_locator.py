"""The in-memory point-in-area locator (``taydo.geo.locator``): it answers as the database
would, and follows every change of a boundary — made through this engine, through another one
(another process: the API of another server, `taydo geo import`), or inside the caller's own
uncommitted transaction — without ever caching what was rolled back."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taydo.core.db import Database
from taydo.geo.locator import locator_in
from taydo.geo.models import Area
from taydo.geo.service import (
    _area_for_point_sql,
    area_for_point,
    area_for_point_in,
    area_locator_in,
    load_areas,
    set_area_geometry,
)

WARD_A, WARD_B, PROVINCE = "31135", "31186", "92"


def _box(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> dict[str, Any]:
    ring = [
        [min_lon, min_lat],
        [max_lon, min_lat],
        [max_lon, max_lat],
        [min_lon, max_lat],
        [min_lon, min_lat],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture
def areas(database: Database) -> Database:
    load_areas(database)
    set_area_geometry(database, PROVINCE, _box(105.0, 9.0, 106.5, 10.5))
    set_area_geometry(database, WARD_A, _box(105.77, 10.02, 105.80, 10.05))
    set_area_geometry(database, WARD_B, _box(105.75, 9.98, 105.79, 10.01))
    return database


def test_answers_the_most_local_area_and_none_outside_every_area(areas: Database) -> None:
    assert area_for_point(areas, 105.785, 10.035) == WARD_A
    assert area_for_point(areas, 105.77, 9.995) == WARD_B
    assert area_for_point(areas, 105.80, 10.05) == WARD_A  # on the boundary: covered
    assert area_for_point(areas, 105.3, 9.5) == PROVINCE  # in the province, in no ward
    assert area_for_point(areas, 100.0, 20.0) is None  # in no area at all
    with areas.session() as session:
        locator = locator_in(session)
        assert locator is not None and len(locator) == 3  # served from memory


def test_a_boundary_change_moves_the_next_lookup(areas: Database) -> None:
    assert area_for_point(areas, 105.70, 10.10) == PROVINCE
    set_area_geometry(areas, WARD_A, _box(105.65, 10.05, 105.75, 10.15))
    assert area_for_point(areas, 105.70, 10.10) == WARD_A
    assert area_for_point(areas, 105.785, 10.035) == PROVINCE  # the old outline is gone


def test_a_change_by_another_process_is_seen(areas: Database) -> None:
    """Another engine on the same database stands for another process (`taydo geo import`
    run beside the server): it has no bus to this one, only the revision in the database."""
    assert area_for_point(areas, 105.70, 10.10) == PROVINCE
    with areas.session() as session:
        before = locator_in(session)
    other = Database(areas.url)
    try:
        set_area_geometry(other, WARD_B, _box(105.65, 10.05, 105.75, 10.15))
    finally:
        other.dispose()
    assert area_for_point(areas, 105.70, 10.10) == WARD_B
    with areas.session() as session:
        after = locator_in(session)
    assert after is not None and after is not before and after.revision != before.revision


def test_unchanged_boundaries_reuse_the_same_copy(areas: Database) -> None:
    with areas.session() as session:
        first = locator_in(session)
    with areas.session() as session:
        assert locator_in(session) is first


def test_an_uncommitted_change_is_not_cached_and_a_rollback_leaves_no_trace(
    areas: Database,
) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), areas.session() as session:
        area = session.get(Area, WARD_A)
        assert area is not None
        area.geometry = _box(105.65, 10.05, 105.75, 10.15)
        area.min_lon, area.min_lat, area.max_lon, area.max_lat = 105.65, 10.05, 105.75, 10.15
        session.flush()
        # Inside the changing transaction the change is seen (asked from the database).
        assert locator_in(session) is None
        assert area_for_point_in(session, 105.70, 10.10) == WARD_A
        raise Boom
    assert area_for_point(areas, 105.70, 10.10) == PROVINCE
    assert area_for_point(areas, 105.785, 10.035) == WARD_A


def test_a_batch_reads_the_revision_once(areas: Database) -> None:
    with areas.session() as session:
        locate = area_locator_in(session)
        assert [locate(105.785, 10.035), locate(105.77, 9.995), locate(0.0, 0.0)] == [
            WARD_A,
            WARD_B,
            None,
        ]


@settings(max_examples=200)
@given(
    lon=st.floats(min_value=105.6, max_value=105.9),
    lat=st.floats(min_value=9.9, max_value=10.2),
)
def test_memory_and_database_agree(sqlite_areas: Database, lon: float, lat: float) -> None:
    with sqlite_areas.session() as session:
        locator = locator_in(session)
        assert locator is not None
        assert locator.locate(lon, lat) == _area_for_point_sql(session, lon, lat)


@pytest.fixture(scope="module")
def sqlite_areas(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Any
) -> Any:  # one database for every example of the property test above
    import shutil

    path = tmp_path_factory.mktemp("locator") / "taydo.db"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    load_areas(database)
    set_area_geometry(database, PROVINCE, _box(105.0, 9.0, 106.5, 10.5))
    set_area_geometry(database, WARD_A, _box(105.77, 10.02, 105.80, 10.05))
    set_area_geometry(
        database,
        WARD_B,
        {
            "type": "MultiPolygon",
            "coordinates": [
                _box(105.75, 9.98, 105.79, 10.01)["coordinates"],
                _box(105.82, 10.10, 105.85, 10.15)["coordinates"],
            ],
        },
    )
    yield database
    database.dispose()
