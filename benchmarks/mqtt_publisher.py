"""A fast QoS 1 MQTT 3.1.1 publisher for the benchmark (run as its own process).

``mosquitto_pub -l`` is disconnected by Mosquitto 2.0.11 ("out of memory") after ~35,000
pipelined QoS 1 messages, so the benchmark publishes with this small blocking-socket client:
it keeps up to ``window`` messages unacknowledged and counts PUBACKs until every message is
acknowledged by the broker.

Usage: python benchmarks/mqtt_publisher.py HOST PORT COUNT ENTITIES [TOPIC_PREFIX]
Message i goes to ``<prefix>/BENCH/B<i % ENTITIES, 4 digits>/attrs``, payload
``{"height": v, "ts": ms}``.
"""

from __future__ import annotations

import socket
import struct
import sys
import time

BASE_TS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value % 128
        value //= 128
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("!H", len(data)) + data


def publish(host: str, port: int, count: int, entities: int, prefix: str = "taydo") -> float:
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    body = (
        _string("MQTT")
        + bytes([4, 0x02])
        + struct.pack("!H", 60)
        + _string(f"bench-pub-{time.time_ns()}")
    )
    sock.sendall(b"\x10" + _varint(len(body)) + body)
    assert sock.recv(4)[:2] == b"\x20\x02"
    topics = [_string(f"{prefix}/BENCH/B{e:04d}/attrs") for e in range(entities)]
    window = 20_000
    chunk = 500
    sent = acked = 0
    pending = b""
    started = time.perf_counter()
    while acked < count:
        if sent < count and sent - acked < window:
            packets = []
            for i in range(sent, min(count, sent + chunk)):
                payload = b'{"height": %d.%02d, "ts": %d}' % (
                    i % 9,
                    i % 100,
                    BASE_TS + (i // entities) * 1000,
                )
                mid = i % 65535 + 1
                rest = topics[i % entities] + struct.pack("!H", mid) + payload
                packets.append(b"\x32" + _varint(len(rest)) + rest)
            sock.sendall(b"".join(packets))
            sent += len(packets)
            sock.setblocking(False)
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                data = b""
            sock.setblocking(True)
        else:
            data = sock.recv(65536)
            if not data:
                raise SystemExit("broker closed the connection")
        pending += data
        whole = len(pending) // 4 * 4  # PUBACKs are 4 bytes each (v3.1.1)
        acked += whole // 4
        pending = pending[whole:]
    elapsed = time.perf_counter() - started
    sock.sendall(b"\xe0\x00")
    sock.close()
    return elapsed


if __name__ == "__main__":
    host, port, count, entities = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    prefix = sys.argv[5] if len(sys.argv) > 5 else "taydo"
    seconds = publish(host, port, count, entities, prefix)
    print(f"published {count} QoS 1 messages in {seconds:.2f} s ({count / seconds:,.0f}/s)")
