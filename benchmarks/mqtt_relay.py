"""A TCP relay between one MQTT subscriber and the broker that times the subscriber's PUBACKs.

Run as its own process by ``benchmarks/mqtt.py``: the benchmark stops its clock when the
subscriber's last PUBACK has gone over the wire to the broker, not when the subscriber says it
is done. For the IOC's gateway a PUBACK is sent only after its message is committed, so that
moment is "every message committed and acknowledged"; for ``mosquitto_sub`` it is "every message
received and acknowledged".

It accepts one connection, connects to the broker, copies bytes both ways unchanged, and parses
the subscriber → broker stream into MQTT packets (fixed header and remaining length, the same
in MQTT 3.1.1 and 5). Each time the count of PUBACKs (type 4) passes a multiple of 10,000 or
reaches the expected total, it prints ``<pubacks> <time.monotonic()>``; when the count passes the
total (a message acknowledged twice) it prints ``extra <pubacks>``. ``time.monotonic`` is the
same clock in every process of the machine (CLOCK_MONOTONIC), so the benchmark compares it with
its own.

It also parses the broker → subscriber stream until the first SUBACK and then prints
``subscribed``: from then on the broker routes published messages to the subscriber.

Usage: python benchmarks/mqtt_relay.py LISTEN_PORT BROKER_PORT EXPECTED
(prints ``ready`` once listening)
"""

from __future__ import annotations

import selectors
import socket
import sys
import time

CHUNK = 1 << 20


def _packets(buffer: bytearray) -> tuple[list[int], int]:
    """Packet types of every whole packet at the start of ``buffer``, and the bytes they use."""
    kinds: list[int] = []
    offset = 0
    size = len(buffer)
    while offset < size:
        length = 0
        shift = 0
        cursor = offset + 1
        while True:
            if cursor >= size:
                return kinds, offset
            byte = buffer[cursor]
            length |= (byte & 0x7F) << shift
            shift += 7
            cursor += 1
            if not byte & 0x80:
                break
        end = cursor + length
        if end > size:
            return kinds, offset
        kinds.append(buffer[offset] >> 4)
        offset = end
    return kinds, offset


def relay(listen_port: int, broker_port: int, expected: int) -> None:
    server = socket.create_server(("127.0.0.1", listen_port))
    print("ready", flush=True)
    client, _ = server.accept()
    server.close()
    broker = socket.create_connection(("127.0.0.1", broker_port))
    for sock in (client, broker):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    selector = selectors.DefaultSelector()
    selector.register(client, selectors.EVENT_READ, broker)
    selector.register(broker, selectors.EVENT_READ, client)
    upstream = bytearray()  # subscriber → broker bytes not yet parsed into whole packets
    downstream: bytearray | None = bytearray()  # broker → subscriber, until the SUBACK
    pubacks = 0
    while True:
        for key, _ in selector.select():
            source: socket.socket = key.fileobj  # type: ignore[assignment]
            data = source.recv(CHUNK)
            if not data:
                return
            key.data.sendall(data)
            if source is not client:
                if downstream is not None:
                    downstream += data
                    kinds, used = _packets(downstream)
                    del downstream[:used]
                    if 9 in kinds:
                        print("subscribed", flush=True)
                        downstream = None  # the rest is copied without being parsed
                continue
            upstream += data
            kinds, used = _packets(upstream)
            del upstream[:used]
            before = pubacks
            pubacks += kinds.count(4)
            if pubacks == before:
                continue
            now = time.monotonic()
            if before < expected <= pubacks:
                print(f"{expected} {now}", flush=True)
            elif pubacks < expected and pubacks // 10_000 != before // 10_000:
                print(f"{pubacks} {now}", flush=True)
            if pubacks > expected:
                print(f"extra {pubacks}", flush=True)


if __name__ == "__main__":
    relay(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
