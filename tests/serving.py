"""The app served over real HTTP for a test: uvicorn in a daemon thread of the test process."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def free_port() -> int:
    """A local TCP port nobody listens on now (for a process the test starts itself)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve_in_thread(
    app: Any,
    *,
    port: int = 0,
    log_level: str = "warning",
    start_timeout_s: float = 30,
    **config: Any,
) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 until the block ends; yields its base URL.

    The socket is bound here and handed to uvicorn, so nothing can take the port between
    choosing it and listening. ``port`` 0 picks a free one; a test that must know the port
    before building the app (a URL inside its settings) passes one from ``free_port``.
    The lifespan runs, so the app's runtimes start and stop as in production.
    """
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    bound = int(sock.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(
            app, log_level=log_level, lifespan="on", timeout_graceful_shutdown=2, **config
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
