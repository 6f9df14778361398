"""MQTT ingest, QoS 1, committed before acknowledgement — beside Mosquitto's own rate.

Starts a private Mosquitto, then, in the same run:

1. *Mosquitto alone*: the publisher process (``benchmarks/mqtt_publisher.py``) sends COUNT QoS 1
   messages to ``mosquitto_sub`` (the C client, QoS 1): the broker's own rate on this machine.
2. *The IOC*: the same publisher sends COUNT messages to the IOC's MQTT gateway, which parses,
   validates, group-commits and only then acknowledges each message (PUBACK).

Both subscribers reach the broker through ``benchmarks/mqtt_relay.py``, a relay process that
counts the subscriber's PUBACKs on the wire: each figure is messages per second from the first
message published to the subscriber's last PUBACK on its way to the broker (for the IOC: every
message committed, then acknowledged). The relay is in the path of both figures.

The run fails (exit status 1) unless: the relay saw exactly COUNT PUBACKs from each subscriber
(none missing, none twice), ``mosquitto_sub`` and the publisher exited cleanly, nothing was
quarantined, and the database holds exactly COUNT rows whose values sum to those sent.

Usage: python -m benchmarks.mqtt [--count 200000] [--entities 100] [--database URL] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text

from benchmarks.common import (
    JSON_HELP,
    create_app,
    fresh_database,
    machine,
    make_catalog,
    running,
    write_figures,
)
from taydo.core.settings import Settings
from taydo.ingest.mqtt.gateway import MqttGateway

FLOOR = 20_000  # messages/s, issue 4
PUBLISHER = str(Path(__file__).with_name("mqtt_publisher.py"))
RELAY = str(Path(__file__).with_name("mqtt_relay.py"))
TIMEOUT_S = 600


class Relay:
    """``benchmarks/mqtt_relay.py`` in its own process: the time of the subscriber's last PUBACK."""

    def __init__(self, broker_port: int, expected: int) -> None:
        self.port = free_port()
        self.expected = expected
        self.process = subprocess.Popen(
            [sys.executable, RELAY, str(self.port), str(broker_port), str(expected)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise SystemExit("FAILED: the PUBACK relay did not start")
        self.lines: list[str] = []
        self.done = threading.Event()
        self.subscribed = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.strip())
            if line.startswith("subscribed"):
                self.subscribed.set()
            if line.startswith(f"{self.expected} "):
                self.done.set()
        self.done.set()  # the relay ended: its subscriber disconnected

    def wait_subscribed(self) -> None:
        """Until the broker has granted the subscriber's subscription (its SUBACK passed)."""
        if not self.subscribed.wait(30):
            raise SystemExit("FAILED: the subscriber did not subscribe within 30 s")

    def last_puback(self, timeout: float = TIMEOUT_S) -> float:
        """``time.monotonic()`` when the expected PUBACK count was reached (fails otherwise)."""
        if not self.done.wait(timeout):
            raise SystemExit(f"FAILED: {self.expected:,} PUBACKs not seen in {timeout} s")
        for line in self.lines:
            if line.startswith(f"{self.expected} "):
                return float(line.split()[1])
        raise SystemExit(
            f"FAILED: the subscriber left before {self.expected:,} PUBACKs: {self.seen()}"
        )

    def seen(self) -> str:
        return self.lines[-1] if self.lines else "no PUBACK"

    def finish(self) -> None:
        """Once the subscriber has disconnected: fail if a message was acknowledged twice."""
        self.process.wait(60)
        self._reader.join(10)
        extra = [line for line in self.lines if line.startswith("extra")]
        if extra:
            raise SystemExit(f"FAILED: more PUBACKs than messages sent ({extra[-1]})")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_broker(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = free_port()
    config = folder / "mosquitto.conf"
    # The default max_queued_messages (1000) makes Mosquitto drop QoS 1 messages beyond the
    # in-flight window of a busy subscriber; a production broker needs it raised as well.
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 1000000\n"
    )
    process = subprocess.Popen([binary, "-c", str(config)], stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    raise SystemExit("mosquitto did not start")


def publisher(port: int, count: int, entities: int, prefix: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, PUBLISHER, "127.0.0.1", str(port), str(count), str(entities), prefix]
    )


def mosquitto_alone(port: int, count: int, entities: int) -> float:
    relay = Relay(port, count)
    sub = subprocess.Popen(
        [
            "mosquitto_sub",
            "-p",
            str(relay.port),
            "-q",
            "1",
            "-C",
            str(count),
            "-t",
            "alone/#",
            "-i",
            f"alone-{os.getpid()}",
        ],
        stdout=subprocess.DEVNULL,
    )
    relay.wait_subscribed()
    started = time.monotonic()
    pub = publisher(port, count, entities, "alone")
    finished = relay.last_puback()
    if sub.wait(timeout=60) != 0 or pub.wait(timeout=60) != 0:
        raise SystemExit(
            f"FAILED: mosquitto_sub rc {sub.returncode}, publisher rc {pub.returncode}"
        )
    relay.finish()
    return count / (finished - started)


def private_schema(url: str) -> tuple[str, Callable[[], None]]:
    """On PostgreSQL, a schema of this run (dropped after), so no table of the server's
    database is touched; SQLite URLs are used as they are."""
    if not url.startswith("postgresql"):
        return url, lambda: None
    schema = f"bench_mqtt_{os.getpid()}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}", drop


def expected_sum(count: int) -> float:
    """The sum of the values ``mqtt_publisher.py`` sends in COUNT messages."""
    return sum((i % 9) + (i % 100) / 100 for i in range(count))


async def through_ioc(port: int, count: int, entities: int, url: str) -> tuple[float, int, float]:
    database = fresh_database(url)
    make_catalog(database, entities=entities, metrics=("height",))
    relay = Relay(port, count)
    settings = Settings(
        database_url=url,
        dev=True,
        mqtt_url=f"mqtt://127.0.0.1:{relay.port}",
        mqtt_client_id=f"bench-ioc-{os.getpid()}",
        connectors_enabled=False,
        _env_file=None,  # type: ignore[call-arg]
    )
    app = create_app(settings, database=database)
    async with app.router.lifespan_context(app):
        gateway = running(app, MqttGateway, "mqtt")
        await asyncio.wait_for(gateway.connected.wait(), 30)
        await asyncio.to_thread(relay.wait_subscribed)
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        started = time.monotonic()
        pub = publisher(port, count, entities, "taydo")
        finished = await asyncio.to_thread(relay.last_puback)
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        if await asyncio.to_thread(pub.wait, 60) != 0:
            raise SystemExit(f"FAILED: publisher rc {pub.returncode}")
        stats = gateway.stats
    await asyncio.to_thread(relay.finish)  # the gateway has disconnected: no PUBACK twice
    with database.engine.connect() as connection:
        rows, total = connection.execute(
            text("SELECT count(*), coalesce(sum(value), 0) FROM observations")
        ).one()
    database.dispose()
    if stats.quarantined:
        raise SystemExit(f"FAILED: {stats.quarantined} messages quarantined")
    if rows != count:
        raise SystemExit(f"FAILED: {rows:,} rows stored for {count:,} messages acknowledged")
    if abs(total - expected_sum(count)) > 1e-6 * count:
        raise SystemExit(f"FAILED: stored values sum to {total}, sent {expected_sum(count)}")
    cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    return count / (finished - started), int(rows), cpu / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--entities", type=int, default=100)
    parser.add_argument("--database", default="", help="SQLAlchemy URL (default: SQLite file)")
    parser.add_argument("--json", type=Path, help=JSON_HELP)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as folder:
        broker, port = start_broker(Path(folder))
        try:
            url = args.database or f"sqlite:///{folder}/bench.db"
            alone = mosquitto_alone(port, args.count, args.entities)
            private, drop = private_schema(url)
            try:
                ioc, rows, cpu_us = asyncio.run(
                    through_ioc(port, args.count, args.entities, private)
                )
            finally:
                drop()
        finally:
            broker.terminate()
            broker.wait(10)
    backend = url.split(":", 1)[0]
    print(f"messages: {args.count:,} QoS 1, {args.entities} entities, database {backend}")
    print(f"Mosquitto alone (publisher → mosquitto_sub): {alone:,.0f} msg/s")
    print(
        f"IOC gateway, committed before PUBACK (timed to its last PUBACK): {ioc:,.0f} msg/s "
        f"({ioc / alone:.2f} of Mosquitto alone; floor {FLOOR:,} msg/s: "
        f"{'PASS' if ioc >= FLOOR else 'BELOW'}); {rows:,} rows stored, values checked; "
        f"gateway process CPU {cpu_us:.1f} µs/message"
    )
    write_figures(
        args.json,
        "mqtt",
        {
            "MQTT ingest": (ioc, "msg/s", "higher"),
            "gateway CPU per message": (cpu_us, "µs", "lower"),
            "Mosquitto alone": (alone, "msg/s", "higher"),
            "ratio to Mosquitto alone": (ioc / alone, "", "higher"),
        },
    )


if __name__ == "__main__":
    main()
