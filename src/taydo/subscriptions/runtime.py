"""What runs while the server runs: the matching index, kept current in every process, and the
listeners that turn committed values and attribute changes into notifications.

Every value reaches the bus after it is committed, whichever door it came in by (MQTT, HTTP,
files, connectors, NGSI-LD): ``observations.committed`` carries the numbers,
``catalog.attributes_changed`` the other attributes. The handlers run beside ingest, never in
its way: matching is a few dictionary reads per value in a worker thread, and what matches is
written to the alert outbox, whose notifier sends it (retries, back-off, dead letters, one
queue per receiver). In a cluster each entity's changes are notified by the one process that
holds its shard (``taydo.core.lease``)."""

from __future__ import annotations

import asyncio
import logging
import zlib
from typing import Annotated, Any

from fastapi import Depends, Request

from taydo.alerts.outbound import Target
from taydo.alerts.runtime import AlertingRuntime
from taydo.catalog.series import SeriesIndex
from taydo.core import clock
from taydo.core.bus import Event, Subscription, settle
from taydo.core.runtime import Runtime, runtime_of
from taydo.ingest.ngsild.context import ContextResolver, ContextStore
from taydo.observations.service import ObservationWriter
from taydo.subscriptions.service.index import Entry, SubscriptionIndex
from taydo.subscriptions.service.mqtt_delivery import MqttSender
from taydo.subscriptions.service.notifications import (
    KIND,
    Change,
    load_entities,
    notify,
    record_outcome,
    record_outcomes,
)
from taydo.subscriptions.service.periodic import DUTY as PERIODIC_DUTY
from taydo.subscriptions.service.periodic import PeriodicNotifier
from taydo.subscriptions.service.store import load_rows, receiver_headers

__all__ = ["CHANGED", "Subscriptions", "SubscriptionsRuntime", "start", "stop"]

log = logging.getLogger(__name__)

CHANGED = "subscriptions.changed"
COMMITTED = "observations.committed"
ATTRIBUTES = "catalog.attributes_changed"
QUEUE = 100_000  # committed batches waiting for the matcher before the oldest is dropped
# How long a committed batch may wait for the writer to empty its queue before it is matched:
# during an ingest burst the fan-out (matching, rendering, the outbox INSERT: far more work a
# value than storing it) yields the CPU and the database's write lock to ingest, at the cost
# of at most this much notification latency.
YIELD_S = 1.0

Matched = dict[str, tuple[Entry, dict[str, Change]]]


def _resolver(runtime: Runtime) -> ContextResolver:
    found = runtime.find(ContextResolver)
    if found is None:  # the NGSI-LD gateway makes the same one on first use
        settings = runtime.settings
        found = runtime.provide(
            ContextResolver(
                ContextStore(settings.contexts_dir),
                fetch_remote=settings.ngsild_fetch_remote_contexts,
            )
        )
    return found


