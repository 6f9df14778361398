"""Fixtures for the pack's tests: a database holding the real Cần Thơ pack, a live server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from taydo.catalog.service import load_pack
from taydo.core.db import Database
from taydo.core.plugins import make_plugin_manager, packs


@pytest.fixture
def cantho(database: Database) -> Database:
    """The database with the Cần Thơ pack loaded (areas, agencies, datasets, 52 stations)."""
    load_pack(database, packs(make_plugin_manager())["cantho"])
    return database


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def live_server(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app served over real HTTP by uvicorn in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.05)
    httpx.get(base + "/api/openapi.json").raise_for_status()
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=30)
