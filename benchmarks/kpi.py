"""Executive dashboard server time with 200 KPIs × 12 months (issue 17; budget ≤ 300 ms).

Builds a fresh database (SQLite file, or PostgreSQL with ``--postgres URL``) holding N monthly
KPIs spread over the four pillars and ten sectors, each with 12 computed months of history
(city value plus 5 wards, with their inputs, as the engine stores them), then times, in-process
through the whole ASGI stack with a leader's token:

* ``GET /kpi``                     the executive dashboard page (HTML, sparklines drawn)
* ``GET /api/v1/kpi/dashboard``    the same as JSON

and, as the floor, the bare ``SELECT`` of the city-wide value rows the dashboard reads.
Prints p50/p95/max of each. Run:
``.venv/bin/python benchmarks/kpi.py [--kpis 200] [--months 12] [--runs 30] [--postgres URL]``.
"""

from __future__ import annotations

import argparse
import random
import tempfile
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select

from benchmarks.console import line, machine, timed

BUDGET_MS = 300.0
WARDS = ("31135", "31120", "31174", "31340", "31321")


def build(url: str, kpis: int, months: int) -> tuple[object, str]:
    from taydo.auth.service import create_user, issue_token
    from taydo.core import clock
    from taydo.core.db import Database
    from taydo.core.migrate import upgrade
    from taydo.kpi.models import Kpi, KpiSector, KpiValue
    from taydo.kpi.periods import recent
    from taydo.kpi.schemas import PILLARS
    from taydo.kpi.service import judge

    database = Database(url)
    upgrade(database)
    rng = random.Random(17)
    now = clock.now()
    sectors = [f"sector-{n}" for n in range(10)]
    periods = recent("month", now, "Asia/Ho_Chi_Minh", months)
    with database.engine.begin() as connection:
        connection.execute(
            insert(KpiSector),
            [
                {"code": s, "name": f"Lĩnh vực {n}", "name_en": f"Sector {n}", "position": n}
                for n, s in enumerate(sectors)
            ],
        )
        connection.execute(
            insert(Kpi),
            [
                {
                    "code": f"kpi-{n:04d}",
                    "name": f"Chỉ số đo thử số {n}",
                    "name_en": f"Benchmark KPI {n}",
                    "pillar": list(PILLARS)[n % 4],
                    "sector": sectors[n % 10],
                    "unit": "%",
                    "direction": "higher",
                    "period": "month",
                    "target": 80.0,
                    "warn": 60.0,
                    "target_source": "benchmark",
                    "source_kind": "records",
                    "source": {"kind": "records", "aggregate": "avg"},
                    "description": "",
                    "version": 1,
                    "origin": "bench",
                    "updated_at": now,
                }
                for n in range(kpis)
            ],
        )
        ids = [row[0] for row in connection.execute(select(Kpi.id).order_by(Kpi.id))]
        rows = []
        for kpi_id in ids:
            for period in periods:
                for area in ("", *WARDS):
                    value = round(rng.uniform(40, 100), 2)
                    status, _why = judge(value, "higher", 80.0, 60.0)
                    rows.append(
                        {
                            "kpi_id": kpi_id,
                            "period_key": period.key,
                            "period_start": period.start,
                            "area_code": area,
                            "value": value,
                            "status": status,
                            "reason": "",
                            "inputs": {
                                "period": period.key,
                                "entries": [
                                    {"area": a, "value": value, "evidence": "Báo cáo đo thử"}
                                    for a in WARDS
                                ],
                            },
                            "formula_version": 1,
                            "closed": period.end <= now,
                            "computed_at": now - timedelta(minutes=1),
                        }
                    )
        for start in range(0, len(rows), 2000):
            connection.execute(insert(KpiValue), rows[start : start + 2000])
    user = create_user(database, "bench-leader", "leader")
    token = issue_token(database, user.id, "bench")[1]
    return database, token


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--kpis", type=int, default=200)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--postgres", default="", help="a PostgreSQL URL (an empty database)")
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from benchmarks.common import create_app
    from taydo.core.settings import Settings
    from taydo.kpi.models import CITY, KpiValue

    with tempfile.TemporaryDirectory() as tmp:
        url = args.postgres or f"sqlite:///{Path(tmp) / 'bench.db'}"
        database, token = build(url, args.kpis, args.months)
        settings = Settings(database_url=url, dev=True, kpi_interval_s=0, _env_file=None)  # type: ignore[call-arg]
        app = create_app(settings, database=database)
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/html"}
        with TestClient(app) as client:

            def page() -> None:
                answer = client.get("/kpi", headers=headers)
                cards = answer.text.count('class="kpi-card st-')
                assert answer.status_code == 200 and cards == args.kpis

            def data() -> None:
                answer = client.get("/api/v1/kpi/dashboard", headers=headers)
                assert answer.status_code == 200 and answer.json()["total"] == args.kpis

            def floor() -> None:
                statement = select(
                    KpiValue.kpi_id, KpiValue.period_key, KpiValue.value, KpiValue.status
                ).where(KpiValue.area_code == CITY)
                with database.engine.connect() as connection:  # type: ignore[attr-defined]
                    connection.execute(statement).all()

            kind = "PostgreSQL" if args.postgres else "SQLite"
            print(
                f"executive dashboard, {args.kpis} KPIs × {args.months} months ({kind}), "
                f"{args.runs} runs — {machine()}"
            )
            print(line("GET /kpi (dashboard page)", timed(page, args.runs), BUDGET_MS))
            print(line("GET /api/v1/kpi/dashboard (JSON)", timed(data, args.runs), BUDGET_MS))
            print(line("floor: SELECT of the city values", timed(floor, args.runs), None))
            print(f"budget: ≤ {BUDGET_MS:.0f} ms server time for each (docs/performance.md)")
        database.dispose()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
