"""Wiring of the early-warning pipeline inside one app process.

committed observations (bus) → engine (per-series state, in memory) → transitions persisted
(one transaction per batch, off the event loop) → ``alerts.transition`` (bus) → live stream and
notification outbox. VN_AQI values are derived from pollutant series on the way and stored
through the observation writer, so they come back as committed observations like any metric.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Iterable
from contextvars import ContextVar
from functools import partial
from typing import Annotated, Any

from fastapi import Depends, Request

from taydo.alerts.notify import Notifier
from taydo.alerts.service import apply_transitions, judged_marks, open_alerts
from taydo.alerts.stream import StreamHub
from taydo.auth.displays import ENDED_SUBJECT
from taydo.catalog import service as catalog
from taydo.catalog.series import SeriesIndex, SeriesInfo
from taydo.core import clock
from taydo.core.bus import Bus, Event, settle
from taydo.core.db import Database
from taydo.core.lease import Leases, LocalLeases
from taydo.core.metering import Timings
from taydo.core.runtime import Runtime, runtime_of
from taydo.observations.query import latest_points, points_since, recent_points
from taydo.observations.service import ObservationWriter
from taydo.rules.aqi import POLLUTANTS, AqiTracker, Derived
from taydo.rules.engine import Engine, Transition, attribute_metrics, attribute_roots
from taydo.rules.schemas import RuleDef
from taydo.rules.service import list_rules

__all__ = ["Alerting", "AlertingRuntime", "CatalogCache", "start", "stop"]

log = logging.getLogger(__name__)

TIMER_DUTY = "rules.timer"  # absence rules and composite windows: one process of a cluster
JUDGED_SUBJECT = "alerts.judged"  # composite members' transitions, for the timer's holder
SERIES_KINDS = frozenset({"threshold", "rate"})  # judged point by point, by a series' shard
# A cluster process taking over a shard judges every stored point of its series after their
# judged marks, stamped at most this long before the take-over (``Engine.replay``): a point
# stamped earlier that nobody judged is late data, judged neither by the previous holder.
HANDOVER_REPLAY_S = 900.0


class CatalogCache:
    """The engine's in-memory view of the catalog: series (through the shared SeriesIndex),
    entity attributes (alarm levels) and dataset intervals. ``fetch`` fills misses from the
    database and must run off the event loop.

    ``fetch`` reads the attributes of an entity only for series of ``attribute_metrics``
    (None: every series), the metrics whose rule levels are entity attributes: a batch of new
    entities measuring anything else costs no read of their attribute documents."""

    def __init__(self, database: Database, series: SeriesIndex) -> None:
        self.database = database
        self.index = series
        self._series: dict[int, SeriesInfo] = {}
        self._series_of: dict[str, set[int]] = {}  # entity id → its series ids: O(1) forget
        self.pollutants: set[int] = set()  # series ids feeding VN_AQI
        self._attributes: dict[int, dict[str, Any]] = {}
        self._datasets: dict[int, tuple[str, int]] = {}
        self._lock = threading.Lock()
        self.attribute_metrics: frozenset[str] | None = None  # only widened: see ``widen``

    def load(self) -> None:
        with self.database.engine.connect() as connection:
            ids = catalog.metric_ids(connection)
            attributes = catalog.entity_attributes(connection, None)
            datasets = catalog.dataset_intervals(connection, None)
        found = self.index.by_ids(ids)
        series_of: dict[str, set[int]] = {}
        for info in found.values():
            series_of.setdefault(info.entity_id, set()).add(info.series_id)
        with self._lock:
            self._series, self._attributes, self._datasets = found, attributes, datasets
            self._series_of = series_of
            self.pollutants = {i.series_id for i in found.values() if i.metric in POLLUTANTS}

    def forget(self, entity_ids: set[str]) -> list[int]:
        """Drop the series of these entities; returns their ids."""
        dropped: list[int] = []
        with self._lock:
            for entity_id in entity_ids:
                for series_id in self._series_of.pop(entity_id, ()):
                    info = self._series.pop(series_id, None)
                    if info is None:
                        continue
                    dropped.append(series_id)
                    self.pollutants.discard(series_id)
                    self._attributes.pop(info.entity_pk, None)
        return dropped

    def known(self, series_id: int) -> bool:
        return series_id in self._series

    @property
    def by_id(self) -> dict[int, SeriesInfo]:
        return self._series

    @staticmethod
    def _wanted_pks(infos: Iterable[SeriesInfo], wanted: frozenset[str] | None) -> list[int]:
        return sorted({i.entity_pk for i in infos if wanted is None or i.metric in wanted})

    def fetch(self, series_ids: Iterable[int]) -> None:
        infos = self.index.by_ids(series_ids)
        if not infos:
            return
        wanted = self.attribute_metrics
        entity_pks = self._wanted_pks(infos.values(), wanted)
        dataset_ids = sorted({i.dataset_id for i in infos.values() if i.dataset_id is not None})
        datasets: dict[int, tuple[str, int]] = {}
        attributes: dict[int, Any] = {}
        with self.database.engine.connect() as connection:
            if entity_pks:
                attributes = catalog.entity_attributes(connection, entity_pks)
            if dataset_ids:
                datasets = catalog.dataset_intervals(connection, dataset_ids)
        with self._lock:
            for series_id, info in infos.items():
                self._series[series_id] = info
                self._series_of.setdefault(info.entity_id, set()).add(series_id)
                if info.metric in POLLUTANTS:
                    self.pollutants.add(series_id)
            self._attributes.update(attributes)
            self._datasets.update(datasets)
        if self.attribute_metrics is not wanted:
            # Widened while this ran (``widen`` may have missed these series): fill them too.
            self._fill(list(infos.values()))

    def widen(self, metrics: frozenset[str]) -> None:
        """Read attributes for these metrics' series too, from now on and for those already
        known (call before the rules that need them take effect; off the event loop)."""
        if self.attribute_metrics is None or metrics <= self.attribute_metrics:
            return
        self.attribute_metrics = self.attribute_metrics | metrics
        with self._lock:
            known = list(self._series.values())
        self._fill(known)

    def _fill(self, infos: list[SeriesInfo]) -> None:
        known = self._attributes
        entity_pks = [
            pk for pk in self._wanted_pks(infos, self.attribute_metrics) if pk not in known
        ]
        if not entity_pks:
            return
        with self.database.engine.connect() as connection:
            attributes = catalog.entity_attributes(connection, entity_pks)
        with self._lock:
            for pk, document in attributes.items():
                self._attributes.setdefault(pk, document)

    # CatalogView
    def series(self, series_id: int) -> SeriesInfo | None:
        return self._series.get(series_id)

    def attributes(self, entity_pk: int) -> dict[str, Any]:
        return self._attributes.get(entity_pk, {})

    def dataset(self, dataset_id: int | None) -> tuple[str, int] | None:
        return self._datasets.get(dataset_id) if dataset_id is not None else None

    def all_series(self) -> Iterable[SeriesInfo]:
        return list(self._series.values())


class AlertingRuntime:
    def __init__(
        self,
        database: Database,
        bus: Bus,
        series: SeriesIndex,
        *,
        tz: Any,
        writer: Any = None,
        check_s: float = 5.0,
        stream_queue: int = 1000,
        notifier: Notifier | None = None,
        leases: Leases | None = None,
    ) -> None:
        self.database = database
        self.bus = bus
        # Which series this process judges and whether it runs the timer: all of them in a
        # single process; its shards and maybe the timer in a cluster (taydo.core.lease).
        self.leases = leases or LocalLeases()
        self.cluster = self.leases.clustered
        self._owned: frozenset[int] = self.leases.owned
        self._ownership: dict[int, bool] = {}  # series id → judged here (cluster only)
        self._timer_held = False
        # Rule changes announced in this process, and how many of them the engine has read:
        # the next batch waits for the new rules (the bus event comes a moment later).
        self._rules_wanted = 0
        self._rules_read = 0
        self.catalog = CatalogCache(database, series)
        self.engine = Engine(self.catalog)
        self.hub = StreamHub(stream_queue)
        self.notifier = notifier or Notifier(database)
        self.aqi = AqiTracker(tz)
        self.writer = writer
        self.check_s = check_s
        self._timer: asyncio.Task[None] | None = None
        self._subscriptions: list[Any] = []
        self._lock = asyncio.Lock()  # engine state is touched by the handler and the timer
        self._attribute_roots: frozenset[str] = frozenset()
        self._ready = asyncio.Event()  # set once start() has judged the stored values
        self._loaded = False  # start() has read the stored values (a hand-over rebuilds)
        self._attached: asyncio.Task[None] | None = None  # see _judge_once_attached
        self.evaluation_seconds = Timings()  # the rules judging one committed batch

    async def start(self) -> None:
        # Committed batches queue up from here on while the stored values are read and
        # judged, so no batch falls between the two; they are judged once that is done.
        self._ready = asyncio.Event()  # of this event loop (an app may start again)
        self._loaded = False
        # Listening for hand-overs before reading which shards are held: the leases' check
        # runs meanwhile, and a shard taken between the two would never be judged here.
        self.leases.on_shards(self._on_shards)
        committed = self.bus.subscribe("observations.committed", self._on_committed)
        notifier_started = False
        try:
            if self.writer is not None:
                await self.writer.sync()  # the latest values hold every committed point
            await self.notifier.start()  # (takes a lease: never under the engine's lock)
            notifier_started = True
            # One hold of the lock from the read to the persisted result: a hand-over that
            # comes meanwhile rebuilds from what this start persisted, never beside it.
            async with self._lock:
                self._owned = self.leases.owned
                caught_up = await asyncio.to_thread(self._load)
                self._loaded = True
                await self._emit(caught_up)
        except BaseException:
            self.leases.off_shards(self._on_shards)
            self.bus.unsubscribe(committed)
            if notifier_started:
                await self.notifier.close()
            raise
        # kept so close() can unsubscribe: an app may start again (tests, reloads) on a new
        # event loop, and a subscription's queue belongs to the loop it was used on
        self._subscriptions = [
            committed,
            self.bus.subscribe("alerts.transition", self._on_transition),
            self.bus.subscribe(ENDED_SUBJECT, self._on_ended),
            self.bus.subscribe("catalog.changed", self._on_catalog_changed),
            self.bus.subscribe("catalog.attributes_changed", self._on_attributes_changed),
            self.bus.subscribe("rules.changed", self._on_rules_changed),
        ]
        if self.cluster:
            self._subscriptions.append(self.bus.subscribe(JUDGED_SUBJECT, self._on_judged))
            self._attached = asyncio.get_running_loop().create_task(
                self._judge_once_attached(committed), name="rules:attached"
            )
        self._ready.set()
        await self.leases.duty(TIMER_DUTY, self._timer_gained, self._timer_lost)

    async def _judge_once_attached(self, committed: Any) -> None:
        """A cluster's bus delivers the batches committed after its consumer is attached,
        which happens once every domain has started (``bus.start``), after the stored values
        were read: judge what was stored in between, once the consumer is there (judging
        again what was judged changes nothing: ``Engine.replay``)."""
        # the bus sets ``task`` when it attaches the subscription; it signals nothing else
        while committed.task is None:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        async with self._lock:
            await self._rebuild()

    async def _timer_gained(self) -> None:
        if self.cluster:  # the absence and composite state of every series, from the database
            async with self._lock:
                self._timer_held = True
                await self._rebuild()
        self._timer_held = True
        self._timer = asyncio.get_running_loop().create_task(self._tick(), name="rules:timer")

    async def _timer_lost(self) -> None:
        self._timer_held = False
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
            self._timer = None

    async def _on_shards(self, owned: frozenset[int]) -> None:
        """A hand-over: judge the shards now held, from the database (open episodes, the
        recent past, every point after the judged marks). Taken under the engine's lock, so
        a shard given up is released only after what this process judged of it is
        persisted, and a batch committed meanwhile is either stored before the shard's
        points are read or heard after they are (and then judged here)."""
        async with self._lock:
            if owned == self._owned:
                return
            self._owned = owned
            if self._loaded:  # else start() is about to read them
                await self._rebuild()

    async def _rebuild(self) -> None:
        """(Under the lock.) The engine again for this process's scope; emits what the
        stored values say now."""
        self._ownership = {}
        caught_up = await asyncio.to_thread(self._load)
        await self._emit(caught_up)

    def _judged_here(self, series_id: int) -> bool:
        """Whether this process judges the series (its entity's shard is held here)."""
        known = self._ownership.get(series_id)
        if known is None:
            info = self.catalog.series(series_id)
            if info is None:
                return False
            known = self._ownership[series_id] = self._owns(info)
        return known

    def _owns(self, info: SeriesInfo) -> bool:
        return self.leases.shard_of(info.entity_pk) in self._owned

    async def close(self, settle_s: float = 10.0) -> None:
        """Stop; first judge what was committed and is still queued (the inputs stopped
        before this, the writer after it), for at most ``settle_s`` seconds."""
        self.leases.off_shards(self._on_shards)
        if self._attached is not None:
            self._attached.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._attached
            self._attached = None
        await self.leases.drop_duty(TIMER_DUTY)
        for subscription in self._subscriptions:
            if subscription.pattern == "observations.committed" and not await settle(
                subscription, settle_s
            ):
                log.warning(
                    "stopping with %d committed batches not judged by the rules",
                    subscription.queue.qsize(),
                )
        for subscription in self._subscriptions:
            self.bus.unsubscribe(subscription)
        self._subscriptions = []
        await self._timer_lost()
        await self.notifier.close()

    def _load(self) -> list[Transition]:
        """Rules, catalog and open alerts; then the stored values judged again (the
        transitions returned are emitted once the notifier runs): in a cluster, every point
        after each series' judged mark (another process may have judged it until now); in
        one process, the newest value of each series."""
        rules = list_rules(self.database, include_disabled=False)
        self.catalog.load()  # every entity's attributes, so any set of metrics is covered
        self.catalog.attribute_metrics = attribute_metrics(rules)
        self._attribute_roots = attribute_roots(rules)
        engine = Engine(self.catalog) if self.cluster else self.engine
        engine.composites_here = not self.cluster
        engine.set_rules(rules)
        opened = open_alerts(self.database)
        only = None
        if self.cluster:
            opened = [a for a in opened if self._restores(engine.rules.get(a["rule_code"]), a)]
            only = self._owns
        engine.restore(opened)
        now = clock.now_ms()
        latest = partial(latest_points, self.database)
        if self.cluster:
            caught_up = engine.replay(
                partial(points_since, self.database),
                partial(judged_marks, self.database),
                latest,
                now,
                int(HANDOVER_REPLAY_S * 1000),
                only,
            )
        else:
            engine.resume_pending(partial(recent_points, self.database), now, only)
            caught_up = engine.catch_up(latest, now, only)
        engine.started_ms = now
        self.engine = engine
        if caught_up:
            log.info("start: %d alert transitions from the stored values", len(caught_up))
        return caught_up

    def _restores(self, rule: RuleDef | None, alert: dict[str, Any]) -> bool:
        """Whether an open episode is this process's to continue: a series rule's on a shard
        held here; every other one (absence, composite: the timer's) where the timer runs,
        which also needs the member episodes of composite rules."""
        if rule is None:
            return False
        if self._timer_held:
            return True
        series_id = alert.get("series_id")
        if rule.kind not in SERIES_KINDS or series_id is None:
            return False
        info = self.catalog.series(series_id)
        return info is not None and self._owns(info)

    def rules_changed_here(self, _data: dict[str, Any]) -> None:
        """A rule was saved in this process (``Runtime.announce``): its next batch is judged
        on the new rules, not on those the bus event would bring a moment later."""
        self._rules_wanted += 1

    async def reload_rules(self) -> None:
        wanted = self._rules_wanted  # what this read covers: it starts after those changes
        rules = await asyncio.to_thread(list_rules, self.database, include_disabled=False)
        # Attributes the new rules read are in the cache before the rules take effect.
        await asyncio.to_thread(self.catalog.widen, attribute_metrics(rules))
        async with self._lock:
            self.engine.set_rules(rules)
            self._attribute_roots = attribute_roots(rules)
            self._rules_read = max(self._rules_read, wanted)

    async def _emit(self, transitions: list[Transition]) -> None:
        """(Under the lock.) Persist transitions, then publish what changed."""
        if not transitions:
            return
        try:
            changed = await asyncio.to_thread(
                apply_transitions, self.database, transitions, self.engine.rules
            )
        except Exception:
            # Never a silent drop: the engine forgets these states and raises them again
            # from the next observation once the database answers.
            log.exception("persisting %d alert transitions failed", len(transitions))
            self.engine.revert(transitions)
            return
        for alert in changed:
            await self.bus.publish("alerts.transition", alert)
        if self.cluster:
            members = [
                [t.rule, t.target, t.action, t.area_code]
                for t in transitions
                if t.area_code and self.engine.is_member(t.rule)
            ]
            if members:
                await self.bus.publish(JUDGED_SUBJECT, members)
        self.notifier.wake()

    async def _on_committed(self, event: Event) -> None:
        await self._ready.wait()
        if self._rules_read < self._rules_wanted:
            await self.reload_rules()
        points = event.data
        known = self.catalog.by_id
        missing = {p[0] for p in points if p[0] not in known}
        if missing:
            await asyncio.to_thread(self.catalog.fetch, missing)
        self.hub.publish_values(points, self.catalog.series)
        async with self._lock:
            mine = points
            now = clock.now_ms()
            began = time.perf_counter()
            if self.cluster:  # only the series of this process's shards
                judged = self._judged_here
                mine = [p for p in points if judged(p[0])]
                transitions = self.engine.observe(mine, now)
                if self._timer_held and len(mine) < len(points):
                    others = [p for p in points if not judged(p[0])]
                    transitions += self.engine.seen(others, now)
            else:
                transitions = self.engine.observe(points, now)
            self.evaluation_seconds.observe(time.perf_counter() - began)
            await self._emit(transitions)
        await self._derive_aqi(mine)

    async def _derive_aqi(self, points: list[tuple[int, int, float]]) -> None:
        pollutants = self.catalog.pollutants
        if not pollutants:
            return
        derived: list[Derived] = []
        add = self.aqi.add
        series = self.catalog.series
        for series_id, ts, value in points:
            if series_id in pollutants:
                info = series(series_id)
                if info is not None:
                    derived += add(info.entity_pk, info.entity_id, info.metric, ts, value)
        if derived and self.writer is not None:
            try:
                await self.writer.write_rows(await asyncio.to_thread(self._aqi_rows, derived))
            except Exception:
                log.exception("storing derived VN_AQI values failed")

    def _aqi_rows(self, derived: list[Derived]) -> list[tuple[int, int, float, int]]:
        """The observation writer's rows (series, ts, value, quality) of derived values."""
        ids = self._aqi_series({(item.entity_pk, item.entity_id, item.metric) for item in derived})
        return [(ids[(item.entity_id, item.metric)], item.ts, item.value, 0) for item in derived]

    def _aqi_series(self, wanted: set[tuple[int, str, str]]) -> dict[tuple[str, str], int]:
        """Series ids of stations' derived metrics by (entity, metric); the missing ones are
        created in one transaction (a fresh IOC's first pollutant batch names every
        station: one transaction each held the write lock 200 times against the writer)."""
        found: dict[tuple[str, str], int] = {}
        missing: list[tuple[int, str, str]] = []
        for entity_pk, entity_id, metric in sorted(wanted):
            info = self.catalog.index.get(entity_id, metric)
            if info is not None:
                found[(entity_id, metric)] = info.series_id
            else:
                missing.append((entity_pk, entity_id, metric))
        if not missing:
            return found
        ids = catalog.ensure_metrics(
            self.database,
            [(entity_pk, metric) for entity_pk, _entity_id, metric in missing],
            unit="",
            min_valid=0,
            max_valid=500,
        )
        for (_pk, entity_id, metric), series_id in zip(missing, ids, strict=True):
            found[(entity_id, metric)] = series_id
        # Only these series are new: read them into the index, leaving the stations' others
        # cached (dropping them all made every ingest request of the station miss).
        for _pk, entity_id, metric in missing:
            self.catalog.index.refresh(entity_id, metric)
        return found

    async def _on_transition(self, event: Event) -> None:
        self.hub.publish_alert(event.data)

    async def _on_ended(self, event: Event) -> None:
        """A session or an account ended (logout, display revoked): its streams end now."""
        data = event.data if isinstance(event.data, dict) else {}
        keys = [str(k) for k in data.get("keys") or []]
        self.hub.end(keys, str(data.get("reason") or "ended"))

    async def _on_judged(self, event: Event) -> None:
        """Member transitions of composite rules, from every shard: the timer's holder
        judges the composites (their windows span the shards)."""
        if not self._timer_held or not isinstance(event.data, list):
            return
        members = [
            Transition(
                rule=rule,
                target=target,
                action=action,
                level=None,
                severity="",
                value=None,
                ts=0,
                area_code=area,
            )
            for rule, target, action, area in event.data
        ]
        async with self._lock:
            await self._emit(self.engine.composites_of(members, clock.now_ms()))

    async def _on_catalog_changed(self, event: Event) -> None:
        data = event.data if isinstance(event.data, dict) else {}
        ids = data.get("entity_ids")
        if not ids:  # scope unknown: start again from the database
            self.catalog.index.invalidate(None)
            await asyncio.to_thread(self.catalog.load)
            async with self._lock:
                self.engine.forget_series()
            return
        # Only the changed entities' series are dropped; they are read again, in bulk, when
        # their next values arrive (a batch of 1,000 NGSI-LD upserts must not reload it all),
        # from the index's memory when the writer handed it what it committed.
        self.catalog.index.invalidate(list(ids), echo=data.get("refreshed"))
        dropped = self.catalog.forget(set(ids))
        async with self._lock:
            self.engine.forget_series(dropped)

    async def _on_attributes_changed(self, event: Event) -> None:
        data = event.data if isinstance(event.data, dict) else {}
        ids = data.get("entity_ids")
        names = data.get("attributes")
        if not ids or (names is not None and self._attribute_roots.isdisjoint(names)):
            return  # no level reads what changed (most often: dateObserved)
        dropped = self.catalog.forget(set(ids))  # their attributes are read again
        async with self._lock:
            self.engine.forget_series(dropped)

    async def _on_rules_changed(self, _event: Event) -> None:
        await self.reload_rules()

    async def check_now(self) -> None:
        async with self._lock:
            await self._emit(self.engine.check(clock.now_ms()))

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.check_s)
            try:
                await self.check_now()
            except Exception:
                log.exception("rules timer failed")


