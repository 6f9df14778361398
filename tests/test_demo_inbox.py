"""The demo's notification inbox: the channels the Cần Thơ routes name exist on the demo and
deliver, signed, to the demo's own server — so a fresh demo dead-letters nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from taydo.alerts.models import Outbox
from taydo.alerts.notify import SIGNATURE_HEADER, sign
from taydo.alerts.routing import (
    ChannelIn,
    RouteIn,
    list_channels,
    list_routes,
    save_channel,
    save_routes,
)
from taydo.app import create_app
from taydo.core import clock
from taydo.core.db import Database
from taydo.demo.inbox import DemoInbox, demo_channels
from tests.alerts.conftest import WATER, make_catalog, wait_for
from tests.serving import free_port, serve_in_thread

SECRET = "inbox-secret-of-this-run"


def _routes(database: Database) -> None:
    save_routes(
        database,
        [
            RouteIn(code="duty", channels=["ioc-webhook", "city-mail"]),
            RouteIn.model_validate(
                {"code": "chiefs", "escalation": [{"after": "1h", "channels": ["leaders"]}]}
            ),
        ],
    )


def test_the_demo_creates_the_missing_channels_and_leaves_real_ones(database: Database) -> None:
    _routes(database)
    real = {"host": "smtp.cantho.gov.vn", "to": ["ioc@cantho.gov.vn"]}
    save_channel(database, ChannelIn(code="city-mail", kind="email", config=real))
    assert demo_channels(database, "http://127.0.0.1:8000", SECRET) == ["ioc-webhook", "leaders"]
    assert all(route["missing_channels"] == [] for route in list_routes(database))
    channels = {c["code"]: c for c in list_channels(database)}
    assert channels["city-mail"]["kind"] == "email"  # someone's real channel: untouched
    assert channels["leaders"]["config"]["url"] == "http://127.0.0.1:8000/demo/inbox/leaders"
    # the next run (another port) points the demo's channels at itself again
    assert demo_channels(database, "http://127.0.0.1:8123", "next") == ["ioc-webhook", "leaders"]
    moved = {c["code"]: c["config"].get("url") for c in list_channels(database)}
    assert moved["ioc-webhook"] == "http://127.0.0.1:8123/demo/inbox/ioc-webhook"


def test_the_inbox_shows_signed_notifications_only(database: Database, settings: Any) -> None:
    shown: list[str] = []
    app = create_app(settings, database=database)
    DemoInbox(SECRET, shown.append).mount(app)
    alert = {"severity": "danger", "title": "Mực nước"}
    body = json.dumps({"event": "fired", "alert": alert}).encode()
    with TestClient(app) as client:
        forged = client.post("/demo/inbox/x", content=body, headers={SIGNATURE_HEADER: "sha256=0"})
        assert forged.status_code == 403 and shown == []
        signed = {SIGNATURE_HEADER: sign(SECRET, body)}
        assert (
            client.post("/demo/inbox/ioc-webhook", content=body, headers=signed).status_code == 204
        )
    assert shown == ["Thông báo / notification → ioc-webhook: fired · danger · Mực nước"]


@pytest.fixture
def served(settings: Any, database: Database) -> Iterator[tuple[str, list[str]]]:
    """A station, its rule, the routes and the demo's channels, then the app with the inbox
    mounted, served over real HTTP (the notifier posts to it)."""
    make_catalog(database)  # a water station with alarm levels and its rule (read at start)
    _routes(database)
    port = free_port()
    demo_channels(database, f"http://127.0.0.1:{port}", SECRET)
    shown: list[str] = []
    app = create_app(settings, database=database)
    DemoInbox(SECRET, shown.append).mount(app)
    with serve_in_thread(app, port=port) as base:
        yield base, shown


def test_an_alert_reaches_the_inbox_through_a_demo_channel(
    database: Database, headers_for: Any, served: tuple[str, list[str]]
) -> None:
    base, shown = served
    reading = {"entity_id": WATER, "metric": "height", "ts": clock.now_ms(), "value": 2.5}
    answer = httpx.post(
        base + "/api/v1/observations", json=[reading], headers=headers_for("operator"), timeout=30
    )
    assert answer.status_code == 200, answer.text
    wait_for(lambda: len(shown) == 2)  # ioc-webhook and city-mail: both the demo's here
    assert all("fired" in line for line in shown)

    def statuses() -> set[str]:
        with database.session() as session:
            return set(session.scalars(select(Outbox.status)))

    # the notifier marks a delivery sent once the inbox has answered: wait for that
    wait_for(lambda: statuses() == {"sent"})  # nothing dead-lettered


def test_a_message_to_an_agency_is_described_by_its_title() -> None:
    from taydo.demo.inbox import describe

    line = describe(
        "ioc-webhook",
        {
            "event": "directive.overdue",
            "message": {"title": "Chỉ đạo quá hạn: khơi thông cống", "severity": "warning"},
        },
    )
    assert line.endswith("directive.overdue · warning · Chỉ đạo quá hạn: khơi thông cống")
