"""Leases on PostgreSQL advisory locks (taydo.core.lease): two members split the shards
fairly, a duty is held by one of them, and what a member gives up (or loses with its
connection) goes to the other at its next check. One process holds everything."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from sqlalchemy import create_engine, text

from taydo.core.lease import LocalLeases, PgLeases, create_leases

pytestmark = pytest.mark.postgres


async def until(check: Callable[[], bool]) -> None:
    """Until ``check()`` holds (the leases' own tasks change it), 15 s at most."""
    for _ in range(750):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not reached in 15 s")


def test_a_single_process_holds_every_shard_and_duty_at_once() -> None:
    async def run() -> None:
        leases = create_leases("sqlite:///x.db", "memory://", shards=8, check_s=1)
        assert isinstance(leases, LocalLeases) and not leases.clustered
        ran: list[str] = []

        async def gain() -> None:
            ran.append("gain")

        async def lose() -> None:
            ran.append("lose")

        await leases.duty("rules.timer", gain, lose)
        assert leases.owned == frozenset(range(8)) and leases.holding("rules.timer")
        await leases.close()
        assert ran == ["gain", "lose"]

    asyncio.run(run())


def test_two_members_share_the_shards_and_one_duty_then_hand_over(
    postgres_schema_url: str,
) -> None:
    async def run() -> None:
        first = PgLeases(postgres_schema_url, shards=8, check_s=0.05)
        second = PgLeases(postgres_schema_url, shards=8, check_s=0.05)
        second.member += "-second"  # two members in one test process
        told: list[frozenset[int]] = []

        async def heard(owned: frozenset[int]) -> None:
            told.append(owned)

        second.on_shards(heard)
        await first.start()
        await first.duty("rules.timer")
        assert first.owned == frozenset(range(8)) and first.holding("rules.timer")
        await second.start()
        await second.duty("rules.timer")
        assert not second.holding("rules.timer")  # one holder at a time
        await until(lambda: len(first.owned) == 4 and len(second.owned) == 4)
        assert first.owned | second.owned == frozenset(range(8))
        assert told[-1] == second.owned  # the listener heard each change
        await first.close()  # a graceful stop: everything goes to the survivor
        await until(lambda: second.owned == frozenset(range(8)))
        await until(lambda: second.holding("rules.timer"))
        await second.close()

    asyncio.run(run())


def test_a_member_whose_connection_dies_loses_everything_to_the_other(
    postgres_schema_url: str,
) -> None:
    async def run() -> None:
        first = PgLeases(postgres_schema_url, shards=4, check_s=0.05)
        second = PgLeases(postgres_schema_url, shards=4, check_s=0.05)
        await first.start()
        await first.duty("notify.clock")
        await second.start()
        await second.duty("notify.clock")
        await until(lambda: len(second.owned) == 2)
        first.check_s = 3600  # after its next check, the first member checks no more
        pid = first._connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        # The server ends the first member's session (a crash, a cut network).
        admin = create_engine(postgres_schema_url)
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.dispose()
        await until(lambda: not first.holding("notify.clock") and not first.owned)
        await until(lambda: second.holding("notify.clock") and len(second.owned) == 4)
        await first.close()
        await second.close()

    asyncio.run(run())
