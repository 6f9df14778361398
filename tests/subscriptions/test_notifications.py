"""Notifications end to end, with a real HTTP receiver (a server in the test), a real
Mosquitto and the real outbox: values sent over MQTT and over NGSI-LD are notified, the
subscription's format, attributes, q and receiverInfo are honoured, throttling is respected,
a paused subscription is silent, and nothing is lost across a restart of the IOC."""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from taydo.app import create_app
from taydo.core.db import Database
from taydo.core.runtime import runtime_of
from taydo.core.settings import Settings
from taydo.ingest.mqtt.gateway import MqttGateway
from tests.ingest.conftest import make_series
from tests.ingest.mqtt_broker import broker_url
from tests.ingest.test_mqtt_gateway import publish
from tests.subscriptions.conftest import Receiver, wait_for

__all__ = ["broker_url"]  # the fixture, re-exported for pytest

BASE = "/ngsi-ld/v1/subscriptions"
ENTITY = "urn:ngsi-ld:WaterObserved:CT-NK-01"


def _upsert(
    client: TestClient, headers: dict[str, str], value: float, minute: int, **more: Any
) -> None:
    entity = {
        "id": ENTITY,
        "type": "WaterObserved",
        "height": {
            "type": "Property",
            "value": value,
            "unitCode": "MTR",
            "observedAt": f"2026-12-01T00:{minute:02d}:00Z",
        },
        **more,
    }
    answer = client.post(
        "/ngsi-ld/v1/entityOperations/upsert",
        json=[entity],
        headers=headers,
        params={"options": "update"},
    )
    assert answer.status_code in (201, 204), answer.text


