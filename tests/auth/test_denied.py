"""Refused actions leave a trace in the audit journal, and a flood cannot flood it
(issue 18, item 10)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from taydo.app import create_app
from taydo.auth.denied import MAX_KEYS, WINDOW_S, DeniedJournal
from taydo.auth.models import AuditEntry
from taydo.auth.sessions import THROTTLE_MAX_FAILURES
from taydo.core.db import Database
from taydo.core.settings import Settings


def _entries(database: Database, prefix: str = "auth.") -> list[AuditEntry]:
    with database.session() as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.action.startswith(prefix)).order_by(AuditEntry.id)
        ).all()
        session.expunge_all()
    return list(rows)


def _counted(entries: list[AuditEntry], action: str) -> int:
    """How many denials of ``action`` the entries account for (one each, plus the counts)."""
    total = 0
    for entry in entries:
        if entry.action == action:
            total += 1
        elif entry.action == "auth.denied_repeated" and entry.summary["action"] == action:
            total += entry.summary["count"]
        elif entry.action == "auth.denied_overflow":
            total += entry.summary["counts"].get(action, 0)
    return total


def test_fifty_wrong_passwords_are_all_accounted_for(
    settings: Settings, database: Database, make_user
) -> None:  # type: ignore[no-untyped-def]
    name = make_user("operator")
    with TestClient(create_app(settings, database=database)) as client:
        answers = Counter(
            client.post(
                "/api/v1/auth/login", json={"username": name, "password": "sai"}
            ).status_code
            for _ in range(50)
        )
    # Leaving the client stops the app, which journals the open windows.
    assert answers == {401: THROTTLE_MAX_FAILURES, 429: 50 - THROTTLE_MAX_FAILURES}
    entries = _entries(database)
    actions = Counter(entry.action for entry in entries)
    assert actions["auth.login_failed"] == THROTTLE_MAX_FAILURES
    assert _counted(entries, "auth.login_throttled") == 50 - THROTTLE_MAX_FAILURES
    # … in two entries (the first, then one count), not one per attempt.
    repeated = [e for e in entries if e.action == "auth.denied_repeated"]
    assert actions["auth.login_throttled"] == 1
    assert [e.summary["action"] for e in repeated].count("auth.login_throttled") == 1
    throttled = next(e for e in entries if e.action == "auth.login_throttled")
    assert throttled.actor == name and throttled.address
    # The failed logins themselves are 401s of the API, journalled as denials too.
    assert _counted(entries, "auth.denied") == THROTTLE_MAX_FAILURES


def test_refused_requests_are_journalled_with_who_and_where(
    settings: Settings, database: Database, headers_for
) -> None:  # type: ignore[no-untyped-def]
    viewer = headers_for("viewer")
    with TestClient(create_app(settings, database=database)) as client:
        for _ in range(200):
            assert client.get("/api/v1/audit").status_code == 401
        assert client.get("/api/v1/users", headers=viewer).status_code == 403
    entries = [e for e in _entries(database) if e.action != "auth.login_failed"]
    assert _counted(entries, "auth.denied") == 201
    assert len(entries) <= 3  # 401 once + its count, the viewer's 403 once
    forbidden = [e for e in entries if e.summary.get("status") == 403]
    assert len(forbidden) == 1
    assert forbidden[0].actor.startswith("viewer") and forbidden[0].object_id == (
        "GET /api/v1/users"
    )
    anonymous = [e for e in entries if e.actor == "anonymous"]
    assert anonymous and all(e.address == "testclient" for e in anonymous)


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_flood_from_many_addresses_costs_a_bounded_number_of_entries(
    database: Database,
) -> None:
    clock = _Clock()
    denied = DeniedJournal(database, clock=clock)
    detail: dict[str, Any] = {"status": 401, "method": "GET", "route": "/api/v1/audit"}
    keys = MAX_KEYS * 5
    for round_ in range(3):
        for n in range(keys):
            denied.note(
                "auth.denied",
                actor="anonymous",
                address=f"10.0.{n // 250}.{n % 250}",
                detail=detail,
            )
        clock.now += WINDOW_S if round_ < 2 else 0
        asyncio.run(denied.flush())
    asyncio.run(denied.flush(everything=True))
    entries = _entries(database)
    assert _counted(entries, "auth.denied") == 3 * keys  # nothing forgotten
    assert len(entries) <= 3 * (2 * MAX_KEYS + 1)  # … and bounded per window
    overflow = [e for e in entries if e.action == "auth.denied_overflow"]
    assert overflow and all(len(e.summary["samples"]) <= 10 for e in overflow)
