"""Report generation time on the Cần Thơ pack (issue 17, item 5; no budget in DESIGN.md).

Builds a fresh SQLite IOC with the Cần Thơ pack and ``--days`` days of the simulator's values
every 10 minutes (the demo's history), then times, in-process:

* the sections alone — every query of the report (alerts, data health, water levels from the
  daily rollups, VN_AQI from the hourly rollups, scorecards): the floor of a download;
* the same plus the PDF (fpdf2, matplotlib charts) and plus the .xlsx (openpyxl).

for the daily briefing of the last full day and the monthly report. Each rendered file is
read back (pypdf, openpyxl) and checked for its title: a broken output fails the benchmark.
Prints median and max of ``--runs`` runs. Run: ``.venv/bin/python benchmarks/reports.py``.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def machine() -> str:
    import sqlite3

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} CPU, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, load average {load}"
    )


def build(path: Path, days: int) -> Any:
    from taydo.core import clock
    from taydo.core.db import Database
    from taydo.core.migrate import upgrade
    from taydo.core.plugins import make_plugin_manager, packs
    from taydo.packs.cantho.simulator import Simulator
    from taydo.packs.cantho.simulator.driver import backfill, series_map
    from taydo.packs.loading import load_pack

    database = Database(f"sqlite:///{path}")
    upgrade(database)
    load_pack(database, packs(make_plugin_manager())["cantho"])
    series = series_map(database)
    simulator = Simulator(seed=0).only(set(series))
    now = clock.now_ms()
    written = backfill(database, simulator, series, now - days * 86_400_000, now, 600_000)
    print(f"city: {len(series)} series, {written:,} values over {days} days")
    return database


def timed(work: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(runs):
        began = time.perf_counter()
        result = work()
        times.append((time.perf_counter() - began) * 1000)
    return times, result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    import openpyxl
    from pypdf import PdfReader

    from taydo.core import clock
    from taydo.core.settings import Settings
    from taydo.reports.service import build_report, render

    tz = Settings(_env_file=None).tz  # type: ignore[call-arg]
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as folder:
        database = build(Path(folder) / "taydo.db", args.days)
        failed = False
        print(f"{'report':<8} {'what':<24} {'median ms':>10} {'max ms':>8} {'size':>9}")
        for kind in ("daily", "monthly"):
            rows = []

            def sections(kind: str = kind) -> Any:
                return build_report(database, kind=kind, tz=tz, now=clock.now())

            floor, report = timed(sections, args.runs)
            rows.append(("sections (the floor)", floor, 0))
            for fmt in ("pdf", "xlsx"):

                def both(kind: str = kind, fmt: str = fmt) -> Any:
                    now = clock.now()
                    return render(build_report(database, kind=kind, tz=tz, now=now), fmt, tz, now)

                times, rendered = timed(both, args.runs)
                rows.append((f"sections + {fmt}", times, len(rendered.content)))
                if fmt == "pdf":
                    text = " ".join(
                        p.extract_text() for p in PdfReader(io.BytesIO(rendered.content)).pages
                    )
                    ok = report.title_vi in " ".join(text.split())
                else:
                    book = openpyxl.load_workbook(io.BytesIO(rendered.content))
                    ok = book["Tóm tắt"]["A1"].value == report.title_vi
                if not ok:
                    print(f"!! {kind} {fmt}: the title is not in the file read back")
                    failed = True
            for what, times, size in rows:
                size_text = f"{size / 1024:,.0f} KiB" if size else ""
                print(
                    f"{kind:<8} {what:<24} {statistics.median(times):>10.0f} "
                    f"{max(times):>8.0f} {size_text:>9}"
                )
        database.dispose()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
