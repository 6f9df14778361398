"""City-scale storage on PostgreSQL: bytes per point by tier, a 5-year estimate, and a year of
hourly buckets of a compacted series (the old read path beside the new, same run).

1. Loads ``--series`` × ``--days`` of 1-minute data (default 200 × 30 = 8.64 M points) into a
   database of its own through the real write path (raw rows, hourly and daily rollups, latest
   values), measures each relation after ``VACUUM ANALYZE`` — heap with TOAST, and indexes,
   summed over the time partitions — then compacts every hour into packed rows and measures
   again. Prints bytes per point (raw, packed) and per rollup row, and extrapolates to 50,000
   sensors at one reading a minute for 5 years, keeping everything and under the policy
   raw 2 years / hourly 10 / daily forever.
2. Loads one series with a year and a day of minute data, compacts it, and times the year at
   ``bucket=1h`` (8,760 buckets): the service (``series_buckets``) and the time formatting
   (``Buckets.show_many``) as they were before (copied below as ``old_*``) and as they are,
   interleaved, then ``GET /api/v1/entities/{id}/series/{metric}`` on ``taydo serve``.

The database is created on the server of ``--postgres`` and dropped at the end.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from sqlalchemy import create_engine, make_url, text

from benchmarks.common import Server, fresh_database, machine, make_catalog, operator_token
from taydo.core.db import Database
from taydo.observations.buckets import DAY_MS, HOUR_MS, Buckets
from taydo.observations.compaction import compact_database
from taydo.observations.query import series_buckets
from taydo.observations.service import write_rows

MINUTE = 60_000
# 2025-01-01T00:00:00+07:00: the first local hour of the year in Cần Thơ.
YEAR_START = 1_735_664_400_000
END = YEAR_START  # the sample for the sizes ends where the year series begins
SENSORS = 50_000
YEARS = 5
POINTS_PER_YEAR = 365 * 1440
RAW_HOURS = 48  # TAYDO_OBSERVATIONS_PACK_AFTER_HOURS: the newest hours stay raw

_SIZES = (
    "SELECT coalesce(sum(pg_table_size(inhrelid)), 0), coalesce(sum(pg_indexes_size(inhrelid)), 0) "
    "FROM pg_inherits WHERE inhparent = CAST(:t AS regclass)"
)
TABLES = ("observations", "observations_packed", "observations_hourly", "observations_daily")


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[max(int(len(ordered) * 0.95) - 1, 0)] * 1000


def show(samples: list[float]) -> str:
    p50, p95 = percentiles(samples)
    return f"p50 {p50:.1f} ms, p95 {p95:.1f} ms"


def fill(database: Database, series_ids: list[int], start_ms: int, minutes: int) -> float:
    began = time.perf_counter()
    for n, sid in enumerate(series_ids):
        rows = [
            (sid, start_ms + m * MINUTE, 1.0 + ((m * 7 + n) % 500) / 100, 0) for m in range(minutes)
        ]
        for offset in range(0, len(rows), 20_000):
            write_rows(database, rows[offset : offset + 20_000])
    return time.perf_counter() - began


def sizes(database: Database) -> dict[str, tuple[int, int, int]]:
    """table → (heap and TOAST bytes, index bytes, rows), over its partitions."""
    out = {}
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in (*TABLES, "observations_latest"):
            connection.exec_driver_sql(f"VACUUM ANALYZE {table}")
        for table in TABLES:
            heap, index = connection.execute(text(_SIZES), {"t": table}).one()
            rows = connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
            out[table] = (int(heap), int(index), int(rows))
        heap, index = connection.exec_driver_sql(
            "SELECT pg_table_size('observations_latest'), pg_indexes_size('observations_latest')"
        ).one()
        rows = connection.exec_driver_sql("SELECT count(*) FROM observations_latest").scalar_one()
        out["observations_latest"] = (int(heap), int(index), int(rows))
    return out


def gb(count: float) -> str:
    return f"{count / 1e9:,.1f} GB"


def storage(database: Database, catalog: list[tuple[str, str, int]], days: int) -> None:
    series = len(catalog)
    minutes = days * 1440
    seconds = fill(database, [sid for _e, _m, sid in catalog], END - minutes * MINUTE, minutes)
    points = series * minutes
    print(f"loaded {points:,} points ({series} series × {days} days of minutes) in {seconds:.0f} s")
    raw = sizes(database)
    began = time.perf_counter()
    result = compact_database(database, END + HOUR_MS)
    print(
        f"compacted {result.points:,} points into {result.hours:,} packed hours in "
        f"{time.perf_counter() - began:.0f} s"
    )
    packed = sizes(database)
    if packed["observations"][2] != 0:
        raise RuntimeError("raw rows left after a compaction of everything")

    def per(table: str, found: dict[str, tuple[int, int, int]], unit: float) -> tuple[float, float]:
        heap, index, _rows = found[table]
        return heap / unit, index / unit

    raw_heap, raw_index = per("observations", raw, points)
    packed_heap, packed_index = per("observations_packed", packed, points)
    hourly_rows = packed["observations_hourly"][2]
    daily_rows = packed["observations_daily"][2]
    hourly_heap, hourly_index = per("observations_hourly", packed, hourly_rows)
    daily_heap, daily_index = per("observations_daily", packed, daily_rows)
    latest_heap, latest_index = per("observations_latest", packed, series)
    print("\nmeasured (PostgreSQL, after VACUUM ANALYZE; heap includes TOAST):")
    print("| tier | heap | index | total | per |")
    print("|---|---|---|---|---|")
    print(f"| raw rows | {raw_heap:.1f} | {raw_index:.1f} | {raw_heap + raw_index:.1f} B | point |")
    print(
        f"| packed hours | {packed_heap:.1f} | {packed_index:.1f} | "
        f"{packed_heap + packed_index:.1f} B | point |"
    )
    print(
        f"| hourly rollups ({hourly_rows:,} rows) | {hourly_heap:.1f} | {hourly_index:.1f} | "
        f"{hourly_heap + hourly_index:.1f} B | row (= {(hourly_heap + hourly_index) / 60:.2f} "
        "B per minute point) |"
    )
    print(
        f"| daily rollups ({daily_rows:,} rows) | {daily_heap:.1f} | {daily_index:.1f} | "
        f"{daily_heap + daily_index:.1f} B | row |"
    )
    print(
        f"| latest values | {latest_heap:.1f} | {latest_index:.1f} | "
        f"{latest_heap + latest_index:.1f} B | series |"
    )

    raw_b = raw_heap + raw_index
    packed_b = packed_heap + packed_index
    hourly_b = hourly_heap + hourly_index
    daily_b = daily_heap + daily_index
    raw_recent = SENSORS * RAW_HOURS * 60 * raw_b
    latest = SENSORS * (latest_heap + latest_index)

    def estimate(raw_years: float, hourly_years: float, daily_years: float) -> dict[str, float]:
        return {
            "points (packed)": SENSORS * POINTS_PER_YEAR * raw_years * packed_b,
            "newest 48 h (raw rows)": raw_recent,
            "hourly rollups": SENSORS * 8760 * hourly_years * hourly_b,
            "daily rollups": SENSORS * 365 * daily_years * daily_b,
            "latest values": latest,
        }

    everything = estimate(YEARS, YEARS, YEARS)
    policy = estimate(2, YEARS, YEARS)
    print(
        f"\nestimate: {SENSORS:,} sensors × 1 reading a minute × {YEARS} years "
        f"= {SENSORS * POINTS_PER_YEAR * YEARS:,} points (extrapolated from the figures above)"
    )
    print("| part | keep everything | raw 2 y, hourly 10 y, daily forever |")
    print("|---|---|---|")
    for part in everything:
        print(f"| {part} | {gb(everything[part])} | {gb(policy[part])} |")
    print(f"| **total** | **{gb(sum(everything.values()))}** | **{gb(sum(policy.values()))}** |")
    print(
        f"(as raw rows without compaction: {gb(SENSORS * POINTS_PER_YEAR * YEARS * raw_b)}; "
        f"ingest: {SENSORS / 60:,.0f} points/s)"
    )


# -- the year at bucket=1h -------------------------------------------------------------------
# The read path before this change (commit 6a3c0e3): the rollup rows through SQLAlchemy's
# ``text()`` and a Python ``_pick`` per row; the times formatted with one ``show`` per hour.

_OLD_HOURLY = text(
    "SELECT bucket, count, sum, min, max, last_value FROM observations_hourly "
    "WHERE series_id = :s AND bucket >= :a AND bucket < :b ORDER BY bucket"
)


def _old_pick(agg: str, count: int, total: float, low: float, high: float, last: float) -> float:
    if agg == "avg":
        return total / count
    if agg == "min":
        return low
    if agg == "max":
        return high
    if agg == "sum":
        return total
    if agg == "count":
        return float(count)
    return last


def old_series_buckets(
    database: Database, series_id: int, start_ms: int, end_ms: int, buckets: Buckets
) -> list[tuple[int, float]]:
    first = buckets.start(start_ms, HOUR_MS)
    with database.engine.connect() as connection:
        return [
            (row[0], _old_pick("avg", row[1], row[2], row[3], row[4], row[5]))
            for row in connection.execute(_OLD_HOURLY, {"s": series_id, "a": first, "b": end_ms})
        ]


def old_show_many(buckets: Buckets, stamps: list[int]) -> list[str]:
    out: list[str] = []
    hour_key = None
    prefix = suffix = ""
    for ts in stamps:
        offset = buckets.slot(ts)[0]
        local = ts + offset
        if local % 1000:
            out.append(buckets.show(ts))
            continue
        if local // HOUR_MS != hour_key:
            hour_key = local // HOUR_MS
            shown = buckets.show(ts)
            prefix, suffix = shown[:14], shown[19:]
        within = local % HOUR_MS
        out.append(f"{prefix}{within // MINUTE:02d}:{within % MINUTE // 1000:02d}{suffix}")
    return out


def year_query(
    database: Database, url: str, year: tuple[str, str, int], runs: int, work: Path
) -> None:
    entity_id, metric, sid = year
    token = operator_token(database)
    minutes = 366 * 1440
    seconds = fill(database, [sid], YEAR_START, minutes)
    compact_database(database, YEAR_START + minutes * MINUTE)
    print(
        f"\nyear series: {minutes:,} points loaded in {seconds:.0f} s and compacted "
        "(no raw row left)"
    )
    buckets = Buckets("Asia/Ho_Chi_Minh")
    rng = random.Random(7)
    windows = []
    for _ in range(runs):
        start = YEAR_START + rng.randrange(0, 24) * HOUR_MS
        windows.append((start, start + 365 * DAY_MS))

    samples: dict[str, list[float]] = {k: [] for k in ("old", "new", "old_fmt", "new_fmt")}

    def timed(name: str, work_: Callable[[], Any]) -> Any:
        began = time.perf_counter()
        found = work_()
        samples[name].append(time.perf_counter() - began)
        return found

    for start, end in windows:  # old and new alternately, so both see the same load
        old = timed("old", lambda s=start, e=end: old_series_buckets(database, sid, s, e, buckets))
        new = timed(
            "new",
            lambda s=start, e=end: series_buckets(
                database, sid, start_ms=s, end_ms=e, bucket="1h", agg="avg", buckets=buckets
            ),
        )
        if old != new or len(new) != 8760:
            raise RuntimeError(f"old and new answers differ ({len(old)} / {len(new)} buckets)")
        stamps = [ts for ts, _v in new]
        old_text = timed("old_fmt", lambda st=stamps: old_show_many(buckets, st))
        new_text = timed("new_fmt", lambda st=stamps: buckets.show_many(st))
        if old_text != new_text:
            raise RuntimeError("old and new formatting differ")
    print(f"a year at bucket=1h (8,760 buckets, agg=avg), {runs} runs each, interleaved:")
    print(f"  service, old path (SQLAlchemy rows, _pick per row): {show(samples['old'])}")
    print(f"  service, new path (aggregate in SQL, driver tuples): {show(samples['new'])}")
    print(f"  formatting, old (show per hour): {show(samples['old_fmt'])}")
    print(f"  formatting, new (date per day): {show(samples['new_fmt'])}")
    old_total = [a + b for a, b in zip(samples["old"], samples["old_fmt"], strict=True)]
    new_total = [a + b for a, b in zip(samples["new"], samples["new_fmt"], strict=True)]
    print(f"  service + formatting: old {show(old_total)}; new {show(new_total)}")

    server = Server(url, work / "server.log")
    http: list[float] = []
    try:
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as client:
            for start, end in windows:
                began = time.perf_counter()
                answer = client.get(
                    f"/api/v1/entities/{entity_id}/series/{metric}",
                    params={"from": start, "to": end, "bucket": "1h", "agg": "avg"},
                )
                http.append(time.perf_counter() - began)
                if answer.status_code != 200 or len(answer.json()["points"]) != 8760:
                    raise RuntimeError(f"bad answer {answer.status_code} {answer.text[:200]}")
    finally:
        server.stop()
    print(f"  HTTP (taydo serve, this tree), whole answer: {show(http)} (goal ≤ 50 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--postgres",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="a database URL on the server to use; a database of its own is created there",
    )
    parser.add_argument("--series", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--skip-sizes", action="store_true", help="only the year query")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    name = f"taydo_bench_storage_{uuid4().hex[:8]}"
    admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
    database = fresh_database(url)
    try:
        series = 0 if args.skip_sizes else args.series
        catalog = make_catalog(database, series + 1, metrics=("height",))
        if series:
            storage(database, catalog[:series], args.days)
        work = Path(tempfile.mkdtemp(prefix="taydo-bench-"))
        year_query(database, url, catalog[series], args.runs, work)
    finally:
        database.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.dispose()


if __name__ == "__main__":
    main()
