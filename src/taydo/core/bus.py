"""A small publish/subscribe bus.

``memory://`` (the default) delivers in-process; a NATS JetStream backend plugs in behind the
same interface (``nats://``) when the IOC runs as several processes. Publishers never wait for
subscribers: each subscription has a bounded queue and a slow subscriber loses its oldest
events (counted in ``dropped``), never slowing ingest.

Subjects are dot-separated (``observations.committed``, ``alerts.transition``); patterns use
NATS wildcards: ``*`` matches one token, ``>`` the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Bus",
    "Event",
    "MemoryBus",
    "Subscription",
    "drain",
    "subject_matches",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Event:
    subject: str
    data: Any


Handler = Callable[[Event], Awaitable[None]]


def subject_matches(pattern: str, subject: str) -> bool:
    want = pattern.split(".")
    got = subject.split(".")
    for index, part in enumerate(want):
        if part == ">":
            return len(got) > index
        if index >= len(got) or part not in ("*", got[index]):
            return False
    return len(want) == len(got)


@dataclass
class Subscription:
    pattern: str
    handler: Handler
    queue: asyncio.Queue[Event]
    dropped: int = 0
    busy: bool = False  # its handler is running
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    def offer(self, event: Event) -> None:
        """Queue an event; when full, drop the oldest so the newest state always arrives."""
        while True:
            try:
                self.queue.put_nowait(event)
                return
            except asyncio.QueueFull:
                with contextlib.suppress(asyncio.QueueEmpty):
                    self.queue.get_nowait()
                    self.dropped += 1


async def drain(subscription: Subscription) -> None:
    """Feed a subscription's queued events to its handler, one at a time, forever."""
    while True:
        event = await subscription.queue.get()
        subscription.busy = True
        try:
            await subscription.handler(event)
        except Exception:  # a failing subscriber must not stop delivery to it
            log.exception("bus handler for %s failed on %s", subscription.pattern, event.subject)
        finally:
            subscription.busy = False


async def settle(subscription: Subscription, within_s: float) -> bool:
    """Wait until the subscription has handled every event queued for it (a subscriber
    stopping gracefully); False when ``within_s`` seconds passed first."""
    deadline = asyncio.get_running_loop().time() + within_s
    while not subscription.queue.empty() or subscription.busy:
        if subscription.task is None or asyncio.get_running_loop().time() >= deadline:
            return False
        await asyncio.sleep(0.01)
    return True


class Bus(ABC):
    """What every bus backend offers. Handlers are coroutines; they run one event at a time."""

    async def connect(self) -> None:
        """Be ready to publish (the app calls it before any domain starts: a domain's start
        may publish, e.g. alerts judged again from the stored values). Delivery to
        subscribers begins with ``start``. Nothing to do in-process."""
        return None

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def publish(self, subject: str, data: Any) -> None: ...

    @abstractmethod
    def subscribe(
        self, pattern: str, handler: Handler, *, queue_size: int = 10_000
    ) -> Subscription:
        """Register a handler; events published after this call reach it."""

    @abstractmethod
    def unsubscribe(self, subscription: Subscription) -> None: ...

    def healthy(self) -> bool:
        """Whether events go out and come in now (for /readyz)."""
        return True


class MemoryBus(Bus):
    """In-process delivery, one asyncio task per subscription."""

    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []
        self._running = False

    async def start(self) -> None:
        self._running = True
        for subscription in self._subscriptions:
            self._spawn(subscription)

    def healthy(self) -> bool:
        return self._running

    async def close(self) -> None:
        self._running = False
        # Only this event loop's tasks: an app may run two lifespans at once on two loops
        # (two test clients), and a task of another loop can be neither awaited nor reused.
        loop = asyncio.get_running_loop()
        mine = [s for s in self._subscriptions if s.task is not None and s.task.get_loop() is loop]
        tasks = [s.task for s in mine if s.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for subscription in mine:
            subscription.task = None

    async def publish(self, subject: str, data: Any) -> None:
        event = Event(subject, data)
        for subscription in self._subscriptions:
            if subject_matches(subscription.pattern, subject):
                subscription.offer(event)

    def subscribe(
        self, pattern: str, handler: Handler, *, queue_size: int = 10_000
    ) -> Subscription:
        subscription = Subscription(pattern, handler, asyncio.Queue(maxsize=queue_size))
        self._subscriptions.append(subscription)
        if self._running:
            self._spawn(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)
        if subscription.task is not None:
            subscription.task.cancel()

    def _spawn(self, subscription: Subscription) -> None:
        if subscription.task is None:
            subscription.task = asyncio.get_running_loop().create_task(
                drain(subscription), name=f"bus:{subscription.pattern}"
            )

    @staticmethod
    async def _drain(subscription: Subscription) -> None:
        while True:
            event = await subscription.queue.get()
            try:
                await subscription.handler(event)
            except Exception:  # a failing subscriber must not stop delivery to it
                log.exception(
                    "bus handler for %s failed on %s", subscription.pattern, event.subject
                )
