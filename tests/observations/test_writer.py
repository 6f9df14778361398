"""The group-commit writer: concurrency, answers after commit, bus events, clean stop."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from taydo.core.bus import Event, MemoryBus
from taydo.core.db import Database
from taydo.observations.service import COMMITTED_SUBJECT, ObservationWriter, Point
from tests.observations.conftest import MakeSeries

BASE = 1_795_000_000_000


def count(database: Database) -> int:
    with database.engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM observations")).scalar_one()


def test_concurrent_requests_share_commits_and_lose_nothing(
    database: Database, series_of: MakeSeries
) -> None:
    ids = list(series_of("CT-1", {"a": (None, None), "b": (None, None)}).values())

    async def scenario() -> tuple[list, list[Event], int]:
        bus = MemoryBus()
        seen: list[Event] = []

        async def collect(event: Event) -> None:
            seen.append(event)

        bus.subscribe(COMMITTED_SUBJECT, collect)
        await bus.start()
        writer = ObservationWriter(database, bus=bus, max_rows=500)
        await writer.start()
        # 40 requests of 100 points; request k overlaps request k-1 by half its keys.
        requests = [
            [Point(ids[k % 2], BASE + (k // 2 * 50 + i) * 1000, float(k)) for i in range(100)]
            for k in range(40)
        ]
        results = await asyncio.gather(*(writer.write(r) for r in requests))
        await writer.stop()
        await asyncio.sleep(0.05)
        await bus.close()
        return results, seen, writer.batches

    results, seen, batches = asyncio.run(scenario())
    stored = count(database)
    distinct = len(
        {
            (p.series_id, p.ts)
            for k in range(40)
            for p in [Point(ids[k % 2], BASE + (k // 2 * 50 + i) * 1000, 0) for i in range(100)]
        }
    )
    assert stored == distinct
    assert sum(r.accepted for r in results) == distinct
    assert sum(r.accepted + r.duplicates for r in results) == 4000
    assert batches < 40  # requests were grouped into fewer transactions
    announced = [point for event in seen for point in event.data]
    assert len(announced) == distinct == len(set((s, t) for s, t, _v in announced))
    assert all(event.subject == COMMITTED_SUBJECT for event in seen)


def test_bus_event_carries_exactly_the_new_points(
    database: Database, series_of: MakeSeries
) -> None:
    sid = series_of("CT-2")["height"]

    async def scenario() -> list[Event]:
        bus = MemoryBus()
        seen: list[Event] = []

        async def collect(event: Event) -> None:
            seen.append(event)

        bus.subscribe(COMMITTED_SUBJECT, collect)
        await bus.start()
        writer = ObservationWriter(database, bus=bus)
        await writer.start()
        first = await writer.write([Point(sid, BASE, 1.0), Point(sid, BASE + 1000, 2.0)])
        assert (first.accepted, first.duplicates) == (2, 0)
        second = await writer.write([Point(sid, BASE + 1000, 5.0), Point(sid, BASE + 2000, 3.0)])
        assert (second.accepted, second.duplicates) == (1, 1)
        only_dups = await writer.write([Point(sid, BASE, 8.0)])
        assert (only_dups.accepted, only_dups.duplicates) == (0, 1)
        await writer.stop()
        await asyncio.sleep(0.05)
        await bus.close()
        return seen

    seen = asyncio.run(scenario())
    assert [event.data for event in seen] == [
        [(sid, BASE, 1.0), (sid, BASE + 1000, 2.0)],
        [(sid, BASE + 2000, 3.0)],
    ]


def test_answer_comes_after_commit_and_stop_drains(
    database: Database, series_of: MakeSeries
) -> None:
    sid = series_of("CT-3")["height"]
    other = Database(database.url)  # a second connection sees only committed data

    async def scenario() -> list[int]:
        writer = ObservationWriter(database)
        await writer.start()
        result = await writer.write([Point(sid, BASE + i, 1.0) for i in range(10)])
        visible = [count(other), result.accepted]
        # Many writes in flight when stop is called: every one is stored and answered.
        pending = [
            asyncio.ensure_future(writer.write([Point(sid, BASE + 1000 * k + 100, 2.0)]))
            for k in range(200)
        ]
        await asyncio.sleep(0)
        await writer.stop()
        done = await asyncio.gather(*pending)
        visible.append(sum(r.accepted for r in done))
        return visible

    try:
        assert asyncio.run(scenario()) == [10, 10, 200]
        assert count(other) == 210
    finally:
        other.dispose()


def test_a_stopped_writer_refuses_instead_of_losing(database: Database) -> None:
    import pytest

    from taydo.observations.service import Unavailable

    async def scenario() -> None:
        writer = ObservationWriter(database)
        await writer.start()
        await writer.stop()
        with pytest.raises(Unavailable):
            await writer.write([Point(1, BASE, 1.0)])

    asyncio.run(scenario())
    assert count(database) == 0
