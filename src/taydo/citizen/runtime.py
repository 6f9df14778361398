"""What the citizen domain runs inside the server: the public posting limit (per client
address, per process), the live feed of report changes for the operators' queue (SSE), the
reminder duty (one process of a cluster reminds agencies before due times), and the listener
that records the incident a report was linked to."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request

from taydo.citizen.service import NewReport, create_reports, due_for_reminder, link_incident
from taydo.core.access import Principal
from taydo.core.bus import Event, Subscription
from taydo.core.db import Database
from taydo.core.errors import TaydoError
from taydo.core.runtime import Runtime, runtime_of
from taydo.core.settings import Settings

__all__ = [
    "CitizenParts",
    "Citizenry",
    "PostLimiter",
    "Posting",
    "PostingParts",
    "ReportFeed",
    "ReportWriter",
    "publish",
    "setup",
    "start",
    "stop",
]

log = logging.getLogger(__name__)

REMINDER_DUTY = "citizen.reminders"
SUBJECT = "citizen.report"
REMINDER_CHECK_S = 60.0


class PostLimiter:
    """At most ``per_minute`` public posts per client address in any 60 s (sliding window).
    Per process: behind a load balancer of N processes a client gets up to N times the rate."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: dict[str, deque[float]] = {}

    def allow(self, address: str, now: float | None = None) -> bool:
        moment = time.monotonic() if now is None else now
        window = self._seen.setdefault(address, deque())
        while window and moment - window[0] >= 60.0:
            window.popleft()
        if len(window) >= self.per_minute:
            return False
        window.append(moment)
        if len(self._seen) > 100_000:  # forget idle addresses: memory stays bounded
            for key in [k for k, v in self._seen.items() if not v or moment - v[-1] >= 60.0]:
                del self._seen[key]
        return True


_Pending = tuple[NewReport, str | None, "asyncio.Future[tuple[dict[str, Any], dict[str, Any]]]"]


class ReportWriter:
    """Group commit for posted reports: while one batch is being written (one transaction,
    one thread), the posts that arrive meanwhile wait in a queue and go together in the next.
    Under load a commit carries many reports; alone, a post is written at once (no timer).
    Each poster's answer is set only after its batch committed; if the commit fails, every
    report of the batch gets the error (none was filed, none is acknowledged)."""

    MAX_BATCH = 256

    def __init__(self) -> None:
        self._queue: asyncio.Queue[_Pending] | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def file(
        self, db: Database, new: NewReport, address: str | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """File one report through the current batch; raises its own refusal (TaydoError)."""
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._loop is not loop:
            # Started on first use, in the serving loop (a test's app may serve from a new
            # loop later): the writer needs no start hook.
            self._queue, self._loop = asyncio.Queue(), loop
            self._task = asyncio.create_task(self._run(db), name="citizen-report-writer")
        assert self._queue is not None
        future: asyncio.Future[tuple[dict[str, Any], dict[str, Any]]] = loop.create_future()
        await self._queue.put((new, address, future))
        return await future

    async def _run(self, db: Database) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            batch = [await queue.get()]
            while len(batch) < self.MAX_BATCH and not queue.empty():
                batch.append(queue.get_nowait())
            try:
                answers = await asyncio.to_thread(
                    create_reports, db, [(new, address) for new, address, _f in batch]
                )
            except asyncio.CancelledError:
                for *_rest, future in batch:
                    future.cancel()
                raise
            except Exception as exc:  # the commit failed: nobody is told "filed"
                log.exception("citizen: a batch of %d reports failed", len(batch))
                for *_rest, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            finally:
                for _ in batch:
                    queue.task_done()  # close() waits for every queued report
            for (*_rest, future), answer in zip(batch, answers, strict=True):
                if future.done():  # the poster went away; the report is filed all the same
                    continue
                if isinstance(answer, TaydoError):
                    future.set_exception(answer)
                else:
                    future.set_result(answer)

    async def close(self) -> None:
        """Finish the reports already queued, then stop."""
        if self._task is None or self._queue is None:
            return
        if self._loop is not asyncio.get_running_loop():  # its loop is gone with its work
            self._task = None
            return
        if not self._task.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), timeout=30.0)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None


@dataclass(eq=False)
class _Listener:
    agencies: frozenset[str] | None
    queue: asyncio.Queue[bytes] = field(default_factory=lambda: asyncio.Queue(maxsize=100))
    report_id: int | None = None  # the public status page of one report hears only that one


