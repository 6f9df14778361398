"""The outbox's HTTP/1.1 client against a real socket server: keep-alive reuse, the ways an
answer's body can end, a receiver that closes idle connections, and time-outs."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from taydo.alerts.http1 import HttpError, Pool


class Server:
    """Answers each request with ``answer(request_number)`` (raw bytes, or None: close)."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.connections = 0
        self.bodies: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                self.bodies.append(await reader.readexactly(length))
                reply = self.answer(len(self.bodies))
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/notify?x=1"

    async def __aexit__(self, *exc: Any) -> None:
        self.server.close()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_keep_alive_reuses_one_connection_and_reads_each_body_form() -> None:
    answers = [
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    ]

    async def go() -> tuple[list[int], Server]:
        server = Server(lambda n: answers[n - 1])
        async with server as url:
            pool = Pool(5.0)
            statuses = [
                await pool.post(url, f'{{"n": {i}}}'.encode(), {"X-A": "b"}) for i in range(5)
            ]
            await pool.aclose()
        return statuses, server

    statuses, server = run(go())
    assert statuses == [204, 200, 201, 500, 200]
    assert server.connections == 1  # every body read to its end: the connection was reused
    assert server.bodies == [f'{{"n": {i}}}'.encode() for i in range(5)]


def test_connection_close_and_a_receiver_closing_idle_connections() -> None:
    def answer(n: int) -> bytes | None:
        if n == 1:
            return b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        if n == 3:
            return None  # read the request, then closed without an answer
        return b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

    async def go() -> tuple[list[int], Server]:
        server = Server(answer)
        async with server as url:
            pool = Pool(5.0)
            statuses = [await pool.post(url, b"{}", {}) for _ in range(3)]
            await pool.aclose()
        return statuses, server

    statuses, server = run(go())
    # 1: closed as asked; 2: a new connection, kept; 3: the kept one fails, retried on a new one
    assert statuses == [200, 200, 200]
    assert server.connections == 3
    assert len(server.bodies) == 4


def test_time_out_bad_answers_and_refused() -> None:
    async def go() -> None:
        server = Server(lambda n: b"garbage\r\n\r\n" if n == 1 else b"")
        async with server as url:
            with pytest.raises(HttpError):
                await Pool(5.0).post(url, b"{}", {})
            with pytest.raises(TimeoutError):  # never answered
                await Pool(0.3).post(url, b"{}", {})
        with pytest.raises(OSError):
            await Pool(2.0).post(url, b"{}", {})  # nobody listens any more
        with pytest.raises(ValueError):
            await Pool(2.0).post("ftp://example.org/x", b"{}", {})

    run(go())


def test_a_header_that_would_split_the_request_and_endless_headers_are_refused() -> None:
    async def go() -> Server:
        # 200,000 bytes of one header: more than an answer's head may hold (HEAD_MAX)
        server = Server(lambda n: b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 200_000 + b"\r\n\r\n")
        async with server as url:
            with pytest.raises(ValueError):  # never written: a subscriber's receiverInfo value
                await Pool(5.0).post(url, b"{}", {"X-Info": "a\r\nX-Injected: yes"})
            with pytest.raises(HttpError):
                await Pool(5.0).post(url, b"{}", {})
        return server

    server = run(go())
    assert server.bodies == [b"{}"]  # only the second request reached the receiver
