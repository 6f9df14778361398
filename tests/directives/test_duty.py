"""The deadline check as the server runs it: on its own, every ``directives_check_s``; and in
a cluster by one process at a time (the lease ``directives.deadlines``), handed over when that
process stops."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from taydo.app import create_app
from taydo.auth import journal
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.bus import MemoryBus
from taydo.core.db import Database
from taydo.core.lease import PgLeases
from taydo.core.settings import Settings
from taydo.directives import service
from taydo.directives.runtime import DEADLINE_DUTY, DirectivesRuntime
from tests.conftest import POSTGRES_ONLY
from tests.directives.conftest import Clock

LEADER = Principal("leader", "leader")


def _wait(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)
    return found


def test_the_server_flags_overdue_parts_on_its_own(
    settings: Settings,
    database: Database,
    agencies: list[str],
    headers_for: Any,
    moved_clock: Clock,
) -> None:
    fast = settings.model_copy(update={"directives_check_s": 0.1})
    leader = headers_for("leader")
    with TestClient(create_app(fast, database=database)) as client:
        due = (clock.now() + timedelta(hours=1)).isoformat()
        body = {"title": "Báo cáo nhanh", "agencies": ["SXD"], "due_at": due}
        did = client.post("/api/v1/directives", json=body, headers=leader).json()["id"]
        moved_clock.advance(timedelta(hours=2))

        def flagged() -> bool:
            shown = client.get(f"/api/v1/directives/{did}", headers=leader).json()
            return bool(shown["assignments"][0]["overdue_flagged_at"])

        _wait(flagged)
    assert len(journal.query(database, action="directive.overdue").items) == 1


@POSTGRES_ONLY
def test_one_process_of_a_cluster_checks_deadlines(
    settings: Settings, database: Database, agencies: list[str], moved_clock: Clock
) -> None:
    fast = settings.model_copy(update={"directives_check_s": 0.05})
    first_due = service.issue(
        database, LEADER, title="Một", agencies=["SNNMT"], due_at=clock.now() + timedelta(hours=1)
    )["id"]

    async def run() -> None:
        members = []
        for name in ("first", "second"):
            leases = PgLeases(database.url, shards=2, check_s=0.05)
            leases.member += f"-{name}"
            await leases.start()
            bus = MemoryBus()
            await bus.start()
            runtime = DirectivesRuntime(database, bus, leases, fast)
            await runtime.start()
            members.append((leases, bus, runtime))
        (first, first_bus, first_rt), (second, second_bus, second_rt) = members
        assert first.holding(DEADLINE_DUTY) and not second.holding(DEADLINE_DUTY)

        moved_clock.advance(timedelta(hours=2))
        await _until(lambda: _overdue_entries(database) == 1)
        await asyncio.sleep(0.3)  # more checks ran: still one entry (one holder, flagged once)
        assert _overdue_entries(database) == 1

        await first_rt.close()
        await first.close()
        await first_bus.close()
        await _until(lambda: second.holding(DEADLINE_DUTY))
        service.issue(
            database, LEADER, title="Hai", agencies=["SXD"], due_at=clock.now() + timedelta(hours=1)
        )
        moved_clock.advance(timedelta(hours=2))
        await _until(lambda: _overdue_entries(database) == 2)  # the survivor checks now
        await second_rt.close()
        await second.close()
        await second_bus.close()

    asyncio.run(run())
    assert first_due


def _overdue_entries(database: Database) -> int:
    return len(journal.query(database, action="directive.overdue").items)


async def _until(check: Callable[[], bool]) -> None:
    for _ in range(750):
        if await asyncio.to_thread(check):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not reached in 15 s")
