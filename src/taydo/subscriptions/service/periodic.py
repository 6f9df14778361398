"""Periodic notifications (§5.2.12 ``timeInterval``): every ``timeInterval`` seconds, a
subscription that has one is notified with the current state of every entity it selects
(its ``entities``, ``q``, ``geoQ``, the owner's agency scope), whether anything changed or not.

One process of a cluster sends them (the ``subscriptions.periodic`` lease duty); each period is
also claimed in the database (``last_queued_at`` moved on by one UPDATE, in the transaction
that queues the notification), so a duty changing hands mid-period never sends it twice. The
claim sets the clock to *now*, not to the missed period's end: after a restart (or a pause)
the subscription gets one notification, then its cadence again — never a burst of the
periods it missed. Delivery is the outbox's, as for every other notification."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from taydo.alerts.outbound import enqueue_post
from taydo.core import clock
from taydo.core.db import Database
from taydo.ingest.ngsild.context import ContextResolver
from taydo.ingest.ngsild.read import Stored, query_entities, type_check
from taydo.subscriptions.service.index import Entry, SubscriptionIndex
from taydo.subscriptions.service.notifications import (
    EVENT,
    KIND,
    Change,
    body_and_headers,
    claim_period,
    entity_elements,
)

__all__ = ["DUTY", "MAX_ENTITIES", "PeriodicNotifier"]

log = logging.getLogger(__name__)

DUTY = "subscriptions.periodic"
CHECK_S = 0.5  # how often due subscriptions are looked for (the finest cadence kept)
MAX_ENTITIES = 1000  # entities in one periodic notification (the rest are left out, logged)


def _due_entries(index: SubscriptionIndex, now: datetime) -> list[Entry]:
    out = []
    for entry in index.entries():
        if not entry.periodic or not entry.row.is_active:
            continue
        expires = entry.row.expires_at
        if expires is not None and expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        if expires is not None and expires <= now:
            continue
        out.append(entry)
    return out


def _selected(entry: Entry) -> Callable[[Stored], bool]:
    """Whether an entity (already of one of the selectors' types) meets the id or idPattern
    of a selector of its type."""
    checks = [(type_check(entry.context, [t.type_iri]), t) for t in entry.targets]

    def accepts(entity: Stored) -> bool:
        for of_type, target in checks:
            if not of_type(entity):
                continue
            if target.entity_id is not None:
                if entity.entity_id == target.entity_id:
                    return True
            elif target.pattern is None or target.pattern.search(entity.entity_id):
                return True
        return False

    return accepts


def current_state(
    database: Database, resolver: ContextResolver, entry: Entry
) -> list[dict[str, Any]]:
    """The subscription's entities as they are now, rendered as its notifications show them."""
    types = sorted({t.type_iri for t in entry.targets})
    ids = [t.entity_id for t in entry.targets]
    entities, total = query_entities(
        database,
        resolver,
        entry.row.principal(),
        entry.context,
        types=types,
        ids=ids if all(ids) else None,  # type: ignore[arg-type]
        q=entry.q,
        geo=entry.geo,
        limit=MAX_ENTITIES,
        also=_selected(entry),
    )
    if total > len(entities):
        log.warning(
            "periodic subscription %s selects %d entities: only %d notified",
            entry.sub_id,
            total,
            len(entities),
        )
    data: list[dict[str, Any]] = []
    for entity in entities:
        data.extend(entity_elements(entry, entity, Change(entity.entity_id)))
    return data


def tick(
    database: Database,
    resolver: ContextResolver,
    index: SubscriptionIndex,
    *,
    max_attempts: int = 5,
    next_due: dict[str, float] | None = None,
) -> int:
    """Queue the notification of every periodic subscription whose period has come; returns
    how many were queued. Blocking. ``next_due`` (subscription id → monotonic time) spares
    the database a claim that cannot succeed yet: a claim taken here is not tried again
    before its interval, one refused (another process's, or a period not over) within a
    second at most."""
    now = clock.now()
    moment = time.monotonic()
    queued = 0
    for entry in _due_entries(index, now):
        interval = float(entry.row.document.get("timeInterval") or 0)
        if interval <= 0:
            continue
        if next_due is not None and next_due.get(entry.sub_id, 0.0) > moment:
            continue
        with database.session() as session:
            claimed = claim_period(session, entry, interval, now)
            if next_due is not None:
                next_due[entry.sub_id] = moment + (interval if claimed else min(interval, 1.0))
            if not claimed:
                continue
            data = current_state(database, resolver, entry)
            if not data:
                continue  # nothing selected (yet): the period is spent, nothing sent
            body, headers = body_and_headers(entry, data, now)
            enqueue_post(
                session,
                kind=KIND,
                ref=entry.sub_id,
                queue=entry.queue,
                url=entry.uri,
                body=body,
                headers=headers,
                event=EVENT,
                max_attempts=max_attempts,
            )
            queued += 1
    return queued


class PeriodicNotifier:
    """The loop the duty's holder runs; ``wake`` tells the outbox something was queued."""

    def __init__(
        self,
        database: Database,
        resolver: ContextResolver,
        index: SubscriptionIndex,
        wake: Callable[[], None],
        *,
        max_attempts: int = 5,
        check_s: float = CHECK_S,
    ) -> None:
        self.database = database
        self.resolver = resolver
        self.index = index
        self.wake = wake
        self.max_attempts = max_attempts
        self.check_s = check_s
        self.queued = 0
        self._next_due: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    def changed(self) -> None:
        """Subscriptions changed (a new timeInterval, a renewal): claim each afresh (the
        database still keeps every period from being sent early)."""
        self._next_due = {}

    async def start(self) -> None:
        self._next_due.clear()  # just gained the duty: every subscription is claimed afresh
        self._task = asyncio.get_running_loop().create_task(
            self._loop(), name="subscriptions:periodic"
        )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                queued = await asyncio.to_thread(
                    tick,
                    self.database,
                    self.resolver,
                    self.index,
                    max_attempts=self.max_attempts,
                    next_due=self._next_due,
                )
                if queued:
                    self.queued += queued
                    self.wake()
            except Exception:
                log.exception("periodic notifications failed this turn")
            await asyncio.sleep(self.check_s)
