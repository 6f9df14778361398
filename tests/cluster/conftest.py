"""Servers for the cluster tests: NATS JetStream (``TAYDO_TEST_NATS_URL``) beside the
PostgreSQL schema and the Mosquitto broker of the shared fixtures. A missing server skips
its tests with the reason; CI (``.ci/run``) sets all three."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.alerts.conftest import catalog  # noqa: F401 - a fixture, used by name
from tests.conftest import skip_server
from tests.ingest.mqtt_broker import broker_url  # noqa: F401 - a fixture, used by name

NATS_URL = os.environ.get("TAYDO_TEST_NATS_URL", "")


@pytest.fixture
def nats_bus_url() -> str:
    """A bus URL on its own JetStream stream and subject prefix (tests never share one)."""
    if not NATS_URL:
        skip_server("NATS", "TAYDO_TEST_NATS_URL is not set")
    unique = uuid.uuid4().hex[:10]
    return f"{NATS_URL}?stream=TAYDO_CLUSTER_{unique}&prefix=taydocluster{unique}"
