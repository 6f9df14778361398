"""The observation store's write path alone, without HTTP: rows/s of ``Store.write`` (rollups
and latest values in every transaction, as command-line imports write) against
``Store.write_deferred`` + a ``flush`` every second (as the server's group-commit writer
writes), on a fresh SQLite file, in the live-feed shape of ``benchmarks/ingest.py``.

Usage: python -m benchmarks.writer [--rows 600000] [--group 2000] [--shape live|backfill]
[--watermark]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks.common import fresh_database, machine
from benchmarks.ingest import make_rows
from taydo.observations.service import store_for


def run(
    mode: str, rows: list[tuple[int, int, float, int]], group: int, watermark: bool = False
) -> tuple[float, float]:
    """(rows/s wall, rows per CPU-second) of one mode on a fresh database."""
    work = Path(tempfile.mkdtemp(prefix="taydo-writer-"))
    database = fresh_database(f"sqlite:///{work / 'writer.db'}")
    if watermark:  # as on a server that compacts: every write compares its rows with it
        first = min(r[1] for r in rows)
        with database.engine.begin() as connection:
            connection.exec_driver_sql(
                "UPDATE observations_watermark SET packed_before = ?",
                (first - first % 3_600_000,),
            )
    store = store_for(database, "Asia/Ho_Chi_Minh")
    raw = database.engine.raw_connection()
    connection = raw.driver_connection
    store.prepare(connection)
    began, cpu = time.perf_counter(), time.process_time()
    flushed = began
    for offset in range(0, len(rows), group):
        batch = rows[offset : offset + group]
        if mode == "inline":
            store.write(connection, batch)
        else:
            store.write_deferred(connection, batch)
            if time.perf_counter() - flushed >= 1.0:
                store.flush(connection)
                flushed = time.perf_counter()
    if mode == "deferred":
        store.flush(connection)
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    raw.close()
    with database.engine.connect() as check:
        stored = check.exec_driver_sql("SELECT count(*) FROM observations").scalar_one()
        hourly = check.exec_driver_sql(
            "SELECT coalesce(sum(count), 0) FROM observations_hourly"
        ).scalar_one()
    database.dispose()
    if stored != len(rows) or hourly != len(rows):
        raise SystemExit(
            f"FAILED ({mode}): {stored:,} rows stored and {hourly:,} counted in the hourly "
            f"rollups for {len(rows):,} written"
        )
    return len(rows) / wall, len(rows) / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=600_000)
    parser.add_argument("--group", type=int, default=2_000)
    parser.add_argument("--shape", choices=("live", "backfill"), default="live")
    parser.add_argument(
        "--watermark",
        action="store_true",
        help="set the compaction watermark just below the rows (a server that compacts)",
    )
    args = parser.parse_args()
    series = [(f"e{n}", f"m{k}", n * 3 + k + 1) for n in range(200) for k in range(3)]
    ids = {(entity, metric): sid for entity, metric, sid in series}
    rows = [(ids[(e, m)], ts, v, 0) for e, m, ts, v in make_rows(series, args.rows, args.shape)]
    print(f"machine: {machine()}")
    print(
        f"{len(rows):,} rows of 600 series, {args.shape} shape, {args.group} rows per commit"
        + (", compaction watermark set just below them" if args.watermark else "")
    )
    for mode in ("inline", "deferred"):
        wall, per_cpu = run(mode, rows, args.group, args.watermark)
        print(f"{mode:>8}: {wall:,.0f} rows/s ({per_cpu:,.0f} per CPU-second)")


if __name__ == "__main__":
    main()
