"""A 24-hour, 1-minute-bucket query of one series with 30 days × 200 entities stored.

Fills a fresh SQLite file with 30 days of 1-minute data for 200 entities (one metric each:
8.64 million points, written through the real write path so the rollups exist too), then
times ``series_buckets`` (the service) and ``GET /api/v1/entities/{id}/series/{metric}``
(through ``taydo serve``) over random series and random days; prints p50/p95. Budget: ≤ 50 ms.

Warm and cold: the file has just been written, so the operating system's page cache holds it
and the service's connections keep their SQLite page cache: those runs are *warm*. The
*cold* service runs evict the file from the page cache (``posix_fadvise(DONTNEED)``) and open
a new ``Database`` (empty SQLite cache) before every query.

Peer, same run: the same points loaded into DuckDB (from PyPI; a file of its own, rows in
(series, ts) order) and the same 24-hour 1-minute ``avg`` query in SQL, fetched into Python.

Every answer is checked: 1,440 buckets, and the first bucket's average equal to the value
stored for that minute (each minute holds one point); the run fails otherwise.

With ``--postgres URL`` it also loads the data into PostgreSQL and reports bytes per stored
point (budget ≤ 60 B) as raw rows, then compacts all of it into
packed hours and reports bytes per point again (raw partitions + packed table, TOAST and
indexes included) and the same query on PostgreSQL before and after compaction.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from benchmarks.common import Server, fresh_database, machine, make_catalog, operator_token
from taydo.core.db import Database
from taydo.observations.buckets import Buckets
from taydo.observations.compaction import compact_database
from taydo.observations.query import series_buckets
from taydo.observations.service import write_rows

ICT = timezone(timedelta(hours=7))
END = datetime(2026, 11, 1, tzinfo=ICT)
MINUTE = 60_000


BUCKETS = 1440  # a 24-hour window of 1-minute buckets, one point in each


def start_of(days: int) -> int:
    return int((END - timedelta(days=days)).timestamp() * 1000)


def stored_value(n: int, minute: int) -> float:
    """The value ``fill`` stores for the n-th series at the given minute from the start."""
    return 1.0 + ((minute * 7 + n) % 500) / 100


def check(found: list[float], n: int, start_ms: int, days: int, path: str) -> None:
    """Fail loudly unless an answer holds 1,440 buckets, the first one the stored value."""
    if len(found) != BUCKETS:
        raise SystemExit(f"FAILED ({path}): {len(found)} buckets for 24 h, expected {BUCKETS}")
    expected = stored_value(n, (start_ms - start_of(days)) // MINUTE)
    if abs(found[0] - expected) > 1e-9:
        raise SystemExit(f"FAILED ({path}): first bucket {found[0]}, stored {expected}")


def fill(database: Database, series_ids: list[int], days: int) -> float:
    start_ms = start_of(days)
    minutes = days * 1440
    began = time.perf_counter()
    for n, sid in enumerate(series_ids):
        rows = [(sid, start_ms + m * MINUTE, stored_value(n, m), 0) for m in range(minutes)]
        for offset in range(0, len(rows), 20_000):
            write_rows(database, rows[offset : offset + 20_000])
    return time.perf_counter() - began


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered) * 1000
    p95 = ordered[int(len(ordered) * 0.95) - 1] * 1000
    return f"p50 {p50:.1f} ms, p95 {p95:.1f} ms over {len(ordered)} runs"


def ranges(days: int, runs: int, seed: int = 1) -> list[tuple[int, int]]:
    rng = random.Random(seed)
    end_ms = int(END.timestamp() * 1000)
    out = []
    for _ in range(runs):
        start = end_ms - rng.randrange(1, days) * 86_400_000 - rng.randrange(0, 1440) * MINUTE
        out.append((start, start + 86_400_000))
    return out


_PARTITIONS_SIZE = (
    "SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) FROM pg_inherits "
    "WHERE inhparent = 'observations'::regclass"
)
# Every relation that holds points: the raw partitions (heap, TOAST, primary key) and the
# packed table (heap, TOAST and its index, all in pg_total_relation_size).
_PACKED_SIZE = "SELECT pg_total_relation_size('observations_packed')"


def _sizes(database: Database) -> tuple[int, int]:
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE observations")
        connection.exec_driver_sql("VACUUM ANALYZE observations_packed")
        raw = connection.exec_driver_sql(_PARTITIONS_SIZE).scalar_one()
        packed = connection.exec_driver_sql(_PACKED_SIZE).scalar_one()
    return int(raw), int(packed)


def _pg_queries(
    database: Database, catalog: list[tuple[str, str, int]], days: int, runs: int
) -> str:
    rng = random.Random(4)
    buckets = Buckets("Asia/Ho_Chi_Minh")
    samples = []
    for start, end in ranges(days, runs, seed=5):
        sid = catalog[rng.randrange(len(catalog))][2]
        began = time.perf_counter()
        found = series_buckets(
            database, sid, start_ms=start, end_ms=end, bucket="1m", agg="avg", buckets=buckets
        )
        samples.append(time.perf_counter() - began)
        n = next(i for i, entry in enumerate(catalog) if entry[2] == sid)
        check([value for _ts, value in found], n, start, days, "PostgreSQL")
    return percentiles(samples)


def postgres_bytes_per_point(url: str, days: int, entities: int, runs: int) -> None:
    database = fresh_database(url)
    with database.engine.begin() as connection:
        connection.exec_driver_sql(
            "TRUNCATE observations, observations_hourly, observations_daily, observations_packed"
        )
        connection.exec_driver_sql("UPDATE observations_watermark SET packed_before = 0")
    catalog = make_catalog(database, entities, metrics=("height",))
    seconds = fill(database, [sid for _e, _m, sid in catalog], days)
    raw_size, _ = _sizes(database)
    with database.engine.connect() as connection:
        points = connection.exec_driver_sql("SELECT count(*) FROM observations").scalar_one()
    print(
        f"PostgreSQL: {points:,} points loaded in {seconds:.0f} s ({points / seconds:,.0f}/s); "
        f"observations + index: {raw_size / points:.1f} bytes per point (budget ≤ 60)"
    )
    raw_query = _pg_queries(database, catalog, days, runs)
    print(f"PostgreSQL raw rows, 24 h of 1-minute buckets: {raw_query}")
    # Compact all of it: every hour up to the end of the data, so the monthly partition is
    # emptied and truncated as a closed month is in service (a partly packed month keeps
    # its file size until the month's next points reuse the space).
    began = time.perf_counter()
    result = compact_database(database, int(END.timestamp() * 1000) + 24 * 3_600_000)
    took = time.perf_counter() - began
    raw_size, packed_size = _sizes(database)
    with database.engine.connect() as connection:
        left = connection.exec_driver_sql("SELECT count(*) FROM observations").scalar_one()
        packed_points = connection.exec_driver_sql(
            "SELECT sum(count) FROM observations_packed"
        ).scalar_one()
    if left + packed_points != points:
        raise RuntimeError(f"{left} raw + {packed_points} packed != {points} points")
    print(
        f"PostgreSQL compaction: {result.points:,} points into {result.hours:,} packed hours in "
        f"{result.batches} transactions, {took:.0f} s ({result.points / took:,.0f} points/s); "
        f"truncated {', '.join(result.truncated) or 'nothing'}"
    )
    print(
        f"PostgreSQL after compaction: {(raw_size + packed_size) / points:.1f} bytes per point "
        f"over every relation holding points (raw partitions {raw_size:,} B, packed table with "
        f"TOAST and index {packed_size:,} B; budget ≤ 60)"
    )
    print(
        f"PostgreSQL packed hours, 24 h of 1-minute buckets: "
        f"{_pg_queries(database, catalog, days, runs)} (budget ≤ 50 ms)"
    )
    database.dispose()


def evict(folder: Path) -> None:
    """Drop the SQLite files from the operating system's page cache (no root needed)."""
    for path in folder.glob("query.db*"):
        with path.open("rb") as handle:
            os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def cold_service(
    url: str, folder: Path, catalog: list[tuple[str, str, int]], days: int, runs: int
) -> str:
    rng = random.Random(6)
    buckets = Buckets("Asia/Ho_Chi_Minh")
    samples = []
    for start, end in ranges(days, runs, seed=7):
        n = rng.randrange(len(catalog))
        evict(folder)
        database = Database(url)
        began = time.perf_counter()
        found = series_buckets(
            database,
            catalog[n][2],
            start_ms=start,
            end_ms=end,
            bucket="1m",
            agg="avg",
            buckets=buckets,
        )
        samples.append(time.perf_counter() - began)
        database.dispose()
        check([value for _ts, value in found], n, start, days, "service, cold")
    return f"{percentiles(samples)}, checked"


