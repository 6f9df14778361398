from __future__ import annotations

import asyncio
from collections.abc import Callable

from taydo.catalog.models import Agency, Entity, Metric
from taydo.catalog.series import SeriesIndex, SeriesInfo
from taydo.core import clock
from taydo.core.bus import MemoryBus, settle
from taydo.core.db import Database


def _entity(database: Database, local: str, metrics: list[str]) -> list[int]:
    with database.session() as session:
        agency = session.query(Agency).filter_by(code="SNNMT").one_or_none()
        if agency is None:
            agency = Agency(code="SNNMT", name="Sở Nông nghiệp và Môi trường", kind="so")
            session.add(agency)
            session.flush()
        entity = Entity(
            entity_id=f"urn:ngsi-ld:WaterObserved:{local}",
            type="WaterObserved",
            name=local,
            agency_id=agency.id,
            attributes={},
            tags=["tide"],
            created_at=clock.now(),
            updated_at=clock.now(),
        )
        session.add(entity)
        session.flush()
        rows = [Metric(entity_pk=entity.id, name=m, unit="MTR") for m in metrics]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def test_index_resolves_loaded_and_new_series(database: Database) -> None:
    (height_id,) = _entity(database, "CT-1", ["height"])
    index = SeriesIndex(database)
    assert index.load() == 1
    info = index.get("urn:ngsi-ld:WaterObserved:CT-1", "height")
    assert info is not None and info.series_id == height_id
    assert info.agency_code == "SNNMT" and info.tags == ("tide",)
    assert index.get("urn:ngsi-ld:WaterObserved:CT-1", "salinity") is None
    # An entity created after loading is found on first use, without a reload.
    (new_id,) = _entity(database, "CT-2", ["height"])
    assert index.get("urn:ngsi-ld:WaterObserved:CT-2", "height").series_id == new_id  # type: ignore[union-attr]
    assert index.by_id(new_id).entity_id.endswith("CT-2")  # type: ignore[union-attr]


def test_unknown_keys_are_remembered_until_the_catalog_changes(database: Database) -> None:
    index = SeriesIndex(database)
    index.load()
    assert index.get("urn:ngsi-ld:WaterObserved:CT-9", "height") is None
    _entity(database, "CT-9", ["height"])
    # Still remembered as missing (a flood of unknown ids must not hit the database) …
    assert index.get("urn:ngsi-ld:WaterObserved:CT-9", "height") is None

    async def announce() -> None:
        bus = MemoryBus()
        index.subscribe(bus)
        await bus.start()
        await bus.publish("catalog.changed", {"entity_ids": ["urn:ngsi-ld:WaterObserved:CT-9"]})
        for subscription in list(bus._subscriptions):  # the index has heard it
            assert await settle(subscription, 10)
        await bus.close()

    asyncio.run(announce())
    # … until the catalog announces the change.
    assert index.get("urn:ngsi-ld:WaterObserved:CT-9", "height") is not None


def test_a_full_invalidation_reloads_in_one_go(database: Database) -> None:
    ids = _entity(database, "CT-20", ["height", "salinity"])
    index = SeriesIndex(database)
    index.load()
    index.invalidate()
    queries: list[str] = []

    from sqlalchemy import event

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        queries.append(statement)

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        assert index.get("urn:ngsi-ld:WaterObserved:CT-20", "height").series_id == ids[0]  # type: ignore[union-attr]
        assert index.get("urn:ngsi-ld:WaterObserved:CT-20", "salinity").series_id == ids[1]  # type: ignore[union-attr]
    finally:
        event.remove(database.engine, "before_cursor_execute", count)
    assert len(queries) == 1


def _count_queries(database: Database) -> tuple[list[str], Callable[[], None]]:
    from sqlalchemy import event

    queries: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        queries.append(statement)

    event.listen(database.engine, "before_cursor_execute", count)
    return queries, lambda: event.remove(database.engine, "before_cursor_execute", count)


def _info(series_id: int, local: str, metric: str, unit: str = "MTR") -> SeriesInfo:
    return SeriesInfo(
        series_id, 1, f"urn:ngsi-ld:WaterObserved:{local}", "WaterObserved", metric, unit,
        "SNNMT", None, None, None, None, ("tide",),
    )  # fmt: skip


def test_a_writer_hands_the_index_what_it_committed(database: Database) -> None:
    """Handed-over series answer from memory; hearing the hand-over announced keeps them, any
    other announcement of the entity drops them."""
    (height_id,) = _entity(database, "CT-30", ["height"])
    index = SeriesIndex(database)
    index.load()
    entity = "urn:ngsi-ld:WaterObserved:CT-30"
    fresh = _info(height_id, "CT-30", "height", unit="CM")  # what the writer committed
    mark = index.hand_over([entity], [fresh], index.mark())
    queries, stop = _count_queries(database)
    try:
        index.invalidate([entity], echo={"origin": index.origin, "mark": mark})
        assert index.get(entity, "height") is fresh
        assert index.by_ids([height_id]) == {height_id: fresh}
        assert queries == []
    finally:
        stop()
    # The same mark from another process's index is another change: read again.
    index.invalidate([entity], echo={"origin": "another process", "mark": mark})
    found = index.get(entity, "height")
    assert found is not None and found.unit == "MTR"


def test_a_hand_over_older_than_a_change_it_did_not_see_is_not_kept(database: Database) -> None:
    (height_id,) = _entity(database, "CT-31", ["height"])
    index = SeriesIndex(database)
    index.load()
    entity = "urn:ngsi-ld:WaterObserved:CT-31"
    before_commit = index.mark()
    index.invalidate([entity])  # someone else's change, announced after the writer began
    index.hand_over([entity], [_info(height_id, "CT-31", "height", unit="CM")], before_commit)
    found = index.get(entity, "height")
    assert found is not None and found.unit == "MTR"  # read again from the database
