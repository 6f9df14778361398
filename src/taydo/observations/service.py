"""Storing observations: the group-commit writer and its synchronous twin.

Group commit: every request enqueues its points and awaits a future; one writer thread (with
its own connection) takes everything pending, up to ``commit_max_rows``, stores it in ONE
transaction, commits, and only then answers every waiting request and announces the newly
stored points on the bus (``observations.committed``). Many small requests therefore share one
fsync, and nobody is told "accepted" before the data is durable.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import weakref
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from taydo.core.bus import Bus
from taydo.core.db import Database
from taydo.core.errors import TaydoError
from taydo.observations.buckets import Buckets
from taydo.observations.store import Row, Store

__all__ = [
    "COMMITTED_SUBJECT",
    "ObservationWriter",
    "Point",
    "Unavailable",
    "WriteResult",
    "store_for",
    "write_points",
    "write_rows",
]

log = logging.getLogger(__name__)

COMMITTED_SUBJECT = "observations.committed"


@dataclass(frozen=True, slots=True)
class Point:
    series_id: int
    ts: int  # epoch milliseconds, UTC
    value: float
    quality: int = 0


@dataclass
class WriteResult:
    accepted: int
    duplicates: int


class Unavailable(TaydoError):
    status_code = 503


_stores: weakref.WeakKeyDictionary[Database, dict[str, Store]] = weakref.WeakKeyDictionary()
_stores_lock = threading.Lock()


@functools.cache
def _configured_timezone() -> str:
    from taydo.core.settings import Settings

    return Settings().display_timezone


def store_for(database: Database, timezone: str | None = None) -> Store:
    """The one ``Store`` of a database and zone (it caches partitions and bucket starts).
    The zone defaults to the configured display time zone: rollup buckets must be aligned
    the same way by the server and by a command-line import."""
    timezone = timezone or _configured_timezone()
    with _stores_lock:
        per_zone = _stores.setdefault(database, {})
        store = per_zone.get(timezone)
        if store is None:
            store = per_zone[timezone] = Store(database.dialect, Buckets(timezone))
        return store


def _rows(points: Sequence[Point]) -> list[Row]:
    return [(p.series_id, p.ts, float(p.value), p.quality) for p in points]


def write_rows(
    database: Database, rows: Sequence[Row], *, timezone: str | None = None
) -> tuple[WriteResult, list[Row]]:
    """Store rows in one transaction; the result and the newly stored rows."""
    store = store_for(database, timezone)
    raw = database.engine.raw_connection()
    try:
        new = store.write(raw.driver_connection, rows)
    finally:
        raw.close()
    return WriteResult(accepted=len(new), duplicates=len(rows) - len(new)), new


def write_points(
    database: Database, points: Sequence[Point], *, timezone: str | None = None
) -> WriteResult:
    """Synchronous store with the writer's semantics (CLI, backfill); publishes nothing."""
    return write_rows(database, _rows(points), timezone=timezone)[0]


@dataclass(slots=True)
class _Request:
    rows: list[Row]
    future: asyncio.Future[WriteResult]
    loop: asyncio.AbstractEventLoop  # the caller's loop (an app may serve on several)


