"""``make bench``: run every benchmark in its own process and print its figures.

Each benchmark prints the machine it ran on, its figures, and the floor or peer each figure is
compared with. Pass benchmark names to run only some: ``python benchmarks/run.py query``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BENCHMARKS: dict[str, list[str]] = {
    "ingest": ["benchmarks.ingest", "--shape", "live"],
    "ingest-backfill": ["benchmarks.ingest", "--shape", "backfill"],
    "writer": ["benchmarks.writer"],
    "query": ["benchmarks.query"],
    "storage": ["benchmarks.storage"],
    "alerts": ["benchmarks.alerts"],
    "mqtt": ["benchmarks.mqtt"],
    "ngsild": ["benchmarks.ngsild"],
    "ngsild-temporal": ["benchmarks.ngsild_temporal"],
    "console": ["benchmarks.console"],
    "directives": ["benchmarks.directives"],
    "kpi": ["benchmarks.kpi"],
    "startup": ["benchmarks.startup"],
    "overload": ["benchmarks.overload"],
    "cluster": ["benchmarks.cluster"],
    "open311": ["benchmarks.open311"],
    "reports": ["benchmarks.reports"],
    "page-weight": ["benchmarks.page_weight"],
}


def main(names: list[str]) -> int:
    chosen = names or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
        return 2
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    failed = 0
    for name in chosen:
        command = [sys.executable, "-m", *BENCHMARKS[name]]
        print(f"\n== {name}: {' '.join(command[1:])}", flush=True)
        if subprocess.run(command, cwd=ROOT, env=env, check=False).returncode != 0:
            print(f"!! {name} failed")
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
