"""A shard moving between processes mid-sequence (issue 15): the process taking it over judges,
in order, every value stored after the last one whose judgement changed an alert (its judged
mark), so no level passed meanwhile is skipped and none already judged is judged again.

Two alerting runtimes of one database, each on its own bus, stand for two processes; the test
hands the shards from one to the other (``HandLeases``), and decides which committed batches
each one hears: the batches committed during the hand-over are heard by neither, as when the
giving process had stopped listening and the taking one did not hold the shard yet.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text

from taydo.alerts.notify import Notifier
from taydo.alerts.runtime import AlertingRuntime
from taydo.catalog.series import SeriesIndex
from taydo.core import clock
from taydo.core.bus import MemoryBus, settle
from taydo.core.db import Database
from taydo.core.lease import Leases
from taydo.observations.service import Point, write_points
from tests.alerts.conftest import WATER

MIN = 60_000
# Báo động 1/2/3 at 1.7/1.9/2.1 m (hysteresis 0.05)
HEARD_BY_FIRST = [1.5, 1.8, 2.0]  # fired (BĐ1), escalated (BĐ2)
DURING_HANDOVER = [2.2, 2.0, 1.8]  # escalated (BĐ3), eased (BĐ2), eased (BĐ1)
HEARD_BY_SECOND = [1.5]  # cleared


class HandLeases(Leases):
    """Shards given and taken when the test says so (a cluster of hand-driven processes)."""

    def __init__(self) -> None:
        super().__init__(shards=4)
        self.owned = frozenset()
        self.on_first_duty: frozenset[int] | None = None  # shards taken while one starts

    async def duty(self, name: str, gain: Any = None, lose: Any = None) -> None:
        if self.on_first_duty is not None:  # the leases' own check, meanwhile
            shards, self.on_first_duty = self.on_first_duty, None
            await self._tell(shards)
        if gain is None or lose is None:
            await super().duty(name)
        else:
            await super().duty(name, gain, lose)

    @property
    def clustered(self) -> bool:
        return True

    async def hold(self, shards: frozenset[int]) -> None:
        await self._tell(shards)


def history(database: Database) -> list[tuple[str, str | None]]:
    with database.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT e.event, e.level FROM alert_events e JOIN alerts a ON a.id = e.alert_id "
                "WHERE a.rule_code = 'water-level-alarm' ORDER BY e.id"
            )
        )
        return [(row[0], row[1]) for row in rows]


class Process:
    """One alerting runtime on its own bus: what one ``taydo serve`` runs of the rules."""

    def __init__(self, database: Database) -> None:
        self.bus = MemoryBus()
        self.leases = HandLeases()
        self.runtime = AlertingRuntime(
            database,
            self.bus,
            SeriesIndex(database),
            tz=clock.now().tzinfo,
            check_s=3600,
            notifier=Notifier(database, leases=self.leases),
            leases=self.leases,
        )

    async def start(self) -> None:
        await self.bus.start()
        await self.runtime.start()

    async def hear(self, points: list[tuple[int, int, float]]) -> None:
        """A committed batch, as the writer announces it, judged before this returns."""
        await self.bus.publish("observations.committed", points)
        for subscription in self.runtime._subscriptions:
            if subscription.pattern == "observations.committed":
                assert await settle(subscription, 10)

    async def close(self) -> None:
        await self.runtime.close()
        await self.bus.close()


def store(database: Database, series_id: int, points: list[tuple[int, float]]) -> list[Any]:
    write_points(database, [Point(series_id, ts, value) for ts, value in points])
    return [(series_id, ts, value) for ts, value in points]


def test_a_shard_taken_over_mid_sequence_judges_every_value_once(
    database: Database, catalog: dict[str, int]
) -> None:
    series_id = catalog[WATER]
    every = frozenset(range(4))
    values = [*HEARD_BY_FIRST, *DURING_HANDOVER, *HEARD_BY_SECOND]
    start = clock.now_ms() - len(values) * MIN
    stamped = [(start + n * MIN, value) for n, value in enumerate(values)]
    first_part = stamped[: len(HEARD_BY_FIRST)]
    handover = stamped[len(HEARD_BY_FIRST) : -1]
    last = stamped[-1:]

    async def scenario() -> None:
        first, second = Process(database), Process(database)
        await first.start()
        await second.start()
        try:
            await first.leases.hold(every)
            for point in first_part:
                await first.hear(store(database, series_id, [point]))
            assert [event for event, _level in history(database)] == ["fired", "escalated"]
            # The shard moves; three values are committed meanwhile, heard by neither.
            await first.leases.hold(frozenset())
            committed = store(database, series_id, handover)
            await second.leases.hold(every)
            assert history(database)[2:] == [
                ("escalated", "bd3"),
                ("eased", "bd2"),
                ("eased", "bd1"),
            ]
            # The bus brings those batches to the new holder a moment later: judged already.
            await second.hear(committed)
            assert len(history(database)) == 5
            # A shard moving back and forth judges nothing twice either.
            await second.leases.hold(frozenset())
            await first.leases.hold(every)
            assert len(history(database)) == 5
            await first.leases.hold(frozenset())
            await second.leases.hold(every)
            await second.hear(store(database, series_id, last))
        finally:
            await second.close()
            await first.close()

    asyncio.run(scenario())
    assert history(database) == [
        ("fired", "bd1"),
        ("escalated", "bd2"),
        ("escalated", "bd3"),
        ("eased", "bd2"),
        ("eased", "bd1"),
        ("cleared", None),
    ]


def test_a_shard_taken_while_the_rules_start_is_judged(
    database: Database, catalog: dict[str, int]
) -> None:
    """The leases' check runs while a process's rules start (the notifier's duty, the stored
    values read): shards it takes then are judged here, not left to nobody."""
    series_id = catalog[WATER]
    now = clock.now_ms()

    async def scenario() -> None:
        process = Process(database)
        process.leases.on_first_duty = frozenset(range(4))
        await process.start()
        try:
            assert process.leases.owned == frozenset(range(4))
            await process.hear(store(database, series_id, [(now, 2.0)]))
        finally:
            await process.close()

    asyncio.run(scenario())
    assert history(database) == [("fired", "bd2")]
