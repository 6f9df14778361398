"""The live stream of incidents (``GET /api/v1/incidents/stream``, Server-Sent Events).

Every process hears ``incidents.changed`` on the bus and passes it to its own clients, each
with the caller's agency scope and a bounded queue: a slow client loses its oldest events and
gets a ``resync`` (its cue to reload), never slowing the others."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from taydo.core.access import Principal

__all__ = ["IncidentHub", "Listener"]

SHUTDOWN = b"retry: 1000\nevent: shutdown\ndata: {}\n\n"


@dataclass(eq=False)
class Listener:
    agencies: frozenset[str] | None  # None: every agency
    incident_id: int | None = None
    size: int = 200
    queue: deque[bytes] = field(init=False)
    lost: bool = False
    event: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.queue = deque(maxlen=self.size)

    def wants(self, data: dict[str, Any]) -> bool:
        if self.incident_id is not None and data.get("id") != self.incident_id:
            return False
        if self.agencies is None:
            return True
        reach = {data.get("agency_code"), *(data.get("assigned_agencies") or [])}
        return bool(reach & self.agencies)

    def push(self, data: bytes) -> None:
        if len(self.queue) == self.size:
            self.lost = True
        self.queue.append(data)
        self.event.set()


class IncidentHub:
    def __init__(self) -> None:
        self.clients: set[Listener] = set()
        self.closing = False

    def connect(self, principal: Principal, incident_id: int | None = None) -> Listener:
        scope = None if principal.sees_everything else frozenset(principal.agencies)
        listener = Listener(scope, incident_id)
        self.clients.add(listener)
        return listener

    def publish(self, data: dict[str, Any]) -> None:
        body: bytes | None = None
        for client in self.clients:
            if client.wants(data):
                body = body or orjson.dumps(data)
                client.push(body)

    def close_streams(self) -> None:
        self.closing = True
        for client in self.clients:
            client.event.set()

    async def events(
        self, client: Listener, is_disconnected: Callable[[], Any], heartbeat_s: float = 15.0
    ) -> AsyncIterator[bytes]:
        try:
            yield b"retry: 3000\n\n"
            while not self.closing:
                if not client.queue:
                    client.event.clear()
                    try:
                        async with asyncio.timeout(heartbeat_s):
                            await client.event.wait()
                    except TimeoutError:
                        if await is_disconnected():
                            return
                        yield b": ping\n\n"
                        continue
                if client.lost:
                    client.lost = False
                    yield b"event: resync\ndata: {}\n\n"
                while client.queue:
                    yield b"event: incident\ndata: " + client.queue.popleft() + b"\n\n"
            yield SHUTDOWN
        finally:
            self.clients.discard(client)
