"""NATS JetStream bus backend (``TAYDO_BUS_URL=nats://host:4222``).

Used when the IOC runs as several processes: each process publishes into one JetStream stream
and every process receives every event published after it subscribed (an ephemeral ordered
consumer per subscription, delivering new messages only), so the in-process semantics of
``MemoryBus`` hold across machines. Payloads are JSON (orjson); tuples arrive as lists.
The URL may name the stream and the subject prefix, so several IOCs can share one NATS server:
``nats://host:4222?stream=TAYDO&prefix=taydo``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import orjson

from taydo.core.bus import Bus, Event, Handler, Subscription, drain

__all__ = ["NatsBus"]


class NatsBus(Bus):
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        self.url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        self.stream = query.get("stream", ["TAYDO"])[0]
        self.prefix = query.get("prefix", ["taydo"])[0] + "."
        self._nc: Any = None
        self._js: Any = None
        self._subscriptions: list[Subscription] = []
        self._consumers: dict[int, Any] = {}
        self._running = False

    async def connect(self) -> None:
        """Connect and make sure the stream exists, so ``publish`` works before ``start``
        (a process restarted while an alert was open publishes its catch-up transitions from
        its domains' start, before the bus delivers anything)."""
        if self._nc is not None:
            return
        import nats

        self._nc = await nats.connect(self.url, name="taydo", max_reconnect_attempts=-1)
        self._js = self._nc.jetstream()
        try:
            await self._js.stream_info(self.stream)
        except Exception:  # stream missing: create it (limits keep the disk bounded)
            await self._js.add_stream(
                name=self.stream,
                subjects=[self.prefix + ">"],
                max_age=24 * 3600,
                max_bytes=1024**3,
            )

    async def start(self) -> None:
        await self.connect()
        self._running = True
        for subscription in self._subscriptions:
            await self._attach(subscription)

    def healthy(self) -> bool:
        return self._running and self._nc is not None and bool(self._nc.is_connected)

    async def delete_stream(self) -> None:
        """Remove the stream and its stored events (tests, decommissioning)."""
        await self._js.delete_stream(self.stream)

    async def close(self) -> None:
        self._running = False
        for subscription in self._subscriptions:
            await self._detach(subscription)
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.drain()
            self._nc = None
            self._js = None

    async def publish(self, subject: str, data: Any) -> None:
        if self._js is None:
            raise RuntimeError("bus not connected (Bus.connect is called before domains start)")
        await self._js.publish(self.prefix + subject, orjson.dumps(data))

    def subscribe(
        self, pattern: str, handler: Handler, *, queue_size: int = 10_000
    ) -> Subscription:
        subscription = Subscription(pattern, handler, asyncio.Queue(maxsize=queue_size))
        self._subscriptions.append(subscription)
        if self._running:
            asyncio.get_running_loop().create_task(self._attach(subscription))
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)
        asyncio.get_running_loop().create_task(self._detach(subscription))

    async def _attach(self, subscription: Subscription) -> None:
        from nats.js.api import DeliverPolicy

        async def on_message(message: Any) -> None:
            subject = message.subject.removeprefix(self.prefix)
            subscription.offer(Event(subject, orjson.loads(message.data)))

        consumer = await self._js.subscribe(
            self.prefix + subscription.pattern,
            cb=on_message,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.NEW,
        )
        self._consumers[id(subscription)] = consumer
        subscription.task = asyncio.get_running_loop().create_task(drain(subscription))

    async def _detach(self, subscription: Subscription) -> None:
        consumer = self._consumers.pop(id(subscription), None)
        if consumer is not None:
            with contextlib.suppress(Exception):
                await consumer.unsubscribe()
        if subscription.task is not None:
            subscription.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await subscription.task
            subscription.task = None
