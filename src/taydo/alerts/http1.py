"""A small HTTP/1.1 client for the outbox's direct POSTs: keep-alive connections pooled per
receiver (scheme, host, port), one request per connection at a time.

Why not httpx: a notification fan-out sends thousands of small POSTs a second, and httpx's
layers (auth, redirects, event hooks, the httpcore pool) cost about a millisecond of CPU per
request in the one process that also ingests; this client writes the request in one call and
parses the status line and the headers it needs. It knows only what a receiver's answer can
be: ``Content-Length``, ``chunked`` or a body up to the end of the connection, and
``Connection: close``. When a proxy is configured in the environment for a URL, the caller
uses httpx instead (``proxied``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import urllib.request
from urllib.parse import urlsplit

__all__ = ["HttpError", "Pool", "proxied"]

HEAD_MAX = 65_536  # bytes of a status line and headers before the answer is refused
IDLE_MAX = 8  # idle connections kept per receiver

Key = tuple[str, str, int]
Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class HttpError(Exception):
    """The receiver's answer could not be read as HTTP/1.1."""


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
        (``timeout_s`` for the whole exchange) or an answer that is not HTTP/1.1."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        tls = parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
        key: Key = (parts.scheme, parts.hostname, port)
        name = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname  # IPv6
        host = name if port == (443 if tls else 80) else f"{name}:{port}"
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = [f"POST {target} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
        lines += [
            f"{name}: {value}"
            for name, value in headers.items()
            if name.lower() not in ("host", "content-length", "connection")
        ]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        async with asyncio.timeout(self.timeout_s):
            connection = self._take(key)
            if connection is not None:
                try:
                    return await self._exchange(key, connection, request)
                except (ConnectionError, asyncio.IncompleteReadError):
                    # The receiver closed the idle connection as we reused it: once more on
                    # a new one (the outbox delivers at least once; a receiver that had read
                    # the request answers before closing, so this is rare).
                    pass
            connection = await asyncio.open_connection(
                parts.hostname,
                port,
                ssl=self._context() if tls else None,
                server_hostname=parts.hostname if tls else None,
            )
            return await self._exchange(key, connection, request)

    def _take(self, key: Key) -> Connection | None:
        idle = self._idle.get(key)
        while idle:
            reader, writer = idle.pop()
            if not writer.is_closing() and not reader.at_eof():
                return reader, writer
            writer.close()
        return None

    async def _exchange(self, key: Key, connection: Connection, request: bytes) -> int:
        reader, writer = connection
        keep = False
        try:
            writer.write(request)
            await writer.drain()
            while True:
                status, fields = await self._head(reader)
                if status >= 200:
                    break  # 1xx (100 Continue): an interim answer, the real one follows
            keep = await self._body(reader, status, fields)
            return status
        finally:
            if keep:
                idle = self._idle.setdefault(key, [])
                if len(idle) < IDLE_MAX:
                    idle.append(connection)
                else:
                    writer.close()
            else:
                writer.close()

    async def _head(self, reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError as exc:
            raise HttpError("answer headers too long") from exc
        if len(head) > HEAD_MAX:
            raise HttpError("answer headers too long")
        status_line, *rest = head.decode("latin-1").split("\r\n")
        version, _, tail = status_line.partition(" ")
        code = tail[:3]
        if not version.startswith("HTTP/1.") or not code.isdigit():
            raise HttpError(f"not an HTTP/1.1 answer: {status_line[:80]!r}")
        fields: dict[str, str] = {}
        for line in rest:
            name, sep, value = line.partition(":")
            if sep:
                fields[name.strip().lower()] = value.strip()
        fields["_version"] = version
        return int(code), fields

    async def _body(
        self, reader: asyncio.StreamReader, status: int, fields: dict[str, str]
    ) -> bool:
        """Read (and drop) the answer's body; whether the connection may be used again."""
        close = "close" in fields.get("connection", "").lower() or fields["_version"] == "HTTP/1.0"
        if status in (204, 304):
            return not close
        if "chunked" in fields.get("transfer-encoding", "").lower():
            while True:
                size_line = await reader.readuntil(b"\r\n")
                try:
                    size = int(size_line.split(b";")[0].strip(), 16)
                except ValueError as exc:
                    raise HttpError("bad chunk size") from exc
                if size == 0:
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":
                        pass  # trailer fields
                    return not close
                await reader.readexactly(size + 2)
        length = fields.get("content-length")
        if length is not None:
            if not length.isdigit():
                raise HttpError("bad Content-Length")
            await reader.readexactly(int(length))
            return not close
        await reader.read()  # no length: the body ends with the connection
        return False

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for _reader, writer in idle:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()
        self._idle.clear()
