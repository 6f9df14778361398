"""The MQTT gateway against a real Mosquitto: values committed, bad messages quarantined,
nothing acknowledged before it is stored, nothing lost while the IOC is down."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import aiomqtt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from taydo.app import create_app
from taydo.core.db import Database
from taydo.core.runtime import runtime_of
from taydo.core.settings import Settings
from taydo.ingest.mqtt.gateway import MqttGateway, parse_broker_url
from tests.ingest.conftest import make_series
from tests.ingest.mqtt_broker import broker_url

__all__ = ["broker_url"]  # the fixture, re-exported for pytest

pytestmark = pytest.mark.mqtt

TS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def publish(url: str, messages: list[tuple[str, bytes | str]]) -> None:
    """Publish with QoS 1 and wait for every PUBACK (aiomqtt, a separate client)."""
    address = parse_broker_url(url)

    async def run() -> None:
        async with aiomqtt.Client(address.host, address.port) as client:
            for topic, payload in messages:
                await client.publish(topic, payload, qos=1)

    asyncio.run(run())


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}: {found!r}")


def stored(database: Database, series_id: int) -> list[tuple[int, float]]:
    with database.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT ts, value FROM observations WHERE series_id = :s ORDER BY ts"),
            {"s": series_id},
        )
        return [(int(ts), float(value)) for ts, value in rows]


def quarantined(database: Database) -> list[dict[str, Any]]:
    with database.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT source, reason, raw, agency_code FROM quarantine ORDER BY id")
        )
        return [
            {"source": s, "reason": r, "raw": json.loads(raw), "agency": a} for s, r, raw, a in rows
        ]


@pytest.fixture
def mqtt_settings(settings: Settings, broker_url: str) -> Settings:
    return settings.model_copy(
        update={
            "mqtt_url": broker_url,
            "mqtt_client_id": f"taydo-test-{uuid.uuid4().hex[:8]}",
            "mqtt_topic_prefix": f"t{uuid.uuid4().hex[:6]}",
            "mqtt_iota_services": {
                f"key{uuid.uuid4().hex[:6]}": {"agency": "SNNMT", "type": "WaterObserved"}
            },
        }
    )


@pytest.fixture
def running(mqtt_settings: Settings, database: Database) -> Iterator[TestClient]:
    app = create_app(mqtt_settings, database=database)
    with TestClient(app) as client:
        wait_for(
            lambda: runtime_of(app).get(MqttGateway).connected.is_set(), "the gateway to connect"
        )
        yield client


def test_values_are_committed(running, mqtt_settings, database, broker_url) -> None:  # type: ignore[no-untyped-def]
    ids = make_series(database, "CT-NK-01", {"height": (-5.0, 10.0), "temperature": (None, None)})
    prefix = mqtt_settings.mqtt_topic_prefix
    publish(
        broker_url,
        [
            (f"{prefix}/SNNMT/CT-NK-01/attrs", json.dumps({"height": 1.25, "ts": TS})),
            (
                f"{prefix}/SNNMT/urn:ngsi-ld:WaterObserved:CT-NK-01/attrs",
                json.dumps([{"height": 1.5, "temperature": 29, "ts": "2026-01-01T07:01:00+07:00"}]),
            ),
        ],
    )
    assert wait_for(lambda: len(stored(database, ids["height"])) == 2, "2 heights")
    assert stored(database, ids["height"]) == [(TS, 1.25), (TS + 60_000, 1.5)]
    assert stored(database, ids["temperature"]) == [(TS + 60_000, 29.0)]
    assert quarantined(database) == []


def test_no_timestamp_means_time_of_receipt(running, mqtt_settings, database, broker_url) -> None:  # type: ignore[no-untyped-def]
    ids = make_series(database, "CT-NK-02")
    before = int(time.time() * 1000)
    publish(
        broker_url, [(f"{mqtt_settings.mqtt_topic_prefix}/SNNMT/CT-NK-02/attrs", '{"height": 2}')]
    )
    rows = wait_for(lambda: stored(database, ids["height"]), "the value")
    assert before - 1000 <= rows[0][0] <= int(time.time() * 1000) + 1000
    assert rows[0][1] == 2.0


def test_bad_messages_go_to_quarantine_with_topic_payload_and_reason(
    running, mqtt_settings, database, broker_url
) -> None:  # type: ignore[no-untyped-def]
    ids = make_series(database, "CT-NK-03")
    make_series(database, "CT-YT-01", agency="SYT")
    prefix = mqtt_settings.mqtt_topic_prefix
    bad_utf8 = b'{"height": "\xff\xfe"}'
    messages: list[tuple[str, bytes | str]] = [
        (f"{prefix}/SNNMT/CT-NK-03/attrs", "not json"),
        (f"{prefix}/SNNMT/CT-NK-03/attrs", bad_utf8),
        (f"{prefix}/SNNMT/CT-NK-03/attrs", '{"height": 99}'),  # above max_valid 10
        (f"{prefix}/SNNMT/CT-NK-03/attrs", '{"height": "1.5"}'),  # a string, not a number
        (f"{prefix}/SNNMT/NO-SUCH/attrs", '{"height": 1}'),
        # the entity belongs to SYT: a SNNMT topic may not write it
        (f"{prefix}/SNNMT/urn:ngsi-ld:WaterObserved:CT-YT-01/attrs", '{"height": 1}'),
        (f"{prefix}/SNNMT/CT-NK-03/attrs", '{"height": 3, "ts": ' + str(TS) + "}"),  # good
    ]
    publish(broker_url, messages)
    entries = wait_for(
        lambda: len(quarantined(database)) == 6 and quarantined(database),
        "6",
        timeout=5,
    )
    # The good message is committed by the group-commit writer on its own schedule: it may
    # land just after the quarantined ones.
    assert wait_for(lambda: stored(database, ids["height"]) == [(TS, 3.0)], "the good message")
    assert {e["source"] for e in entries} == {"mqtt"}
    by_payload = {e["raw"].get("payload", "<binary>"): e for e in entries}
    assert by_payload["not json"]["raw"]["topic"] == f"{prefix}/SNNMT/CT-NK-03/attrs"
    assert "JSON" in by_payload["not json"]["reason"]
    assert base64.b64decode(by_payload["<binary>"]["raw"]["payload_base64"]) == bad_utf8
    assert "[-5.0, 10.0]" in by_payload['{"height": 99}']["reason"]
    assert "number" in by_payload['{"height": "1.5"}']["reason"]
    unknown = [e for e in entries if e["raw"].get("payload") == '{"height": 1}']
    assert "NO-SUCH" in unknown[0]["reason"]
    assert "unknown" in unknown[1]["reason"]  # another agency's entity: as if unknown
    assert all(e["agency"] == "SNNMT" for e in entries)


def test_fiware_iot_agent_json_measures(running, mqtt_settings, database, broker_url) -> None:  # type: ignore[no-untyped-def]
    ids = make_series(database, "sensor-7")
    (apikey,) = mqtt_settings.mqtt_iota_services
    publish(
        broker_url,
        [
            (f"/{apikey}/sensor-7/attrs", json.dumps({"height": 0.5, "TimeInstant": TS})),
            (f"/json/{apikey}/sensor-7/attrs", json.dumps({"height": 0.75, "TimeInstant": TS + 1})),
            ("/unknown-key/sensor-7/attrs", '{"height": 1}'),
        ],
    )
    assert wait_for(lambda: len(stored(database, ids["height"])) == 2, "two measures")
    assert stored(database, ids["height"]) == [(TS, 0.5), (TS + 1, 0.75)]
    (entry,) = wait_for(lambda: quarantined(database), "the unknown apikey")
    assert "apikey" in entry["reason"]


def test_messages_sent_while_the_ioc_is_down_arrive_after_restart(
    mqtt_settings, database, broker_url
) -> None:  # type: ignore[no-untyped-def]
    ids = make_series(database, "CT-NK-04")
    topic = f"{mqtt_settings.mqtt_topic_prefix}/SNNMT/CT-NK-04/attrs"
    app = create_app(mqtt_settings, database=database)
    with TestClient(app):
        wait_for(lambda: runtime_of(app).get(MqttGateway).connected.is_set(), "first connection")
    # the IOC is stopped; the broker keeps the persistent session's messages
    publish(broker_url, [(topic, json.dumps({"height": i / 10, "ts": TS + i})) for i in range(50)])
    assert stored(database, ids["height"]) == []
    app = create_app(mqtt_settings, database=database)
    with TestClient(app):
        rows = wait_for(lambda: len(stored(database, ids["height"])) == 50 and 1, "backlog")
    assert rows and [ts for ts, _ in stored(database, ids["height"])] == [TS + i for i in range(50)]


def _raw_publish(url: str, topic: str, payload: bytes, mid: int) -> Any:
    """A bare MQTT 3.1.1 client socket that published one QoS 1 message (to watch PUBACK)."""
    import socket
    import struct

    address = parse_broker_url(url)
    sock = socket.create_connection((address.host, address.port), timeout=5)

    def string(value: str) -> bytes:
        return struct.pack("!H", len(value.encode())) + value.encode()

    body = string("MQTT") + bytes([4, 2]) + struct.pack("!H", 60) + string(f"w{mid}")
    sock.sendall(bytes([0x10, len(body)]) + body)
    assert sock.recv(4)[:2] == b"\x20\x02"
    rest = string(topic) + struct.pack("!H", mid) + payload
    sock.sendall(bytes([0x32, len(rest)]) + rest)
    return sock


def test_puback_only_after_commit(database, broker_url) -> None:  # type: ignore[no-untyped-def]
    import threading

    from taydo.catalog.series import SeriesIndex
    from taydo.ingest.mqtt.gateway import MqttGateway
    from taydo.ingest.resolve import EntityResolver

    make_series(database, "CT-NK-05")
    release = threading.Event()
    storing = threading.Event()
    written: list[Any] = []

    async def write(rows: list[Any]) -> None:
        storing.set()
        await asyncio.to_thread(release.wait)  # storage is slow: no commit yet
        written.extend(rows)

    async def keep(entries: list[Any]) -> None:
        raise AssertionError(f"nothing should be quarantined: {entries}")

    prefix = f"p{uuid.uuid4().hex[:6]}"
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    gateway = MqttGateway(
        parse_broker_url(broker_url),
        series=SeriesIndex(database),
        resolver=EntityResolver(database),
        write=write,
        quarantine=keep,
        client_id=f"ack-test-{uuid.uuid4().hex[:6]}",
        topics=(f"{prefix}/+/+/attrs",),
        prefix=prefix,
    )
    asyncio.run_coroutine_threadsafe(gateway.start(), loop).result(10)
    try:
        wait_for(gateway.connected.is_set, "connection")
        sock = _raw_publish(broker_url, f"{prefix}/SNNMT/CT-NK-05/attrs", b'{"height": 4}', 7)
        # the broker acknowledges the publisher at once; our PUBACK to the broker is what
        # matters, so watch the gateway's count of acknowledged messages instead
        assert sock.recv(4) == b"\x40\x02\x00\x07"
        wait_for(lambda: gateway.stats.received == 1, "the message to arrive")
        # the batch is being stored (and held there): whatever acknowledges it has had its
        # chance to run before the commit
        assert storing.wait(20), "the batch never reached storage"
        assert gateway.stats.acked == 0 and written == []
        release.set()
        wait_for(lambda: gateway.stats.acked == 1, "the acknowledgement after commit")
        assert len(written) == 1 and written[0][2] == 4.0
        sock.close()
    finally:
        asyncio.run_coroutine_threadsafe(gateway.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def test_reconnects_after_the_broker_restarts(settings, database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil
    import socket
    import subprocess

    from tests.conftest import skip_server
    from tests.serving import free_port

    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.path.exists(binary):
        skip_server("Mosquitto", "no mosquitto binary to restart")
    port = free_port()
    config = tmp_path / "m.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")

    def start() -> subprocess.Popen[bytes]:
        process = subprocess.Popen([binary, "-c", str(config)], stderr=subprocess.DEVNULL)

        def up() -> bool:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return True
            except OSError:
                return False

        wait_for(up, "mosquitto to listen")
        return process

    ids = make_series(database, "CT-NK-06")
    url = f"mqtt://127.0.0.1:{port}"
    broker = start()
    app = create_app(settings.model_copy(update={"mqtt_url": url}), database=database)
    try:
        with TestClient(app):
            gateway = runtime_of(app).get(MqttGateway)
            wait_for(gateway.connected.is_set, "first connection")
            broker.terminate()
            broker.wait(10)
            wait_for(lambda: not gateway.connected.is_set(), "the gateway to notice")
            broker = start()
            wait_for(
                lambda: gateway.stats.connects >= 2 and gateway.connected.is_set(), "reconnect"
            )
            publish(url, [("taydo/SNNMT/CT-NK-06/attrs", json.dumps({"height": 5, "ts": TS}))])
            wait_for(lambda: stored(database, ids["height"]), "the value after reconnecting")
    finally:
        broker.terminate()
        broker.wait(10)
