"""Batch ingest over HTTP, committed, against the executemany floor (issue 2, item 13).

Starts ``taydo serve`` on a fresh SQLite file with 200 entities × 3 metrics, posts N
observations in batches of 1,000 from this (separate) process over a few keep-alive
connections with pre-encoded bodies, and prints observations/s. Then inserts the same rows
with ``executemany`` straight into an identical schema in one process (the floor) and prints
the ratio. Data shape: live-feed order — each batch holds consecutive 1-minute timestamps of
all 600 series (600 series × ~1.7 timestamps per batch), ``ts`` as ISO 8601 text with +07:00.
"""

from __future__ import annotations

import argparse
import http.client
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson

from benchmarks.common import (
    Server,
    cpu_seconds,
    fresh_database,
    machine,
    make_catalog,
    operator_token,
)
from taydo.observations.store import WAL_CHECKPOINT_PAGES

ICT = timezone(timedelta(hours=7))
START = datetime(2026, 10, 1, tzinfo=ICT)


def make_rows(
    series: list[tuple[str, str, int]], total: int, shape: str
) -> list[tuple[str, str, int, float]]:
    """(entity_id, metric, ts_ms, value), 1-minute data.

    ``live``: time-major over all series (what a gateway relaying live feeds sends: a batch
    holds the same minute or two of every series). ``backfill``: series-major (a batch holds
    1,000 consecutive minutes of one series, as a history import sends)."""
    start_ms = int(START.timestamp() * 1000)
    per_series = -(-total // len(series))
    rows = [
        (
            entity_id,
            metric,
            start_ms + minute * 60_000,
            round(1.0 + ((minute * 7 + n) % 500) / 100, 2),
        )
        for n, (entity_id, metric, _sid) in enumerate(series)
        for minute in range(per_series)
    ]
    if shape == "live":
        rows.sort(key=lambda row: row[2])  # stable: series order kept within a minute
    return rows[:total]


def encode(rows: list[tuple[str, str, int, float]], batch: int) -> list[bytes]:
    stamps: dict[int, str] = {}
    bodies = []
    for offset in range(0, len(rows), batch):
        items = []
        for entity_id, metric, ts, value in rows[offset : offset + batch]:
            text = stamps.get(ts)
            if text is None:
                text = stamps[ts] = datetime.fromtimestamp(ts / 1000, ICT).isoformat()
            items.append({"entity_id": entity_id, "metric": metric, "ts": text, "value": value})
        bodies.append(orjson.dumps(items))
    return bodies


def post_all(port: int, token: str, bodies: list[bytes], connections: int) -> tuple[float, int]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    lock = threading.Lock()
    queue = list(reversed(bodies))
    accepted = 0
    errors: list[str] = []

    def worker() -> None:
        nonlocal accepted
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
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
                continue
            with lock:
                accepted += orjson.loads(data)["accepted"]
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, first: {errors[0]}")
    return elapsed, accepted


_DERIVED = (
    "SELECT count(*) FROM observations WHERE series_id IN "
    "(SELECT id FROM metrics WHERE name IN ('aqi', 'aqi_daily'))"
)


def derived_settled(path: Path, quiet_s: float = 1.5, timeout_s: float = 120.0) -> float:
    """Seconds from now until the derived VN_AQI values stop growing (the alerting runtime
    has caught up with the committed batches): the last growth seen, once ``quiet_s`` passed
    without any."""
    check = sqlite3.connect(path, timeout=30)
    began = last_change = time.perf_counter()
    seen = -1
    try:
        while time.perf_counter() - last_change < quiet_s:
            if time.perf_counter() - began > timeout_s:
                break
            count = check.execute(_DERIVED).fetchone()[0]
            if count != seen:
                seen, last_change = count, time.perf_counter()
            time.sleep(0.1)
    finally:
        check.close()
    return last_change - began


def floor(
    path: Path, series: dict[tuple[str, str], int], rows: list, batch: int
) -> dict[str, float]:
    """The same rows, executemany-inserted into an identical (migrated) schema."""
    fresh_database(f"sqlite:///{path}").dispose()
    connection = sqlite3.connect(path)
    # The same connection settings as the server's writer, so the ratio measures our path.
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "cache_size=-65536",
        f"wal_autocheckpoint={WAL_CHECKPOINT_PAGES}",
    ):
        connection.execute(f"PRAGMA {pragma}")
    tuples = [(series[(e, m)], ts, v, 0) for e, m, ts, v in rows]
    sql = "INSERT INTO observations (series_id, ts, value, quality) VALUES (?, ?, ?, ?)"
    began = time.perf_counter()
    cpu = time.process_time()
    for offset in range(0, len(tuples), batch):
        connection.executemany(sql, tuples[offset : offset + batch])
        connection.commit()
    per_batch = time.perf_counter() - began
    per_batch_cpu = time.process_time() - cpu
    connection.execute("DELETE FROM observations")
    connection.commit()
    began = time.perf_counter()
    connection.executemany(sql, tuples)
    connection.commit()
    one_txn = time.perf_counter() - began
    connection.close()
    return {
        "per_batch": len(tuples) / per_batch,
        "per_batch_cpu": len(tuples) / per_batch_cpu,
        "one_transaction": len(tuples) / one_txn,
    }