def _subscribe(
    client: TestClient, headers: dict[str, str], receiver: Receiver, **members: Any
) -> str:
    notification = members.pop("notification", {})
    endpoint = {"uri": receiver.url, **notification.pop("endpoint", {})}
    body = {
        "type": "Subscription",
        "entities": [{"id": ENTITY, "type": "WaterObserved"}],
        "notification": {**notification, "endpoint": endpoint},
        **members,
    }
    answer = client.post(BASE, json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return str(answer.headers["location"])


def _of(receiver: Receiver, location: str) -> list[dict[str, Any]]:
    sub_id = location.rsplit("/", 1)[-1]
    return [r for r in list(receiver.received) if r["body"]["subscriptionId"] == sub_id]


def _notified(items: list[dict[str, Any]], attribute: str = "height") -> list[Any]:
    out = []
    for item in items:
        for entity in item["body"]["data"]:
            attr = entity.get(attribute)
            out.append(attr["value"] if isinstance(attr, dict) else attr)
    return out


@pytest.fixture
def mqtt_settings(settings: Settings, broker_url: str) -> Settings:
    return settings.model_copy(
        update={
            "mqtt_url": broker_url,
            "mqtt_client_id": f"taydo-test-{uuid.uuid4().hex[:8]}",
            "mqtt_topic_prefix": f"t{uuid.uuid4().hex[:6]}",
        }
    )


@pytest.mark.mqtt
def test_values_over_mqtt_and_ngsild_are_notified_throttling_respected(  # type: ignore[no-untyped-def]
    mqtt_settings, database, headers_for, receiver, broker_url
) -> None:
    make_series(database, "CT-NK-01", {"height": (-5.0, 10.0)})
    admin = headers_for("admin")
    app = create_app(mqtt_settings, database=database)
    with TestClient(app) as client:
        wait_for(lambda: runtime_of(app).get(MqttGateway).connected.is_set(), "MQTT")
        every = _subscribe(
            client,
            admin,
            receiver,
            watchedAttributes=["height"],
            notification={"endpoint": {"receiverInfo": [{"key": "X-Api-Key", "value": "k-123"}]}},
        )
        paced = _subscribe(client, admin, receiver, throttling=2)
        paused = _subscribe(client, admin, receiver, isActive=False)
        prefix = mqtt_settings.mqtt_topic_prefix
        publish(
            broker_url,
            [
                (f"{prefix}/SNNMT/CT-NK-01/attrs", json.dumps({"height": h, "ts": ts}))
                for h, ts in ((1.25, 1_767_225_600_000), (1.5, 1_767_225_660_000))
            ],
        )
        wait_for(lambda: set(_notified(_of(receiver, every))) >= {1.25, 1.5}, "the MQTT values")
        for minute, value in enumerate((2.0, 2.25, 2.5, 2.75)):
            _upsert(client, admin, value, minute + 10)
        wait_for(
            lambda: set(_notified(_of(receiver, every))) >= {1.25, 1.5, 2.0, 2.25, 2.5, 2.75},
            "the NGSI-LD values",
        )
        first = _of(receiver, every)[0]
        assert first["headers"]["x-api-key"] == "k-123"  # receiverInfo, sent as a header
        assert first["headers"]["content-type"].startswith("application/json")
        assert "json-ld#context" in first["headers"]["link"]
        body = first["body"]
        assert body["type"] == "Notification" and body["id"].startswith("urn:ngsi-ld:Notification:")
        entity = body["data"][0]
        assert entity["id"] == ENTITY and entity["type"] == "WaterObserved"
        assert entity["height"]["type"] == "Property" and "observedAt" in entity["height"]
        # Throttled: never two notifications within 2 s of each other, so fewer of them.
        wait_for(lambda: _of(receiver, paced), "a throttled notification")
        times = sorted(
            datetime.fromisoformat(n["body"]["notifiedAt"]) for n in _of(receiver, paced)
        )
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
        assert all(gap >= 2.0 for gap in gaps), gaps
        assert len(times) < len(_of(receiver, every))
        assert _of(receiver, paused) == []
        # The delivery record of §5.2.14 on the subscription.
        record = wait_for(
            lambda: (
                (s := client.get(every, headers=admin).json())["notification"]["timesSent"]
                >= len(_of(receiver, every))
                and s
            ),
            "the delivery record",
        )
        assert record["notification"]["status"] == "ok"
        assert (
            "lastSuccess" in record["notification"] and "lastFailure" not in record["notification"]
        )


def test_formats_attributes_q_and_jsonld(  # type: ignore[no-untyped-def]
    settings, database, headers_for, receiver
) -> None:
    admin = headers_for("admin")
    app = create_app(settings, database=database)
    with TestClient(app) as client:
        _upsert(client, admin, 1.0, 0, name={"type": "Property", "value": "Cầu Ninh Kiều"})
        key_values = _subscribe(
            client, admin, receiver, notification={"format": "keyValues", "attributes": ["height"]}
        )
        concise = _subscribe(client, admin, receiver, notification={"format": "concise"})
        high = _subscribe(client, admin, receiver, q="height>2")
        ld = _subscribe(
            client, admin, receiver, notification={"endpoint": {"accept": "application/ld+json"}}
        )
        names = _subscribe(client, admin, receiver, watchedAttributes=["name"])
        deleted = _subscribe(client, admin, receiver)
        assert client.delete(deleted, headers=admin).status_code == 204
        _upsert(client, admin, 1.5, 1)
        _upsert(client, admin, 3.5, 2)
        wait_for(lambda: len(_of(receiver, key_values)) >= 2 and _of(receiver, ld), "notifications")
        assert _notified(_of(receiver, key_values)) == [1.5, 3.5]
        kv = _of(receiver, key_values)[0]["body"]["data"][0]
        assert kv == {"id": ENTITY, "type": "WaterObserved", "height": 1.5}  # attributes honoured
        wait_for(lambda: _of(receiver, concise), "concise")
        short = _of(receiver, concise)[0]["body"]["data"][0]
        assert short["name"] == "Cầu Ninh Kiều"  # a bare value: its type implied
        assert short["height"]["value"] == 1.5 and "type" not in short["height"]
        wait_for(lambda: _of(receiver, high), "q")
        assert _notified(_of(receiver, high)) == [3.5]  # 1.5 does not satisfy height>2
        item = _of(receiver, ld)[0]
        assert item["headers"]["content-type"].startswith("application/ld+json")
        assert "@context" in item["body"] and "link" not in item["headers"]
        # A text attribute changed (no observed value): notified to who watches it.
        _upsert(client, admin, 3.5, 2, name={"type": "Property", "value": "Cầu Cái Răng"})
        wait_for(lambda: _of(receiver, names), "the name change")
        assert _of(receiver, names)[0]["body"]["data"][0]["name"]["value"] == "Cầu Cái Răng"
        assert _of(receiver, deleted) == []


def _outbox(database: Database) -> list[tuple[str, int]]:
    with database.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT status, attempts FROM notify_outbox WHERE channel_code LIKE 'ngsi-ld:%'")
        )
        return [(str(s), int(a)) for s, a in rows]


def test_nothing_lost_across_a_restart(settings, database, headers_for, receiver) -> None:  # type: ignore[no-untyped-def]
    """The receiver is down; values are accepted, their notifications fail once and wait;
    the IOC stops (one more value accepted just before); a new IOC on the same database
    sends every one of them once the receiver is back."""
    slow = settings.model_copy(update={"notify_backoff_s": 3.0, "webhook_timeout_s": 1.0})
    admin = headers_for("admin")
    receiver.stop()  # down: connections refused
    app = create_app(slow, database=database)
    with TestClient(app) as client:
        _upsert(client, admin, 0.5, 0)
        location = _subscribe(client, admin, receiver)
        _upsert(client, admin, 1.0, 1)
        wait_for(lambda: ("pending", 1) in _outbox(database), "a failed try")
        failed = client.get(location, headers=admin).json()["notification"]
        assert failed["status"] == "failed" and "lastFailure" in failed
        _upsert(client, admin, 2.0, 2)  # accepted; the IOC stops right after
    assert {status for status, _ in _outbox(database)} == {"pending"}
    receiver.start()  # back, on the same port
    again = create_app(slow, database=database)
    with TestClient(again) as client:
        wait_for(lambda: set(_notified(receiver.received)) >= {1.0, 2.0}, "every value", 30)
        wait_for(lambda: {s for s, _ in _outbox(database)} == {"sent"}, "the outbox sent")
        assert sorted(_notified(receiver.received)) == [1.0, 2.0]  # each once
        record = client.get(location, headers=admin).json()["notification"]
        assert record["status"] == "ok" and record["timesSent"] >= 3
