"""The cluster under load (issue 15): 20,000 QoS 1 MQTT messages over a shared subscription
are stored exactly once by three processes, and a rolling restart of every process while
observations keep arriving loses none that was acknowledged."""

from __future__ import annotations

import socket
import struct
import threading
import uuid
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import text

from tests.alerts.conftest import wait_for
from tests.cluster.conftest import Cluster
from tests.ingest.conftest import make_series

pytestmark = [pytest.mark.postgres, pytest.mark.mqtt, pytest.mark.cluster]

TS = 1_767_225_600_000


def _string(value: str) -> bytes:
    raw = value.encode()
    return struct.pack("!H", len(raw)) + raw


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value % 128, value // 128
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


class Publisher:
    """A QoS 1 MQTT 3.1.1 publisher on a plain socket: pipelined, every PUBACK counted."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port or 1883), timeout=30)
        body = _string("MQTT") + bytes([4, 0x02]) + struct.pack("!H", 60)
        body += _string(f"cluster-pub-{uuid.uuid4().hex[:8]}")
        self.sock.sendall(b"\x10" + _varint(len(body)) + body)
        assert self.sock.recv(4)[:2] == b"\x20\x02"
        self.mid = 0

    def publish(self, messages: list[tuple[str, bytes]]) -> None:
        packets = []
        for topic, payload in messages:
            self.mid = self.mid % 65535 + 1
            rest = _string(topic) + struct.pack("!H", self.mid) + payload
            packets.append(b"\x32" + _varint(len(rest)) + rest)
        self.sock.sendall(b"".join(packets))
        expected, received = 4 * len(packets), b""
        while len(received) < expected:  # every PUBACK: the broker holds them all
            chunk = self.sock.recv(65536)
            assert chunk, "the broker closed the connection"
            received += chunk

    def close(self) -> None:
        self.sock.sendall(b"\xe0\x00")
        self.sock.close()


def count(cluster: Cluster, sql: str) -> int:
    with cluster.database.engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar_one())


def test_20000_qos1_messages_over_a_shared_subscription_are_stored_once(
    cluster: Cluster, broker_url: str
) -> None:
    entities = 20
    for e in range(entities):
        make_series(cluster.database, f"B{e:04d}", agency="BENCH")
    group, prefix = f"g{uuid.uuid4().hex[:6]}", f"t{uuid.uuid4().hex[:6]}"
    nodes = [
        cluster.add(
            f"node{n}",
            mqtt_url=broker_url,
            mqtt_topic_prefix=f"$share/{group}/{prefix}",
            mqtt_client_id=f"taydo-cluster-{group}-{n}",
        ).start()
        for n in range(1, 4)
    ]
    for node in nodes:
        node.wait_ready(cluster.admin)
    # Every gateway subscribed before the first message: each one answers once connected.
    for node in nodes:
        wait_for(lambda n=node: "MQTT gateway connected" in n.log.read_text(), timeout=30)
    publisher = Publisher(broker_url)
    total, chunk = 20_000, 2_000
    try:
        for start in range(0, total, chunk):
            publisher.publish(
                [
                    (
                        f"{prefix}/BENCH/B{i % entities:04d}/attrs",
                        b'{"height": %d.%02d, "ts": %d}'
                        % (i % 9, i % 100, TS + (i // entities) * 1000),
                    )
                    for i in range(start, start + chunk)
                ]
            )
            # Paced by what is stored: a shared broker keeps a bounded queue per subscriber.
            wait_for(
                lambda s=start: count(cluster, "SELECT count(*) FROM observations") >= s + chunk,
                timeout=60,
            )
    finally:
        publisher.close()
    assert count(cluster, "SELECT count(*) FROM observations") == total
    assert count(cluster, "SELECT count(DISTINCT (series_id, ts)) FROM observations") == total
    assert count(cluster, "SELECT count(*) FROM quarantine") == 0
    for node in nodes:
        assert node.terminate() is not None


def test_a_rolling_restart_under_load_loses_nothing(cluster: Cluster) -> None:
    ids = make_series(cluster.database, "ROLL-1")
    entity = "urn:ngsi-ld:WaterObserved:ROLL-1"
    nodes = cluster.start(3)
    acknowledged: set[int] = set()
    sent: set[int] = set()
    stop = threading.Event()
    errors: list[str] = []

    def load() -> None:
        batch, size = 0, 50
        with httpx.Client(headers=cluster.admin, timeout=15) as client:
            while not stop.is_set():
                stamps = [TS + (batch * size + k) * 1000 for k in range(size)]
                items = [
                    {"entity_id": entity, "metric": "height", "ts": ts, "value": 1.0}
                    for ts in stamps
                ]
                sent.update(stamps)
                for attempt in range(30):  # as a reverse proxy would: the next process
                    node = nodes[(batch + attempt) % len(nodes)]
                    try:
                        answer = client.post(f"{node.url}/api/v1/observations", json=items)
                    except httpx.HTTPError:
                        continue
                    if answer.status_code == 200:
                        acknowledged.update(stamps)
                        break
                else:
                    errors.append(f"batch {batch} refused by every process")
                batch += 1

    sender = threading.Thread(target=load, daemon=True)
    sender.start()
    try:
        for node in nodes:
            before = len(acknowledged)
            wait_for(lambda b=before: len(acknowledged) >= b + 500, timeout=60)
            assert node.terminate() is not None  # within 10 s, under load
            node.start().wait_ready(cluster.admin)
        before = len(acknowledged)
        wait_for(lambda: len(acknowledged) >= before + 500, timeout=60)
    finally:
        stop.set()
        sender.join(timeout=60)
    assert errors == []
    with cluster.database.engine.connect() as connection:
        stored = {
            int(row[0])
            for row in connection.execute(
                text("SELECT ts FROM observations WHERE series_id = :s"), {"s": ids["height"]}
            )
        }
    assert acknowledged <= stored  # nothing acknowledged was lost
    assert stored <= sent
