"""The group-commit writer: concurrency, answers after commit, bus events, clean stop."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import text

from taydo.core.bus import Event, MemoryBus, settle
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

        heard = bus.subscribe(COMMITTED_SUBJECT, collect)
        await bus.start()
        writer = ObservationWriter(database, bus=bus, max_rows=500)
        await writer.start()
        # 40 requests of 100 points; request k overlaps request k-1 by half its keys.
        requests = [
            [Point(ids[k % 2], BASE + (k // 2 * 50 + i) * 1000, float(k)) for i in range(100)]
            for k in range(40)
        ]
        results = await asyncio.gather(*(writer.write(r) for r in requests))
        await writer.stop()  # every announcement is published by then
        assert await settle(heard, 10)  # and heard by the subscriber
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

        heard = bus.subscribe(COMMITTED_SUBJECT, collect)
        await bus.start()
        writer = ObservationWriter(database, bus=bus)
        await writer.start()
        first = await writer.write([Point(sid, BASE, 1.0), Point(sid, BASE + 1000, 2.0)])
        assert (first.accepted, first.duplicates) == (2, 0)
        second = await writer.write([Point(sid, BASE + 1000, 5.0), Point(sid, BASE + 2000, 3.0)])
        assert (second.accepted, second.duplicates) == (1, 1)
        only_dups = await writer.write([Point(sid, BASE, 8.0)])
        assert (only_dups.accepted, only_dups.duplicates) == (0, 1)
        await writer.stop()  # every announcement is published by then
        assert await settle(heard, 10)  # and heard by the subscriber
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


def _hourly(database: Database) -> list[tuple]:
    with database.engine.connect() as connection:
        return [
            tuple(r)
            for r in connection.execute(
                text("SELECT series_id, count, sum FROM observations_hourly ORDER BY series_id")
            )
        ]


class WriterClock:
    """The writer's monotonic clock, moved by the test: the flush interval passes when the
    test says so, however slow the machine (``taydo.observations.service`` reads
    ``time.monotonic`` only for that interval)."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def monotonic(self) -> float:
        return self.now

    def __getattr__(self, name: str) -> object:
        # Everything else (the commit timings' perf_counter) is the real clock's.
        return getattr(time, name)


def test_rollups_follow_within_the_interval_and_at_once_on_sync(
    database: Database, series_of: MakeSeries, monkeypatch: pytest.MonkeyPatch
) -> None:
    from taydo.observations import service

    sid = series_of("CT-7")["height"]
    clock = WriterClock()
    monkeypatch.setattr(service, "time", clock)
    interval = 0.05  # also how long (real time) the idle writer waits before it looks again

    async def scenario() -> tuple[list, list, list, list]:
        writer = ObservationWriter(database, flush_interval=interval)
        await writer.start()
        await writer.write([Point(sid, BASE + i * 60_000, 1.0) for i in range(10)])
        before = _hourly(database)  # answered; on the writer's clock no time has passed
        flushes = writer.flushes
        clock.now += interval  # the interval passes while the writer is idle
        deadline = asyncio.get_running_loop().time() + 10
        while writer.flushes == flushes:
            assert asyncio.get_running_loop().time() < deadline, "no flush after the interval"
            await asyncio.sleep(0.01)
        after_interval = _hourly(database)
        await writer.write([Point(sid, BASE + 600_000, 2.0)])
        await writer.sync()  # a reader's call: everything answered is now in the rollups
        after_sync = _hourly(database)
        await writer.sync()  # nothing pending: returns at once
        await writer.write([Point(sid, BASE + 660_000, 3.0)])
        await writer.stop()  # stopping flushes too
        return before, after_interval, after_sync, _hourly(database)

    before, after_interval, after_sync, after_stop = asyncio.run(scenario())
    assert before == []
    assert after_interval == [(sid, 10, 10.0)]
    assert after_sync == [(sid, 11, 12.0)]
    assert after_stop == [(sid, 12, 15.0)]


def test_a_new_writer_applies_what_a_crashed_one_journaled(
    database: Database, series_of: MakeSeries
) -> None:
    """Points committed by a process that died before its flush: their rollups come when the
    next writer starts, not never."""
    from taydo.observations.service import store_for

    sid = series_of("CT-8")["height"]
    raw = database.engine.raw_connection()
    try:
        store_for(database).write_deferred(
            raw.driver_connection, [(sid, BASE + i * 60_000, 4.0, 0) for i in range(5)]
        )
    finally:
        raw.close()
    assert _hourly(database) == []

    async def restart() -> None:
        writer = ObservationWriter(database, flush_interval=60)
        await writer.start()
        await writer.sync()
        await writer.stop()

    asyncio.run(restart())
    assert _hourly(database) == [(sid, 5, 20.0)]