class ObservationWriter:
    """One per app (``app.state.writer``): group commit on a dedicated thread."""

    def __init__(
        self,
        database: Database,
        *,
        bus: Bus | None = None,
        timezone: str | None = None,
        max_rows: int = 20_000,
    ) -> None:
        self._database = database
        self._bus = bus
        self._store = store_for(database, timezone)
        self._max_rows = max_rows
        self._pending: deque[_Request] = deque()
        self._condition = threading.Condition()
        self._closing = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._announcements: asyncio.Queue[list[tuple[int, int, float]] | None] | None = None
        self._publisher: asyncio.Task[None] | None = None
        self.batches = 0  # transactions committed (for the metrics page and benchmarks)
        self.rows = 0  # rows offered to those transactions

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._announcements = asyncio.Queue()
        self._publisher = self._loop.create_task(self._publish_loop(), name="writer:publish")
        self._thread = threading.Thread(target=self._run, name="observation-writer", daemon=True)
        self._thread.start()

    async def write(self, points: Sequence[Point]) -> WriteResult:
        """Store points; returns after the transaction holding them has committed."""
        return await self.write_rows(_rows(points))

    async def write_rows(self, rows: list[Row]) -> WriteResult:
        """Like ``write`` for ready-made ``(series_id, ts, value, quality)`` tuples."""
        if not rows:
            return WriteResult(0, 0)
        if self._loop is None:
            raise Unavailable("bộ ghi chưa chạy / the writer is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[WriteResult] = loop.create_future()
        with self._condition:
            if self._closing:
                raise Unavailable("máy chủ đang dừng / the server is shutting down")
            self._pending.append(_Request(rows, future, loop))
            self._condition.notify()
        return await future

    async def stop(self) -> None:
        """Write everything pending, answer it, announce it, then stop."""
        with self._condition:
            self._closing = True
            self._condition.notify()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        await asyncio.sleep(0)  # let the last answers scheduled by the thread run
        if self._announcements is not None and self._publisher is not None:
            await self._announcements.put(None)
            await self._publisher
            self._publisher = None
        log.info(
            "observation writer stopped: %d transactions, %d rows (%.0f per transaction)",
            self.batches,
            self.rows,
            self.rows / max(self.batches, 1),
        )

    # -- the writer thread ---------------------------------------------------------------

    def _take(self) -> list[_Request] | None:
        with self._condition:
            while not self._pending and not self._closing:
                self._condition.wait()
            if not self._pending:
                return None
            taken = [self._pending.popleft()]
            size = len(taken[0].rows)
            while self._pending and size + len(self._pending[0].rows) <= self._max_rows:
                request = self._pending.popleft()
                size += len(request.rows)
                taken.append(request)
            return taken

    def _run(self) -> None:
        raw: Any = None
        while (taken := self._take()) is not None:
            rows = taken[0].rows if len(taken) == 1 else [r for t in taken for r in t.rows]
            new: list[Row] | None = None
            for attempt in (1, 2):  # one retry, on a fresh connection (deadlock, lost server)
                try:
                    if raw is None:
                        raw = self._database.engine.raw_connection()
                        self._store.prepare(raw.driver_connection)
                    new = self._store.write(raw.driver_connection, rows)
                    break
                except Exception:
                    log.exception("writing %d observations failed (attempt %d)", len(rows), attempt)
                    if raw is not None:
                        raw.invalidate()
                        raw = None
            if new is None:
                error = Unavailable(
                    "không ghi được dữ liệu, hãy gửi lại / storage failed, please retry"
                )
                self._answer(taken, None, None, error)
                continue
            self.batches += 1
            self.rows += len(rows)
            if len(new) == len(rows):
                results = [WriteResult(len(t.rows), 0) for t in taken]
            else:
                results = _attribute(taken, new)
            announced = [(r[0], r[1], r[2]) for r in new] if self._bus and new else None
            self._answer(taken, results, announced, None)
        if raw is not None:
            raw.close()

    def _answer(
        self,
        taken: list[_Request],
        results: list[WriteResult] | None,
        announced: list[tuple[int, int, float]] | None,
        error: Exception | None,
    ) -> None:
        for index, request in enumerate(taken):
            outcome: WriteResult | Exception
            if results is not None:
                outcome = results[index]
            else:
                outcome = error or Unavailable("write failed / ghi thất bại")
            try:
                request.loop.call_soon_threadsafe(_settle, request.future, outcome)
            except RuntimeError:  # that loop is gone (hard shutdown): nobody is waiting
                log.warning("event loop closed before a write request was answered")
        if announced and self._loop is not None and self._announcements is not None:
            try:
                self._loop.call_soon_threadsafe(self._announcements.put_nowait, announced)
            except RuntimeError:
                log.warning("event loop closed before %d points were announced", len(announced))

    async def _publish_loop(self) -> None:
        assert self._announcements is not None
        while (points := await self._announcements.get()) is not None:
            if self._bus is None:
                continue
            try:
                await self._bus.publish(COMMITTED_SUBJECT, points)
            except Exception:
                log.exception("publishing %d committed observations failed", len(points))


def _settle(future: asyncio.Future[WriteResult], outcome: WriteResult | Exception) -> None:
    if future.done():  # the caller went away; its data is stored anyway
        return
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


def _attribute(taken: list[_Request], new: list[Row]) -> list[WriteResult]:
    """Per request: how many of its points were stored by this transaction (first claim
    wins when two requests of one group carry the same key)."""
    unclaimed = {(r[0], r[1]) for r in new}
    results = []
    for request in taken:
        accepted = 0
        for row in request.rows:
            key = (row[0], row[1])
            if key in unclaimed:
                unclaimed.discard(key)
                accepted += 1
        results.append(WriteResult(accepted, len(request.rows) - accepted))
    return results
