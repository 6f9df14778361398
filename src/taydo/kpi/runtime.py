"""The KPI engine while the server runs: a duty (one process of a cluster holds it,
``taydo.core.lease``) that computes every ``TAYDO_KPI_INTERVAL_S`` what needs computing and
announces each change of a KPI's status: on the bus (``kpi.changed``), and as an observation
the rules engine judges (``alerting.py``); then it re-estimates this year's DTI indices that
are linked to KPIs (``service.dti.compute_from_kpis``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from taydo.catalog.events import announce_changes
from taydo.core import clock
from taydo.core.runtime import Runtime
from taydo.kpi.alerting import LEVELS, level_series
from taydo.kpi.service import ComputeRun, compute, compute_from_kpis, list_frameworks
from taydo.observations.service import ObservationWriter, Point

__all__ = ["CHANGED_SUBJECT", "COMPUTE_DUTY", "KpiScheduler", "announce", "start", "stop"]

log = logging.getLogger(__name__)

COMPUTE_DUTY = "kpi.compute"
CHANGED_SUBJECT = "kpi.changed"
_FIRST_DELAY_S = 30.0  # let the writer settle, the gateways open and the first data arrive


async def announce(runtime: Runtime, changes: list[dict[str, Any]]) -> None:
    """Tell of status changes: ``kpi.changed`` on the bus, and each KPI's new status level
    written as an observation (``taydo.kpi.alerting``) so the rules engine judges it."""
    for change in changes:
        await runtime.bus.publish(CHANGED_SUBJECT, {**change, "url": f"/kpi/{change['code']}"})
    # A change from a known status: a KPI's first computation (a fresh install, a new KPI)
    # sets its baseline without alerting.
    judged = [c for c in changes if c["status"] in LEVELS and c["before"] is not None]
    writer = runtime.find(ObservationWriter)
    if not judged or writer is None:
        return
    series, created = await asyncio.to_thread(
        level_series, runtime.db, sorted({c["code"] for c in judged})
    )
    if created:
        await announce_changes(runtime, created)
    now_ms = clock.now_ms()
    points = [
        Point(series[c["code"]], now_ms, LEVELS[c["status"]]) for c in judged if c["code"] in series
    ]
    await writer.write(points)


class KpiScheduler:
    def __init__(self, runtime: Runtime, *, zone: str, interval_s: float) -> None:
        self._runtime = runtime
        self._zone = zone
        self._interval = interval_s
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> ComputeRun:
        run = await asyncio.to_thread(compute, self._runtime.db, now=clock.now(), zone=self._zone)
        await announce(self._runtime, run.changes)
        await asyncio.to_thread(self._estimate_dti)
        return run

    def _estimate_dti(self) -> None:
        settings = self._runtime.settings
        year = clock.now().astimezone(settings.tz).year
        for framework in list_frameworks(self._runtime.db):
            if any(i.get("from_kpis") for g in framework["groups"] for i in g["indices"]):
                compute_from_kpis(self._runtime.db, framework["code"], settings.console_area, year)

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
        KpiScheduler(runtime, zone=settings.display_timezone, interval_s=settings.kpi_interval_s)
    )
    if settings.kpi_interval_s > 0:
        await runtime.leases.duty(COMPUTE_DUTY, scheduler.start, scheduler.stop)


async def stop(runtime: Runtime) -> None:
    scheduler = runtime.find(KpiScheduler)
    if scheduler is not None:
        await runtime.leases.drop_duty(COMPUTE_DUTY)
        await scheduler.stop()
        runtime.discard(KpiScheduler)
