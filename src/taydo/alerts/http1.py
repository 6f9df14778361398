"""A lean HTTP/1.1 client for the outbox's direct POSTs: keep-alive connections pooled per
receiver (scheme, host, port), one request per connection at a time, the protocol spoken by
``h11`` (the state machine httpx itself stands on).

Why not httpx: a notification fan-out sends thousands of small POSTs a second, and httpx's
layers (auth, redirects, event hooks, the httpcore pool) cost about a millisecond of CPU per
request in the one process that also ingests. h11 parses the answer and refuses what is not
HTTP/1.1 (and header values that would split the request); the answer's body is read and
dropped as it comes, so a hostile receiver costs at most the exchange's time-out, never
memory. When a proxy is configured in the environment for a URL, the caller uses httpx
instead (``proxied``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import urllib.request
from urllib.parse import urlsplit

import h11

__all__ = ["HttpError", "Pool", "proxied"]

HEAD_MAX = 65_536  # bytes of a status line and headers before the answer is refused
READ_SIZE = 65_536
IDLE_MAX = 8  # idle connections kept per receiver

Key = tuple[str, str, int]
Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter, h11.Connection]


class HttpError(Exception):
    """The receiver's answer could not be read as HTTP/1.1."""


class _ClosedUnanswered(Exception):
    """The connection ended before any byte of an answer (a reused one may be retried)."""


def proxied(url: str) -> bool:
    """Whether the environment sends ``url`` through a proxy (``HTTP_PROXY``, ``NO_PROXY``)."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    if parts.scheme not in proxies and "all" not in proxies:
        return False
    return not urllib.request.proxy_bypass(parts.hostname or "")


class Pool:
    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._idle: dict[Key, list[Connection]] = {}
        self._tls: ssl.SSLContext | None = None

    def _context(self) -> ssl.SSLContext:
        if self._tls is None:
            try:  # the same trust store as httpx, where it is installed
                import certifi

                self._tls = ssl.create_default_context(cafile=certifi.where())
            except ImportError:  # pragma: no cover - certifi comes with httpx
                self._tls = ssl.create_default_context()
        return self._tls

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST ``body``; the answer's status. Raises on a refused connection, a timeout
        (``timeout_s`` for the whole exchange), headers that cannot be sent (ValueError) or an
        answer that is not HTTP/1.1 (HttpError)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        tls = parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
        key: Key = (parts.scheme, parts.hostname, port)
        name = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname  # IPv6
        host = name if port == (443 if tls else 80) else f"{name}:{port}"
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        fields = [("Host", host), ("Content-Length", str(len(body)))]
        fields += [
            (field, value)
            for field, value in headers.items()
            if field.lower() not in ("host", "content-length", "connection", "transfer-encoding")
        ]
        try:  # h11 refuses a header name or value that would split the request
            request = h11.Request(method="POST", target=target, headers=fields)
        except h11.LocalProtocolError as exc:
            raise ValueError(f"the request cannot be sent: {exc}") from exc
        async with asyncio.timeout(self.timeout_s):
            connection = self._take(key)
            if connection is not None:
                try:
                    return await self._exchange(key, connection, request, body)
                except _ClosedUnanswered:
                    # The receiver closed the idle connection as we reused it: once more on
                    # a new one (the outbox delivers at least once; a receiver that had read
                    # the request answers before closing, so this is rare).
                    pass
            reader, writer = await asyncio.open_connection(
                parts.hostname,
                port,
                ssl=self._context() if tls else None,
                server_hostname=parts.hostname if tls else None,
            )
            fresh = (reader, writer, h11.Connection(h11.CLIENT, max_incomplete_event_size=HEAD_MAX))
            try:
                return await self._exchange(key, fresh, request, body)
            except _ClosedUnanswered as exc:
                raise ConnectionResetError("the receiver closed the connection unanswered") from exc

    def _take(self, key: Key) -> Connection | None:
        idle = self._idle.get(key)
        while idle:
            reader, writer, state = idle.pop()
            if not writer.is_closing() and not reader.at_eof():
                return reader, writer, state
            writer.close()
        return None

    async def _exchange(
        self, key: Key, connection: Connection, request: h11.Request, body: bytes
    ) -> int:
        reader, writer, state = connection
        keep = False
        answered = False
        try:
            try:
                out = state.send(request) or b""
                out += (state.send(h11.Data(data=body)) or b"") + (
                    state.send(h11.EndOfMessage()) or b""
                )
            except h11.LocalProtocolError as exc:
                raise ValueError(f"the request cannot be sent: {exc}") from exc
            try:
                writer.write(out)
                await writer.drain()
            except ConnectionError as exc:
                raise _ClosedUnanswered from exc
            status = 0
            while True:
                try:
                    event = state.next_event()
                except h11.RemoteProtocolError as exc:
                    if not answered and reader.at_eof():
                        raise _ClosedUnanswered from exc
                    raise HttpError(f"not an HTTP/1.1 answer: {exc}") from exc
                if event is h11.NEED_DATA:
                    try:
                        chunk = await reader.read(READ_SIZE)
                    except ConnectionError as exc:
                        if not answered:
                            raise _ClosedUnanswered from exc
                        raise
                    answered = answered or bool(chunk)
                    state.receive_data(chunk)  # b"": the receiver closed
                elif isinstance(event, h11.Response):
                    status = event.status_code
                elif isinstance(event, h11.EndOfMessage):
                    break
                elif isinstance(event, h11.ConnectionClosed):
                    raise HttpError("the receiver closed the connection mid-answer")
                # InformationalResponse (100 Continue) and Data (dropped): read on
            keep = state.our_state is h11.DONE and state.their_state is h11.DONE
            if keep:
                state.start_next_cycle()
            return status
        finally:
            idle = self._idle.setdefault(key, [])
            if keep and len(idle) < IDLE_MAX:
                idle.append(connection)
            else:
                writer.close()

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for _reader, writer, _state in idle:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()
        self._idle.clear()
