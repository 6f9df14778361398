"""Driving the simulator: history straight into the store, then live values every interval.

* ``backfill`` computes the values of a time range and writes them with ``write_points``
  (batched, synchronous: the CLI and the demo's first start use it; it publishes nothing).
* ``run_live`` computes the values of each tick and hands them to a sink:
  ``HttpSink`` posts them to a server's ``POST /api/v1/observations`` with a bearer token, as a
  real sensor gateway would; ``WriterSink`` gives them to the server's own group-commit writer
  (inside the demo), so committed values reach the bus and alerts fire live.

Ticks are aligned to multiples of the interval, so a value re-sent after a restart has the
same timestamp and is recognised as a duplicate instead of stored twice.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from taydo.catalog.series import SeriesIndex
from taydo.catalog.service import series_by_name
from taydo.core.db import Database
from taydo.core.runtime import Runtime
from taydo.observations.latest import newest_timestamp
from taydo.observations.service import ObservationWriter
from taydo.packs.cantho.simulator import Reading, Simulator

__all__ = [
    "HttpSink",
    "SinkRefused",
    "StoreSink",
    "WriterSink",
    "align",
    "backfill",
    "last_timestamp",
    "parse_duration",
    "run_live",
    "series_map",
]

log = logging.getLogger(__name__)

Sink = Callable[[Sequence[Reading]], Awaitable[int]]
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")


def parse_duration(text: str) -> float:
    """Seconds in ``"60s"``, ``"5m"``, ``"1h"``, ``"30d"``, ``"2w"`` (a bare number: seconds)."""
    found = _DURATION.match(text or "")
    if not found:
        raise ValueError(
            f"thời lượng không hợp lệ {text!r} (ví dụ 60s, 5m, 1h, 30d) / "
            f"invalid duration {text!r} (e.g. 60s, 5m, 1h, 30d)"
        )
    seconds = float(found.group(1)) * _UNITS[found.group(2) or "s"]
    if seconds <= 0:
        raise ValueError(f"thời lượng phải dương / duration must be positive: {text!r}")
    return seconds


def align(ms: int, step_ms: int) -> int:
    """The tick at or before ``ms``."""
    return ms - ms % step_ms


def series_map(database: Database) -> dict[tuple[str, str], int]:
    """(entity_id, metric) → series id of every series in the catalog."""
    return series_by_name(database)


def last_timestamp(database: Database, series_ids: Iterable[int]) -> int | None:
    """Newest stored timestamp (epoch ms) over these series, None when none has data."""
    return newest_timestamp(database, series_ids)


def backfill(
    database: Database,
    simulator: Simulator,
    series: dict[tuple[str, str], int],
    start_ms: int,
    end_ms: int,
    step_ms: int,
    *,
    batch_size: int = 20_000,
    on_progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write every tick in [start, end] (aligned to ``step_ms``); returns points newly stored.

    ``on_progress(done_ticks, total_ticks)`` is called after each committed batch.
    """
    from taydo.observations.service import Point, write_points

    first = align(start_ms, step_ms)
    if first < start_ms:
        first += step_ms
    ticks = range(first, align(end_ms, step_ms) + 1, step_ms)
    total = len(ticks)
    stored = 0
    pending: list[Any] = []
    for done, ts in enumerate(ticks, start=1):
        for reading in simulator.readings(ts):
            series_id = series.get((reading.entity_id, reading.metric))
            if series_id is not None:
                pending.append(Point(series_id, ts, reading.value))
        if len(pending) >= batch_size or done == total:
            if pending:
                stored += write_points(database, pending).accepted
                pending = []
            if on_progress is not None:
                on_progress(done, total)
    return stored


