"""Servers for the cluster tests: NATS JetStream (``TAYDO_TEST_NATS_URL``) beside the
PostgreSQL schema and the Mosquitto broker of the shared fixtures. A missing server skips
its tests with the reason; CI (``.ci/run``) sets all three."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from taydo.core.db import Database
from tests.alerts.conftest import catalog  # noqa: F401 - a fixture, used by name
from tests.cluster.nodes import Node, node_env
from tests.conftest import _truncate_postgres, skip_server
from tests.ingest.mqtt_broker import broker_url  # noqa: F401 - a fixture, used by name
from tests.serving import free_port

NATS_URL = os.environ.get("TAYDO_TEST_NATS_URL", "")


@pytest.fixture
def nats_bus_url() -> Iterator[str]:
    """A bus URL on its own JetStream stream and subject prefix (tests never share one); the
    stream is deleted afterwards (each one reserves storage on the shared server)."""
    if not NATS_URL:
        skip_server("NATS", "TAYDO_TEST_NATS_URL is not set")
    unique = uuid.uuid4().hex[:10]
    url = f"{NATS_URL}?stream=TAYDO_CLUSTER_{unique}&prefix=taydocluster{unique}"
    yield url
    asyncio.run(delete_stream(url))


async def delete_stream(url: str) -> None:
    from taydo.core.bus_nats import NatsBus

    bus = NatsBus(url)
    await bus.connect()
    try:
        with contextlib.suppress(Exception):  # never created: nothing to give back
            await bus.delete_stream()
    finally:
        await bus.close()


@pytest.fixture
def pg_database(postgres_schema_url: str) -> Iterator[Database]:
    """This session's PostgreSQL schema, emptied: the cluster's one database."""
    database = Database(postgres_schema_url)
    _truncate_postgres(database)
    try:
        yield database
    finally:
        database.dispose()


@dataclass
class Cluster:
    """Real ``taydo serve`` processes on one PostgreSQL schema and one NATS stream."""

    database: Database
    folder: Path
    env: dict[str, str]
    admin: dict[str, str]
    nodes: list[Node] = field(default_factory=list)

    def add(self, name: str, **settings: Any) -> Node:
        node = Node(
            name, free_port(), {**self.env, **node_env(self.folder, **settings)}, self.folder
        )
        self.nodes.append(node)
        return node

    def start(self, count: int, **settings: Any) -> list[Node]:
        started = [self.add(f"node{n}", **settings).start() for n in range(1, count + 1)]
        for node in started:
            node.wait_ready(self.admin)
        return started

    def stop(self) -> None:
        for node in self.nodes:
            node.ensure_stopped()


@pytest.fixture
def cluster(pg_database: Database, nats_bus_url: str, tmp_path: Path) -> Iterator[Cluster]:
    from taydo.auth.service import create_user
    from taydo.auth.tokens import issue_token

    user = create_user(pg_database, f"admin-{uuid.uuid4().hex[:6]}", "admin")
    _row, token = issue_token(pg_database, user.id, "cluster")
    base = node_env(
        tmp_path,
        database_url=pg_database.url,
        bus_url=nats_bus_url,
        lease_check_s=0.5,
        webhook_timeout_s=2,
        notify_backoff_s=1,
        alert_renotify_check_s=3600,
        alert_check_interval_s=1,
        health_check_interval_s=0,
    )
    running = Cluster(pg_database, tmp_path, base, {"Authorization": f"Bearer {token}"})
    try:
        yield running
    finally:
        running.stop()