class SubscriptionsRuntime:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.database = runtime.db
        self.index = SubscriptionIndex()
        self.series = runtime.find(SeriesIndex) or SeriesIndex(runtime.db)
        self.resolver = _resolver(runtime)
        self.max_attempts = 5
        self._subscriptions: list[Subscription] = []
        self._reload_lock = asyncio.Lock()
        self.queued = 0  # notifications queued by this process (for the benchmark, /metrics)
        self.periodic = PeriodicNotifier(
            self.database, self.resolver, self.index, self._wake, max_attempts=self.max_attempts
        )

    # -- the index ------------------------------------------------------------------------
    async def reload(self) -> None:
        async with self._reload_lock:
            rows = await asyncio.to_thread(load_rows, self.database, self.runtime.secrets)
            self.index.build(rows, self.resolver)
            self.periodic.changed()

    async def changed(self) -> None:
        """A subscription changed here: this index at once, the other processes' over the bus."""
        await self.reload()
        await self.runtime.bus.publish(CHANGED, {})

    def headers(self, sub_id: str) -> dict[str, str] | None:
        """The receiverInfo headers of a subscription (None: it was deleted). Blocking."""
        entry = self.index.get(sub_id)
        if entry is not None:
            return receiver_headers(entry.row)
        rows = load_rows(self.database, self.runtime.secrets, [sub_id])
        return receiver_headers(rows[0]) if rows else None

    def notifier_info(self, sub_id: str) -> list[dict[str, str]] | None:
        """The notifierInfo pairs of a subscription (MQTT-Version, MQTT-QoS …). Blocking."""
        entry = self.index.get(sub_id)
        row = entry.row if entry is not None else None
        if row is None:
            rows = load_rows(self.database, self.runtime.secrets, [sub_id])
            row = rows[0] if rows else None
        endpoint = row.document.get("notification", {}).get("endpoint", {}) if row else {}
        found = endpoint.get("notifierInfo")
        return list(found) if isinstance(found, list) else None

    def _wake(self) -> None:
        alerting = self.runtime.find(AlertingRuntime)
        if alerting is not None:
            alerting.notifier.wake()

    # -- start and stop ----------------------------------------------------------------------
    async def start(self) -> None:
        await self.reload()
        alerting = self.runtime.find(AlertingRuntime)
        if alerting is not None:
            sender = MqttSender(self.notifier_info)
            alerting.notifier.target(
                KIND,
                Target(
                    headers=self.headers,
                    finished=record_outcome,
                    finished_many=record_outcomes,
                    send=sender.send,
                ),
            )
        bus = self.runtime.bus
        self._subscriptions = [
            bus.subscribe(COMMITTED, self._on_committed, queue_size=QUEUE),
            bus.subscribe(ATTRIBUTES, self._on_attributes),
            bus.subscribe(CHANGED, self._on_changed),
        ]
        await self.runtime.leases.duty(PERIODIC_DUTY, self.periodic.start, self.periodic.stop)

    async def stop(self, settle_s: float = 10.0) -> None:
        """Stop; first match what was committed and is still queued (for at most
        ``settle_s`` seconds): what matched is in the outbox, sent after a restart."""
        await self.runtime.leases.drop_duty(PERIODIC_DUTY)
        for subscription in self._subscriptions:
            if subscription.pattern == COMMITTED and not await settle(subscription, settle_s):
                log.warning(
                    "stopping with %d committed batches not matched against subscriptions",
                    subscription.queue.qsize(),
                )
        for subscription in self._subscriptions:
            self.runtime.bus.unsubscribe(subscription)
        self._subscriptions = []

    # -- hearing changes ---------------------------------------------------------------------
    def _here(self, entity_id: str) -> bool:
        leases = self.runtime.leases
        if not leases.clustered:
            return True
        return leases.shard_of(zlib.crc32(entity_id.encode())) in leases.owned

    async def _on_changed(self, _event: Event) -> None:
        await self.reload()

    async def _on_committed(self, event: Event) -> None:
        if self.index.empty:
            return
        points = event.data or []
        await self._yield_to_ingest()
        await self._run(self._match_points, points)

    async def _yield_to_ingest(self) -> None:
        writer = self.runtime.find(ObservationWriter)
        if writer is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + YIELD_S
        # The queue depth is a counter the writer's thread keeps, with no event to wait on.
        while writer.pending_rows > 0 and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    async def _on_attributes(self, event: Event) -> None:
        if self.index.empty:
            return
        data = event.data if isinstance(event.data, dict) else {}
        await self._run(
            self._match_attributes,
            list(data.get("entity_ids") or ()),
            list(data.get("attributes") or ()),
        )

    async def _run(self, match: Any, *args: Any) -> None:
        queued = await asyncio.to_thread(self._match_and_notify, match, *args)
        if queued:
            self.queued += queued
            alerting = self.runtime.find(AlertingRuntime)
            if alerting is not None:
                alerting.notifier.wake()

    def _match_and_notify(self, match: Any, *args: Any) -> int:
        matched: Matched = match(*args)
        if not matched:
            return 0
        return notify(self.database, self.resolver, matched, max_attempts=self.max_attempts)

    def _match_points(self, points: list[Any]) -> Matched:
        infos = self.series.by_ids({int(p[0]) for p in points})
        now = clock.now()
        matched: Matched = {}
        for series_id, ts, value in points:
            info = infos.get(int(series_id))
            if info is None or not self._here(info.entity_id):
                continue
            for entry in self.index.candidates(
                info.entity_id, info.entity_type, (info.metric,), now
            ):
                _entry, changes = matched.setdefault(entry.sub_id, (entry, {}))
                change = changes.get(info.entity_id)
                if change is None:
                    change = changes[info.entity_id] = Change(info.entity_id)
                change.values.setdefault(info.metric, []).append((int(ts), float(value)))
        return matched

    def _match_attributes(self, entity_ids: list[str], names: list[str]) -> Matched:
        """Attributes changed (not observed values: those come committed, with their time).
        The event names the union of the changed names; each entity's own are checked when
        its notification is built."""
        now = clock.now()
        matched: Matched = {}
        wanted: dict[str, list[str]] = {}
        for entity_id in entity_ids:
            if not isinstance(entity_id, str) or not self._here(entity_id):
                continue
            series = {info.metric for info in self.series.of_entity(entity_id)}
            plain = [n for n in names if n not in series]  # observed ones come committed
            if not plain:
                continue
            wanted[entity_id] = plain
        if not wanted:
            return matched
        for entity_id, entity in load_entities(self.database, self.resolver, list(wanted)).items():
            for entry in self.index.candidates(entity_id, entity.type, wanted[entity_id], now):
                _entry, changes = matched.setdefault(entry.sub_id, (entry, {}))
                changes.setdefault(entity_id, Change(entity_id)).attributes.update(
                    wanted[entity_id]
                )
        return matched


async def start(runtime: Runtime) -> None:
    subscriptions = runtime.find(SubscriptionsRuntime)
    if subscriptions is None:
        subscriptions = runtime.provide(SubscriptionsRuntime(runtime))
    await subscriptions.start()


async def stop(runtime: Runtime) -> None:
    subscriptions = runtime.find(SubscriptionsRuntime)
    if subscriptions is not None:
        await subscriptions.stop()


async def _subscriptions(request: Request) -> SubscriptionsRuntime:
    return runtime_of(request.app).get(SubscriptionsRuntime)


Subscriptions = Annotated[SubscriptionsRuntime, Depends(_subscriptions)]
