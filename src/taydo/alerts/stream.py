"""The live stream hub behind ``GET /api/v1/stream`` (Server-Sent Events).

Every client has its own filter and a bounded queue. Publishing only appends to queues and
never waits: when a client's queue is full its oldest event is dropped and the client receives
a ``resync`` event (its cue to reload the current state), so a slow client never slows ingest
or other clients.

When the server stops (SIGTERM), every stream ends at once with a ``retry:`` hint and a
``shutdown`` event: the browser reconnects within a second, through the proxy, to a process
that is still running (an open stream used to hold the stop for more than a minute).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from taydo.catalog.series import SeriesInfo
from taydo.core.access import Principal
from taydo.rules.choices import severity_rank

__all__ = ["StreamClient", "StreamFilter", "StreamHub"]


@dataclass(frozen=True)
class StreamFilter:
    alerts: bool = True
    values: bool = False
    entities: frozenset[str] = frozenset()
    metrics: frozenset[str] = frozenset()
    areas: frozenset[str] = frozenset()
    agencies: frozenset[str] | None = None  # None: every agency (scope of the caller)
    min_severity: str | None = None

    def wants_alert(self, alert: dict[str, Any]) -> bool:
        return (
            self.alerts
            and (self.agencies is None or alert.get("agency_code") in self.agencies)
            and (not self.areas or alert.get("area_code") in self.areas)
            and (not self.entities or alert.get("entity_id") in self.entities)
            and (
                self.min_severity is None
                or severity_rank(alert.get("severity", "")) >= severity_rank(self.min_severity)
            )
        )

    def wants_value(self, info: SeriesInfo) -> bool:
        return (
            self.values
            and (self.agencies is None or info.agency_code in self.agencies)
            and (not self.entities or info.entity_id in self.entities)
            and (not self.metrics or info.metric in self.metrics)
            and (not self.areas or info.area_code in self.areas)
        )


@dataclass(eq=False)
class StreamClient:
    filter: StreamFilter
    size: int
    queue: deque[tuple[str, bytes]] = field(init=False)
    lost: bool = False
    dropped: int = 0
    event: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.queue = deque(maxlen=self.size)

    def push(self, kind: str, data: bytes) -> None:
        if len(self.queue) == self.size:
            self.lost = True  # deque(maxlen) drops the oldest on append
            self.dropped += 1
        self.queue.append((kind, data))
        self.event.set()


RECONNECT_MS = 1000
SHUTDOWN = b"retry: %d\nevent: shutdown\ndata: {}\n\n" % RECONNECT_MS


class StreamHub:
    def __init__(self, queue_size: int = 1000) -> None:
        self.queue_size = queue_size
        self.clients: set[StreamClient] = set()
        self.closing = False

    def close_streams(self) -> None:
        """The server is stopping: end every stream (and refuse new ones) with a hint to
        reconnect soon. Runs on the hub's event loop."""
        self.closing = True
        for client in self.clients:
            client.event.set()

    def connect(self, stream_filter: StreamFilter) -> StreamClient:
        client = StreamClient(stream_filter, self.queue_size)
        self.clients.add(client)
        return client

    def disconnect(self, client: StreamClient) -> None:
        self.clients.discard(client)

    @property
    def wants_values(self) -> bool:
        return any(client.filter.values for client in self.clients)

    def publish_alert(self, alert: dict[str, Any]) -> None:
        data: bytes | None = None
        for client in self.clients:
            if client.filter.wants_alert(alert):
                data = data or orjson.dumps(alert)
                client.push("alert", data)

    def publish_values(
        self, points: Iterable[tuple[int, int, float]], lookup: Callable[[int], SeriesInfo | None]
    ) -> None:
        listeners = [c for c in self.clients if c.filter.values]
        if not listeners:
            return
        latest: dict[int, tuple[int, float]] = {}
        for series_id, ts, value in points:  # coalesce: newest value per series in a batch
            seen = latest.get(series_id)
            if seen is None or ts >= seen[0]:
                latest[series_id] = (ts, value)
        for series_id, (ts, value) in latest.items():
            info = lookup(series_id)
            if info is None:
                continue
            data: bytes | None = None
            for client in listeners:
                if client.filter.wants_value(info):
                    data = data or orjson.dumps(
                        {
                            "series_id": series_id,
                            "entity_id": info.entity_id,
                            "metric": info.metric,
                            "unit": info.unit,
                            "ts": ts,
                            "value": value,
                        }
                    )
                    client.push("value", data)

    async def events(
        self,
        client: StreamClient,
        is_disconnected: Callable[[], Any],
        *,
        heartbeat_s: float = 15.0,
    ) -> AsyncIterator[bytes]:
        """The SSE byte stream of one client, until it disconnects."""
        try:
            if self.closing:
                yield SHUTDOWN
                return
            yield b"retry: 3000\n\n"
            while True:
                if self.closing:
                    while client.queue:  # what was queued still goes out
                        kind, data = client.queue.popleft()
                        yield b"event: " + kind.encode() + b"\ndata: " + data + b"\n\n"
                    yield SHUTDOWN
                    return
                if not client.queue:
                    client.event.clear()
                    try:  # asyncio.timeout: see Notifier._dispatch on 3.11's wait_for
                        async with asyncio.timeout(heartbeat_s):
                            await client.event.wait()
                        if self.closing:
                            continue
                    except TimeoutError:
                        if await is_disconnected():
                            return
                        yield b": ping\n\n"
                        continue
                if client.lost:
                    client.lost = False
                    yield b'event: resync\ndata: {"reason": "queue overflow"}\n\n'
                while client.queue:
                    kind, data = client.queue.popleft()
                    yield b"event: " + kind.encode() + b"\ndata: " + data + b"\n\n"
        finally:
            self.disconnect(client)


def filter_for(
    principal: Principal,
    *,
    topics: str = "alerts",
    entity: list[str] | None = None,
    metric: list[str] | None = None,
    area: list[str] | None = None,
    min_severity: str | None = None,
) -> StreamFilter:
    wanted = {t.strip() for t in topics.split(",") if t.strip()}
    return StreamFilter(
        alerts="alerts" in wanted,
        values="values" in wanted,
        entities=frozenset(entity or ()),
        metrics=frozenset(metric or ()),
        areas=frozenset(area or ()),
        agencies=None if principal.sees_everything else frozenset(principal.agencies),
        min_severity=min_severity,
    )
