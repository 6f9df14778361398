"""MQTT ingest, QoS 1, committed before acknowledgement — beside Mosquitto's own rate.

Starts a private Mosquitto, then, in the same run:

1. *Mosquitto alone*: the publisher process (``benchmarks/mqtt_publisher.py``) sends COUNT QoS 1
   messages to ``mosquitto_sub`` (the C client, QoS 1): the broker's own rate on this machine.
2. *The IOC*: the same publisher sends COUNT messages to the IOC's MQTT gateway, which parses,
   validates, group-commits and only then acknowledges each message. The figure is committed
   messages per second, from the first message published to the last one committed; the
   stored rows are counted afterwards.

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
    sub = subprocess.Popen(
        [
            "mosquitto_sub",
            "-p",
            str(port),
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
    time.sleep(0.5)  # let the subscription settle
    started = time.perf_counter()
    pub = publisher(port, count, entities, "alone")
    sub.wait(timeout=600)
    elapsed = time.perf_counter() - started
    pub.wait(timeout=60)
    return count / elapsed


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


async def through_ioc(port: int, count: int, entities: int, url: str) -> tuple[float, int, float]:
    database = fresh_database(url)
    make_catalog(database, entities=entities, metrics=("height",))
    settings = Settings(
        database_url=url,
        dev=True,
        mqtt_url=f"mqtt://127.0.0.1:{port}",
        mqtt_client_id=f"bench-ioc-{os.getpid()}",
        connectors_enabled=False,
        _env_file=None,  # type: ignore[call-arg]
    )
    app = create_app(settings, database=database)
    async with app.router.lifespan_context(app):
        gateway = running(app, MqttGateway, "mqtt")
        await asyncio.wait_for(gateway.connected.wait(), 30)
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        pub = publisher(port, count, entities, "taydo")
        while gateway.stats.committed_messages < count:
            await asyncio.sleep(0.01)
            if pub.poll() not in (None, 0):
                raise SystemExit("publisher failed")
        elapsed = time.perf_counter() - started
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        await asyncio.to_thread(pub.wait, 60)
        stats = gateway.stats
    with database.engine.connect() as connection:
        rows = connection.execute(text("SELECT count(*) FROM observations")).scalar_one()
    database.dispose()
    cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    assert stats.quarantined == 0, f"{stats.quarantined} messages quarantined"
    return count / elapsed, int(rows), cpu / count * 1e6


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
        f"IOC gateway, committed before PUBACK: {ioc:,.0f} msg/s "
        f"({ioc / alone:.2f} of Mosquitto alone; floor {FLOOR:,} msg/s: "
        f"{'PASS' if ioc >= FLOOR else 'BELOW'}); {rows:,} rows stored; "
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
