"""The live stream hub behind ``GET /api/v1/stream`` (Server-Sent Events).

Every client has its own filter and a bounded queue. Publishing only appends to queues and
never waits: when a client's queue is full its oldest event is dropped and the client receives
a ``resync`` event (its cue to reload the current state), so a slow client never slows ingest
or other clients.

When the server stops (SIGTERM), every stream ends at once with a ``retry:`` hint and a
``shutdown`` event: the browser reconnects within a second, through the proxy, to a process
that is still running (an open stream used to hold the stop for more than a minute).

**Resume.** Every alert event carries an SSE ``id``: ``<alert id>.<revision>``, the same on
every process (each transition bumps the alert's revision, and in a cluster every process
hears every transition through the bus, in the bus's order). Each process keeps the newest
``replay_size`` transitions in a :class:`ReplayBuffer`; a client that reconnects with
``Last-Event-ID`` (EventSource resends it by itself; ``?since=`` for a script or a fresh
EventSource) first receives what it missed, in order, each once. An id the buffer does not
hold (too old, or the process restarted) gets a ``resync`` event instead: the client reloads
its counters and feed. A fresh connection gets a ``hello`` event whose id marks the present,
so even a client that saw no transition before losing its connection resumes from there.

**Heartbeat.** A quiet stream sends a ``ping`` event every 15 s: the console treats a stream
silent for 40 s as lost and reconnects (a dropped connection may never raise an error).

**Ends.** A stream opened with a console session ends with an ``expired`` event when that
session expires, and at once when the session or its account is ended (logout, a display
screen revoked, an account disabled: ``auth.ended`` on the bus reaches every process), so
a screen never shows a live mark over a dead stream.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from taydo.catalog.series import SeriesInfo
from taydo.core.access import Principal
from taydo.rules.choices import severity_rank

__all__ = ["ReplayBuffer", "StreamClient", "StreamFilter", "StreamHub", "filter_for"]


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


Queued = tuple[str, bytes, str | None]  # (event name, JSON data, SSE id or None)


@dataclass(eq=False)
class StreamClient:
    filter: StreamFilter
    size: int
    queue: deque[Queued] = field(init=False)
    lost: bool = False
    dropped: int = 0
    event: asyncio.Event = field(default_factory=asyncio.Event)
    # What the client is told before anything else (a resync when its Last-Event-ID could
    # not be honoured) and the id that marks where it starts from.
    opening: bytes = b""
    # Its credential: ``keys`` name it for ``StreamHub.end`` (``session:<hash>``,
    # ``user:<id>``); ``expires_ms`` (epoch ms) ends the stream when the session expires.
    keys: frozenset[str] = frozenset()
    expires_ms: int | None = None
    ended: str | None = None  # why the hub ended this stream (revoked, logged out)
    # Asks again whether the credential still holds (every RECHECK_S): catches what no bus
    # event announced, e.g. a display revoked from the command line.
    recheck: Callable[[], Awaitable[bool]] | None = None

    def __post_init__(self) -> None:
        self.queue = deque(maxlen=self.size)

    def push(self, kind: str, data: bytes, event_id: str | None = None) -> None:
        if len(self.queue) == self.size:
            self.lost = True  # deque(maxlen) drops the oldest on append
            self.dropped += 1
        self.queue.append((kind, data, event_id))
        self.event.set()


def event_id_of(alert: dict[str, Any]) -> str | None:
    """The SSE id of an alert transition, the same on every process (None when the dict does
    not name a revision: it is then delivered but cannot be resumed from)."""
    alert_id, revision = alert.get("id"), alert.get("revision")
    if isinstance(alert_id, int) and isinstance(revision, int):
        return f"{alert_id}.{revision}"
    return None


@dataclass
class ReplayBuffer:
    """The newest ``size`` alert transitions this process heard, in the bus's order, so a
    client that reconnects receives what it missed. ``start`` is the id of "before the first
    event of this buffer": valid only on this process and only while nothing was evicted."""

    size: int = 2000
    events: deque[tuple[int, str, dict[str, Any], bytes]] = field(init=False)
    index: dict[str, int] = field(default_factory=dict)  # event id -> position
    next_seq: int = 0
    evicted: int = 0
    start: str = field(default_factory=lambda: "start-" + secrets.token_hex(6))

    def __post_init__(self) -> None:
        self.events = deque()

    def add(self, event_id: str, alert: dict[str, Any], data: bytes) -> bool:
        """Keep one transition; False when this id was heard already (a duplicate delivery
        must not reach the clients twice)."""
        if event_id in self.index:
            return False
        if len(self.events) == self.size:
            _seq, old_id, _alert, _data = self.events.popleft()
            self.index.pop(old_id, None)
            self.evicted += 1
        self.index[event_id] = self.next_seq
        self.events.append((self.next_seq, event_id, alert, data))
        self.next_seq += 1
        return True

    @property
    def head(self) -> str:
        """The id that stands for "now": the newest event's, or the start marker."""
        return self.events[-1][1] if self.events else self.start

    def after(self, event_id: str) -> list[tuple[str, dict[str, Any], bytes]] | None:
        """The events heard after ``event_id``, oldest first; None when it is unknown here
        (older than the buffer, from before a restart, or from another process's start)."""
        if event_id == self.start:
            if self.evicted:
                return None
            first = 0
        else:
            seq = self.index.get(event_id)
            if seq is None:
                return None
            first = seq + 1
        offset = first - (self.events[0][0] if self.events else first)
        return [(eid, alert, data) for _seq, eid, alert, data in list(self.events)[offset:]]


