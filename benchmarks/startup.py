"""Alerting start-up on a large catalog: how long the rules take to be ready after a restart.

10,000 water-level stations, each with the last hour of 1-minute data stored (600,000 points),
under the Cần Thơ pack's rules (a level threshold per station, a rise within an hour, a
salinity threshold held 10 minutes, silent sensors). Measures ``AlertingRuntime.start``'s
loading step — rules, catalog, open alerts, the rate windows and ``for`` durations rebuilt
from stored points (``Engine.resume_pending``) and the newest value of every watched series
judged again (``Engine.catch_up``) — against the floor of reading those same stored points
with one plain query. Run: ``.venv/bin/python -m benchmarks.startup``.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from pathlib import Path

from benchmarks.common import fresh_database, machine, make_catalog
from taydo.alerts.runtime import AlertingRuntime
from taydo.catalog.series import SeriesIndex
from taydo.core import clock
from taydo.core.bus import MemoryBus
from taydo.observations.service import Point, write_points
from taydo.packs.cantho.plugin import DATA_DIR
from taydo.rules.service import parse_rules_yaml, save_rules

STATIONS = 10_000
MINUTES = 60


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="taydo-bench-startup-"))
    path = work / "startup.db"
    database = fresh_database(f"sqlite:///{path}")
    series = make_catalog(database, STATIONS, ("height",))
    save_rules(database, parse_rules_yaml((DATA_DIR / "rules.yaml").read_text(encoding="utf-8")))
    now = clock.now_ms()
    start = now - now % 60_000 - MINUTES * 60_000
    # One station in ten rises 15 cm in the hour: its "rising fast" alert (> 10 cm within an
    # hour) is raised by the catch-up, from the rate window rebuilt out of stored points.
    points = [
        Point(series_id, start + minute * 60_000, 1.0 + (n % 7) / 10 + minute * rise)
        for n, (_e, _m, series_id) in enumerate(series)
        for rise in [0.0025 if n % 10 == 0 else 0.001]
        for minute in range(MINUTES)
    ]
    write_points(database, points)
    print(f"machine: {machine()}")
    print(
        f"catalog: {STATIONS:,} WaterObserved stations, {len(points):,} points of the last "
        f"{MINUTES} minutes, the Cần Thơ pack's rules"
    )
    timings = []
    transitions = 0
    rising = len(series[::10])  # the stations that rose 15 cm: each must be raised once
    for _run in range(3):
        runtime = AlertingRuntime(
            database, MemoryBus(), SeriesIndex(database), tz=clock.now().tzinfo
        )
        began = time.perf_counter()
        transitions = len(runtime._load())
        timings.append(time.perf_counter() - began)
        if transitions != rising:
            raise SystemExit(
                f"FAILED: the catch-up raised {transitions:,} alerts, expected {rising:,}"
            )
    connection = sqlite3.connect(path)
    began = time.perf_counter()
    rows = connection.execute(
        "SELECT series_id, ts, value FROM observations WHERE ts >= ?", (start,)
    ).fetchall()
    floor = time.perf_counter() - began
    connection.close()
    if len(rows) != len(points):
        raise SystemExit(f"FAILED: {len(rows):,} points read back, {len(points):,} written")
    print(
        f"rules ready (load, resume, catch-up): best {min(timings):.2f} s, "
        f"worst {max(timings):.2f} s over {len(timings)} starts; {transitions:,} alert "
        "transitions from the stored values"
    )
    print(f"floor: one SELECT of the {len(rows):,} stored points, {floor:.2f} s")
    database.dispose()


if __name__ == "__main__":
    main()
