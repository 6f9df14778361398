"""NGSI-LD notification delivery through the outbox: an HTTP endpoint against an MQTT one.

One app, one database, one HTTP receiver (a thread) and one MQTT subscriber (a real broker:
``TAYDO_BENCH_MQTT_URL``, default ``mqtt://127.0.0.1:1883``). Each round queues ``--count``
notifications of one subscription in the outbox (``enqueue_post``, as the matcher does) and
times until the receiver has every one: rounds alternate HTTP, MQTT, HTTP, MQTT … so both are
measured under the same load. The MQTT sender opens one connection per notification (the
outbox's retries are its reconnect logic): this measures what that costs.

Run: ``.venv/bin/python -m benchmarks.ngsild_notify_channels [--count 200] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import aiomqtt

from benchmarks.common import JSON_HELP, create_app, free_port, machine, write_figures
from taydo.alerts.outbound import enqueue_post
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.migrate import upgrade
from taydo.core.settings import Settings
from taydo.ingest.mqtt.gateway import parse_broker_url
from taydo.subscriptions.runtime import SubscriptionsRuntime
from taydo.subscriptions.schemas import check_subscription
from taydo.subscriptions.service import create_subscription
from taydo.subscriptions.service.notifications import EVENT, KIND


class Counter:
    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def add(self) -> None:
        with self.lock:
            self.count += 1


def _http_receiver(counter: Counter) -> int:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            counter.add()
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return port


async def _mqtt_receiver(url: str, topic: str, counter: Counter, ready: asyncio.Event) -> None:
    address = parse_broker_url(url)
    async with aiomqtt.Client(address.host, address.port) as client:
        await client.subscribe(topic, qos=1)
        ready.set()
        async for _message in client.messages:
            counter.add()


def _queue(database: Database, sub_id: str, url: str, count: int) -> None:
    queue = "ngsi-ld:" + url.split("/")[2]
    with database.session() as session:
        for n in range(count):
            enqueue_post(
                session,
                kind=KIND,
                ref=sub_id,
                queue=queue,
                url=url,
                body={"type": "Notification", "subscriptionId": sub_id, "data": [{"n": n}]},
                headers={"Content-Type": "application/json"},
                event=EVENT,
            )


async def _run(app: Any, database: Database, args: Any, mqtt_url: str) -> dict[str, list[float]]:
    http_count, mqtt_count = Counter(), Counter()
    port = _http_receiver(http_count)
    topic = f"taydo-bench/{uuid.uuid4().hex[:8]}"
    address = parse_broker_url(mqtt_url)
    ready = asyncio.Event()
    listener = asyncio.create_task(_mqtt_receiver(mqtt_url, topic, mqtt_count, ready))
    await asyncio.wait_for(ready.wait(), 10)
    urls = {
        "http": (f"http://127.0.0.1:{port}/n", http_count),
        "mqtt": (f"mqtt://{address.host}:{address.port}/{topic}", mqtt_count),
    }
    rates: dict[str, list[float]] = {"http": [], "mqtt": []}
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        subs = runtime.get(SubscriptionsRuntime)
        owner = Principal("bench", "admin")
        ids = {}
        for name, (url, _counter) in urls.items():
            spec = check_subscription(
                {
                    "type": "Subscription",
                    "entities": [{"type": "WaterObserved"}],
                    "notification": {"endpoint": {"uri": url}},
                }
            )
            ids[name] = create_subscription(database, runtime.secrets, owner, spec, None)
        await subs.reload()
        for _round in range(args.rounds):
            for name, (url, counter) in urls.items():
                target = counter.count + args.count
                started = time.perf_counter()
                await asyncio.to_thread(_queue, database, ids[name], url, args.count)
                subs._wake()
                while counter.count < target:
                    if time.perf_counter() - started > args.timeout:
                        raise SystemExit(f"{name}: {target - counter.count} never arrived")
                    await asyncio.sleep(0.01)
                elapsed = time.perf_counter() - started
                rates[name].append(args.count / elapsed)
                print(f"{name}: {args.count} notifications in {elapsed:.2f} s", flush=True)
    listener.cancel()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--json", default=None, help=JSON_HELP)
    args = parser.parse_args()
    print(machine())
    mqtt_url = os.environ.get("TAYDO_BENCH_MQTT_URL", "mqtt://127.0.0.1:1883")
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        database = Database(url)
        upgrade(database)
        settings = Settings(  # type: ignore[call-arg]
            database_url=url, dev=True, observations_pack_after_hours=0, _env_file=None
        )
        app = create_app(settings, database=database)
        try:
            rates = asyncio.run(_run(app, database, args, mqtt_url))
        finally:
            database.dispose()
    medians = {name: statistics.median(values) for name, values in rates.items()}
    for name, values in rates.items():
        shown = ", ".join(f"{v:,.0f}" for v in values)
        print(f"{name}: median {medians[name]:,.0f} notifications/s (rounds: {shown})")
    print(json.dumps({"uptime": os.getloadavg()}))
    write_figures(
        args.json,
        "ngsild_notify_channels",
        {f"{name}_delivery": (v, "notifications/s", "higher") for name, v in medians.items()},
    )


if __name__ == "__main__":
    main()
