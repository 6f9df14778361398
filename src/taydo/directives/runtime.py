"""What runs while the server runs: the file store, the live stream of directive changes, and
the deadline check (a lease duty: one process of a cluster reminds and flags)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request

from taydo.alerts.stream import StreamClient, StreamFilter, StreamHub
from taydo.core.access import Principal
from taydo.core.bus import Bus, Event, Subscription
from taydo.core.db import Database
from taydo.core.lease import Leases
from taydo.core.runtime import Runtime, runtime_of
from taydo.core.settings import Settings
from taydo.directives.service import FileStore, bus_event, check_deadlines

__all__ = [
    "CHANGED",
    "DEADLINE_DUTY",
    "DirectivesRuntime",
    "Live",
    "Store",
    "start",
    "stop",
]

log = logging.getLogger(__name__)

CHANGED = "directives.changed"
DEADLINE_DUTY = "directives.deadlines"


class DirectivesRuntime:
    def __init__(self, database: Database, bus: Bus, leases: Leases, settings: Settings) -> None:
        self.database = database
        self.bus = bus
        self.leases = leases
        self.store = FileStore(settings.directives_files_dir, settings.directives_max_file_bytes)
        self.hub = StreamHub(settings.stream_queue_size)
        self.check_s = settings.directives_check_s
        self.remind_before = timedelta(hours=settings.directives_remind_before_hours)
        self._subscription: Subscription | None = None
        self._task: asyncio.Task[None] | None = None

    # -- the live stream: every process hears the bus and tells its own clients -------------
    def connect(self, principal: Principal) -> StreamClient:
        scope = None if principal.sees_everything else frozenset(principal.agencies)
        return self.hub.connect(StreamFilter(alerts=True, agencies=scope))

    async def _heard(self, event: Event) -> None:
        data = event.data if isinstance(event.data, dict) else {}
        agencies = set(data.get("agency_codes") or ())
        payload: bytes | None = None
        for client in list(self.hub.clients):
            scope = client.filter.agencies
            if scope is None or agencies & scope:
                payload = payload or orjson.dumps(data)
                client.push("directive", payload)

    async def publish(self, directive: dict[str, Any]) -> None:
        """Tell everyone (after the commit) that a directive changed."""
        await self.bus.publish(CHANGED, bus_event(directive))

    # -- the deadline check -----------------------------------------------------------------
    def check(self) -> list[dict[str, Any]]:
        return check_deadlines(self.database, remind_before=self.remind_before)

    async def _loop(self) -> None:
        while True:
            try:
                for directive in await asyncio.to_thread(self.check):
                    await self.publish(directive)
            except Exception:
                log.exception("directive deadline check failed")
            await asyncio.sleep(self.check_s)

    async def _gained(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="directives:due")

    async def _lost(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def start(self) -> None:
        self._subscription = self.bus.subscribe(CHANGED, self._heard, queue_size=1000)
        await self.leases.duty(DEADLINE_DUTY, self._gained, self._lost)

    async def close(self) -> None:
        await self.leases.drop_duty(DEADLINE_DUTY)
        if self._subscription is not None:
            self.bus.unsubscribe(self._subscription)
            self._subscription = None
        self.hub.close_streams()


async def start(runtime: Runtime) -> None:
    if not runtime.first_start("directives"):
        return  # the same app on another event loop: one check, one subscription
    directives = runtime.provide(
        DirectivesRuntime(runtime.db, runtime.bus, runtime.leases, runtime.settings)
    )
    runtime.when_stopping(directives.hub.close_streams)
    await directives.start()


async def stop(runtime: Runtime) -> None:
    if not runtime.last_stop("directives"):
        return
    directives = runtime.find(DirectivesRuntime)
    if directives is not None:
        await directives.close()
        runtime.discard(DirectivesRuntime)


async def _directives(request: Request) -> DirectivesRuntime:
    return runtime_of(request.app).get(DirectivesRuntime)


async def _store(request: Request) -> FileStore:
    return runtime_of(request.app).get(DirectivesRuntime).store


Live = Annotated[DirectivesRuntime, Depends(_directives)]
Store = Annotated[FileStore, Depends(_store)]
