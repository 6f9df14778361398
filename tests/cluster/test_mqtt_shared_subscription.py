"""MQTT shared subscription (issue 15): with the topic prefix ``$share/<group>/<prefix>``
several IOC processes split the messages between them, each stored once. The topic parser
used to keep the share prefix and quarantined every message."""

from __future__ import annotations

import json
import uuid
from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from taydo.app import create_app
from taydo.core.runtime import runtime_of
from taydo.ingest.mqtt.gateway import MqttGateway
from taydo.ingest.mqtt.payload import shared_topics, split_share
from tests.ingest.conftest import make_series
from tests.ingest.test_mqtt_gateway import publish, quarantined, wait_for

pytestmark = pytest.mark.mqtt

TS = 1_767_225_600_000


def test_a_share_prefix_is_split_from_the_topic_prefix() -> None:
    assert split_share("taydo") == (None, "taydo")
    assert split_share("$share/taydo/taydo") == ("taydo", "taydo")
    assert shared_topics("g", ("taydo/+/+/attrs", "/+/+/attrs")) == (
        "$share/g/taydo/+/+/attrs",
        "$share/g//+/+/attrs",
    )
    with pytest.raises(ValueError, match=r"\$share/<group>/<prefix>"):
        split_share("$share/onlygroup")


def test_two_processes_on_a_shared_subscription_store_each_message_once(
    settings, database, broker_url
) -> None:
    ids = make_series(database, "CT-SHARE-01")
    prefix = f"t{uuid.uuid4().hex[:6]}"
    group = f"g{uuid.uuid4().hex[:6]}"
    apps = [
        create_app(
            settings.model_copy(
                update={
                    "mqtt_url": broker_url,
                    "mqtt_client_id": f"taydo-share-{n}-{uuid.uuid4().hex[:6]}",
                    "mqtt_topic_prefix": f"$share/{group}/{prefix}",
                }
            ),
            database=database,
        )
        for n in range(2)
    ]
    count = 300
    with ExitStack() as stack:
        for app in apps:
            stack.enter_context(TestClient(app))
        gateways = [runtime_of(app).get(MqttGateway) for app in apps]
        wait_for(lambda: all(g.connected.is_set() for g in gateways), "both gateways")
        publish(
            broker_url,
            [
                (f"{prefix}/SNNMT/CT-SHARE-01/attrs", json.dumps({"height": n / 100, "ts": TS + n}))
                for n in range(count)
            ],
        )

        def stored() -> int:
            with database.engine.connect() as connection:
                return int(
                    connection.execute(
                        text("SELECT count(*) FROM observations WHERE series_id = :s"),
                        {"s": ids["height"]},
                    ).scalar_one()
                )

        wait_for(lambda: sum(g.stats.committed_messages for g in gateways) >= count, "commits")
        assert quarantined(database) == []
        assert stored() == count
        # Each message went to one member of the group: the counts add up to what was sent.
        assert sum(g.stats.received for g in gateways) == count
        assert all(g.stats.received > 0 for g in gateways)
