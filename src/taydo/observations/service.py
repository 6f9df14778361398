"""Storing observations: the group-commit writer and its synchronous twin.

Group commit: every request enqueues its points and awaits a future; one writer thread (with
its own connection) takes everything pending, up to ``commit_max_rows``, stores it in ONE
transaction, commits, and only then announces the newly stored points on the bus
(``observations.committed``) and answers every waiting request once the bus has taken them.
Many small requests therefore share one fsync, nobody is told "accepted" before the data is
durable, and a value sent after that answer is announced after it, whichever process of a
cluster stores it (the rules judge a series' values in the order they are announced).

The rollups and latest values of those points are journaled in the same transaction and
applied by a flush at most ``flush_interval`` seconds later (``Store.flush``): readers of
rollups or latest values in this process call ``await writer.sync()`` first, which flushes
whatever is pending, so they always see every point that has been answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from taydo.core.bus import Bus
from taydo.core.db import Database
from taydo.core.errors import TaydoError
from taydo.core.metering import Timings
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


_DEAD = "bộ ghi dữ liệu đã dừng do lỗi / the observation writer failed, please retry"


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
    rows: list[Row]  # empty for a sync request
    future: asyncio.Future[WriteResult]
    loop: asyncio.AbstractEventLoop  # the caller's loop (an app may serve on several)
    sync: bool = False  # answer only after the rollups and latest values are flushed
    folded: bytes | None = None  # ``fold(rows)``, worked out by the caller's thread


class ObservationWriter:
    """One per app (``runtime.get(ObservationWriter)``): group commit on a dedicated thread."""

    def __init__(
        self,
        database: Database,
        *,
        bus: Bus | None = None,
        timezone: str | None = None,
        max_rows: int = 20_000,
        flush_interval: float = 1.0,
    ) -> None:
        self._database = database
        self._bus = bus
        self._store = store_for(database, timezone)
        self._max_rows = max_rows
        self._flush_interval = flush_interval
        # monotonic time of the oldest journaled transaction not yet flushed; the writer
        # starts by flushing what an earlier process left in the journal.
        self._unfolded_since: float | None = 0.0
        self._raw: Any = None  # the writer thread's connection
        self._pending: deque[_Request] = deque()
        self._condition = threading.Condition()
        self._closing = False
        # Why the writer thread died, if it did: every waiter is failed with it at once and
        # every later request is refused (a 503), never left waiting for a thread that is gone.
        self._failure: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._announcements: asyncio.Queue[_Announcement | None] | None = None
        self._publisher: asyncio.Task[None] | None = None
        self.pending_rows = 0  # rows waiting for a transaction (the queue depth, for /readyz)
        self.commit_seconds = Timings()  # each group's transaction (for /metrics)
        self.batches = 0  # transactions committed (for the metrics page and benchmarks)
        self.rows = 0  # rows offered to those transactions
        self.flushes = 0  # rollup flushes

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._announcements = asyncio.Queue()
        self._publisher = self._loop.create_task(self._publish_loop(), name="writer:publish")
        self._thread = threading.Thread(target=self._run, name="observation-writer", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        """Whether the writer thread runs (for /readyz)."""
        return (
            self._thread is not None
            and self._thread.is_alive()
            and not self._closing
            and self._failure is None
        )

    @property
    def failure(self) -> str | None:
        """Why the writer thread died (for /readyz and the log), None while it runs."""
        failure = self._failure
        return None if failure is None else f"{type(failure).__name__}: {failure}"

    async def write(self, points: Sequence[Point]) -> WriteResult:
        """Store points; returns after the transaction holding them has committed."""
        return await self.write_rows(_rows(points))

    async def write_rows(self, rows: list[Row], folded: bytes | None = None) -> WriteResult:
        """Like ``write`` for ready-made ``(series_id, ts, value, quality)`` tuples.
        ``folded``: ``fold(rows)``, when the caller worked it out on its own thread (the
        writer's thread is the one every request waits for)."""
        if not rows:
            return WriteResult(0, 0)
        return await self._submit(rows, sync=False, folded=folded)

    def fold(self, rows: Sequence[Row]) -> bytes:
        """The rollup deltas of ``rows`` (pure: call it from any thread)."""
        return self._store.fold(rows)

    async def sync(self) -> None:
        """Return once the rollups and latest values hold every point answered so far."""
        if self._unfolded_since is None or self._loop is None:
            return  # nothing journaled (read without the lock: a stale answer only flushes)
        await self._submit([], sync=True)

    async def _submit(
        self, rows: list[Row], *, sync: bool, folded: bytes | None = None
    ) -> WriteResult:
        if self._loop is None:
            raise Unavailable("bộ ghi chưa chạy / the writer is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[WriteResult] = loop.create_future()
        with self._condition:
            if self._failure is not None:
                raise Unavailable(_DEAD)
            if self._closing:
                raise Unavailable("máy chủ đang dừng / the server is shutting down")
            self._pending.append(_Request(rows, future, loop, sync, folded))
            self.pending_rows += len(rows)
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
            "observation writer stopped: %d transactions, %d rows (%.0f per transaction), "
            "%d rollup flushes",
            self.batches,
            self.rows,
            self.rows / max(self.batches, 1),
            self.flushes,
        )

    # -- the writer thread ---------------------------------------------------------------

    def _take(self) -> list[_Request] | None:
        """The next group of requests; [] when it is time to flush with nothing pending;
        None when stopping with nothing left."""
        with self._condition:
            while not self._pending and not self._closing:
                if self._unfolded_since is None:
                    self._condition.wait()
                    continue
                left = self._unfolded_since + self._flush_interval - time.monotonic()
                if left <= 0:
                    return []
                self._condition.wait(left)
            if not self._pending:
                return None
            taken = [self._pending.popleft()]
            size = len(taken[0].rows)
            while self._pending and size + len(self._pending[0].rows) <= self._max_rows:
                request = self._pending.popleft()
                size += len(request.rows)
                taken.append(request)
            self.pending_rows -= size
            return taken

    def _run(self) -> None:
        taken: list[_Request] | None = []
        try:
            while (taken := self._take()) is not None:
                writes = [t for t in taken if not t.sync]
                if writes:
                    self._write(writes)
                if self._flush_due(taken):
                    self._flush()
                syncs = [t for t in taken if t.sync]
                if syncs:
                    self._answer(syncs, [WriteResult(0, 0)] * len(syncs), None)
            self._flush()
            if self._raw is not None:
                self._raw.close()
        except BaseException as exc:  # whatever ended it, nobody may be left waiting
            self._die(exc, taken or [])

    def _die(self, exc: BaseException, taken: list[_Request]) -> None:
        """The thread is ending on an error: fail the requests it held and every pending
        one now (their callers answer 503 and may retry: a point stored before the error is
        then a duplicate, never a loss), and refuse the next ones."""
        log.critical("the observation writer thread died", exc_info=exc)
        with self._condition:
            self._failure = exc
            failed = [*taken, *self._pending]
            self._pending.clear()
            self.pending_rows = 0
        error = Unavailable(_DEAD)
        # (an answered request of the group ignores this: ``_settle`` skips done futures)
        with contextlib.suppress(Exception):  # dying already: answer whom it still can
            self._answer(failed, [error] * len(failed), None)

    def _write(self, taken: list[_Request]) -> None:
        """Store one group in one transaction, then answer and announce it; its rollups
        are journaled for the next flush."""
        rows = taken[0].rows if len(taken) == 1 else [r for t in taken for r in t.rows]
        folds = [t.folded for t in taken]
        folded = b"".join(folds) if None not in folds else None  # type: ignore[arg-type]
        began = time.perf_counter()
        new = self._attempt(
            f"writing {len(rows)} observations", self._store.write_deferred, rows, folded
        )
        self.commit_seconds.observe(time.perf_counter() - began)
        if new is None:
            error = Unavailable(
                "không ghi được dữ liệu, hãy gửi lại / storage failed, please retry"
            )
            self._answer(taken, [error] * len(taken), None)
            return
        self.batches += 1
        self.rows += len(rows)
        if new and self._unfolded_since is None:
            self._unfolded_since = time.monotonic()
        if len(new) == len(rows):
            results = [WriteResult(len(t.rows), 0) for t in taken]
        else:
            results = _attribute(taken, new)
        announced = [(r[0], r[1], r[2]) for r in new] if self._bus and new else None
        self._answer(taken, results, announced)

    def _flush_due(self, taken: list[_Request]) -> bool:
        since = self._unfolded_since
        if since is None:
            return False
        return (
            not taken  # the interval passed while idle
            or time.monotonic() - since >= self._flush_interval
            or any(request.sync for request in taken)
        )

    def _flush(self) -> None:
        if self._unfolded_since is None:
            return
        if self._attempt("flushing rollups", self._store.flush) is not None:
            self._unfolded_since = None
            self.flushes += 1
        else:
            # The journal keeps the deltas; try again one interval later, not in a tight loop.
            self._unfolded_since = time.monotonic()

    def _attempt(self, what: str, action: Any, *args: Any) -> Any:
        """Run ``action(connection, *args)``, retrying once on a fresh connection (deadlock,
        lost server); None when both attempts fail."""
        for attempt in (1, 2):
            try:
                if self._raw is None:
                    self._raw = self._database.engine.raw_connection()
                    self._store.prepare(self._raw.driver_connection)
                return action(self._raw.driver_connection, *args)
            except Exception:
                log.exception("%s failed (attempt %d)", what, attempt)
                if self._raw is not None:
                    self._raw.invalidate()
                    self._raw = None
        return None

    def _answer(
        self,
        taken: list[_Request],
        outcomes: Sequence[WriteResult | Exception],
        announced: list[tuple[int, int, float]] | None,
    ) -> None:
        """Answer the requests; with points to announce, once the bus has taken them: a
        client sending the next value of a series after this answer (to any process of a
        cluster) then has it announced after this one, so the rules judge the two in order
        (announced the other way round, the earlier one would be a late point, never judged)."""
        if announced and self._bus and self._loop is not None and self._announcements:
            try:
                item = _Announcement(announced, taken, outcomes)
                self._loop.call_soon_threadsafe(self._announcements.put_nowait, item)
                return
            except RuntimeError:
                log.warning("event loop closed before %d points were announced", len(announced))
        _settle_all(taken, outcomes)

    async def _publish_loop(self) -> None:
        assert self._announcements is not None
        while (item := await self._announcements.get()) is not None:
            answered = False
            try:
                if self._bus is not None:
                    if not self._bus.healthy():  # answers never queue behind a bus that is down
                        _settle_all(item.requests, item.outcomes)
                        answered = True
                    await self._bus.publish(COMMITTED_SUBJECT, item.points)
            except Exception:
                # Stored all the same: the answer stands (a retry would be a duplicate).
                log.exception("publishing %d committed observations failed", len(item.points))
            finally:
                if not answered:
                    _settle_all(item.requests, item.outcomes)


@dataclass(slots=True)
class _Announcement:
    """Points committed by one transaction, and the requests answered once they are out."""

    points: list[tuple[int, int, float]]
    requests: list[_Request]
    outcomes: Sequence[WriteResult | Exception]


def _settle_all(taken: list[_Request], outcomes: Sequence[WriteResult | Exception]) -> None:
    """Answer each request on its own event loop (callable from any thread)."""
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:  # the writer's thread
        running = None
    for request, outcome in zip(taken, outcomes, strict=True):
        if request.loop is running:  # the publisher, on the caller's loop: no wake-up needed
            _settle(request.future, outcome)
            continue
        try:
            request.loop.call_soon_threadsafe(_settle, request.future, outcome)
        except RuntimeError:  # that loop is gone (hard shutdown): nobody is waiting
            log.warning("event loop closed before a write request was answered")


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
