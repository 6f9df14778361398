"""Several ``taydo serve`` processes on one PostgreSQL schema and one NATS stream (issue 15).

For 1, 2 and 4 processes, in the same run: a fresh schema with 200 entities × 3 metrics and a
threshold rule on every height, the processes started, N observations posted over HTTP
(1,000 per request, spread over the processes), then

* **ingest**: observations per second, from the first request to the last answer;
* **CPU per point**: the IOC processes' user + system CPU from the first request until every
  process is idle again (the rules have judged every batch), divided by the points — the cost
  of a point to the cluster. PostgreSQL's and NATS's own CPU are not counted (both are shared
  machine services here);
* **obs → alert across processes**: an observation that crosses a level is posted to one
  process and the alert is awaited on another process's live stream; p50/p99 over ``--alerts``
  crossings, from the answer to the event (idle cluster).

Goal (DESIGN.md): CPU per point with 2 or 4 processes ≤ 1.05 × with 1.

Usage: ``TAYDO_BENCH_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test
TAYDO_BENCH_NATS_URL=nats://127.0.0.1:4222 python -m benchmarks.cluster``
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from benchmarks.common import (
    JSON_HELP,
    cpu_seconds,
    free_port,
    fresh_database,
    machine,
    make_catalog,
    operator_token,
    write_figures,
)
from benchmarks.ingest import encode, make_rows

RULE = {
    "code": "bench-height",
    "kind": "threshold",
    "name": "Mực nước cao (đo thử)",
    "metric": "height",
    "target": {"types": ["WaterObserved"]},
    "hysteresis": 0.05,
    "levels": [{"code": "high", "label": "Cao", "value": 5.9, "severity": "warning"}],
}
PROBE = "urn:ngsi-ld:WaterObserved:B0000"


class Node:
    def __init__(self, env: dict[str, str], folder: Path, name: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (folder / f"{name}.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "taydo.cli", "serve", "--dev", "--port", str(self.port)],
            env=env,
            cwd=folder,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, token: str) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                answer = httpx.get(
                    f"{self.url}/api/v1/alerts",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=2,
                )
                if answer.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"a taydo serve did not start; see {self.log.name}")

    def cpu(self) -> float:
        return cpu_seconds(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def post_spread(nodes: list[Node], token: str, bodies: list[bytes], connections: int) -> float:
    """Every body posted, connection c to process c % N; seconds to the last answer."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    lock = threading.Lock()
    queue = list(reversed(bodies))
    errors: list[str] = []

    def worker(node: Node) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=300)
        while True:
            with lock:
                if not queue:
                    break
                body = queue.pop()
            conn.request("POST", "/api/v1/observations", body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            if response.status != 200:
                errors.append(f"{response.status} {data[:200]!r}")
        conn.close()

    threads = [
        threading.Thread(target=worker, args=(nodes[c % len(nodes)],)) for c in range(connections)
    ]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, first: {errors[0]}")
    return time.perf_counter() - began


def idle_cpu(nodes: list[Node], quiet_s: float = 1.0, timeout_s: float = 300.0) -> float:
    """The processes' total CPU once none of them used more than 2 % of a core for
    ``quiet_s`` (every committed batch judged)."""
    deadline = time.monotonic() + timeout_s
    last = sum(node.cpu() for node in nodes)
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        now = sum(node.cpu() for node in nodes)
        if now - last <= 0.02 * quiet_s * len(nodes):
            return now
        last = now
    return last


def alert_latency(nodes: list[Node], token: str, crossings: int) -> list[float]:
    """Seconds from a crossing's HTTP answer (on one process) to its alert on another's
    live stream."""
    headers = {"Authorization": f"Bearer {token}"}
    watcher, sender = nodes[-1], nodes[0]
    arrived: list[float] = []
    event = threading.Event()
    opened = threading.Event()

    def listen() -> None:
        with httpx.stream(
            "GET", f"{watcher.url}/api/v1/stream", headers=headers, timeout=None
        ) as answer:
            for line in answer.iter_lines():
                opened.set()
                if line.startswith("event: alert"):
                    arrived.append(time.perf_counter())
                    event.set()

    threading.Thread(target=listen, daemon=True).start()
    opened.wait(30)
    latencies = []
    ts = int(time.time() * 1000) - crossings * 2 * 1000 - 60_000
    with httpx.Client(headers=headers, timeout=30) as client:
        # Below the level first: the ingest may have left the probe's alert firing.
        ts += 1000
        event.clear()
        client.post(
            f"{sender.url}/api/v1/observations",
            json=[{"entity_id": PROBE, "metric": "height", "ts": ts, "value": 1.0}],
        )
        event.wait(5)
        for n in range(crossings):
            value = 6.0 if n % 2 == 0 else 1.0  # above, then below the level: fire, clear
            ts += 1000
            event.clear()
            answer = client.post(
                f"{sender.url}/api/v1/observations",
                json=[{"entity_id": PROBE, "metric": "height", "ts": ts, "value": value}],
            )
            answered = time.perf_counter()
            if answer.status_code != 200 or not event.wait(10):
                raise RuntimeError(f"crossing {n}: no alert on the other process's stream")
            latencies.append(arrived[-1] - answered)
    return latencies


def run_cluster(
    processes: int, args: argparse.Namespace, postgres: str, nats: str, bodies: list[bytes]
) -> dict[str, float]:
    schema = f"taydo_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{postgres}?options=-csearch_path%3D{schema}"
    folder = Path(tempfile.mkdtemp(prefix=f"taydo-bench-cluster-{processes}-"))
    nodes: list[Node] = []
    try:
        database = fresh_database(url)
        make_catalog(database)
        from taydo.rules.service import parse_rule, save_rules

        save_rules(database, [parse_rule(RULE)])
        token = operator_token(database)
        database.dispose()
        unique = uuid.uuid4().hex[:8]
        env = {k: v for k, v in os.environ.items() if not k.startswith("TAYDO_")}
        bus_url = f"{nats}?stream=TAYDO_BENCH_{unique}&prefix=taydobench{unique}"
        env.update(
            TAYDO_DATABASE_URL=url,
            TAYDO_BUS_URL=bus_url,
            TAYDO_CONFIG_FILE=str(folder / "none.toml"),
            TAYDO_OBSERVATIONS_PACK_AFTER_HOURS="0",
            TAYDO_CONNECTORS_ENABLED="false",
            TAYDO_HEALTH_CHECK_INTERVAL_S="0",
        )
        nodes = [Node(env, folder, f"node{n}") for n in range(processes)]
        for node in nodes:
            node.wait_ready(token)
        time.sleep(3)  # the shards settle between the processes (lease checks every second)
        spies = (
            [
                subprocess.Popen(
                    [
                        "py-spy",
                        "record",
                        "--pid",
                        str(node.process.pid),
                        "--format",
                        "raw",
                        "--nonblocking",
                        "--rate",
                        "200",
                        "--output",
                        str(args.profile / f"cluster-{processes}-{n}.txt"),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for n, node in enumerate(nodes)
            ]
            if args.profile
            else []
        )
        before = sum(node.cpu() for node in nodes)
        connections = args.connections or args.connections_per_process * processes
        elapsed = post_spread(nodes, token, bodies, connections)
        after = idle_cpu(nodes)
        for spy in spies:
            spy.send_signal(signal.SIGINT)
            spy.wait()
        points = args.observations
        latencies = alert_latency(nodes, token, args.alerts) if processes > 1 else []
        result = {
            "rate": points / elapsed,
            "cpu_us": (after - before) / points * 1e6,
        }
        if latencies:
            ordered = sorted(latencies)
            result["p50_ms"] = statistics.median(ordered) * 1000
            result["p99_ms"] = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
        return result
    finally:
        for node in nodes:
            node.stop()
        if nodes:  # the stream reserves storage on the shared NATS server: give it back
            asyncio.run(_delete_stream(bus_url))
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


async def _delete_stream(url: str) -> None:
    from taydo.core.bus_nats import NatsBus

    bus = NatsBus(url)
    await bus.connect()
    try:
        await bus.delete_stream()
    finally:
        await bus.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--observations", type=int, default=300_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument(
        "--connections-per-process",
        type=int,
        default=4,
        help="client connections per process: the load grows with the processes, as it does "
        "when a city adds machines for more sensors (the default)",
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=0,
        help="a fixed number of connections whatever the processes (each process then "
        "group-commits smaller batches: see docs/performance.md)",
    )
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--alerts", type=int, default=200, help="level crossings timed")
    parser.add_argument("--json", type=Path, help=JSON_HELP)
    parser.add_argument(
        "--profile", type=Path, help="py-spy profiles (raw) of every process into this folder"
    )
    args = parser.parse_args()
    postgres = os.environ.get("TAYDO_BENCH_POSTGRES_URL", "")
    nats = os.environ.get("TAYDO_BENCH_NATS_URL", "")
    if not postgres or not nats:
        print(
            "skipped: set TAYDO_BENCH_POSTGRES_URL and TAYDO_BENCH_NATS_URL (a cluster needs both)"
        )
        return
    probe_db = fresh_database(f"sqlite:///{Path(tempfile.mkdtemp()) / 'probe.db'}")
    names = make_catalog(probe_db)
    probe_db.dispose()
    rows = make_rows(names, args.observations, "live")
    bodies = encode(rows, args.batch)
    print(f"machine: {machine()}")
    print(
        f"data: {len(rows):,} observations of {len(names)} series, {len(bodies)} requests of "
        f"{args.batch}; "
        + (
            f"{args.connections} connections spread over the processes"
            if args.connections
            else f"{args.connections_per_process} connections per process"
        )
        + "; PostgreSQL + NATS JetStream on this machine"
    )
    results: dict[int, dict[str, float]] = {}
    for processes in [int(p) for p in args.processes.split(",")]:
        result = results[processes] = run_cluster(processes, args, postgres, nats, bodies)
        line = (
            f"{processes} process(es): {result['rate']:,.0f} obs/s, "
            f"{result['cpu_us']:.1f} µs CPU per point"
        )
        if "p99_ms" in result:
            line += (
                f"; obs → alert on another process's stream: p50 {result['p50_ms']:.1f} ms, "
                f"p99 {result['p99_ms']:.1f} ms ({args.alerts} crossings, idle)"
            )
        print(line, flush=True)
    one = results.get(1)
    figures: dict[str, tuple[float, str, str]] = {}
    for processes, result in results.items():
        figures[f"{processes} processes ingest"] = (result["rate"], "obs/s", "higher")
        figures[f"{processes} processes CPU per point"] = (result["cpu_us"], "µs", "lower")
        if one is not None and processes != 1:
            print(
                f"CPU per point, {processes} vs 1 process: {result['cpu_us'] / one['cpu_us']:.2f}×"
                " (goal ≤ 1.05×)"
            )
        if "p99_ms" in result:
            figures[f"{processes} processes obs→alert p99"] = (result["p99_ms"], "ms", "lower")
    write_figures(args.json, "cluster", figures)


if __name__ == "__main__":
    main()
