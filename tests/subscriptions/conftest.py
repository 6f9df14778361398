"""Subscriptions fixtures: the NGSI-LD context store (as the gateway's tests fill it) and a
real HTTP receiver that records every notification POSTed to it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from taydo.core.db import Database
from taydo.core.settings import Settings
from tests.ingest.ngsild.conftest import fill_store

__all__ = ["Receiver", "wait_for"]


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    found = None
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}: {found!r}")


class Receiver:
    """An HTTP server in a thread: every POST is kept (headers, JSON body, arrival time) and
    answered ``status`` (200, or 500 to play a receiver that fails). ``stop()`` closes the
    port (a receiver that is down); ``start()`` opens it again on the same port."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = 200
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/notify"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                with receiver._lock:
                    status = receiver.status
                    if status < 300:
                        receiver.received.append(
                            {
                                "path": self.path,
                                "headers": {k.lower(): v for k, v in self.headers.items()},
                                "body": json.loads(raw),
                                "at": time.monotonic(),
                            }
                        )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def values(self, attribute: str) -> list[Any]:
        """Every value of ``attribute`` notified, in arrival order."""
        out = []
        with self._lock:
            for item in self.received:
                for entity in item["body"]["data"]:
                    if attribute in entity:
                        attr = entity[attribute]
                        out.append(attr["value"] if isinstance(attr, dict) else attr)
        return out


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    fill_store(tmp_path / "contexts")
    return Settings(  # type: ignore[call-arg]
        database_url=database.url,
        dev=True,
        contexts_dir=tmp_path / "contexts",
        observations_pack_after_hours=0,
        notify_backoff_s=0.2,
        _env_file=None,
    )
