"""Open311 GeoReport v2: ``POST /open311/v2/requests.json`` sustained rate (photos off, with an
API key), and ``GET /open311/v2/requests.json`` latency with 100,000 stored reports.

Server: ``taydo serve --dev`` in its own process on a fresh SQLite file (or ``--postgres URL``:
a schema of its own there, dropped after)
holding the Cần Thơ pack's service catalogue, routing table, SOPs and correlation rules and two
ward outlines, so each post runs the whole path: key check, point-in-area, routing, journal
entry, commit, bus event, and the incidents domain hearing it (snapshot, correlation rules).

Posts: ``--clients`` concurrent HTTP/1.1 connections for ``--seconds``, each post with its own
lat/long and description; every answer must be 200 with a ``service_request_id`` (the run fails
otherwise). ``--client`` picks the load generator: ``wrk`` (``open311_wrk.lua``; the default
when ``wrk`` is installed) or ``httpx`` (asyncio clients in this process — on two cores they
use about as much CPU as the server, so they bound the rate they measure). Floor, same run,
same client: ``GET /open311/v2/services.csv`` for as long, refused (400) by the same router
before any database work: what HTTP, admission and routing alone cost. Goal ≥ 500/s. The
server's CPU time per post and per floor request is read from ``/proc/<pid>/stat``.

Reads: 100,000 reports spread over 90 days are inserted directly (one ``executemany``), then
four shapes of the spec's query are timed sequentially, 100 requests each: the default (the
90-day span, the first 1,000 newest), ``service_code``, ``status=closed``, and a one-week
``start_date``/``end_date`` window. p50/p95 in ms. Peer, same run: the same queries through
the service function in-process (no HTTP, no JSON). Goal p95 ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

from benchmarks.common import (
    Server,
    bench_schema,
    cpu_seconds,
    fresh_database,
    machine,
    write_figures,
)
from taydo.catalog.schemas import AgencyIn
from taydo.catalog.service import create_agency
from taydo.citizen.models import CitizenReport
from taydo.citizen.service import create_key, load_catalogue, open311_requests
from taydo.core import clock
from taydo.core.db import Database
from taydo.core.plugins import make_plugin_manager, packs
from taydo.geo.service import load_areas, set_area_geometry
from taydo.incidents.service import load_incidents_pack

AGENCIES = ("UBND-NINHKIEU", "UBND-CAIRANG", "SXD", "SNNMT", "VPUBND")
WRK = shutil.which("wrk")
WRK_SCRIPT = Path(__file__).with_name("open311_wrk.lua")
SERVICES = ("ngap-nuoc", "rac-thai", "den-duong", "o-ga", "cay-xanh", "o-nhiem", "sat-lo")


def _box(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> dict[str, Any]:
    ring = [
        [min_lon, min_lat],
        [max_lon, min_lat],
        [max_lon, max_lat],
        [min_lon, max_lat],
        [min_lon, min_lat],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def prepare(database: Database) -> str:
    load_areas(database)
    set_area_geometry(database, "31135", _box(105.77, 10.02, 105.80, 10.05))
    set_area_geometry(database, "31186", _box(105.75, 9.98, 105.79, 10.01))
    for code in AGENCIES:
        create_agency(database, AgencyIn(code=code, name=code, kind="so"), None)
    cantho = packs(make_plugin_manager())["cantho"]
    load_catalogue(database, cantho)
    # The pack's SOPs and correlation rules too, as a deployment has them: every post is heard
    # by the incidents domain, which judges it against those rules.
    load_incidents_pack(database, cantho)
    return create_key(database, "bench", actor="bench")[1]


async def _hammer(
    url: str, seconds: float, clients: int, make: Any, expect: int = 200
) -> tuple[int, float]:
    done = 0
    stop = time.monotonic() + seconds

    async def client() -> None:
        nonlocal done
        async with httpx.AsyncClient(timeout=30) as http:
            while time.monotonic() < stop:
                answer = await make(http, url)
                if answer.status_code != expect:
                    raise RuntimeError(f"{answer.status_code}: {answer.text[:200]}")
                done += 1

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(clients)))
    return done, time.monotonic() - started


def _wrk_run(url: str, seconds: float, clients: int, *args: str) -> tuple[int, float]:
    """One wrk run of ``open311_wrk.lua``: (good answers, seconds); raises on any bad one."""
    done = subprocess.run(
        [
            WRK or "wrk",
            "-t1",  # one thread drives 16 connections far faster than one server process answers
            f"-c{clients}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "30s",
            "-s",
            str(WRK_SCRIPT),
            url,
            "--",
            *args,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(
        (x for x in done.stdout.splitlines() if x.startswith("open311-wrk ")),
        None,
    )
    if line is None:
        raise RuntimeError(f"wrk said nothing usable: {done.stdout[-500:]} {done.stderr[-500:]}")
    figures = dict(part.split("=", 1) for part in line.split()[1:])
    if int(figures["bad"]) or int(figures["errors"]):
        raise RuntimeError(f"wrk: unexpected answers or socket errors: {line}")
    return int(figures["requests"]), float(figures["seconds"])


def _httpx_run(url: str, seconds: float, clients: int, *args: str) -> tuple[int, float]:
    """The same runs with httpx clients in this process (``post <key>`` or ``floor``)."""
    if args[0] == "floor":

        async def refused(http: httpx.AsyncClient, url: str) -> httpx.Response:
            return await http.get(url)

        return asyncio.run(_hammer(url, seconds, clients, refused, expect=400))
    key = args[1]
    rng = random.Random(7)
    counter = itertools.count()

    async def post(http: httpx.AsyncClient, url: str) -> httpx.Response:
        answer = await http.post(
            url,
            data={
                "api_key": key,
                "service_code": "o-ga",
                "lat": 10.02 + rng.random() * 0.03,
                "long": 105.77 + rng.random() * 0.03,
                # distinct, as real reports are (and as the wrk script's are)
                "description": f"ổ gà (benchmark) {next(counter)}",
            },
        )
        if answer.status_code == 200 and "service_request_id" not in answer.json()[0]:
            raise RuntimeError("no service_request_id")
        return answer

    return asyncio.run(_hammer(url, seconds, clients, post))


def post_rate(
    base: str, key: str, seconds: float, clients: int, pid: int, client: str = "httpx"
) -> tuple[float, float, float, float]:
    """Posts/s and floor requests/s, and the server process's CPU time per post and per floor
    request (µs; counted until 1 s after the last answer, so that the work done after the
    answers — the bus event's listeners — is counted too). CPU per request changes far less
    than a rate when other work shares the machine's cores.

    ``client``: ``wrk`` (a C load generator driving ``open311_wrk.lua``) or ``httpx`` (asyncio
    clients in this process: on two cores they use about as much CPU as the server, so they
    bound the rate they measure)."""
    run = _wrk_run if client == "wrk" else _httpx_run
    cpu = cpu_seconds(pid)
    posted, took = run(f"{base}/open311/v2/requests.json", seconds, clients, "post", key)
    time.sleep(1.0)
    post_cpu, cpu = cpu_seconds(pid) - cpu, cpu_seconds(pid)
    floor, floor_took = run(f"{base}/open311/v2/services.csv", seconds, clients, "floor")
    time.sleep(1.0)
    floor_cpu = cpu_seconds(pid) - cpu
    return (
        posted / took,
        floor / floor_took,
        post_cpu / max(posted, 1) * 1e6,
        floor_cpu / max(floor, 1) * 1e6,
    )


def fill(database: Database, count: int) -> None:
    rng = random.Random(11)
    now = clock.now()
    rows = []
    for n in range(count):
        at = now - timedelta(seconds=rng.random() * 89 * 86400)
        closed = rng.random() < 0.6
        rows.append(
            {
                "token": secrets.token_urlsafe(18),
                "service_code": rng.choice(SERVICES),
                "description": f"phản ánh {n}",
                "lat": 10.0 + rng.random() * 0.06,
                "lon": 105.74 + rng.random() * 0.06,
                "address": "",
                "area_code": rng.choice(("31135", "31186", None)),
                "agency_code": rng.choice(AGENCIES),
                "status": "closed" if closed else rng.choice(("open", "acknowledged")),
                "status_notes": "xong" if closed else "",
                "attributes": {},
                "contact_name": "",
                "contact_email": "",
                "contact_phone": "",
                "public": True,
                "requested_at": at,
                "updated_at": at,
                "due_at": at + timedelta(hours=72),
                "closed_at": at + timedelta(hours=10) if closed else None,
                "reopened": 0,
                "revision": 1,
            }
        )
    with database.engine.begin() as connection:
        for start in range(0, count, 10_000):
            connection.execute(insert(CitizenReport), rows[start : start + 10_000])


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def read_latency(base: str, database: Database, repeats: int) -> dict[str, tuple[float, ...]]:
    week_end = clock.now() - timedelta(days=20)
    shapes: dict[str, dict[str, str]] = {
        "default (90 days, first 1000)": {},
        "service_code=den-duong": {"service_code": "den-duong"},
        "status=closed": {"status": "closed"},
        "one week window": {
            "start_date": (week_end - timedelta(days=7)).isoformat(),
            "end_date": week_end.isoformat(),
        },
    }
    out: dict[str, tuple[float, ...]] = {}
    with httpx.Client(timeout=30) as http:
        for name, params in shapes.items():
            http.get(f"{base}/open311/v2/requests.json", params=params)  # warm
            times, sizes = [], []
            for _ in range(repeats):
                started = time.perf_counter()
                answer = http.get(f"{base}/open311/v2/requests.json", params=params)
                times.append((time.perf_counter() - started) * 1000)
                if answer.status_code != 200:
                    raise RuntimeError(answer.text[:200])
                sizes.append(len(answer.json()))
            service_times = []
            kwargs: dict[str, Any] = {
                "service_code": params.get("service_code"),
                "statuses": [params["status"]] if "status" in params else (),
            }
            if "start_date" in params:
                kwargs["start"] = week_end - timedelta(days=7)
                kwargs["end"] = week_end
            for _ in range(repeats):
                started = time.perf_counter()
                open311_requests(database, **kwargs)
                service_times.append((time.perf_counter() - started) * 1000)
            out[name] = (
                statistics.median(times),
                _p(times, 0.95),
                statistics.median(service_times),
                _p(service_times, 0.95),
                statistics.median(sizes),
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", help="a PostgreSQL URL instead of a fresh SQLite file")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--json", help="write the headline figures here")
    parser.add_argument("--posts-only", action="store_true", help="skip the reads")
    parser.add_argument(
        "--client",
        choices=("auto", "wrk", "httpx"),
        default="auto",
        help="the load generator for the posts and their floor: wrk (auto: when installed) "
        "or httpx clients in this process",
    )
    args = parser.parse_args()
    client = ("wrk" if WRK else "httpx") if args.client == "auto" else args.client
    if client == "wrk" and WRK is None:
        parser.error("wrk is not installed (apt install wrk), use --client httpx")
    print(machine())
    with (
        tempfile.TemporaryDirectory() as folder,
        bench_schema(args.postgres, "open311") as postgres,
    ):
        url = postgres or f"sqlite:///{Path(folder) / 'taydo.db'}"
        database = fresh_database(url)
        key = prepare(database)
        server = Server(url, Path(folder) / "server.log")
        try:
            rate, floor, post_us, floor_us = post_rate(
                server.url, key, args.seconds, args.clients, server.process.pid, client
            )
            print(
                f"POST /open311/v2/requests.json (photos off, api_key, {args.clients} clients, "
                f"{client}): "
                f"{rate:,.0f} req/s  (goal ≥ 500)  — floor, same clients: GET services.csv "
                f"(refused before any database work): "
                f"{floor:,.0f} req/s ({rate / floor:.2f} of it)"
            )
            print(
                f"server CPU per request: post {post_us:,.0f} µs, floor {floor_us:,.0f} µs "
                f"(post/floor {post_us / floor_us:.1f})"
            )
            if args.posts_only:
                return
            fill(database, args.reports)
            print(
                f"stored reports: {args.reports + int(rate * args.seconds):,} "
                f"({args.reports:,} over 90 days + the posts above)"
            )
            figures = read_latency(server.url, database, args.repeats)
            print(
                "GET /open311/v2/requests.json — HTTP p50 / p95 ms (goal p95 ≤ 100) — "
                "service in-process p50 / p95 ms — rows returned"
            )
            for name, (p50, p95, s50, s95, rows) in figures.items():
                print(
                    f"  {name:32s} {p50:7.1f} / {p95:7.1f}   {s50:7.1f} / {s95:7.1f}   {rows:6.0f}"
                )
        finally:
            server.stop()
            database.dispose()
    default = figures["default (90 days, first 1000)"]
    write_figures(
        args.json,
        "open311",
        {
            "post_rate": (rate, "req/s", "higher"),
            "get_default_p95": (default[1], "ms", "lower"),
        },
    )


if __name__ == "__main__":
    main()
