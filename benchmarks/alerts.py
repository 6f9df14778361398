"""Alert latency and rule cost (needs the observation writer of the obs domain).

1. committed observation → alert transition received on the SSE stream, p50/p95/p99, while
   10,000 observations/s are written in the background (budget: p99 ≤ 50 ms). Each probe
   writes one value that fires or clears the probe rule; the value is unique to the probe, so
   every transition received is paired with the probe whose value it carries. The run fails
   when a probe's transition is missing, arrives twice or out of place, or the stream resyncs;
2. ingest throughput of the group-commit writer with 1 rule (the probe rule alone) and with
   1,000 rules loaded, the engine keeping up (budget: at most 20 % slower). The run fails
   unless the database holds every point written.

Run: ``.venv/bin/python benchmarks/alerts.py [--latency-only] [--probes 300] [--json PATH]``
(SQLite files in a temp dir); with
``TAYDO_BENCH_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test`` each run gets a
fresh schema on that PostgreSQL server instead (dropped at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import tempfile
import threading
import time

import httpx
import orjson
import uvicorn
from sqlalchemy import create_engine, text

from benchmarks.common import JSON_HELP, create_app, running, running_bus, write_figures
from taydo.alerts.runtime import AlertingRuntime
from taydo.auth.service import create_user, issue_token
from taydo.catalog.models import Agency, Dataset, Entity, Metric
from taydo.core import clock
from taydo.core.db import Database
from taydo.core.migrate import upgrade
from taydo.core.settings import Settings
from taydo.observations.service import ObservationWriter
from taydo.rules.service import parse_rule, save_rules

BACKGROUND_RATE = 10_000  # observations per second
BATCH = 1_000
PROBES = 300
LOAD_SERIES = 200


def setup(database: Database, n_rules: int, spread: str = "entity") -> tuple[int, list[int]]:
    now = clock.now()
    with database.session() as s:
        agency = Agency(code="BENCH", name="Bench", name_en="Bench", kind="so")
        s.add(agency)
        s.flush()
        ds = Dataset(
            code="bench",
            name="Bench",
            agency_id=agency.id,
            pillar="government",
            sector="environment",
            description="",
            update_interval_s=60,
            licence="",
        )
        s.add(ds)
        s.flush()
        ids = []
        for i in range(LOAD_SERIES + 1):
            e = Entity(
                entity_id=f"urn:ngsi-ld:WaterObserved:b{i}",
                type="WaterObserved",
                name=f"b{i}",
                agency_id=agency.id,
                dataset_id=ds.id,
                attributes={},
                tags=[f"t{i % 50}"],
                created_at=now,
                updated_at=now,
            )
            s.add(e)
            s.flush()
            m = Metric(entity_pk=e.id, name="height", unit="m")
            s.add(m)
            s.flush()
            ids.append(m.id)
    probe = {
        "code": "probe",
        "kind": "threshold",
        "name": "Probe",
        "metric": "height",
        "target": {"entities": ["urn:ngsi-ld:WaterObserved:b0"]},
        "levels": [{"code": "hi", "label": "Cao", "value": 100.0}],
    }
    rules = [parse_rule(probe)]
    for i in range(n_rules - 1):  # many rules selecting the loaded series, never firing
        rules.append(
            parse_rule(
                {
                    "code": f"r{i}",
                    "kind": "threshold",
                    "name": f"R{i}",
                    "metric": "height",
                    "target": {"tags": [f"t{i % 50}"]},
                    "levels": [{"code": "x", "label": "X", "value": 1e9}],
                }
            )
        )
    save_rules(database, rules)
    return ids[0], ids[1:]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_server(database: Database, settings: Settings):
    app = create_app(settings, database=database)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    loop = next(s.task for s in running_bus(app)._subscriptions if s.task).get_loop()
    return app, server, thread, loop


def probe_value(n: int) -> float:
    """Probe n's value: above the probe rule's level (100) for even n, below it for odd n, and
    unique, so the transition it causes can be told from every other one."""
    return 200.0 + n if n % 2 == 0 else -float(n)


def pair_probes(
    sent: list[float], received: list[tuple[float, dict[str, object]]], resyncs: list[str]
) -> list[float]:
    """Latency in ms of every probe, each paired with the transition that carries its value;
    fails (SystemExit) unless every probe caused exactly one transition, in order."""
    if resyncs:
        raise SystemExit(f"FAILED: the stream resynced {len(resyncs)} times (events dropped)")
    by_value = {probe_value(n): n for n in range(len(sent))}
    seen: list[int] = []
    for _arrival, alert in received:
        n = by_value.get(alert.get("value"))  # type: ignore[arg-type]
        if n is None:
            raise SystemExit(f"FAILED: a probe transition with an unknown value: {alert}")
        seen.append(n)
    if seen != list(range(len(sent))):
        missing = sorted(set(range(len(sent))) - set(seen))
        raise SystemExit(
            f"FAILED: {len(sent)} probes sent, {len(received)} transitions received; "
            f"missing {missing[:10]}, order {seen[:10]}…"
        )
    return [(arrival - sent[n]) * 1000 for n, (arrival, _alert) in zip(seen, received, strict=True)]


def latency(url: str, probes: int = PROBES) -> dict[str, float]:
    """Prints and returns the p50/p95/p99 committed → SSE latency in ms."""
    database = Database(url)
    upgrade(database)
    probe, load = setup(database, 1)
    user = create_user(database, "bench", "operator")
    _row, token = issue_token(database, user.id, "bench")
    settings = Settings(database_url=url, dev=True, port=free_port())  # type: ignore[call-arg]
    app, server, thread, loop = run_server(database, settings)
    from taydo.observations.service import Point

    received: list[tuple[float, dict[str, object]]] = []  # (arrival, alert) of the probe rule
    resyncs: list[str] = []
    ready = threading.Event()

    def listen() -> None:
        with httpx.stream(
            "GET",
            f"http://127.0.0.1:{settings.port}/api/v1/stream",
            headers={"Authorization": f"Bearer {token}"},
            timeout=None,
        ) as r:
            ready.set()
            for line in r.iter_lines():
                if line.startswith("data:") and '"rule":"probe"' in line:
                    received.append((time.perf_counter(), orjson.loads(line[5:])))
                elif line.startswith("event: resync"):
                    resyncs.append(line)

    threading.Thread(target=listen, daemon=True).start()
    ready.wait(10)
    writer = running(app, ObservationWriter, "writer")
    stop = False

    async def background() -> None:
        ts = clock.now_ms()
        while not stop:
            started = time.perf_counter()
            ts += 1
            await writer.write(
                [
                    Point(load[i % len(load)], ts + i // len(load), float(i % 7))
                    for i in range(BATCH)
                ]
            )
            await asyncio.sleep(max(0.0, BATCH / BACKGROUND_RATE - (time.perf_counter() - started)))

    bg = asyncio.run_coroutine_threadsafe(background(), loop)
    sent: list[float] = []
    base = clock.now_ms()
    for n in range(probes):  # alternate fire / clear: each write is one transition
        value = probe_value(n)
        done = asyncio.run_coroutine_threadsafe(writer.write([Point(probe, base + n, value)]), loop)
        done.result(10)
        sent.append(time.perf_counter())  # committed: the writer returned
        time.sleep(0.05)
    deadline = time.perf_counter() + 10  # the last transitions are still on their way
    while len(received) < probes and time.perf_counter() < deadline:
        time.sleep(0.01)
    stop = True
    bg.result(30)
    server.should_exit = True
    thread.join(10)
    database.dispose()
    latencies = sorted(pair_probes(sent, received, resyncs))
    q = statistics.quantiles(latencies, n=100)
    print(
        f"committed → SSE alert, {len(latencies)} probes at {BACKGROUND_RATE} obs/s background: "
        f"p50 {q[49]:.1f} ms  p95 {q[94]:.1f} ms  p99 {q[98]:.1f} ms  (budget p99 ≤ 50 ms)"
    )
    return {"p50": q[49], "p95": q[94], "p99": q[98]}


def throughput(
    url_factory, n_rules: int, spread: str = "entity", points: int = 200_000
) -> tuple[float, float]:
    """Committed-and-evaluated observations per second, and the share of that wall time the
    engine spent evaluating (measured around ``Engine.observe``: stable where throughput is
    noisy on a shared 2-core machine)."""
    url = url_factory()
    database = Database(url)
    upgrade(database)
    _probe, load = setup(database, n_rules, spread)
    settings = Settings(database_url=url, dev=True, port=free_port())  # type: ignore[call-arg]
    app, server, thread, loop = run_server(database, settings)
    from taydo.observations.service import Point

    engine = running(app, AlertingRuntime, "alerting").engine
    spent = [0.0]
    observe = engine.observe

    def timed(batch, now_ms):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return observe(batch, now_ms)
        finally:
            spent[0] += time.perf_counter() - started

    engine.observe = timed

    async def drained() -> None:
        while any(s.queue.qsize() for s in running_bus(app)._subscriptions):  # noqa: ASYNC110
            await asyncio.sleep(0.01)  # the engine has evaluated everything

    async def run() -> float:
        # warm-up: every series once, so the engine has matched its rules (a one-time cost
        # per series and rule change) before the clock starts
        await running(app, ObservationWriter, "writer").write(
            [Point(series, 1, 0.5) for series in load]
        )
        while len(engine._plans) < len(load):  # noqa: ASYNC110 - plans built for every series
            await asyncio.sleep(0.01)
        spent[0] = 0.0
        started = time.perf_counter()
        base = clock.now_ms()
        await asyncio.gather(
            *[
                running(app, ObservationWriter, "writer").write(
                    [Point(load[i % len(load)], base + k * BATCH + i, 0.5) for i in range(BATCH)]
                )
                for k in range(points // BATCH)
            ]
        )
        await drained()
        elapsed = time.perf_counter() - started
        return points / elapsed, spent[0] / elapsed

    rate, share = asyncio.run_coroutine_threadsafe(run(), loop).result(600)
    server.should_exit = True
    thread.join(10)
    with database.engine.connect() as connection:
        stored = connection.execute(text("SELECT count(*) FROM observations")).scalar_one()
    database.dispose()
    written = len(load) + points // BATCH * BATCH  # the warm-up point of every series, then the run
    if stored != written:
        raise SystemExit(f"FAILED: {stored:,} observations stored, {written:,} written")
    return rate, share


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--latency-only", action="store_true", help="skip the throughput runs (0 and 1,000 rules)"
    )
    parser.add_argument("--probes", type=int, default=PROBES, help="latency probes (fire/clear)")
    parser.add_argument("--json", help=JSON_HELP)
    args = parser.parse_args()
    try:
        import taydo.observations.service  # noqa: F401
        from taydo.observations.service import Point  # noqa: F401
    except ImportError:
        print("needs taydo.observations.service.ObservationWriter (obs domain); not installed")
        sys.exit(2)
    folder = tempfile.mkdtemp()
    counter = iter(range(100))
    postgres = os.environ.get("TAYDO_BENCH_POSTGRES_URL")
    schemas: list[str] = []

    def fresh() -> str:
        number = next(counter)
        if not postgres:
            return f"sqlite:///{folder}/bench-{number}.db"
        schema = f"bench_alerts_{os.getpid()}_{number}"
        with create_engine(postgres).begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        schemas.append(schema)
        return f"{postgres}?options=-csearch_path%3D{schema}"

    print(f"database: {'PostgreSQL' if postgres else 'SQLite'}")
    try:
        figures = run(fresh, args)
    finally:
        if postgres:
            with create_engine(postgres).begin() as connection:
                for schema in schemas:
                    connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    write_figures(args.json, "alerts", figures)


def engine_only(points: int = 200_000) -> dict[str, float]:
    """The engine alone on an in-memory catalog: µs per observation with 1,000 rules (printed
    and returned by spread)."""
    from taydo.catalog.series import SeriesInfo
    from taydo.rules.engine import Engine

    infos = {
        i: SeriesInfo(
            i,
            i,
            f"urn:ngsi-ld:WaterObserved:b{i}",
            "WaterObserved",
            "height",
            "m",
            "BENCH",
            None,
            1,
            None,
            None,
            (f"t{i % 50}",),
        )
        for i in range(1, LOAD_SERIES + 1)
    }

    class View:
        def series(self, series_id):  # type: ignore[no-untyped-def]
            return infos.get(series_id)

        def attributes(self, _pk):  # type: ignore[no-untyped-def]
            return {}

        def dataset(self, _id):  # type: ignore[no-untyped-def]
            return ("bench", 60)

        def all_series(self):  # type: ignore[no-untyped-def]
            return infos.values()

    batch = [(1 + i % LOAD_SERIES, 10 + i, 0.5) for i in range(points)]
    out: dict[str, float] = {}
    for spread in ("entity", "tag"):
        rules = [
            parse_rule(
                {
                    "code": f"r{k}",
                    "kind": "threshold",
                    "name": "R",
                    "metric": "height",
                    "target": {"entities": [f"urn:ngsi-ld:WaterObserved:b{1 + k % LOAD_SERIES}"]}
                    if spread == "entity"
                    else {"tags": [f"t{k % 50}"]},
                    "levels": [{"code": "x", "label": "X", "value": 1e9}],
                }
            )
            for k in range(1000)
        ]
        engine = Engine(View(), rules)  # type: ignore[arg-type]
        engine.observe(batch[:LOAD_SERIES], 0)  # warm-up: match rules once per series
        started = time.perf_counter()
        for start in range(LOAD_SERIES, points, BATCH):
            engine.observe(batch[start : start + BATCH], 0)
        per_point = (time.perf_counter() - started) / (points - LOAD_SERIES) * 1e6
        print(f"engine alone, 1,000 rules by {spread}: {per_point:.2f} µs per observation")
        out[spread] = per_point
    return out


Figures = dict[str, tuple[float, str, str]]


def run(fresh, args: argparse.Namespace) -> Figures:
    engine = engine_only()
    quantiles = latency(fresh(), args.probes)
    figures: Figures = {
        f"obs→alert {name}": (value, "ms", "lower") for name, value in quantiles.items()
    }
    for spread, per_point in engine.items():
        figures[f"engine, 1,000 rules by {spread}"] = (per_point, "µs/obs", "lower")
    if args.latency_only:
        return figures
    # best of two runs each: a 2-core machine is noisy
    base, base_share = max(throughput(fresh, 1) for _ in range(2))
    print(
        f"ingest (committed and evaluated) with 1 rule: {base:,.0f} obs/s "
        f"(engine {100 * base_share:.1f} % of the time)"
    )
    figures["ingest with 1 rule"] = (base, "obs/s", "higher")
    for spread, shape in (("entity", "5 rules per series"), ("tag", "20 rules per series")):
        loaded, share = max(throughput(fresh, 1000, spread) for _ in range(2))
        print(
            f"  with 1,000 rules ({shape}): {loaded:,.0f} obs/s "
            f"({100 * (loaded / base - 1):+.1f} % vs 1 rule); engine {100 * share:.1f} % of the "
            f"time (budget: rule evaluation ≤ 20 %)"
        )
        figures[f"ingest with 1,000 rules by {spread}"] = (loaded, "obs/s", "higher")
    return figures


if __name__ == "__main__":
    main()
