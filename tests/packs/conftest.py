"""Fixtures for the pack's tests: a database holding the real Cần Thơ pack, a live server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from taydo.catalog.service import load_pack
from taydo.core.db import Database
from taydo.core.plugins import make_plugin_manager, packs
from tests.serving import serve_in_thread


@pytest.fixture
def cantho(database: Database) -> Database:
    """The database with the Cần Thơ pack loaded (areas, agencies, datasets, 52 stations)."""
    load_pack(database, packs(make_plugin_manager())["cantho"])
    return database


@pytest.fixture
def live_server(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app served over real HTTP by uvicorn in a thread; yields its base URL."""
    with serve_in_thread(app) as base:
        httpx.get(base + "/api/openapi.json").raise_for_status()
        yield base