def main() -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--observations", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--shape", choices=("live", "backfill"), default="live")
    parser.add_argument("--profile", type=Path, help="write a py-spy profile of the server here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="taydo-bench-"))
    url = f"sqlite:///{work / 'ingest.db'}"
    database = fresh_database(url)
    series = make_catalog(database)
    token = operator_token(database)
    database.dispose()
    rows = make_rows(series, args.observations, args.shape)
    bodies = encode(rows, args.batch)
    print(f"machine: {machine()}")
    print(
        f"data: {len(rows):,} observations of {len(series)} series (200 entities × 3 metrics), "
        f"{len(bodies)} bodies of {args.batch} items, "
        f"{sum(map(len, bodies)) / len(bodies):,.0f} B each, "
        f"{args.connections} connections, shape {args.shape}"
    )
    server = Server(url, work / "server.log")
    spy = None
    if args.profile:
        spy = subprocess.Popen(
            [
                "py-spy",
                "record",
                "--pid",
                str(server.process.pid),
                "--format",
                "raw",
                "--threads",
                "--nonblocking",
                "--rate",
                "200",
                "--output",
                str(args.profile),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1)
    try:
        cpu_before = cpu_seconds(server.process.pid)
        elapsed, accepted = post_all(server.port, token, bodies, args.connections)
        server_cpu = cpu_seconds(server.process.pid) - cpu_before
        lag = derived_settled(work / "ingest.db")
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait()
        server.stop()
    for line in (work / "server.log").read_text().splitlines():
        if "writer stopped" in line:
            print("server:", line.split(": ", 1)[-1].strip())
    check = sqlite3.connect(work / "ingest.db")
    total = check.execute("SELECT count(*) FROM observations").fetchone()[0]
    ids = ",".join(str(series_id) for _e, _m, series_id in series)
    stored = check.execute(
        f"SELECT count(*) FROM observations WHERE series_id IN ({ids})"
    ).fetchone()[0]
    check.close()
    if stored != len(rows) or accepted != len(rows):
        raise RuntimeError(f"stored {stored}, accepted {accepted}, sent {len(rows)}")
    # pm25 feeds VN_AQI: the server derives and stores hourly/daily AQI values as it ingests
    # (part of the work measured), in series of their own.
    print(f"server derived {total - stored:,} VN_AQI values beside the {stored:,} sent")
    print(
        f"  the alerting runtime (rules, VN_AQI) finished {lag:.1f} s after the last answer "
        "(it works through the committed batches behind the writer)"
    )
    rate = len(rows) / elapsed
    print(f"HTTP ingest, committed (with rollups + latest): {rate:,.0f} obs/s ({elapsed:.1f} s)")
    print(f"  server CPU: {server_cpu:.1f} s = {len(rows) / server_cpu:,.0f} obs per CPU-second")
    by_key = {(e, m): sid for e, m, sid in series}
    floors = floor(work / "floor.db", by_key, rows, args.batch)
    print(f"floor, executemany, one commit per {args.batch} rows: {floors['per_batch']:,.0f} obs/s")
    print(f"  floor CPU: {floors['per_batch_cpu']:,.0f} obs per CPU-second")
    print(f"floor, executemany, one transaction: {floors['one_transaction']:,.0f} obs/s")
    print(f"ratio to the per-batch floor: {rate / floors['per_batch']:.2f} (target ≥ 0.5)")
    print(f"ratio to the one-transaction floor: {rate / floors['one_transaction']:.2f}")
    print(
        "CPU-efficiency ratio (obs per CPU-second, server vs per-batch floor): "
        f"{len(rows) / server_cpu / floors['per_batch_cpu']:.2f}"
    )
    print("target: ≥ 50,000 obs/s; peer: ThingsBoard ≈ 5,000 msg/s on 2 vCPU")
    return {"rate": rate, "server_cpu": server_cpu, **floors}


if __name__ == "__main__":
    main()