# ---------------------------------------------------------------- the domain's start and stop

_STARTED: ContextVar[AlertingRuntime | None] = ContextVar("taydo_alerting_runtime")


async def start(runtime: Runtime) -> None:
    """Start the alert engine, the live stream hub and the notifier on this event loop."""
    settings = runtime.settings
    series = runtime.find(SeriesIndex)
    if series is None:  # the observations domain normally provides it; ours follows changes
        series = runtime.provide(SeriesIndex(runtime.db))
    notifier = Notifier(
        runtime.db,
        timeout_s=settings.webhook_timeout_s,
        backoff_s=settings.notify_backoff_s,
        check_s=settings.alert_renotify_check_s,
        leases=runtime.leases,
    )
    alerting = AlertingRuntime(
        runtime.db,
        runtime.bus,
        series,
        tz=settings.tz,
        writer=runtime.find(ObservationWriter),
        check_s=settings.alert_check_interval_s,
        stream_queue=settings.stream_queue_size,
        notifier=notifier,
        leases=runtime.leases,
    )
    runtime.provide(alerting)
    _STARTED.set(alerting)  # this lifespan's engine, even if the app is started twice
    runtime.when_stopping(alerting.hub.close_streams)
    runtime.listen("rules.changed", alerting.rules_changed_here)
    await alerting.start()


async def stop(runtime: Runtime) -> None:
    alerting = _STARTED.get(None) or runtime.find(AlertingRuntime)
    if alerting is not None:
        runtime.unlisten("rules.changed", alerting.rules_changed_here)
        await alerting.close()


async def _alerting(request: Request) -> AlertingRuntime:
    return runtime_of(request.app).get(AlertingRuntime)


Alerting = Annotated[AlertingRuntime, Depends(_alerting)]


def live_context(runtime: Runtime, url: str = "/api/v1/stream") -> dict[str, str]:
    """What a console page needs to be live (``base.html`` opens the stream and shows the live
    mark): the stream's URL and the id of "now", so events published between this render
    and the browser's connection are replayed to it rather than lost."""
    alerting = runtime.find(AlertingRuntime)
    return {"stream_url": url, "stream_since": alerting.hub.replay.head if alerting else ""}
