"""The report scheduler while the server runs: a lease duty (``reports.schedule``) that, in
the process holding it, claims and runs due report jobs every ``CHECK_S`` seconds — at once
when it is gained, so a run missed while the IOC was down is made at start, and a run left
``running`` by a process that died is marked failed and made again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextvars import ContextVar
from zoneinfo import ZoneInfo

from taydo.core import clock
from taydo.core.db import Database
from taydo.core.runtime import Runtime
from taydo.reports.service import claim_due, fail_interrupted, run_claimed

__all__ = ["DUTY", "ReportScheduler", "start", "stop"]

log = logging.getLogger(__name__)

DUTY = "reports.schedule"
CHECK_S = 30.0


class ReportScheduler:
    def __init__(
        self,
        database: Database,
        tz: ZoneInfo,
        *,
        runner: str,
        timeout_s: float = 10.0,
        province: str | None = None,
    ) -> None:
        self.database = database
        self.tz = tz
        self.runner = runner
        self.timeout_s = timeout_s
        self.province = province
        self._task: asyncio.Task[None] | None = None

    def tick(self, *, gained: bool = False) -> list[int]:
        """Claim the due slots and run them (blocking: call it off the event loop); returns
        the ids of the runs made here. ``gained``: this process has just gained the duty, so
        any run another process left ``running`` was interrupted."""
        fail_interrupted(self.database, now=clock.now(), runner=self.runner, all_others=gained)
        claimed = claim_due(self.database, tz=self.tz, now=clock.now(), runner=self.runner)
        for run_id in claimed:
            run_claimed(
                self.database,
                run_id,
                tz=self.tz,
                timeout_s=self.timeout_s,
                province=self.province,
            )
        return claimed

    async def gained(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="reports:schedule")

    async def lost(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        gained = True
        while True:
            try:
                await asyncio.to_thread(self.tick, gained=gained)
                gained = False
            except Exception:
                log.exception("report schedule check failed")
            await asyncio.sleep(CHECK_S)


_STARTED: ContextVar[ReportScheduler | None] = ContextVar("taydo_report_scheduler")


async def start(runtime: Runtime) -> None:
    scheduler = ReportScheduler(
        runtime.db,
        runtime.settings.tz,
        runner=runtime.leases.member,
        timeout_s=runtime.settings.webhook_timeout_s,
        province=runtime.settings.console_area,
    )
    runtime.provide(scheduler)
    _STARTED.set(scheduler)
    await runtime.leases.duty(DUTY, scheduler.gained, scheduler.lost)


async def stop(runtime: Runtime) -> None:
    scheduler = _STARTED.get(None) or runtime.find(ReportScheduler)
    await runtime.leases.drop_duty(DUTY)
    if scheduler is not None:
        await scheduler.lost()