def test_folds_worked_out_by_the_callers_keep_rollups_exact(
    database: Database, series_of: MakeSeries
) -> None:
    """Callers may hand the writer their rows' rollup deltas (``fold``); the writer uses them
    only when every row of the transaction is new, and folds what is new otherwise (a key
    twice in one group, a point stored before)."""
    from tests.observations.test_store import expected_rollups, stored_rollups

    ids = list(series_of("CT-F", {"a": (None, None), "b": (None, None)}).values())

    async def scenario() -> None:
        writer = ObservationWriter(database, max_rows=10_000, flush_interval=60)
        await writer.start()
        # Requests overlap by half, across the local midnight (17:00 UTC) and hours.
        requests = [
            [
                (ids[k % 2], BASE + (k // 2 * 50 + i) * 60_000, float(k * 1000 + i), 0)
                for i in range(100)
            ]
            for k in range(20)
        ]
        await asyncio.gather(*(writer.write_rows(r, writer.fold(r)) for r in requests))
        resent = requests[3][:10]  # stored already: duplicates, with a fold that must not count
        assert (await writer.write_rows(resent, writer.fold(resent))).duplicates == 10
        await writer.sync()
        await writer.stop()

    asyncio.run(scenario())
    assert stored_rollups(database, "observations_hourly") == expected_rollups(database, "hour")
    assert stored_rollups(database, "observations_daily") == expected_rollups(database, "day")


def test_a_dead_writer_thread_fails_its_waiters_at_once(
    database: Database, series_of: MakeSeries, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug that ends the writer thread: every request it held or that waits for it is
    answered 503 (Unavailable) at once, later ones too, and the writer says it is not alive
    (/readyz), instead of leaving the callers waiting forever."""
    import threading

    from taydo.observations.service import Unavailable

    sid = series_of("CT-DEAD")["height"]
    entered, release = threading.Event(), threading.Event()

    def broken(taken: object) -> None:
        entered.set()
        release.wait(10)
        raise RuntimeError("boom: a bug in the writer")

    async def scenario() -> list[object]:
        writer = ObservationWriter(database)
        monkeypatch.setattr(writer, "_write", broken)
        await writer.start()
        first = asyncio.ensure_future(writer.write([Point(sid, BASE, 1.0)]))
        assert await asyncio.to_thread(entered.wait, 10)
        # these wait in the queue behind the group the thread holds
        queued = [
            asyncio.ensure_future(writer.write([Point(sid, BASE + k, 1.0)])) for k in (1, 2, 3)
        ]
        await asyncio.sleep(0.05)
        assert writer.alive
        release.set()
        outcomes = await asyncio.wait_for(
            asyncio.gather(first, *queued, return_exceptions=True), 10
        )
        assert not writer.alive
        assert writer.failure is not None and "boom" in writer.failure
        with pytest.raises(Unavailable):  # refused at once, not queued for nobody
            await asyncio.wait_for(writer.write([Point(sid, BASE + 9, 1.0)]), 1)
        assert writer.pending_rows == 0
        await asyncio.wait_for(writer.stop(), 10)
        return outcomes

    outcomes = asyncio.run(scenario())
    assert len(outcomes) == 4
    assert all(isinstance(outcome, Unavailable) for outcome in outcomes)
    assert all(outcome.status_code == 503 for outcome in outcomes)  # type: ignore[attr-defined]


def test_the_answer_waits_until_the_bus_has_taken_the_points(
    database: Database, series_of: MakeSeries
) -> None:
    """A cluster's processes judge a series' values in the order they are announced: a value
    sent after an answer must be announced after the answered one, so the answer comes only
    once the bus has taken its points."""
    sid = series_of("CT-ORDER")["height"]

    class SlowBus(MemoryBus):
        def __init__(self) -> None:
            super().__init__()
            self.gate = asyncio.Event()
            self.published: list[object] = []
            self.up = True

        def healthy(self) -> bool:
            return self.up

        async def publish(self, subject: str, data: object) -> None:
            await self.gate.wait()
            self.published.append(data)
            await super().publish(subject, data)

    async def scenario() -> None:
        bus = SlowBus()
        await bus.start()
        writer = ObservationWriter(database, bus=bus)
        await writer.start()
        pending = asyncio.ensure_future(writer.write([Point(sid, BASE, 1.0)]))
        for _ in range(500):  # committed …
            if await asyncio.to_thread(count, database) == 1:
                break
            await asyncio.sleep(0.01)
        assert await asyncio.to_thread(count, database) == 1
        await asyncio.sleep(0.05)
        assert not pending.done()  # … but not answered while the bus has not taken it
        bus.gate.set()
        result = await asyncio.wait_for(pending, 10)
        assert result.accepted == 1 and bus.published == [[(sid, BASE, 1.0)]]
        # A bus that is down (NATS reconnecting) holds no answer back: they would queue up.
        bus.up = False
        bus.gate.clear()
        answered = await asyncio.wait_for(writer.write([Point(sid, BASE + 1, 1.0)]), 10)
        assert answered.accepted == 1 and len(bus.published) == 1
        bus.gate.set()
        await writer.stop()
        assert len(bus.published) == 2  # announced all the same once it could be
        await bus.close()

    asyncio.run(scenario())
