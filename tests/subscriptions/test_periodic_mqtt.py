"""The notification features of ETSI GS CIM 009 v1.8 beyond "notify on change", from the
spec's text: periodic notifications (§5.2.12 ``timeInterval``), ``showChanges`` and
``sysAttrs`` (§5.2.14), ``notifierInfo`` and MQTT endpoints (§5.2.15 and the MQTT binding of
notifications). Real database, real HTTP receiver, real Mosquitto."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
import uuid
from datetime import datetime
from typing import Any

import aiomqtt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from taydo.app import create_app
from taydo.core.db import Database
from taydo.ingest.mqtt.gateway import parse_broker_url
from taydo.ingest.ngsild.errors import NgsiError
from taydo.subscriptions.endpoints import mqtt_endpoint
from taydo.subscriptions.schemas import check_subscription
from tests.ingest.mqtt_broker import broker_url
from tests.subscriptions.conftest import Receiver, wait_for
from tests.subscriptions.test_notifications import ENTITY, _of, _subscribe, _upsert

__all__ = ["broker_url"]  # the fixture, re-exported for pytest

BASE = "/ngsi-ld/v1/subscriptions"


def _sub(**members: Any) -> dict[str, Any]:
    notification = members.pop("notification", {})
    endpoint = {"uri": "http://127.0.0.1:9/notify", **notification.pop("endpoint", {})}
    return {
        "type": "Subscription",
        "entities": [{"type": "WaterObserved"}],
        "notification": {**notification, "endpoint": endpoint},
        **members,
    }


# -- §5.2.15 Endpoint: mqtt(s) URIs and notifierInfo -------------------------------------------


def test_mqtt_endpoint_and_notifier_info_as_the_spec_says() -> None:
    spec = check_subscription(
        _sub(
            notification={
                "endpoint": {
                    "uri": "mqtts://user:pw@broker.cantho.gov.vn/ioc/notify/water",
                    "notifierInfo": [
                        {"key": "MQTT-Version", "value": "mqtt3.1.1"},
                        {"key": "MQTT-QoS", "value": "2"},
                    ],
                }
            }
        )
    )
    endpoint = spec.document["notification"]["endpoint"]
    assert endpoint["notifierInfo"][1] == {"key": "MQTT-QoS", "value": "2"}  # stored as sent
    found = mqtt_endpoint(endpoint["uri"], endpoint["notifierInfo"])
    assert (found.host, found.port, found.tls) == ("broker.cantho.gov.vn", 8883, True)
    assert (found.topic, found.username, found.password) == ("ioc/notify/water", "user", "pw")
    assert (found.version, found.qos) == ("mqtt3.1.1", 2)
    # Defaults (§5.2.15): MQTT 5.0, QoS 0, port 1883 for mqtt://.
    plain = mqtt_endpoint("mqtt://127.0.0.1/t", None)
    assert (plain.port, plain.tls, plain.version, plain.qos) == (1883, False, "mqtt5.0", 0)


@pytest.mark.parametrize(
    ("endpoint", "kind"),
    [
        ({"uri": "mqtt://broker"}, "BadRequestData"),  # no topic
        ({"uri": "mqtt://broker/"}, "BadRequestData"),
        ({"uri": "mqtt://broker/a/+/b"}, "BadRequestData"),  # a filter, not a topic name
        ({"uri": "mqtt://broker/a/#"}, "BadRequestData"),
        ({"uri": "mqtt://broker:99999/t"}, "BadRequestData"),
        ({"uri": "mqtt://broker/t?x=1"}, "BadRequestData"),
        ({"uri": "amqp://broker/t"}, "OperationNotSupported"),
        (
            {"uri": "mqtt://broker/t", "notifierInfo": [{"key": "MQTT-QoS", "value": "3"}]},
            "BadRequestData",
        ),
        (
            {"uri": "mqtt://broker/t", "notifierInfo": [{"key": "MQTT-Version", "value": "5"}]},
            "BadRequestData",
        ),
        (
            {
                "uri": "mqtt://broker/t",
                "notifierInfo": [
                    {"key": "MQTT-QoS", "value": "1"},
                    {"key": "MQTT-QoS", "value": "2"},
                ],
            },
            "BadRequestData",
        ),
        (  # the MQTT keys mean nothing to an HTTP endpoint: said, not ignored
            {"uri": "http://h/n", "notifierInfo": [{"key": "MQTT-QoS", "value": "1"}]},
            "BadRequestData",
        ),
        ({"uri": "mqtt://broker/t", "notifierInfo": [{"key": "MQTT-QoS"}]}, "BadRequestData"),
    ],
)
def test_bad_endpoints_are_refused(endpoint: dict[str, Any], kind: str) -> None:
    with pytest.raises(NgsiError) as caught:
        check_subscription(_sub(notification={"endpoint": endpoint}))
    assert caught.value.kind == kind


def test_time_interval_excludes_watched_attributes_and_throttling() -> None:
    for members in ({"watchedAttributes": ["height"]}, {"throttling": 5}):
        with pytest.raises(NgsiError) as caught:
            check_subscription(_sub(timeInterval=10, **members))
        assert caught.value.kind == "BadRequestData"
    assert check_subscription(_sub(timeInterval=0.5)).time_interval == 0.5


def test_notifier_info_over_http_round_trip(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    body = _sub(
        notification={
            "endpoint": {
                "uri": "mqtt://127.0.0.1:1883/ioc/water",
                "notifierInfo": [{"key": "MQTT-QoS", "value": "1"}],
            }
        }
    )
    answer = client.post(BASE, json=body, headers=admin)
    assert answer.status_code == 201, answer.text
    stored = client.get(answer.headers["location"], headers=admin).json()
    endpoint = stored["notification"]["endpoint"]
    assert endpoint["uri"] == "mqtt://127.0.0.1:1883/ioc/water"
    assert endpoint["notifierInfo"] == [{"key": "MQTT-QoS", "value": "1"}]
    # A password in an MQTT URI is a credential: never answered again once stored.
    secret = client.post(
        BASE,
        json=_sub(notification={"endpoint": {"uri": "mqtts://ioc:bí-mật@broker.vn/w"}}),
        headers=admin,
    )
    assert secret.status_code == 201, secret.text
    shown = client.get(secret.headers["location"], headers=admin).json()
    assert shown["notification"]["endpoint"]["uri"] == "mqtts://ioc:********@broker.vn/w"
    assert "bí-mật" not in client.get(BASE, headers=admin).text
    bad = _sub(
        notification={
            "endpoint": {
                "uri": "mqtt://127.0.0.1/ioc/water",
                "notifierInfo": [{"key": "MQTT-Version", "value": "mqtt4"}],
            }
        }
    )
    refused = client.post(BASE, json=bad, headers=admin)
    assert refused.status_code == 400
    assert refused.json()["type"].endswith("BadRequestData")
    patched = client.patch(
        answer.headers["location"],
        json={"notification": {"endpoint": {"uri": "mqtt://127.0.0.1/a/#"}}},
        headers=admin,
    )
    assert patched.status_code == 400, patched.text


# -- §5.2.12 timeInterval: periodic notifications ----------------------------------------------


def test_periodic_notifications_keep_their_cadence_across_a_restart(  # type: ignore[no-untyped-def]
    settings, database, headers_for, receiver
) -> None:
    admin = headers_for("admin")
    app = create_app(settings, database=database)
    with TestClient(app) as client:
        _upsert(client, admin, 1.0, 0)
        periodic = _subscribe(client, admin, receiver, timeInterval=1)
        # Notified with the current state, though nothing changes.
        wait_for(lambda: len(_of(receiver, periodic)) >= 3, "three periods", 15)
        _upsert(client, admin, 4.5, 1)
        wait_for(
            lambda: any(
                e.get("height", {}).get("value") == 4.5
                for n in _of(receiver, periodic)
                for e in n["body"]["data"]
            ),
            "the new state in a period",
            15,
        )
        record = wait_for(
            lambda: (
                (s := client.get(periodic, headers=admin).json())["notification"]["timesSent"] >= 3
                and s
            ),
            "the delivery record",
        )
        assert (
            record["notification"]["status"] == "ok"
            and "lastNotification" in record["notification"]
        )
        assert record["status"] == "active"
    before = len(_of(receiver, periodic))
    time.sleep(3.5)  # down for about three periods
    again = create_app(settings, database=database)
    with TestClient(again):
        restarted = time.monotonic()
        wait_for(lambda: len(_of(receiver, periodic)) >= before + 3, "periods after restart", 15)
    after = [n for n in _of(receiver, periodic)[before:] if n["at"] >= restarted]
    # No burst of the missed periods: the first one, then one a second.
    times = sorted(datetime.fromisoformat(n["body"]["notifiedAt"]) for n in after)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert gaps and all(gap >= 0.9 for gap in gaps), gaps
    everything = sorted(
        datetime.fromisoformat(n["body"]["notifiedAt"]) for n in _of(receiver, periodic)
    )
    all_gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(everything)]
    assert all(gap >= 0.9 for gap in all_gaps), all_gaps
    data = _of(receiver, periodic)[-1]["body"]["data"]
    assert [e["id"] for e in data] == [ENTITY] and data[0]["height"]["value"] == 4.5


def test_paused_periodic_subscription_is_silent(  # type: ignore[no-untyped-def]
    settings, database, headers_for, receiver
) -> None:
    admin = headers_for("admin")
    app = create_app(settings, database=database)
    with TestClient(app) as client:
        _upsert(client, admin, 1.0, 0)
        paused = _subscribe(client, admin, receiver, timeInterval=0.5, isActive=False)
        running = _subscribe(client, admin, receiver, timeInterval=0.5)
        wait_for(lambda: len(_of(receiver, running)) >= 3, "the running one", 15)
        assert _of(receiver, paused) == []


# -- §5.2.14 showChanges and sysAttrs ----------------------------------------------------------


def test_show_changes_and_sys_attrs(settings, database, headers_for, receiver) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    app = create_app(settings, database=database)
    with TestClient(app) as client:
        _upsert(client, admin, 1.25, 0)
        changes = _subscribe(
            client, admin, receiver, notification={"showChanges": True, "sysAttrs": True}
        )
        plain = _subscribe(client, admin, receiver)
        _upsert(client, admin, 2.5, 1)
        _upsert(client, admin, 3.75, 2)
        wait_for(lambda: len(_of(receiver, changes)) >= 2, "two changes")
        wait_for(lambda: len(_of(receiver, plain)) >= 2, "two plain")
        shown = [e for n in _of(receiver, changes) for e in n["body"]["data"]]
        pairs = [(e["height"]["value"], e["height"].get("previousValue")) for e in shown]
        assert pairs == [(2.5, 1.25), (3.75, 2.5)]
        assert all("createdAt" in e and "modifiedAt" in e for e in shown)
        bare = [e for n in _of(receiver, plain) for e in n["body"]["data"]]
        assert all("previousValue" not in e["height"] for e in bare)
        assert all("createdAt" not in e for e in bare)


# -- MQTT endpoints, end to end with Mosquitto ------------------------------------------------


class Topic:
    """A real MQTT subscriber (aiomqtt, in a thread) that keeps every message of one topic."""

    def __init__(self, url: str, topic: str) -> None:
        self.address = parse_broker_url(url)
        self.topic = topic
        self.messages: list[dict[str, Any]] = []
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        async with aiomqtt.Client(self.address.host, self.address.port) as client:
            await client.subscribe(self.topic, qos=1)
            self.ready.set()
            messages = aiomqtt.Client.messages.fget(client)  # type: ignore[attr-defined]
            while not self._stop.is_set():
                try:
                    message = await asyncio.wait_for(anext(messages), 0.2)
                except TimeoutError:
                    continue
                self.messages.append(
                    {"qos": message.qos, "payload": json.loads(bytes(message.payload))}
                )

    def __enter__(self) -> Topic:
        self._thread.start()
        assert self.ready.wait(10), "the test subscriber did not connect"
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join(5)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _outbox(database: Database) -> list[tuple[str, int]]:
    with database.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT status, attempts FROM notify_outbox WHERE channel_code LIKE 'ngsi-ld:%'")
        )
        return [(str(s), int(a)) for s, a in rows]


@pytest.mark.mqtt
def test_notifications_published_to_an_mqtt_endpoint(  # type: ignore[no-untyped-def]
    settings, database, headers_for, broker_url
) -> None:
    admin = headers_for("admin")
    address = parse_broker_url(broker_url)
    topic = f"taydo-test/{uuid.uuid4().hex[:8]}/notify"
    uri = f"mqtt://{address.host}:{address.port}/{topic}"
    app = create_app(settings, database=database)
    with Topic(broker_url, topic) as subscriber, TestClient(app) as client:
        _upsert(client, admin, 1.0, 0)
        location = _subscribe(
            client,
            admin,
            Receiver(),  # its url is replaced below
            notification={
                "endpoint": {
                    "uri": uri,
                    "notifierInfo": [
                        {"key": "MQTT-QoS", "value": "1"},
                        {"key": "MQTT-Version", "value": "mqtt3.1.1"},
                    ],
                    "receiverInfo": [{"key": "Fiware-Service", "value": "cantho"}],
                }
            },
        )
        _upsert(client, admin, 2.0, 1)
        wait_for(lambda: subscriber.messages, "the MQTT notification")
        message = subscriber.messages[0]
        assert message["qos"] == 1  # MQTT-QoS of notifierInfo
        metadata, body = message["payload"]["metadata"], message["payload"]["body"]
        assert metadata["Fiware-Service"] == "cantho"  # receiverInfo, as metadata
        assert metadata["Content-Type"] == "application/json" and "Link" in metadata
        assert body["type"] == "Notification" and body["subscriptionId"] in location
        assert body["data"][0]["id"] == ENTITY and body["data"][0]["height"]["value"] == 2.0
        record = wait_for(
            lambda: (
                (s := client.get(location, headers=admin).json())["notification"]["timesSent"] >= 1
                and s
            ),
            "the delivery record",
        )
        assert record["notification"]["status"] == "ok"
        # Periodic notifications go to MQTT as well.
        client.patch(location, json={"timeInterval": 1}, headers=admin)
        wait_for(lambda: len(subscriber.messages) >= 3, "periodic MQTT notifications", 15)


@pytest.mark.mqtt
def test_an_unreachable_mqtt_broker_is_retried_then_recorded(  # type: ignore[no-untyped-def]
    settings, database, headers_for
) -> None:
    admin = headers_for("admin")
    port = _free_port()  # nothing listens there
    app = create_app(settings, database=database)
    with TestClient(app) as client:
        _upsert(client, admin, 1.0, 0)
        location = _subscribe(
            client,
            admin,
            Receiver(),
            notification={"endpoint": {"uri": f"mqtt://127.0.0.1:{port}/down"}},
        )
        _upsert(client, admin, 2.0, 1)
        wait_for(lambda: any(a >= 2 for s, a in _outbox(database) if s == "pending"), "retries")
        record = client.get(location, headers=admin).json()["notification"]
        assert record["status"] == "failed" and "lastFailure" in record
        assert record["timesSent"] >= 2
