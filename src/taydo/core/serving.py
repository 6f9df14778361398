"""Running the ASGI app: one process, or N worker processes on one listening socket.

``taydo serve`` (``taydo.cli``) checks its settings, then calls ``run``. A graceful stop
(SIGTERM, SIGINT) first tells the app (``on_exit`` callbacks: live streams close with a
reconnect hint), then uvicorn stops accepting, waits at most ``shutdown_timeout_s`` for
requests in flight, and runs the app's shutdown (domains stop, leases are handed over).

``--workers N``: this process binds the socket and supervises N children (``taydo serve``
again, each given the socket's file descriptor and its worker number); a child that dies is
started again, and SIGTERM is passed on to every child.
"""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import uvicorn

__all__ = ["GracefulServer", "ServeOptions", "run", "supervise"]

log = logging.getLogger(__name__)

RESTART_PAUSE_S = 5.0


@dataclass
class ServeOptions:
    host: str
    port: int
    proxy_headers: bool = True
    forwarded_allow_ips: str = "127.0.0.1"
    shutdown_timeout_s: float = 8.0
    fd: int | None = None  # a worker: the supervisor's listening socket
    on_exit: list[Callable[[], None]] = field(default_factory=list)


class GracefulServer(uvicorn.Server):
    """uvicorn's server, telling the app first when a stop is asked for (a streaming
    response never ends by itself, and uvicorn waits for every open response)."""

    def __init__(self, config: uvicorn.Config, on_exit: Sequence[Callable[[], None]]) -> None:
        super().__init__(config)
        self._on_exit = list(on_exit)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        first = not self.should_exit
        super().handle_exit(sig, frame)
        if first:
            for callback in self._on_exit:
                try:
                    callback()
                except Exception:  # a stop must go on whatever a callback does
                    log.exception("a shutdown callback failed")


def run(app: Any, options: ServeOptions) -> None:
    config = uvicorn.Config(
        app,
        host=options.host,
        port=options.port,
        log_level="info",
        access_log=False,
        proxy_headers=options.proxy_headers,
        forwarded_allow_ips=options.forwarded_allow_ips,
        timeout_graceful_shutdown=max(1, round(options.shutdown_timeout_s)),
    )
    server = GracefulServer(config, options.on_exit)
    if options.fd is None:
        server.run()
        return
    listening = socket.socket(fileno=options.fd)  # family and type read from the socket
    server.run(sockets=[listening])


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def supervise(
    workers: int, host: str, port: int, child_args: Callable[[int, int], list[str]]
) -> int:
    """Bind ``host:port``, run ``workers`` children (``child_args(fd, number)``), start a
    child again when it dies, pass SIGTERM/SIGINT on; returns the exit status."""
    sock = bind(host, port)
    fd = sock.fileno()
    stopping = False

    def start(number: int) -> subprocess.Popen[bytes]:
        # Our own interpreter and command line (child_command), never outside input.
        return subprocess.Popen(child_args(fd, number), pass_fds=(fd,))  # noqa: S603

    children = {number: start(number) for number in range(1, workers + 1)}
    started = dict.fromkeys(children, time.monotonic())
    log.info(
        "taydo serve: %d workers on %s:%d (pids %s)",
        workers,
        host,
        port,
        ", ".join(str(c.pid) for c in children.values()),
    )

    def stop(sig: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for child in children.values():
            if child.poll() is None:
                child.send_signal(sig)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        while True:
            for number, child in list(children.items()):
                # A worker that died is started again, at most every 5 s (one that cannot
                # start — database unreachable — must not spin).
                if child.poll() is not None and not stopping:
                    if time.monotonic() - started[number] < RESTART_PAUSE_S:
                        continue
                    log.warning(
                        "worker %d (pid %d) exited with %s; starting it again",
                        number,
                        child.pid,
                        child.returncode,
                    )
                    children[number] = start(number)
                    started[number] = time.monotonic()
            if stopping and all(child.poll() is not None for child in children.values()):
                break
            time.sleep(0.2)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        sock.close()
    failed = [
        c.returncode
        for c in children.values()
        if c.returncode not in (0, -signal.SIGTERM, -signal.SIGINT)
    ]
    return 1 if failed else 0


def child_command() -> list[str]:
    """How to run ``taydo`` again in a child: this interpreter and the CLI module."""
    return [sys.executable, "-m", "taydo.cli"]
