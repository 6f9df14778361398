"""Admission control: bound the work in flight per route class; shed the excess at once.

Under three to five times its capacity the server used to accept everything: requests queued
inside it until p99 reached a minute, logins waited behind ingest, and the bodies held in
memory grew to gigabytes. Here every HTTP request is put in a *route class* (ingest, query,
console, login, health, stream) before any work starts; each class has its own budget of
requests and request bytes in flight (``TAYDO_ADMISSION_*``). A request over its class's
budget is answered at once with 503 and ``Retry-After``: its body is never read, nothing is
parsed, nothing is stored. Because the budgets are separate, an ingest flood cannot take the
slots of a login, a health probe or an operator's console page.

The limits hold per process (several ``taydo serve`` processes behind a proxy each have their
own). The middleware also times every admitted request and tells the runtime's request
observers (``Runtime.request_observers``) how it ended: the operations domain turns that into
HTTP latency by route (the route's template, never the raw URL), the identity domain
journals refusals (401/403).

Pure ASGI, so streamed answers (Server-Sent Events) pass through untouched.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import orjson

from taydo.core.memory import TRIM_AFTER_BYTES, TRIM_EVERY_S, give_back
from taydo.core.settings import Settings

__all__ = [
    "CLASSES",
    "AdmissionMiddleware",
    "ClassLimit",
    "Gate",
    "RequestObserver",
    "RequestOutcome",
    "route_class",
    "route_template",
]

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CLASSES = ("ingest", "query", "console", "login", "health", "stream")
HEALTH_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
LOGIN_PATHS = frozenset({"/login", "/logout"})
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
INGEST_SHARE_DURING_LOGIN = 16  # ingest keeps 1/16 of its slots while a login is in flight


def route_class(method: str, path: str, accept: str = "") -> str:
    """The class a request is admitted in, from what is known before any work: method,
    path and the Accept header."""
    if path in HEALTH_PATHS:
        return "health"
    if path in LOGIN_PATHS or path.startswith("/api/v1/auth/"):
        return "login"
    if "text/event-stream" in accept or path == "/api/v1/stream":
        return "stream"
    if method in WRITES and (
        path == "/api/v1/observations"
        or path.startswith(("/ngsi-ld/", "/data/upload"))
        or path.endswith("/uploads")
    ):
        return "ingest"
    if path.startswith(("/api/", "/ngsi-ld/")):
        return "query"
    return "console"


@dataclass(frozen=True)
class ClassLimit:
    requests: int  # served at once
    bytes: int  # request bytes (Content-Length) of those in flight


class Gate:
    """The budgets and what is in flight, per class (read by the metrics and /readyz)."""

    def __init__(self, limits: dict[str, ClassLimit], *, retry_after_s: int = 2) -> None:
        self.limits = limits
        self.retry_after_s = retry_after_s
        self.in_flight: Counter[str] = Counter()
        self.in_bytes: Counter[str] = Counter()
        self.admitted: Counter[str] = Counter()
        self.shed: Counter[str] = Counter()

    @classmethod
    def from_settings(cls, settings: Settings) -> Gate:
        stream = ClassLimit(settings.admission_stream_clients, settings.admission_query_bytes)
        limits = {
            "ingest": ClassLimit(
                settings.admission_ingest_requests, settings.admission_ingest_bytes
            ),
            "query": ClassLimit(settings.admission_query_requests, settings.admission_query_bytes),
            "console": ClassLimit(
                settings.admission_console_requests, settings.admission_console_bytes
            ),
            "login": ClassLimit(settings.admission_login_requests, settings.admission_login_bytes),
            "health": ClassLimit(settings.admission_health_requests, 1024 * 1024),
            "stream": stream,
        }
        return cls(limits, retry_after_s=settings.admission_retry_after_s)

    def try_enter(self, kind: str, size: int) -> bool:
        """Take a slot of ``kind`` for a request of ``size`` bytes; False: shed it. A request
        larger than the whole byte budget is still let in alone (a legal upload must pass)."""
        limit = self.limits[kind]
        busy = self.in_flight[kind]
        requests = limit.requests
        if kind == "ingest" and self.in_flight["login"]:
            # A person is logging in: ingest yields. On SQLite a login's write waits for the
            # writer's lock, which a full ingest queue would hold back to back.
            requests = max(1, requests // INGEST_SHARE_DURING_LOGIN)
        if busy >= requests or (busy and self.in_bytes[kind] + size > limit.bytes):
            self.shed[kind] += 1
            return False
        self.in_flight[kind] += 1
        self.in_bytes[kind] += size
        self.admitted[kind] += 1
        return True

    def leave(self, kind: str, size: int) -> None:
        self.in_flight[kind] -= 1
        self.in_bytes[kind] -= size

    def quiet(self) -> bool:
        """No request in flight (live streams aside: they last as long as their viewer)."""
        return all(n == 0 for kind, n in self.in_flight.items() if kind != "stream")


@dataclass(frozen=True)
class RequestOutcome:
    method: str
    route: str  # the route's template (/api/v1/alerts/{alert_id}), or "unmatched"
    route_class: str
    status: int  # 500 when the app raised before answering
    seconds: float  # from admission to the end of the answer
    scope: Scope  # for the caller (``taydo.principal``) and the client address


RequestObserver = Callable[[RequestOutcome], None]


def route_template(scope: Scope) -> str:
    """The matched route's template (set in the scope by the router), never the raw URL."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(template) if template else "unmatched"


