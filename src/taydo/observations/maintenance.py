"""The server's periodic storage work: compaction of closed hours, then retention.

``maintain_storage`` is the one function a run calls, so a cluster runs it under one lease
(one process at a time) by wrapping that function alone. ``StorageMaintainer`` calls it every
``TAYDO_OBSERVATIONS_PACK_INTERVAL_S`` while compaction is on; with compaction off
(``TAYDO_OBSERVATIONS_PACK_AFTER_HOURS=0``) run ``taydo db retention apply`` from cron.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from taydo.core import clock
from taydo.core.db import Database
from taydo.observations.compaction import Compaction, compact
from taydo.observations.packed import HOUR_MS
from taydo.observations.retention import RetentionRun, apply_retention

__all__ = ["Maintenance", "StorageMaintainer", "apply_retention_database", "maintain_storage"]

log = logging.getLogger(__name__)


@dataclass
class Maintenance:
    """What one run did."""

    compaction: Compaction | None
    retention: RetentionRun


def apply_retention_database(
    database: Database, now_ms: int, *, stopping: Callable[[], bool] = lambda: False
) -> RetentionRun:
    """``apply_retention`` on a connection of its own (the CLI)."""
    raw = database.engine.raw_connection()
    try:
        return apply_retention(raw.driver_connection, database.dialect, now_ms, stopping=stopping)
    finally:
        raw.close()


def maintain_storage(
    database: Database,
    *,
    pack_before_ms: int | None,
    now_ms: int,
    stopping: Callable[[], bool] = lambda: False,
) -> Maintenance:
    """Pack raw points before ``pack_before_ms`` (None: no compaction), then remove what the
    retention policies say expired at ``now_ms``; on one connection of its own."""
    raw = database.engine.raw_connection()
    try:
        connection, dialect = raw.driver_connection, database.dialect
        packed = None
        if pack_before_ms is not None:
            packed = compact(connection, dialect, pack_before_ms, stopping=stopping)
        removed = RetentionRun()
        if not stopping():
            removed = apply_retention(connection, dialect, now_ms, stopping=stopping)
        return Maintenance(packed, removed)
    finally:
        raw.close()


class StorageMaintainer:
    """Every ``interval_s``: packs the hours that ended more than ``after_hours`` ago (late
    data usually arrives within that), then applies the retention policies."""

    def __init__(self, database: Database, *, after_hours: float, interval_s: float) -> None:
        self._database = database
        self._after_ms = int(after_hours * HOUR_MS)
        self._interval = interval_s
        self._task: asyncio.Task[None] | None = None
        self._stopping = threading.Event()
        self._current: asyncio.Future[Maintenance] | None = None
        self.runs = 0  # completed runs
        self.last: Maintenance | None = None

    async def run_once(self) -> Maintenance:
        now = clock.now_ms()
        result = await asyncio.to_thread(
            maintain_storage,
            self._database,
            pack_before_ms=now - self._after_ms,
            now_ms=now,
            stopping=self._stopping.is_set,
        )
        self.runs += 1
        self.last = result
        packed, removed = result.compaction, result.retention
        if packed is not None and (packed.points or packed.truncated):
            log.info(
                "compaction: %d points into %d packed hours in %d transactions%s",
                packed.points,
                packed.hours,
                packed.batches,
                f"; truncated {', '.join(packed.truncated)}" if packed.truncated else "",
            )
        if removed.dropped or removed.deleted:
            log.info(
                "retention: dropped %s; deleted %s",
                ", ".join(removed.dropped) or "no partition",
                removed.deleted or "no row",
            )
        return result

    async def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="storage")

    async def stop(self) -> None:
        """Stop after the current transaction: a thread cannot be interrupted, and waiting
        for it keeps its connection from outliving the server's database."""
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._current is not None:
            with contextlib.suppress(Exception):
                await self._current  # a run in progress ends at its next transaction
            self._current = None

    async def _run(self) -> None:
        while not self._stopping.is_set():
            self._current = asyncio.ensure_future(self.run_once())
            try:
                await asyncio.shield(self._current)
            except asyncio.CancelledError:
                raise
            except Exception:  # each transaction rolled back on its own; the next run goes on
                log.exception("storage maintenance failed")
            await asyncio.sleep(self._interval)
