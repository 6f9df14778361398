"""NGSI-LD notification fan-out: 1,000 subscriptions, 1,000 updates/s.

In one run, on one database:

1. ingest rate of the group-commit writer with no subscription (``--points`` values written
   as fast as the writer takes them, on 1,000 entities);
2. 1,000 subscriptions are created (one per entity, ``watchedAttributes: ["height"]``, their
   receivers spread over ``--endpoints`` HTTP servers in another process, so over as many
   per-endpoint queues of the outbox);
3. delivery latency: ``--rate`` updates/s for ``--seconds`` s; each value is unique, so each
   notification received is paired with the value it carries: latency = received by the
   receiver − committed by the writer (p50/p95/p99); the run fails if a value is never
   notified or is notified twice;
4. ingest rate again, with the 1,000 subscriptions matching every value (the notifier still
   sending what phase 3 and 4 queued).

Run: ``.venv/bin/python -m benchmarks.ngsild_subscriptions [--seconds 10] [--json PATH]``
(an SQLite file in a temp dir); with
``TAYDO_BENCH_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test`` a fresh schema
on that PostgreSQL server instead (dropped at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import create_engine, text

from benchmarks.common import JSON_HELP, create_app, free_port, machine, make_catalog, write_figures
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.migrate import upgrade
from taydo.core.settings import Settings
from taydo.observations.service import ObservationWriter, Point
from taydo.subscriptions.runtime import SubscriptionsRuntime
from taydo.subscriptions.schemas import check_subscription
from taydo.subscriptions.service import create_subscription

SUBSCRIPTIONS = 1_000
BATCH = 100


def _receive(ports: list[int], arrivals: Any, ready: Any) -> None:
    """Receivers (one HTTP server per port, threads): each value notified → (value, time)."""
    import threading

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            now = time.monotonic()
            for entity in body["data"]:
                arrivals.put((entity["height"]["value"], now))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    for port in ports:
        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    ready.set()
    threading.Event().wait()


def _outbox_times(database: Database) -> dict[str, float]:
    """Where the delivery time went: queued (matched) → sent, from the outbox rows."""
    with database.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT created_at, sent_at FROM notify_outbox WHERE channel_code LIKE 'ngsi-ld:%'"
            )
        ).all()
    if not rows:
        return {}

    def aware(moment: Any) -> Any:
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    created = [aware(c) if not isinstance(c, str) else datetime.fromisoformat(c) for c, _ in rows]
    waits = sorted(
        (aware(datetime.fromisoformat(s) if isinstance(s, str) else s) - aware(c)).total_seconds()
        * 1000
        for c, s in zip(created, (s for _c, s in rows), strict=True)
        if s is not None
    )
    q = statistics.quantiles(waits, n=100) if len(waits) > 1 else [0.0] * 99
    return {
        "rows": float(len(rows)),
        "sent": float(len(waits)),
        "queued_span": (max(created) - min(created)).total_seconds(),
        "p50": q[49],
        "p99": q[98],
    }


async def _ingest(writer: ObservationWriter, series: list[int], points: int, base: int) -> float:
    """Values per second the writer commits (batches of 1,000 sent all at once)."""
    started = time.perf_counter()
    await asyncio.gather(
        *[
            writer.write(
                [
                    Point(series[i % len(series)], base + k * 1000 + i // len(series), 0.5)
                    for i in range(1000)
                ]
            )
            for k in range(points // 1000)
        ]
    )
    return points / (time.perf_counter() - started)


async def _run(
    app: Any, database: Database, ports: list[int], args: Any, arrivals: Any
) -> dict[str, float]:
    catalog = await asyncio.to_thread(make_catalog, database, SUBSCRIPTIONS, ("height",))
    series = [s for _e, _m, s in catalog]
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        writer = runtime.get(ObservationWriter)
        subs = runtime.get(SubscriptionsRuntime)
        base = clock.now_ms() - 86_400_000
        await writer.write([Point(s, base - 1, 0.0) for s in series])  # warm-up
        without = await _ingest(writer, series, args.points, base)
        print(f"ingest, no subscription:       {without:,.0f} values/s")

        owner = Principal("bench", "admin")

        def subscribe() -> None:
            for n, (entity_id, _metric, _series) in enumerate(catalog):
                spec = check_subscription(
                    {
                        "type": "Subscription",
                        "entities": [{"id": entity_id, "type": "WaterObserved"}],
                        "watchedAttributes": ["height"],
                        "notification": {
                            "endpoint": {"uri": f"http://127.0.0.1:{ports[n % len(ports)]}/n"}
                        },
                    }
                )
                create_subscription(database, runtime.secrets, owner, spec, None)

        started = time.perf_counter()
        await asyncio.to_thread(subscribe)
        await subs.reload()
        print(f"{SUBSCRIPTIONS:,} subscriptions created in {time.perf_counter() - started:.1f} s")

        # Delivery latency at the offered rate.
        sent: dict[float, float] = {}
        total = int(args.rate * args.seconds)
        ts = base + 10_000_000
        value = 1.0
        started = time.perf_counter()

        async def one(batch: list[Point]) -> None:
            await writer.write(batch)  # answered once committed: the clock starts there
            now = time.monotonic()
            for point in batch:
                sent[point.value] = now

        writes = []
        for k in range(total // BATCH):
            batch = [
                Point(series[n % len(series)], ts + n, value + n)
                for n in range(k * BATCH, (k + 1) * BATCH)
            ]
            writes.append(asyncio.create_task(one(batch)))  # the offered rate, not awaited
            ahead = started + (k + 1) * BATCH / args.rate - time.perf_counter()
            if ahead > 0:
                await asyncio.sleep(ahead)
        offered = total / (time.perf_counter() - started)
        await asyncio.gather(*writes)
        received: dict[float, float] = {}
        twice = 0
        deadline = time.monotonic() + args.drain
        while len(received) < total and time.monotonic() < deadline:
            while not arrivals.empty():
                got, at = arrivals.get_nowait()
                if got in received:
                    twice += 1
                received[got] = at
            await asyncio.sleep(0.05)
        latencies = sorted((received[v] - sent[v]) * 1000 for v in sent if v in received)
        missing = total - len(latencies)
        q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
        print(
            f"delivery at {offered:,.0f} updates/s for {args.seconds} s ({total:,} notifications, "
            f"{len(ports)} receivers): p50 {q[49]:.0f} ms  p95 {q[94]:.0f} ms  p99 {q[98]:.0f} ms"
            f"  missing {missing}  twice {twice}"
        )

        outbox = await asyncio.to_thread(_outbox_times, database)
        if outbox:
            print(
                f"  of which in the outbox: {outbox['rows']:,} notifications queued over "
                f"{outbox['queued_span']:.1f} s; queued → sent p50 {outbox['p50']:.0f} ms, "
                f"p99 {outbox['p99']:.0f} ms; {outbox['sent']:,} sent"
            )
        with_subs = await _ingest(writer, series, args.points, base + 20_000_000)
        print(
            f"ingest, {SUBSCRIPTIONS:,} subscriptions: {with_subs:,.0f} values/s "
            f"({(with_subs / without - 1) * 100:+.0f} %)"
        )
        subs_queue = [
            s for s in runtime.bus._subscriptions if s.pattern == "observations.committed"
        ]
        dropped = sum(s.dropped for s in subs_queue)
        if missing or twice or dropped:
            print(
                f"FAILED: {missing} values never notified, {twice} twice, {dropped} batches dropped"
            )
    return {
        "ingest_without": without,
        "ingest_with": with_subs,
        "p50": q[49],
        "p95": q[94],
        "p99": q[98],
        "offered": offered,
        "missing": float(missing),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--points", type=int, default=50_000)
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--drain", type=float, default=120.0, help="seconds to wait for the last")
    parser.add_argument("--json", default=None, help=JSON_HELP)
    args = parser.parse_args()
    print(machine())
    pg = os.environ.get("TAYDO_BENCH_POSTGRES_URL")
    schema = None
    with tempfile.TemporaryDirectory() as folder:
        if pg:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(pg)
            with admin.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            sep = "&" if "?" in pg else "?"
            url = f"{pg}{sep}options=-csearch_path%3D{schema}"
        else:
            url = f"sqlite:///{folder}/bench.db"
        print(f"database: {'PostgreSQL' if pg else 'SQLite'}")
        ports = [free_port() for _ in range(args.endpoints)]
        context = multiprocessing.get_context("fork")
        arrivals = context.Queue()
        ready = context.Event()
        receivers = context.Process(target=_receive, args=(ports, arrivals, ready), daemon=True)
        receivers.start()
        ready.wait(10)
        database = Database(url)
        upgrade(database)
        settings = Settings(  # type: ignore[call-arg]
            database_url=url, dev=True, observations_pack_after_hours=0, _env_file=None
        )
        app = create_app(settings, database=database)
        try:
            figures = asyncio.run(_run(app, database, ports, args, arrivals))
        finally:
            receivers.terminate()
            database.dispose()
            if schema is not None:
                with admin.begin() as connection:
                    connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    write_figures(
        args.json,
        "ngsild_subscriptions",
        {
            "ingest_without_subscriptions": (figures["ingest_without"], "values/s", "higher"),
            "ingest_with_1000_subscriptions": (figures["ingest_with"], "values/s", "higher"),
            "notification_p99": (figures["p99"], "ms", "lower"),
        },
    )
    if figures["missing"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