def _declared_size(scope: Scope, chunked_size: int) -> int:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return max(0, int(value))
            except ValueError:
                return chunked_size
    return chunked_size if scope.get("method") in WRITES else 0


def _accept(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"accept":
            return bytes(value).decode("latin-1")
    return ""


class AdmissionMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        gate: Gate,
        observers: list[RequestObserver],
        extra_headers: list[tuple[bytes, bytes]],
        chunked_size: int,
    ) -> None:
        self.app = app
        self.gate = gate
        self.observers = observers
        self.extra_headers = extra_headers  # the security headers: this answer is outermost
        self.chunked_size = chunked_size  # counted for a body of unknown length
        self._trimmed_at = time.monotonic()
        self._trim_later: asyncio.TimerHandle | None = None
        self._bytes_since_trim = 0  # request bytes admitted since (a burst's worth)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind = route_class(scope["method"], scope["path"], _accept(scope))
        size = _declared_size(scope, self.chunked_size)
        if not self.gate.try_enter(kind, size):
            await self._shed(kind, send)
            return
        self._bytes_since_trim += size
        began = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self.gate.leave(kind, size)
            self._maybe_give_back()
            outcome = RequestOutcome(
                scope["method"],
                route_template(scope),
                kind,
                status,
                time.perf_counter() - began,
                scope,
            )
            for observer in self.observers:
                try:
                    observer(outcome)
                except Exception:  # an observer's fault must not fail the answer
                    log.exception("request observer %r failed", observer)

    def _maybe_give_back(self) -> None:
        """Once quiet after a burst (``TRIM_AFTER_BYTES`` of requests), hand the allocator's
        free pages back (``core.memory``), at most every ``TRIM_EVERY_S``; too soon, it looks
        again when that time is up."""
        if self._bytes_since_trim < TRIM_AFTER_BYTES or not self.gate.quiet():
            return
        loop = asyncio.get_running_loop()
        wait = self._trimmed_at + TRIM_EVERY_S - time.monotonic()
        if wait > 0:
            if self._trim_later is None:
                self._trim_later = loop.call_later(wait, self._look_again)
            return
        self._trimmed_at = time.monotonic()
        self._bytes_since_trim = 0
        loop.run_in_executor(None, give_back)

    def _look_again(self) -> None:
        self._trim_later = None
        self._maybe_give_back()

    async def _shed(self, kind: str, send: Send) -> None:
        retry = self.gate.retry_after_s
        body = orjson.dumps(
            {
                "error": "Máy chủ đang quá tải, vui lòng thử lại sau / "
                "server overloaded, try again later",
                "details": {"route_class": kind, "retry_after": retry},
            }
        )
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(retry).encode()),
            (b"cache-control", b"no-store"),
            *self.extra_headers,
        ]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": body})
