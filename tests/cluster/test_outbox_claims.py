"""Notifications from several processes (issue 15): each outbox row is claimed before it is
sent, so two senders on one database deliver every row once; a row claimed by a process that
died is sent by another once the claim has lapsed, not before."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from taydo.alerts.models import Channel, Outbox
from taydo.alerts.notify import Notifier
from taydo.alerts.service.common import aware
from taydo.core import clock
from taydo.core.db import Database
from tests.alerts.test_notify import Receiver


def make_rows(database: Database, url: str, count: int, **claim: object) -> None:
    now = clock.now()
    with database.session() as session:
        if session.scalar(select(Channel).where(Channel.code == "hook")) is None:
            session.add(Channel(code="hook", kind="webhook", config={"url": url}, max_attempts=5))
        session.add_all(
            Outbox(
                alert_id=None,
                channel_code="hook",
                event="fired",
                payload={"event": "fired", "n": n},
                status="pending",
                attempts=0,
                next_at=now,
                last_error="",
                created_at=now,
                **claim,
            )
            for n in range(count)
        )


def outbox(database: Database) -> list[Outbox]:
    with database.session() as session:
        return list(session.scalars(select(Outbox).order_by(Outbox.id)).all())


async def until_sent(database: Database) -> list[Outbox]:
    for _ in range(1500):
        rows = await asyncio.to_thread(outbox, database)
        if rows and all(row.status == "sent" for row in rows):
            return rows
        await asyncio.sleep(0.02)
    raise AssertionError("not every delivery was sent in 30 s")


def sender(database: Database, member: str) -> Notifier:
    notifier = Notifier(database, timeout_s=2, poll_s=0.05)
    notifier.member = member  # two processes' senders, in one test process
    return notifier


def test_two_senders_deliver_each_row_once(database: Database) -> None:
    receiver = Receiver()
    try:
        make_rows(database, receiver.url, 60)

        async def run() -> list[Outbox]:
            first, second = sender(database, "process-a"), sender(database, "process-b")
            await first.start()
            await second.start()
            try:
                return await until_sent(database)
            finally:
                await first.close()
                await second.close()

        rows = asyncio.run(run())
        delivered = [int(headers["X-Taydo-Delivery"]) for headers, _body in receiver.requests]
        assert sorted(delivered) == [row.id for row in rows]  # each once, none twice
        assert all(row.attempts == 1 and row.claimed_by is None for row in rows)
    finally:
        receiver.close()


def test_a_dead_senders_claim_is_honoured_until_it_lapses(database: Database) -> None:
    receiver = Receiver()
    try:
        lapses = clock.now() + timedelta(seconds=1.5)
        make_rows(database, receiver.url, 1, claimed_by="a-dead-process", claimed_until=lapses)

        async def run() -> list[Outbox]:
            survivor = sender(database, "process-b")
            await survivor.start()
            try:
                return await until_sent(database)
            finally:
                await survivor.close()

        (row,) = asyncio.run(run())
        assert len(receiver.requests) == 1
        assert row.sent_at is not None and aware(row.sent_at) >= lapses  # SQLite: naive UTC
    finally:
        receiver.close()
