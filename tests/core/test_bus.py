"""The bus contract, run against every backend available on the machine."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest

from taydo.core.bus import Bus, Event, MemoryBus, subject_matches
from taydo.core.buses import create_bus
from tests.conftest import skip_server

NATS_URL = os.environ.get("TAYDO_TEST_NATS_URL", "")


def test_subject_patterns_follow_nats_wildcards() -> None:
    assert subject_matches("alerts.*", "alerts.transition")
    assert not subject_matches("alerts.*", "alerts.transition.extra")
    assert subject_matches("alerts.>", "alerts.transition.extra")
    assert not subject_matches("alerts.>", "alerts")
    assert subject_matches("observations.committed", "observations.committed")
    assert not subject_matches("observations.committed", "observations")


def _bus(kind: str) -> Bus:
    if kind == "memory":
        return MemoryBus()
    if not NATS_URL:
        skip_server("NATS", "TAYDO_TEST_NATS_URL is not set")
    from taydo.core.bus_nats import NatsBus

    unique = uuid.uuid4().hex[:8]
    return NatsBus(f"{NATS_URL}?stream=TAYDO_TEST_{unique}&prefix=taydotest{unique}")


async def _wait_for(predicate, within: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting for events")
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("kind", ["memory", "nats"])
def test_subscribers_receive_matching_events_in_order(kind: str) -> None:
    async def scenario() -> None:
        bus = _bus(kind)
        got: list[Event] = []

        async def handler(event: Event) -> None:
            got.append(event)

        bus.subscribe("observations.*", handler)
        await bus.start()
        try:
            for n in range(50):
                await bus.publish("observations.committed", [[1, n, 0.5]])
            await bus.publish("alerts.transition", {"id": 1})
            # one more matching event after it: delivered in order, so once it has arrived
            # the non-matching one would have arrived too
            await bus.publish("observations.committed", [[1, 50, 0.5]])
            await _wait_for(lambda: len(got) == 51)
            assert [e.data[0][1] for e in got] == list(range(51))
            assert all(e.subject == "observations.committed" for e in got)
        finally:
            if kind == "nats":
                await bus.delete_stream()  # type: ignore[attr-defined]
            await bus.close()

    asyncio.run(scenario())


def test_a_slow_subscriber_loses_oldest_events_and_never_blocks_the_publisher() -> None:
    async def scenario() -> None:
        bus = MemoryBus()
        release = asyncio.Event()
        seen: list[int] = []

        async def slow(event: Event) -> None:
            await release.wait()
            seen.append(event.data)

        subscription = bus.subscribe("x", slow, queue_size=10)
        await bus.start()
        for n in range(1000):  # would block forever if publish waited for the subscriber
            await bus.publish("x", n)
        release.set()
        await _wait_for(lambda: seen and seen[-1] == 999)
        assert subscription.dropped >= 980
        assert seen[-1] == 999  # the newest state always arrives
        await bus.close()

    asyncio.run(scenario())


def test_a_failing_handler_does_not_stop_delivery() -> None:
    async def scenario() -> None:
        bus = MemoryBus()
        seen: list[int] = []

        async def flaky(event: Event) -> None:
            if event.data == 1:
                raise RuntimeError("boom")
            seen.append(event.data)

        bus.subscribe("x", flaky)
        await bus.start()
        for n in range(3):
            await bus.publish("x", n)
        await _wait_for(lambda: seen == [0, 2])
        await bus.close()

    asyncio.run(scenario())


def test_unknown_bus_scheme_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="memory:// or nats://"):
        create_bus("kafka://x")


def test_settle_waits_for_queued_events_within_its_time() -> None:
    from taydo.core.bus import settle

    async def scenario() -> tuple[bool, int, bool]:
        bus = MemoryBus()
        handled: list[int] = []

        async def slow(event: Event) -> None:
            await asyncio.sleep(0.01)
            handled.append(event.data)

        subscription = bus.subscribe("work", slow)
        await bus.start()
        for n in range(20):
            await bus.publish("work", n)
        early = await settle(subscription, 0.02)  # 20 × 10 ms cannot be done in 20 ms
        done = await settle(subscription, 5.0)
        count = len(handled)
        await bus.close()
        return early, count, done

    early, count, done = asyncio.run(scenario())
    assert (early, count, done) == (False, 20, True)
