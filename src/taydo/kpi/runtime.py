"""The KPI engine while the server runs: a duty (one process of a cluster holds it,
``taydo.core.lease``) that computes every ``TAYDO_KPI_INTERVAL_S`` what needs computing and
announces each change of a KPI's status on the bus (``kpi.changed``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from taydo.core import clock
from taydo.core.bus import Bus
from taydo.core.db import Database
from taydo.core.runtime import Runtime
from taydo.kpi.service import ComputeRun, compute

__all__ = ["CHANGED_SUBJECT", "COMPUTE_DUTY", "KpiScheduler", "start", "stop"]

log = logging.getLogger(__name__)

COMPUTE_DUTY = "kpi.compute"
CHANGED_SUBJECT = "kpi.changed"
_FIRST_DELAY_S = 5.0  # let the writer settle and the gateways open first


class KpiScheduler:
    def __init__(self, database: Database, bus: Bus, *, zone: str, interval_s: float) -> None:
        self._database = database
        self._bus = bus
        self._zone = zone
        self._interval = interval_s
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> ComputeRun:
        run = await asyncio.to_thread(compute, self._database, now=clock.now(), zone=self._zone)
        for change in run.changes:
            await self._bus.publish(CHANGED_SUBJECT, {**change, "url": f"/kpi/{change['code']}"})
        return run

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="kpi-compute")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        await asyncio.sleep(_FIRST_DELAY_S)
        while True:
            try:
                run = await self.run_once()
                log.info("kpi: %d computed, %d kept", run.computed, run.kept)
            except Exception:  # the next round tries again
                log.exception("KPI computation failed")
            await asyncio.sleep(self._interval)


async def start(runtime: Runtime) -> None:
    if runtime.find(KpiScheduler) is not None:
        return  # started by an earlier start of this app
    settings = runtime.settings
    scheduler = runtime.provide(
        KpiScheduler(
            runtime.db,
            runtime.bus,
            zone=settings.display_timezone,
            interval_s=settings.kpi_interval_s,
        )
    )
    if settings.kpi_interval_s > 0:
        await runtime.leases.duty(COMPUTE_DUTY, scheduler.start, scheduler.stop)


async def stop(runtime: Runtime) -> None:
    scheduler = runtime.find(KpiScheduler)
    if scheduler is not None:
        await runtime.leases.drop_duty(COMPUTE_DUTY)
        await scheduler.stop()
        runtime.discard(KpiScheduler)
