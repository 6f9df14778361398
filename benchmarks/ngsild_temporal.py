"""NGSI-LD temporal writes: 100,000 instances through ``POST /temporal/entities`` (issue 14).

Starts ``taydo serve`` on a fresh SQLite file and sends ``--instances`` instances (default
100,000) of one numeric attribute (``salinity``, 1-minute history) of ``--entities``
WaterQualityObserved entities (default 100), ``--per-request`` instances per request
(default 500), over ``--connections`` keep-alive connections (default 2): each entity's
first request creates it (201), the next ones add to its history (204). Then, in the same
run, on a second fresh server, the same number of observations in the same history shape
(series-major, 1,000 per request) through the plain HTTP ingest ``POST /api/v1/observations``
— the figure the temporal write is compared with, since both end in the same observation
writer. Both are counted in the database afterwards (every instance stored exactly once).

``--text``: the instances are texts (``status``, a Property of a handful of words), stored in
the attribute history (``ngsild_attribute_instances``) instead of the observation store;
there is no plain-ingest run to compare with then.
"""

from __future__ import annotations

import argparse
import http.client
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson

from benchmarks.common import Server, cpu_seconds, free_port, fresh_database, machine, make_catalog
from benchmarks.common import operator_token as _operator_token
from benchmarks.ingest import encode, make_rows, post_all
from benchmarks.ngsild import admin_token

START_MS = int(datetime(2026, 10, 1, tzinfo=UTC).timestamp() * 1000)
START_WAIT_S = 300.0
STATES = ("bình thường", "cảnh báo", "nguy hiểm", "bảo trì", "mất tín hiệu")
ATTRIBUTE = {False: "salinity", True: "status"}


