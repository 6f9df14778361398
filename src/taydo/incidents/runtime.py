"""The incidents domain at run time: correlation (hears alert transitions and citizen
reports, and judges the alerts already active when it starts), the due-time checker (one
process of a cluster: the ``incidents.due`` duty) and the live stream hub. Every decision
reads the database, so a restart loses nothing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Annotated, Any

from fastapi import Depends, Request

from taydo.core.bus import Event, Subscription
from taydo.core.runtime import Runtime, runtime_of
from taydo.incidents import service
from taydo.incidents.stream import IncidentHub

__all__ = ["CHANGED", "CHECK_S", "DUE_DUTY", "Hub", "publish", "start", "stop"]

log = logging.getLogger(__name__)

CHANGED = "incidents.changed"
DUE_DUTY = "incidents.due"
CHECK_S = 30.0
REPORT_BATCH = 256  # citizen report events taken in one transaction at most


async def publish(runtime: Runtime, events: list[dict[str, Any]]) -> None:
    """Tell the bus (every process's hub hears it there) after the commit."""
    for event in events:
        await runtime.bus.publish(CHANGED, event)


class DueChecker:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="incidents-due")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                events = await asyncio.to_thread(service.check_due, self._runtime.db)
                await publish(self._runtime, events)
            except Exception:  # the next turn tries again
                log.exception("incident due-time check failed")
            await asyncio.sleep(CHECK_S)


def _subscriptions(runtime: Runtime, hub: IncidentHub) -> list[Any]:
    async def on_alert(event: Event) -> None:
        if isinstance(event.data, dict) and event.data.get("id") is not None:
            found = await asyncio.to_thread(service.correlate, runtime.db, "alert", event.data)
            await publish(runtime, found)

    reports: list[Subscription] = []

    async def on_report(event: Event) -> None:
        # Reports come in bursts (the citizen domain files posts by group commit): the events
        # already queued behind this one go with it, in one thread hop and one transaction,
        # instead of a commit per report on the database the posts are written to.
        batch = [event]
        queue = reports[0].queue if reports else None
        while queue is not None and len(batch) < REPORT_BATCH and not queue.empty():
            batch.append(queue.get_nowait())
        heard = [
            (e.subject == "citizen.report.created", e.data)
            for e in batch
            if isinstance(e.data, dict)
        ]
        if heard:
            found = await asyncio.to_thread(service.take_reports, runtime.db, heard)
            await publish(runtime, found)

    async def on_changed(event: Event) -> None:
        if isinstance(event.data, dict):
            hub.publish(event.data)

    reports.append(runtime.bus.subscribe("citizen.report.*", on_report))
    return [
        runtime.bus.subscribe("alerts.transition", on_alert),
        reports[0],
        runtime.bus.subscribe(CHANGED, on_changed),
    ]


async def _catch_up(runtime: Runtime) -> None:
    """Once listening, judge the alerts already active (see ``service.catch_up``)."""
    try:
        events = await asyncio.to_thread(service.catch_up, runtime.db)
    except Exception:  # the domain still starts; live transitions are judged as they come
        log.exception("judging the active alerts at start failed")
        return
    await publish(runtime, events)


async def start(runtime: Runtime) -> None:
    if not runtime.first_start("incidents"):
        runtime.keep_subscriptions("incidents", _subscriptions(runtime, runtime.get(IncidentHub)))
        return
    hub = runtime.provide(IncidentHub())
    runtime.keep_subscriptions("incidents", _subscriptions(runtime, hub))
    await _catch_up(runtime)
    runtime.when_stopping(hub.close_streams)
    checker = runtime.provide(DueChecker(runtime))
    await runtime.leases.duty(DUE_DUTY, checker.start, checker.stop)


async def stop(runtime: Runtime) -> None:
    runtime.drop_subscriptions("incidents")
    if not runtime.last_stop("incidents"):
        return
    await runtime.leases.drop_duty(DUE_DUTY)
    checker = runtime.find(DueChecker)
    if checker is not None:
        await checker.stop()
    runtime.discard(DueChecker)
    runtime.discard(IncidentHub)


async def _hub(request: Request) -> IncidentHub:
    return runtime_of(request.app).get(IncidentHub)


Hub = Annotated[IncidentHub, Depends(_hub)]
