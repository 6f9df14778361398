"""Directive tracker server time with many directives (no budget in DESIGN.md; compared with
the bare SELECT of the same rows, and with the console's 300 ms page budget).

Builds a fresh SQLite database of N directives (default 10,000) to 12 agencies, each to 1–3
agencies, at every stage of their life (a third open, some overdue, most completed, on time or
late), then times, in-process through the whole ASGI stack with a leader's token:

* ``GET /api/v1/directives?limit=100``             the API list (open first, soonest first)
* ``GET /api/v1/directives?overdue=true&limit=100`` the overdue filter
* ``GET /api/v1/directives/rates``                  on-time rate per agency over everything
* ``GET /directives``                               the tracker page (500 rows and the rates)
* the deadline check (``check_deadlines``) with nothing new to flag: the duty's steady cost

and, as the floor, the bare ``SELECT`` of 100 directives and their parts.
Run: ``.venv/bin/python -m benchmarks.directives [--directives 10000] [--runs 30]``
(or ``.venv/bin/python benchmarks/run.py directives``).
"""

from __future__ import annotations

import argparse
import random
import tempfile
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select

from benchmarks.console import line, machine, timed

AGENCIES = [f"AG{n:02d}" for n in range(12)]


def build(path: Path, count: int) -> tuple[object, str]:
    from taydo.auth.service import create_user, issue_token
    from taydo.catalog.models import Agency
    from taydo.core import clock
    from taydo.core.db import Database
    from taydo.core.migrate import upgrade
    from taydo.directives.models import Assignment, Directive
    from taydo.directives.service import check_deadlines

    database = Database(f"sqlite:///{path}")
    upgrade(database)
    rng = random.Random(13)
    now = clock.now()
    directives, parts = [], []
    for n in range(count):
        issued = now - timedelta(days=rng.uniform(1, 365))
        due = issued + timedelta(days=rng.uniform(1, 30))
        state = "open" if due > now or rng.random() < 0.1 else "completed"
        directives.append(
            {
                "id": n + 1,
                "title": f"Chỉ đạo số {n + 1}",
                "description": "",
                "priority": rng.choice(["low", "normal", "high", "urgent"]),
                "status": state,
                "due_at": due,
                "issued_by": "leader",
                "issued_at": issued,
                "updated_at": issued,
                "closed_at": None if state == "open" else due,
                "revision": 1,
            }
        )
        for agency in rng.sample(AGENCIES, rng.randint(1, 3)):
            done = due + timedelta(days=rng.uniform(-5, 3))
            finished = state == "completed"
            parts.append(
                {
                    "directive_id": n + 1,
                    "agency_code": agency,
                    "status": "accepted" if finished else rng.choice(["assigned", "in_progress"]),
                    "percent": 100 if finished else rng.randint(0, 90),
                    "due_at": due,
                    "done_at": done if finished else None,
                    "accepted_at": done if finished else None,
                    "overdue_at": due if not finished and due < now else None,
                    "reason": "",
                    "updated_at": issued,
                }
            )
    with database.engine.begin() as connection:
        connection.execute(insert(Agency), [{"code": a, "name": a, "kind": "so"} for a in AGENCIES])
        connection.execute(insert(Directive), directives)
        connection.execute(insert(Assignment), parts)
    check_deadlines(database, remind_before=timedelta(hours=24))  # the reminders due now
    user = create_user(database, "bench-leader", "leader")
    return database, issue_token(database, user.id, "bench")[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--directives", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from benchmarks.common import create_app
    from taydo.core.settings import Settings
    from taydo.directives.models import Assignment, Directive
    from taydo.directives.service import check_deadlines

    with tempfile.TemporaryDirectory() as tmp:
        database, token = build(Path(tmp) / "bench.db", args.directives)
        settings = Settings(  # type: ignore[call-arg]
            database_url=database.url,  # type: ignore[attr-defined]
            dev=True,
            directives_check_s=3600,
            directives_files_dir=Path(tmp) / "files",
            _env_file=None,
        )
        app = create_app(settings, database=database)
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/html"}
        with TestClient(app) as client:

            def get(path: str) -> None:
                answer = client.get(path, headers=headers)
                assert answer.status_code == 200, answer.text[:200]

            def check() -> None:
                assert check_deadlines(database, remind_before=timedelta(hours=24)) == []

            def floor() -> None:
                with database.engine.connect() as connection:  # type: ignore[attr-defined]
                    ids = [
                        row[0]
                        for row in connection.execute(
                            select(Directive.id).order_by(Directive.due_at).limit(100)
                        )
                    ]
                    connection.execute(select(Directive).where(Directive.id.in_(ids))).all()
                    connection.execute(
                        select(Assignment).where(Assignment.directive_id.in_(ids))
                    ).all()

            print(f"directives, {args.directives:,} directives, {args.runs} runs — {machine()}")
            for name, path, budget in (
                ("GET /api/v1/directives (100)", "/api/v1/directives?limit=100", None),
                ("GET …?overdue=true (100)", "/api/v1/directives?overdue=true&limit=100", None),
                ("GET /api/v1/directives/rates", "/api/v1/directives/rates", None),
                ("GET /directives (tracker page)", "/directives", 300.0),
            ):
                print(line(name, timed(lambda p=path: get(p), args.runs), budget))
            print(line("deadline check, nothing to flag", timed(check, args.runs), None))
            print(line("floor: SELECT of 100 + their parts", timed(floor, args.runs), None))
        database.dispose()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