def duckdb_peer(folder: Path, args: argparse.Namespace) -> str:
    """The same points in DuckDB, the same query in SQL: p50/p95 (warm, like the service's)."""
    import duckdb

    connection = duckdb.connect(str(folder / "peer.duckdb"))
    start_ms = start_of(args.days)
    minutes = args.days * 1440
    began = time.perf_counter()
    connection.execute(
        "CREATE TABLE observations AS SELECT n AS series, ? + m * ? AS ts, "
        "1.0 + ((m * 7 + n) % 500) / 100 AS value "
        "FROM range(?) s(n), range(?) t(m) ORDER BY series, ts",
        [start_ms, MINUTE, args.entities, minutes],
    )
    loaded = time.perf_counter() - began
    query = (
        "SELECT ts // 60000 * 60000 AS bucket, avg(value) FROM observations "
        "WHERE series = ? AND ts >= ? AND ts < ? GROUP BY bucket ORDER BY bucket"
    )
    rng = random.Random(8)
    samples = []
    for start, end in ranges(args.days, args.runs, seed=9):
        n = rng.randrange(args.entities)
        began = time.perf_counter()
        found = connection.execute(query, [n, start, end]).fetchall()
        samples.append(time.perf_counter() - began)
        check([value for _bucket, value in found], n, start, args.days, "DuckDB")
    connection.close()
    return (
        f"{percentiles(samples)}, checked (DuckDB {duckdb.__version__}, "
        f"{args.entities * minutes:,} points loaded in {loaded:.0f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--entities", type=int, default=200)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--postgres", help="also measure bytes per point on this database URL")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    work = Path(tempfile.mkdtemp(prefix="taydo-bench-"))
    url = f"sqlite:///{work / 'query.db'}"
    database = fresh_database(url)
    catalog = make_catalog(database, args.entities, metrics=("height",))
    token = operator_token(database)
    seconds = fill(database, [sid for _e, _m, sid in catalog], args.days)
    points = args.entities * args.days * 1440
    size = sum(p.stat().st_size for p in work.glob("query.db*"))
    print(
        f"stored: {points:,} points ({args.entities} series × {args.days} days × 1440) in "
        f"{seconds:.0f} s; SQLite file {size / 2**20:.0f} MiB incl. rollups"
    )
    rng = random.Random(2)
    buckets = Buckets("Asia/Ho_Chi_Minh")
    samples = []
    for start, end in ranges(args.days, args.runs):
        n = rng.randrange(len(catalog))
        began = time.perf_counter()
        found = series_buckets(
            database,
            catalog[n][2],
            start_ms=start,
            end_ms=end,
            bucket="1m",
            agg="avg",
            buckets=buckets,
        )
        samples.append(time.perf_counter() - began)
        check([value for _ts, value in found], n, start, args.days, "service")
    print(
        f"service, 24 h of 1-minute buckets, warm cache (file just written): "
        f"{percentiles(samples)}, {BUCKETS} buckets each, checked"
    )
    database.dispose()
    cold = cold_service(url, work, catalog, args.days, max(args.runs // 4, 20))
    print(f"service, same query, cold (page cache evicted, new connection each): {cold}")
    server = Server(url, work / "server.log")
    samples = []
    try:
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}
        ) as client:
            for start, end in ranges(args.days, args.runs, seed=3):
                n = rng.randrange(len(catalog))
                entity_id, metric, _sid = catalog[n]
                began = time.perf_counter()
                answer = client.get(
                    f"/api/v1/entities/{entity_id}/series/{metric}",
                    params={"from": start, "to": end, "bucket": "1m", "agg": "avg"},
                )
                samples.append(time.perf_counter() - began)
                if answer.status_code != 200:
                    raise SystemExit(f"FAILED: HTTP {answer.status_code} {answer.text[:200]}")
                values = [point["v"] for point in answer.json()["points"]]
                check(values, n, start, args.days, "HTTP")
    finally:
        server.stop()
    print(f"HTTP, 24 h of 1-minute buckets, warm cache: {percentiles(samples)}, checked")
    print(f"DuckDB, same points and query, same run: {duckdb_peer(work, args)}")
    print("budget: ≤ 50 ms; peer: DuckDB above (measured in this run)")
    if args.postgres:
        postgres_bytes_per_point(args.postgres, args.days, args.entities, args.runs)


if __name__ == "__main__":
    main()