class PatientServer(Server):
    """``benchmarks.common.Server`` waiting up to ``START_WAIT_S`` for the server to answer
    (on a 2-core machine shared with other work, start-up alone can take over a minute)."""

    def __init__(self, database_url: str, log: Path) -> None:
        self.port = free_port()
        env = {**os.environ, "TAYDO_DATABASE_URL": database_url, "TAYDO_PORT": str(self.port)}
        taydo = Path(sys.executable).with_name("taydo")
        self._log = log.open("w")
        self.process = subprocess.Popen(
            [str(taydo), "serve", "--dev"], env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + START_WAIT_S
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/openapi.json", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"server did not start; see {log}")


def temporal_bodies(
    entities: int, instances: int, per_request: int, text: bool = False
) -> list[list[bytes]]:
    """Per entity, its requests in order (the first creates it)."""
    per_entity = -(-instances // entities)
    out: list[list[bytes]] = []
    stamps: dict[int, str] = {}
    for n in range(entities):
        requests = []
        for offset in range(0, per_entity, per_request):
            items = []
            for k in range(offset, min(per_entity, offset + per_request)):
                ts = START_MS + k * 60_000
                when = stamps.get(ts)
                if when is None:
                    when = stamps[ts] = (
                        datetime.fromtimestamp(ts / 1000, UTC).isoformat().replace("+00:00", "Z")
                    )
                if text:
                    item = {"type": "Property", "value": STATES[(n + k) % 5], "observedAt": when}
                else:
                    item = {
                        "type": "Property",
                        "value": round(0.5 + (n + k) % 97 / 10, 2),
                        "observedAt": when,
                        "unitCode": "G42",
                    }
                items.append(item)
            body = {
                "id": f"urn:ngsi-ld:WaterQualityObserved:H{n:05d}",
                "type": "WaterQualityObserved",
                ATTRIBUTE[text]: items,
            }
            requests.append(orjson.dumps(body))
        out.append(requests)
    return out


def post_temporal(port: int, token: str, per_entity: list[list[bytes]], connections: int) -> float:
    """Post every entity's requests in order, entities shared among ``connections``."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    lock = threading.Lock()
    queue = list(reversed(per_entity))
    errors: list[str] = []

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        while True:
            with lock:
                if not queue:
                    break
                requests = queue.pop()
            for body in requests:
                connection.request("POST", "/ngsi-ld/v1/temporal/entities", body, headers)
                response = connection.getresponse()
                answer = response.read()
                if response.status not in (201, 204):
                    errors.append(f"{response.status} {answer[:200]!r}")
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, first: {errors[0]}")
    return elapsed


def count(path: Path, table: str = "observations") -> int:
    connection = sqlite3.connect(path)
    try:
        return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        connection.close()


def temporal_run(args: argparse.Namespace) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="taydo-bench-temporal-") as folder:
        root = Path(folder)
        url = f"sqlite:///{root / 'bench.db'}"
        token = admin_token(url)
        bodies = temporal_bodies(args.entities, args.instances, args.per_request, args.text)
        name = ATTRIBUTE[args.text]
        sent = sum(len(orjson.loads(b)[name]) for r in bodies for b in r)
        server = PatientServer(url, root / "server.log")
        try:
            cpu0 = cpu_seconds(server.process.pid)
            elapsed = post_temporal(server.port, token, bodies, args.connections)
            cpu = cpu_seconds(server.process.pid) - cpu0
        finally:
            server.stop()
        table = "ngsild_attribute_instances" if args.text else "observations"
        stored = count(root / "bench.db", table)
        if stored != sent:
            raise SystemExit(f"FAILED: stored {stored:,} of {sent:,} instances")
    return sent / elapsed, sent / max(cpu, 1e-9)


def http_run(args: argparse.Namespace) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="taydo-bench-temporal-http-") as folder:
        root = Path(folder)
        url = f"sqlite:///{root / 'bench.db'}"
        database = fresh_database(url)
        series = make_catalog(database, entities=args.entities, metrics=("salinity",))
        token = _operator_token(database)
        database.dispose()
        rows = make_rows(series, args.instances, "backfill")[: args.instances]
        bodies = encode(rows, 1_000)
        server = PatientServer(url, root / "server.log")
        try:
            cpu0 = cpu_seconds(server.process.pid)
            elapsed, accepted = post_all(server.port, token, bodies, args.connections)
            cpu = cpu_seconds(server.process.pid) - cpu0
        finally:
            server.stop()
        stored = count(root / "bench.db")
        if stored != len(rows) or accepted != len(rows):
            raise SystemExit(f"FAILED: stored {stored:,}, accepted {accepted:,} of {len(rows):,}")
    return len(rows) / elapsed, len(rows) / max(cpu, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=100_000)
    parser.add_argument("--entities", type=int, default=100)
    parser.add_argument("--per-request", type=int, default=500)
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1, help="alternating runs of each")
    parser.add_argument("--text", action="store_true", help="text instances (their history)")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    if args.text:
        print(f"{args.instances:,} text instances of {args.entities} entities, SQLite:")
        for n in range(args.repeat):
            rate, per_cpu = temporal_run(args)
            print(
                f"  run {n + 1}: POST /temporal/entities ({args.per_request}/request) "
                f"{rate:8,.0f} instances/s ({per_cpu:,.0f} per server CPU-second)"
            )
        return
    temporal: list[tuple[float, float]] = []
    plain: list[tuple[float, float]] = []
    for _ in range(args.repeat):
        temporal.append(temporal_run(args))
        plain.append(http_run(args))
    print(
        f"{args.instances:,} instances of {args.entities} entities, SQLite, committed before "
        f"each answer, {args.connections} connection(s):"
    )
    for n, ((t_rate, t_cpu), (h_rate, h_cpu)) in enumerate(zip(temporal, plain, strict=True)):
        print(
            f"  run {n + 1}: POST /temporal/entities ({args.per_request}/request) "
            f"{t_rate:8,.0f} instances/s ({t_cpu:,.0f} per server CPU-second)"
        )
        print(
            f"         POST /api/v1/observations (1,000/request, same history shape) "
            f"{h_rate:8,.0f} observations/s ({h_cpu:,.0f} per server CPU-second)"
        )
        ratio = f"×{t_rate / h_rate:.2f} wall, ×{t_cpu / h_cpu:.2f} CPU"
        print(f"         temporal / HTTP ingest: {ratio}")


if __name__ == "__main__":
    main()
