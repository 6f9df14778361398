"""The incident board with 100,000 stored incidents (issue 13: p95 ≤ 100 ms).

Fills a fresh SQLite file (or PostgreSQL with ``--postgres URL``) with 100,000 incidents —
most resolved or closed, as a year of a city's work leaves them, a few hundred open — then
times ``GET /incidents`` (the board: four status columns, each the newest 200) through
``taydo serve`` as an operator and as an agency officer (scoped by agency), and, in the same
run, the console's alert list ``GET /alerts`` on the same server as the peer, with as many
alert episodes stored (1 % open): an existing page of the same shape (newest rows of an
indexed state, server-rendered). Prints p50/p95 of each.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

from benchmarks.common import Server, bench_schema, fresh_database, machine, operator_token
from taydo.core.db import Database
from taydo.core.plugins import make_plugin_manager, packs
from taydo.incidents.models import Incident
from taydo.packs.loading import load_pack

AGENCIES = ("SXD", "CATP", "SYT", "SNNMT", "UBND-NINHKIEU", "UBND-CAIRANG")
TYPES = ("tidal-flooding", "traffic", "fire", "citizen-report", "air-pollution")
WARDS = ("31135", "31186", "31117", "31120", "31123")


def fill(database: Database, count: int, seed: int = 1) -> None:
    rnd = random.Random(seed)
    now = datetime.now(UTC)
    start = datetime(2025, 12, 1, tzinfo=UTC)
    table: Any = Incident.__table__
    batch: list[dict[str, Any]] = []
    with database.engine.begin() as connection:
        for n in range(1, count + 1):
            began = start + timedelta(minutes=5 * n)
            roll = rnd.random()
            status = (
                "new"
                if roll < 0.001
                else "dispatched"
                if roll < 0.002
                else "in_progress"
                if roll < 0.004
                else "resolved"
                if roll < 0.2
                else "closed"
            )
            batch.append(
                {
                    "id": n,
                    "code": f"SC-{began.year}-{n:06d}",
                    "type": rnd.choice(TYPES),
                    "title": f"Sự cố thử {n}",
                    "description": "",
                    "severity": rnd.choice(("watch", "warning", "danger")),
                    "status": status,
                    "lat": 10.03,
                    "lon": 105.78,
                    "area_code": rnd.choice(WARDS),
                    "agency_code": rnd.choice(AGENCIES),
                    "assignees": [f"agency:{rnd.choice(AGENCIES)}"],
                    "started_at": began,
                    "due_at": began + timedelta(hours=12),
                    # Steady state: the due-time duty has already flagged the open incidents
                    # past their due time (else the server's first minutes are that catch-up:
                    # ~400 journal entries and notices, timed into the board's figures).
                    "overdue": status in ("new", "dispatched", "in_progress")
                    and began + timedelta(hours=12) <= now,
                    "created_by": "bench",
                    "updated_at": began,
                    "resolved_at": began + timedelta(hours=3)
                    if status in ("resolved", "closed")
                    else None,
                    "closed_at": None,
                    "open_key": None,
                    "correlation": None,
                    "revision": 1,
                }
            )
            if len(batch) == 5000:
                connection.execute(insert(table), batch)
                batch = []
        if batch:
            connection.execute(insert(table), batch)


def fill_alerts(database: Database, count: int, seed: int = 2) -> None:
    """The peer's rows: as many alert episodes, 1 % still open (the alert list shows those)."""
    from taydo.alerts.models import Alert

    rnd = random.Random(seed)
    start = datetime(2025, 12, 1, tzinfo=UTC)
    table: Any = Alert.__table__
    batch: list[dict[str, Any]] = []
    with database.engine.begin() as connection:
        for n in range(1, count + 1):
            began = start + timedelta(minutes=5 * n)
            is_open = rnd.random() < 0.01
            batch.append(
                {
                    "id": n,
                    "rule_code": "water-level-alarm",
                    "rule_kind": "threshold",
                    "target": f"urn:bench:{n}",
                    "open_key": f"water-level-alarm|{n}" if is_open else None,
                    "state": "firing" if is_open else "resolved",
                    "severity": rnd.choice(("watch", "warning", "danger")),
                    "area_code": rnd.choice(WARDS),
                    "agency_code": rnd.choice(AGENCIES),
                    "public": False,
                    "silenced": False,
                    "title": f"Cảnh báo thử {n}",
                    "title_en": f"Test alert {n}",
                    "started_at": began,
                    "updated_at": began,
                    "note": "",
                    # Steady state: the open ones were notified and escalated already (else the
                    # notifier's catch-up for 1,000 alerts runs during the timed requests).
                    "last_notified_at": datetime.now(UTC) if is_open else None,
                    "escalation_step": 99 if is_open else 0,
                    "revision": 1,
                }
            )
            if len(batch) == 5000:
                connection.execute(insert(table), batch)
                batch = []
        if batch:
            connection.execute(insert(table), batch)


def timed(client: httpx.Client, path: str, headers: dict[str, str], runs: int) -> list[float]:
    for _ in range(5):  # warm-up
        assert client.get(path, headers=headers).status_code == 200
    out = []
    for _ in range(runs):
        began = time.perf_counter()
        answer = client.get(path, headers=headers)
        out.append((time.perf_counter() - began) * 1000)
        assert answer.status_code == 200, answer.text[:200]
    return out


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--postgres", default="", help="PostgreSQL URL instead of SQLite")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="taydo-bench-incidents-"))
    with bench_schema(args.postgres, "incidents") as url:
        run(args, folder, url or f"sqlite:///{folder / 'taydo.db'}")


def run(args: argparse.Namespace, folder: Path, url: str) -> None:
    print(f"load average at start {os.getloadavg()[0]:.1f}")
    database = fresh_database(url)
    load_pack(database, packs(make_plugin_manager())["cantho"])
    began = time.perf_counter()
    fill(database, args.incidents)
    fill_alerts(database, args.incidents)
    print(f"filled {args.incidents:,} incidents in {time.perf_counter() - began:.1f} s")
    operator = {"Authorization": f"Bearer {operator_token(database)}"}
    from taydo.auth.service import create_user, issue_token

    officer_user = create_user(database, "bench-officer", "agency_officer", agencies=["SXD"])
    officer = {"Authorization": f"Bearer {issue_token(database, officer_user.id, 'bench')[1]}"}
    database.dispose()
    server = Server(url, folder / "server.log")
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            results = {
                "board (operator)": timed(client, "/incidents", operator, args.runs),
                "board (agency officer, SXD)": timed(client, "/incidents", officer, args.runs),
                "board live fragment": timed(client, "/incidents?fragment=1", operator, args.runs),
                "peer: alert list /alerts (active)": timed(client, "/alerts", operator, args.runs),
                "peer: alert list, all (200 rows)": timed(
                    client, "/alerts?open=all", operator, args.runs
                ),
            }
    finally:
        server.stop()
    print(machine())
    print(f"{args.incidents:,} incidents stored, {'PostgreSQL' if args.postgres else 'SQLite'}")
    print(f"{'page':32} {'p50 ms':>8} {'p95 ms':>8}")
    for name, values in results.items():
        print(f"{name:32} {statistics.median(values):8.1f} {p(values, 95):8.1f}")


if __name__ == "__main__":
    main()