async def run_live(
    simulator: Simulator,
    sink: Sink,
    interval_s: float,
    *,
    ticks: int | None = None,
    on_tick: Callable[[int, int], None] | None = None,
) -> None:
    """Send the values of each tick, from the current one on, until cancelled (or ``ticks``).

    A failing sink is logged and the feed goes on (a sensor keeps measuring when its uplink
    is down); ``SinkRefused`` (wrong token, no permission) stops it, since retrying cannot help.
    """
    step_ms = max(1, int(interval_s * 1000))
    next_ms = align(_now_ms(), step_ms)
    sent = 0
    while ticks is None or sent < ticks:
        delay = next_ms / 1000.0 - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        readings = simulator.readings(next_ms)
        try:
            accepted = await sink(readings)
        except SinkRefused:
            raise
        except Exception as error:  # keep feeding; the sink logs or buffers
            log.warning("simulator: tick %d not delivered: %s", next_ms, error)
            accepted = 0
        if on_tick is not None:
            on_tick(next_ms, accepted)
        sent += 1
        # After a suspend or a slow sink, skip the missed ticks rather than burst them.
        next_ms = max(next_ms + step_ms, align(_now_ms(), step_ms))


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class SinkRefused(Exception):
    """The receiver refuses us for good (bad token, no permission): stop, don't retry."""


class WriterSink:
    """Hands readings to a running app's group-commit writer."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def _points(self, readings: Sequence[Reading]) -> list[Any]:
        from taydo.observations.service import Point

        index = self._runtime.get(SeriesIndex)
        points = []
        for reading in readings:
            info = index.get(reading.entity_id, reading.metric)
            if info is not None:
                points.append(Point(info.series_id, reading.ts, reading.value))
        return points

    async def __call__(self, readings: Sequence[Reading]) -> int:
        # A series-index miss reads the database: keep it off the event loop.
        points = await asyncio.to_thread(self._points, readings)
        if not points:
            return 0
        result = await self._runtime.get(ObservationWriter).write(points)
        return int(result.accepted)


class StoreSink:
    """Writes readings straight into a database (standalone ``taydo simulate`` without --url).

    Nothing is published on a bus: a running server's rules do not see these values."""

    def __init__(self, database: Database, series: dict[tuple[str, str], int]) -> None:
        self._database = database
        self._series = series

    async def __call__(self, readings: Sequence[Reading]) -> int:
        from taydo.observations.service import Point, write_points

        points = [
            Point(self._series[(r.entity_id, r.metric)], r.ts, r.value)
            for r in readings
            if (r.entity_id, r.metric) in self._series
        ]
        if not points:
            return 0
        result = await asyncio.to_thread(write_points, self._database, points)
        return int(result.accepted)


class HttpSink:
    """Posts readings to ``POST {url}/api/v1/observations`` with a bearer token.

    Undelivered readings (server down, 5xx) wait in a bounded buffer and go with the next
    tick; when the buffer is full the oldest are dropped and the loss is logged.
    """

    BATCH = 10_000

    def __init__(self, url: str, token: str, *, timeout_s: float = 30.0, buffer: int = 100_000):
        import httpx

        self._endpoint = url.rstrip("/") + "/api/v1/observations"
        self._client = httpx.AsyncClient(
            timeout=timeout_s, headers={"Authorization": f"Bearer {token}"}
        )
        self._pending: deque[dict[str, Any]] = deque()
        self._limit = buffer
        self.dropped = 0
        self.rejected = 0

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def __call__(self, readings: Sequence[Reading]) -> int:
        for r in readings:
            self._pending.append(
                {"entity_id": r.entity_id, "metric": r.metric, "ts": r.ts, "value": r.value}
            )
        overflow = len(self._pending) - self._limit
        if overflow > 0:
            for _ in range(overflow):
                self._pending.popleft()
            self.dropped += overflow
            log.error("simulator: buffer full, %d oldest readings dropped", overflow)
        accepted = 0
        while self._pending:
            batch = [self._pending[i] for i in range(min(self.BATCH, len(self._pending)))]
            response = await self._client.post(self._endpoint, json=batch)
            if response.status_code in (401, 403):
                raise SinkRefused(
                    f"máy chủ từ chối ({response.status_code}) / server refused: {response.text}"
                )
            if response.status_code >= 500:
                raise RuntimeError(f"server answered {response.status_code}; will retry")
            for _ in batch:
                self._pending.popleft()
            if response.status_code >= 400:
                # The whole request was refused (e.g. 413, 422): resending cannot help.
                self.rejected += len(batch)
                log.error("simulator: %d readings refused: %s", len(batch), response.text)
                continue
            body = response.json()
            accepted += int(body.get("accepted", 0))
            refused = body.get("rejected") or []
            if refused:
                self.rejected += len(refused)
                log.warning("simulator: %d readings rejected, first: %s", len(refused), refused[0])
        return accepted

    async def aclose(self) -> None:
        await self._client.aclose()
