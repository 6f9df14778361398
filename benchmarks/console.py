"""Console overview server time with 10,000 entities (issue 6; budget ≤ 300 ms).

Builds a fresh SQLite catalog of N water-level stations spread over Cần Thơ (each with a
``height`` series, alarm levels and a latest value; 3 % of them with an open alert), then
times, in-process through the whole ASGI stack with an operator's token:

* ``GET /``                      the overview page (HTML: counters, live feed, legend)
* ``GET /console/entities.json`` the map's data (every entity with its state)

and, as the floor, the bare ``SELECT`` of the same entity columns. Prints p50/p95/max of each,
and the overview's weight as a browser on a first visit receives it: the page, every script and
style sheet it names and the map's data, gzip-compressed as the server sends them (budget
≤ 400 KB), beside the same bytes uncompressed.
Run: ``.venv/bin/python benchmarks/console.py [--entities 10000] [--runs 30]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, select

BUDGET_MS = 300.0
WEIGHT_BUDGET_KB = 400.0
ASSET = re.compile(r'<(?:script[^>]+src|link[^>]+rel="stylesheet"[^>]+href)="([^"]+)"')


def machine() -> str:
    import sqlite3

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} CPU, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, load average {load}"
    )


def build(path: Path, entities: int) -> tuple[object, str]:
    from taydo.auth.service import create_user, issue_token
    from taydo.catalog.models import Agency, Entity, Metric
    from taydo.core import clock
    from taydo.core.db import Database
    from taydo.core.migrate import upgrade

    database = Database(f"sqlite:///{path}")
    upgrade(database)
    from taydo.alerts.models import Alert
    from taydo.observations.service import Point, write_points

    rng = random.Random(6)
    now = clock.now()
    with database.engine.begin() as connection:
        agency_id = connection.execute(
            insert(Agency).values(code="BENCH", name="Cơ quan đo thử", kind="so")
        ).inserted_primary_key[0]
        connection.execute(
            insert(Entity),
            [
                {
                    "entity_id": f"urn:ngsi-ld:WaterObserved:B{n:05d}",
                    "type": "WaterObserved",
                    "name": f"Trạm đo {n}",
                    "agency_id": agency_id,
                    "lon": 105.5 + rng.random() * 0.8,
                    "lat": 9.6 + rng.random() * 0.6,
                    "attributes": {"alarm_levels": {"1": 1.8, "2": 1.9, "3": 2.0}},
                    "tags": [],
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(entities)
            ],
        )
        pks = [row[0] for row in connection.execute(select(Entity.id).order_by(Entity.id))]
        connection.execute(
            insert(Metric),
            [{"entity_pk": pk, "name": "height", "unit": "MTR"} for pk in pks],
        )
        series = [row[0] for row in connection.execute(select(Metric.id).order_by(Metric.id))]
        alerting = rng.sample(range(entities), entities * 3 // 100)
        connection.execute(
            insert(Alert),
            [
                {
                    "rule_code": "water-level-alarm",
                    "rule_kind": "threshold",
                    "target": f"urn:ngsi-ld:WaterObserved:B{n:05d}",
                    "open_key": f"water-level-alarm|B{n:05d}",
                    "state": "firing",
                    "severity": rng.choice(["watch", "warning", "danger"]),
                    "entity_id": f"urn:ngsi-ld:WaterObserved:B{n:05d}",
                    "metric": "height",
                    "agency_code": "BENCH",
                    "title": f"Mực nước vượt báo động — Trạm đo {n}",
                    "started_at": now,
                    "updated_at": now,
                }
                for n in alerting
            ],
        )
    now_ms = clock.now_ms()
    write_points(database, [Point(s, now_ms, round(1.2 + rng.random(), 2)) for s in series])
    user = create_user(database, "bench-operator", "operator")
    token = issue_token(database, user.id, "bench")[1]
    return database, token


def timed(call, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    call()  # warm caches once, as a running server has
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        out.append((time.perf_counter() - start) * 1000)
    return out


def line(name: str, samples: list[float], budget: float | None) -> str:
    samples = sorted(samples)
    p95 = samples[int(len(samples) * 0.95) - 1]
    verdict = ""
    if budget is not None:
        verdict = "  within budget" if p95 <= budget else "  OVER BUDGET"
    return (
        f"{name:<34} p50 {statistics.median(samples):7.1f} ms   p95 {p95:7.1f} ms   "
        f"max {samples[-1]:7.1f} ms{verdict}"
    )


def wire_bytes(client, path: str, headers: dict[str, str]) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(bytes on the wire with gzip, bytes once decoded) of one answer."""
    with client.stream("GET", path, headers={**headers, "Accept-Encoding": "gzip"}) as answer:
        assert answer.status_code == 200, path
        raw = sum(len(chunk) for chunk in answer.iter_raw())
    plain = len(client.get(path, headers={**headers, "Accept-Encoding": "identity"}).content)
    return raw, plain


def page_weight(client, headers: dict[str, str]) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """The overview as a first visit loads it: (gzip bytes, plain bytes, number of files)."""
    html = client.get("/", headers=headers).text
    paths = ["/", "/console/entities.json", *ASSET.findall(html)]
    sizes = [wire_bytes(client, path, headers) for path in paths]
    return sum(s[0] for s in sizes), sum(s[1] for s in sizes), len(paths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from benchmarks.common import create_app
    from taydo.catalog.models import Entity
    from taydo.core.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        database, token = build(Path(tmp) / "bench.db", args.entities)
        settings = Settings(database_url=database.url, dev=True, _env_file=None)  # type: ignore[call-arg]
        app = create_app(settings, database=database)
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/html"}
        with TestClient(app) as client:

            def page() -> None:
                answer = client.get("/", headers=headers)
                assert answer.status_code == 200, answer.text[:200]

            def data() -> None:
                answer = client.get("/console/entities.json", headers=headers)
                assert answer.status_code == 200 and len(answer.json()["rows"]) == args.entities

            def floor() -> None:
                statement = select(
                    Entity.id,
                    Entity.entity_id,
                    Entity.name,
                    Entity.lat,
                    Entity.lon,
                    Entity.type,
                    Entity.area_code,
                    Entity.attributes,
                )
                with database.engine.connect() as connection:
                    connection.execute(statement).all()

            print(f"console overview, {args.entities:,} entities, {args.runs} runs — {machine()}")
            print(line("GET / (overview page)", timed(page, args.runs), BUDGET_MS))
            print(line("GET /console/entities.json (map)", timed(data, args.runs), BUDGET_MS))
            print(line("floor: SELECT of the entity rows", timed(floor, args.runs), None))
            print(f"budget: ≤ {BUDGET_MS:.0f} ms server time for each (docs/performance.md)")
            wire, plain, files = page_weight(client, headers)
            verdict = "within budget" if wire / 1024 <= WEIGHT_BUDGET_KB else "OVER BUDGET"
            print(
                f"overview weight, first visit ({files} files): {wire / 1024:.0f} KB gzip, "
                f"{plain / 1024:.0f} KB uncompressed; budget ≤ {WEIGHT_BUDGET_KB:.0f} KB "
                f"compressed: {verdict}"
            )
        database.dispose()


if __name__ == "__main__":
    main()