class ReportFeed:
    """Fans ``citizen.report.*`` events out to the queue pages' streams, each scoped to the
    viewer's agencies; a slow viewer loses events (its page reloads the queue anyway)."""

    def __init__(self) -> None:
        self._listeners: set[_Listener] = set()
        self.closing = asyncio.Event()

    async def on_event(self, event: Event) -> None:
        data = event.data if isinstance(event.data, dict) else {}
        payload = orjson.dumps({"subject": event.subject, "data": data})
        for listener in list(self._listeners):
            if listener.report_id is not None:
                if data.get("id") == listener.report_id:
                    with contextlib.suppress(asyncio.QueueFull):
                        listener.queue.put_nowait(b"")  # a signal only: no field travels
                continue
            if listener.agencies is None or data.get("agency_code") in listener.agencies:
                with contextlib.suppress(asyncio.QueueFull):
                    listener.queue.put_nowait(payload)

    async def events(
        self, principal: Principal, disconnected: Callable[[], Awaitable[bool]]
    ) -> AsyncIterator[bytes]:
        listener = _Listener(None if principal.sees_everything else frozenset(principal.agencies))
        self._listeners.add(listener)
        try:
            yield b"retry: 2000\n\n"
            while not self.closing.is_set():
                try:
                    data = await asyncio.wait_for(listener.queue.get(), timeout=15.0)
                except TimeoutError:
                    if await disconnected():
                        return
                    yield b": keep-alive\n\n"
                    continue
                yield b"event: citizen\ndata: " + data + b"\n\n"
        finally:
            self._listeners.discard(listener)

    async def changes_of(
        self, report_id: int, disconnected: Callable[[], Awaitable[bool]]
    ) -> AsyncIterator[bool]:
        """``True`` each time report ``report_id`` changes (the caller reads its public view
        again), ``False`` every 15 s of quiet (time for a keep-alive); ends when the viewer
        leaves or the server stops."""
        listener = _Listener(agencies=frozenset(), report_id=report_id)
        self._listeners.add(listener)
        try:
            while not self.closing.is_set():
                try:
                    await asyncio.wait_for(listener.queue.get(), timeout=15.0)
                except TimeoutError:
                    if await disconnected():
                        return
                    yield False
                    continue
                while not listener.queue.empty():  # a burst of changes: one read
                    listener.queue.get_nowait()
                yield True
        finally:
            self._listeners.discard(listener)

    def close(self) -> None:
        self.closing.set()


@dataclass(eq=False)
class Citizenry:
    """The citizen domain's parts in one app."""

    limiter: PostLimiter
    feed: ReportFeed = field(default_factory=ReportFeed)
    writer: ReportWriter = field(default_factory=ReportWriter)
    subscriptions: list[Subscription] = field(default_factory=list)
    task: asyncio.Task[None] | None = None
    # Public status pages open live, per client address (per process): a bound, not a quota.
    watching: dict[str, int] = field(default_factory=dict)


def setup(runtime: Runtime) -> None:
    runtime.provide(Citizenry(PostLimiter(runtime.settings.citizen_public_posts_per_minute)))


async def _on_incident(runtime: Runtime, event: Event) -> None:
    data = event.data if isinstance(event.data, dict) else {}
    incident, reports = data.get("id"), data.get("report_ids") or []
    if not isinstance(incident, int) or not isinstance(reports, list):
        return
    ids = [r for r in reports if isinstance(r, int)]
    if ids:
        await asyncio.to_thread(link_incident, runtime.db, incident, ids)


async def _remind(runtime: Runtime) -> None:
    while True:
        if runtime.leases.holding(REMINDER_DUTY):
            try:
                sent = await asyncio.to_thread(
                    due_for_reminder,
                    runtime.db,
                    before_h=runtime.settings.citizen_remind_before_h,
                )
                if sent:
                    log.info("citizen: reminded agencies of %d reports", len(sent))
            except Exception:
                log.exception("citizen reminders failed")
        await asyncio.sleep(REMINDER_CHECK_S)


async def start(runtime: Runtime) -> None:
    parts = runtime.get(Citizenry)
    if not runtime.first_start("citizen"):
        return
    parts.feed = ReportFeed()
    runtime.when_stopping(parts.feed.close)

    async def incident(event: Event) -> None:
        await _on_incident(runtime, event)

    runtime.keep_subscriptions(
        "citizen",
        [
            runtime.bus.subscribe(f"{SUBJECT}.*", parts.feed.on_event),
            runtime.bus.subscribe("incidents.changed", incident),
        ],
    )
    await runtime.leases.duty(REMINDER_DUTY)
    parts.task = asyncio.create_task(_remind(runtime), name="citizen-reminders")


async def stop(runtime: Runtime) -> None:
    parts = runtime.find(Citizenry)
    if parts is None or not runtime.last_stop("citizen"):
        return
    parts.feed.close()
    await parts.writer.close()
    runtime.drop_subscriptions("citizen")
    await runtime.leases.drop_duty(REMINDER_DUTY)
    if parts.task is not None:
        parts.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await parts.task
        parts.task = None


async def _citizenry(request: Request) -> Citizenry:
    return runtime_of(request.app).get(Citizenry)


CitizenParts = Annotated[Citizenry, Depends(_citizenry)]


@dataclass(frozen=True)
class Posting:
    """What an Open311 post needs of the app, in one dependency: the busiest public route
    solves one dependency instead of three (database, settings, the domain's parts)."""

    db: Database
    settings: Settings
    parts: Citizenry


async def _posting(request: Request) -> Posting:
    runtime = runtime_of(request.app)
    return Posting(runtime.db, runtime.settings, runtime.get(Citizenry))


PostingParts = Annotated[Posting, Depends(_posting)]


async def publish(request: Request, event: dict[str, Any], kind: str) -> None:
    """Tell the bus after the commit: ``citizen.report.created|updated|resolved``."""
    await runtime_of(request.app).bus.publish(f"{SUBJECT}.{kind}", event)
