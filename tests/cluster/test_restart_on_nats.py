"""A process restarted on the NATS bus while an alert was open (issue 15): the alert engine
judges the stored values at start and publishes what changed before the bus delivers
anything; that used to end the start-up with ``RuntimeError: bus not started``."""

from __future__ import annotations

from fastapi.testclient import TestClient

from taydo.app import create_app
from taydo.core import clock
from taydo.observations.service import Point, write_points
from tests.alerts.conftest import WATER, publish, wait_for

MIN = 60_000


def test_a_restart_on_nats_with_an_open_alert_publishes_its_catch_up(
    settings, database, catalog, headers_for, nats_bus_url
) -> None:
    op = headers_for("operator")
    on_nats = settings.model_copy(update={"bus_url": nats_bus_url})
    now = clock.now_ms()
    with TestClient(create_app(on_nats, database=database)) as first:
        publish(first, [(catalog[WATER], now - 5 * MIN, 2.0)])
        opened = wait_for(
            lambda: first.get("/api/v1/alerts", params={"active": "true"}, headers=op).json()
        )
    # What a killed process committed and never judged: the water fell below every level.
    write_points(database, [Point(catalog[WATER], now - 2 * MIN, 1.0)])
    with TestClient(create_app(on_nats, database=database)) as second:
        resolved = second.get(f"/api/v1/alerts/{opened[0]['id']}", headers=op).json()
        assert resolved["state"] == "resolved"