RECONNECT_MS = 1000
RECHECK_S = 60.0
PING = b"event: ping\ndata: {}\n\n"
SHUTDOWN = b"retry: %d\nevent: shutdown\ndata: {}\n\n" % RECONNECT_MS


def _frame(kind: str, data: bytes, event_id: str | None = None) -> bytes:
    head = b"id: " + event_id.encode() + b"\n" if event_id else b""
    return head + b"event: " + kind.encode() + b"\ndata: " + data + b"\n\n"


class StreamHub:
    def __init__(self, queue_size: int = 1000, replay_size: int = 2000) -> None:
        self.queue_size = queue_size
        self.clients: set[StreamClient] = set()
        self.closing = False
        self.replay = ReplayBuffer(replay_size)

    def close_streams(self) -> None:
        """The server is stopping: end every stream (and refuse new ones) with a hint to
        reconnect soon. Runs on the hub's event loop."""
        self.closing = True
        for client in self.clients:
            client.event.set()

    def connect(
        self,
        stream_filter: StreamFilter,
        *,
        last_event_id: str | None = None,
        keys: frozenset[str] = frozenset(),
        expires_ms: int | None = None,
        recheck: Callable[[], Awaitable[bool]] | None = None,
    ) -> StreamClient:
        """A new client. With ``last_event_id`` it first gets what it missed since that id
        (or a resync when the id is unknown here); without, a ``hello`` that marks the
        present. Runs on the hub's loop with no await: nothing published can fall between
        the replay and the live events."""
        client = StreamClient(
            stream_filter, self.queue_size, keys=keys, expires_ms=expires_ms, recheck=recheck
        )
        if not last_event_id:
            client.opening = _frame("hello", b'{"resumed": false}', self.replay.head)
        else:
            missed = self.replay.after(last_event_id)
            if missed is None:
                client.opening = _frame(
                    "resync", b'{"reason": "unknown event id"}', self.replay.head
                )
            else:
                client.opening = _frame("hello", b'{"resumed": true}')
                for event_id, alert, data in missed:
                    if stream_filter.wants_alert(alert):
                        client.push("alert", data, event_id)
        self.clients.add(client)
        return client

    def disconnect(self, client: StreamClient) -> None:
        self.clients.discard(client)

    def end(self, keys: Iterable[str], reason: str) -> int:
        """End at once the streams opened with any of ``keys`` (a session ended, an account
        disabled, a display screen revoked); returns how many."""
        wanted = set(keys)
        count = 0
        for client in self.clients:
            if client.keys & wanted:
                client.ended = reason
                client.event.set()
                count += 1
        return count

    @property
    def wants_values(self) -> bool:
        return any(client.filter.values for client in self.clients)

    def publish_alert(self, alert: dict[str, Any]) -> None:
        event_id = event_id_of(alert)
        data = orjson.dumps(alert)
        if event_id is not None and not self.replay.add(event_id, alert, data):
            return  # heard already
        for client in self.clients:
            if client.filter.wants_alert(alert):
                client.push("alert", data, event_id)

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
        recheck_s: float = RECHECK_S,
    ) -> AsyncIterator[bytes]:
        """The SSE byte stream of one client, until it disconnects."""
        next_check = time.monotonic() + recheck_s
        try:
            if self.closing:
                yield SHUTDOWN
                return
            yield b"retry: 3000\n\n" + client.opening
            while True:
                if self.closing:
                    while client.queue:  # what was queued still goes out
                        yield _frame(*client.queue.popleft())
                    yield SHUTDOWN
                    return
                if client.ended is not None:
                    yield _frame("expired", orjson.dumps({"reason": client.ended}))
                    return
                wait_s = heartbeat_s
                if client.expires_ms is not None:
                    left_s = (client.expires_ms - time.time() * 1000) / 1000
                    if left_s <= 0:
                        yield _frame("expired", b'{"reason": "session expired"}')
                        return
                    wait_s = min(wait_s, left_s)
                if not client.queue:
                    client.event.clear()
                    try:  # asyncio.timeout: see Notifier._dispatch on 3.11's wait_for
                        async with asyncio.timeout(wait_s):
                            await client.event.wait()
                        if self.closing or client.ended is not None:
                            continue
                    except TimeoutError:
                        if await is_disconnected():
                            return
                        if client.recheck is not None and time.monotonic() >= next_check:
                            next_check = time.monotonic() + recheck_s
                            if not await client.recheck():
                                client.ended = "session ended"
                                continue
                        if wait_s == heartbeat_s:
                            # An event, not a comment: a browser's script never sees
                            # comments, and needs the beat to tell a dead connection (a
                            # cable, a NAT timeout: no error ever fires) from a quiet one.
                            yield PING
                        continue
                if client.lost:
                    client.lost = False
                    yield b'event: resync\ndata: {"reason": "queue overflow"}\n\n'
                while client.queue:
                    yield _frame(*client.queue.popleft())
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
