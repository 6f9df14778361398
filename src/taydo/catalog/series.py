"""The series index: the hot-path cache from (entity id, metric) to series metadata.

Every gateway resolves each incoming value through it, and the rules engine reads a series'
type, area, agency and tags from it, so it must answer from memory. It loads everything once,
answers misses from the database (a new entity is usable at once), remembers misses for a few
seconds (a flood of unknown ids cannot hammer the database), and drops entries when the catalog
announces a change (bus subject ``catalog.changed``).

A writer that has just committed entities and their metrics may hand the index their series
(``hand_over``) instead of having every consumer read back what it wrote. Every change is
numbered, so neither a hand-over nor a database read ever stores what is older than a change
the index has already heard of, and the announcement of a hand-over (its ``mark``) does not
drop what it stored.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any, NamedTuple

from sqlalchemy import Select, select

from taydo.catalog.models import Agency, Entity, Metric
from taydo.core.bus import Bus, Event, Subscription
from taydo.core.db import Database

__all__ = ["SeriesIndex", "SeriesInfo"]

NEGATIVE_TTL_S = 5.0
CHUNK = 500  # ids per IN (...) query: well under every driver's parameter limit


class SeriesInfo(NamedTuple):
    """Immutable, shared by every thread. A named tuple rather than a frozen dataclass: it is
    built four times faster (a batch of new entities builds thousands), read as fast."""

    series_id: int
    entity_pk: int
    entity_id: str
    entity_type: str
    metric: str
    unit: str
    agency_code: str | None
    area_code: str | None
    dataset_id: int | None
    min_valid: float | None
    max_valid: float | None
    tags: tuple[str, ...]


def _query() -> Select[*tuple[Any, ...]]:
    return (
        select(
            Metric.id,
            Entity.id,
            Entity.entity_id,
            Entity.type,
            Metric.name,
            Metric.unit,
            Agency.code,
            Entity.area_code,
            Entity.dataset_id,
            Metric.min_valid,
            Metric.max_valid,
            Entity.tags,
        )
        .select_from(Metric)
        .join(Entity, Entity.id == Metric.entity_pk)
        .outerjoin(Agency, Agency.id == Entity.agency_id)
    )


def _info(row: Any) -> SeriesInfo:
    return SeriesInfo(
        series_id=row[0],
        entity_pk=row[1],
        entity_id=row[2],
        entity_type=row[3],
        metric=row[4],
        unit=row[5],
        agency_code=row[6],
        area_code=row[7],
        dataset_id=row[8],
        min_valid=row[9],
        max_valid=row[10],
        tags=tuple(row[11] or ()),
    )


class SeriesIndex:
    """Thread-safe; methods are synchronous (call misses off the event loop)."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._by_key: dict[tuple[str, str], SeriesInfo] = {}
        self._by_id: dict[int, SeriesInfo] = {}
        self._metrics_of: dict[str, set[str]] = {}  # entity id → metrics held: O(1) forgetting
        self._missing: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        # After a full invalidation the next miss reloads everything in one query, instead
        # of one query per (entity, metric) of the next batches.
        self._reload = False
        # Change numbers: the last one of each entity changed (and of the last full
        # invalidation). A read that began before an entity's change must not store it.
        self._counter = itertools.count(1)
        self._change = 0
        self._changed: dict[str, int] = {}
        self._cleared = 0
        self.origin = uuid.uuid4().hex  # names this index in the marks it hands out

    def mark(self) -> int:
        """The current change number; give it to ``hand_over`` as ``since``."""
        return self._change

    def load(self) -> int:
        """Load every series; returns how many."""
        since = self._change
        with self._database.engine.connect() as connection:
            infos = [_info(row) for row in connection.execute(_query())]
        with self._lock:
            if self._cleared > since:
                return len(infos)  # everything changed meanwhile: the next miss loads again
            # Entities changed while the rows were read keep what the change left.
            newer = {eid for eid, number in self._changed.items() if number > since}
            kept = [i for i in self._by_key.values() if i.entity_id in newer]
            self._by_key, self._by_id, self._metrics_of = {}, {}, {}
            self._missing.clear()
            self._reload = False
            for info in itertools.chain((i for i in infos if i.entity_id not in newer), kept):
                self._put(info)
        return len(infos)

    def get(self, entity_id: str, metric: str) -> SeriesInfo | None:
        key = (entity_id, metric)
        found = self._by_key.get(key)
        if found is not None:
            return found
        if "\x00" in entity_id or "\x00" in metric:
            return None  # no stored name holds NUL (PostgreSQL text cannot), so ask nobody
        if self._reload:
            self.load()
            found = self._by_key.get(key)
            if found is not None:
                return found
        expiry = self._missing.get(key)
        if expiry is not None and expiry > time.monotonic():
            return None
        return self._remember(key)

    def refresh(self, entity_id: str, metric: str) -> SeriesInfo | None:
        """Read one series again, past a remembered miss: for a caller that has just created
        it (the other series of the entity stay cached)."""
        key = (entity_id, metric)
        with self._lock:
            self._missing.pop(key, None)
        return self._remember(key)

    def by_id(self, series_id: int) -> SeriesInfo | None:
        found = self._by_id.get(series_id)
        if found is not None:
            return found
        since = self._change
        with self._database.engine.connect() as connection:
            row = connection.execute(_query().where(Metric.id == series_id)).first()
        if row is None:
            return None
        return self._store(_info(row), since)

    def by_ids(self, series_ids: Iterable[int]) -> dict[int, SeriesInfo]:
        """Many series at once: misses are read in a few queries, not one per series."""
        found: dict[int, SeriesInfo] = {}
        missing: list[int] = []
        for series_id in series_ids:
            info = self._by_id.get(series_id)
            if info is None:
                missing.append(series_id)
            else:
                found[series_id] = info
        if missing:
            since = self._change
            with self._database.engine.connect() as connection:
                for start in range(0, len(missing), CHUNK):
                    chunk = missing[start : start + CHUNK]
                    for row in connection.execute(_query().where(Metric.id.in_(chunk))):
                        info = self._store(_info(row), since)
                        found[info.series_id] = info
        return found

    def of_entity(self, entity_id: str) -> list[SeriesInfo]:
        """Every series of one entity (from the database, so always complete)."""
        since = self._change
        with self._database.engine.connect() as connection:
            rows = connection.execute(_query().where(Entity.entity_id == entity_id)).all()
        return [self._store(_info(row), since) for row in rows]

    def invalidate(
        self, entity_ids: list[str] | None = None, *, echo: dict[str, Any] | None = None
    ) -> None:
        """Forget entries (all, or those of some entities); they reload on next use.

        ``echo`` is the ``refreshed`` member of a ``catalog.changed`` announcement: what a
        hand-over to this index stored for those entities (or a later change) already holds
        the change, so it stays."""
        with self._lock:
            if entity_ids is None:
                self._by_key.clear()
                self._by_id.clear()
                self._metrics_of.clear()
                self._missing.clear()
                self._changed.clear()
                self._reload = True
                self._cleared = self._change = next(self._counter)
                return
            mark = _mark_of(echo, self.origin)
            wanted = set(entity_ids)
            if mark is not None:
                wanted = {e for e in wanted if self._changed.get(e, 0) < mark}
            self._forget(wanted, next(self._counter))

    def hand_over(self, entity_ids: Iterable[str], infos: Iterable[SeriesInfo], since: int) -> int:
        """A writer committed changes to these entities: forget what was known of them and
        keep ``infos`` (the complete series of some of them, as committed). ``since`` is
        ``mark()`` taken before the commit: an entity changed after it is only forgotten,
        since the writer's view of it may be older. Returns the mark to announce."""
        with self._lock:
            wanted = set(entity_ids)
            stale = {e for e in wanted if self._newer(e, since)}
            number = next(self._counter)
            self._forget(wanted, number)
            for info in infos:
                if info.entity_id not in stale:
                    self._put(info)
        return number

    def _forget(self, entity_ids: set[str], number: int) -> None:
        """Drop what is known of these entities, as change ``number``. Caller holds the lock."""
        for entity_id in entity_ids:
            for metric in self._metrics_of.pop(entity_id, ()):
                info = self._by_key.pop((entity_id, metric), None)
                if info is not None:
                    self._by_id.pop(info.series_id, None)
            self._changed[entity_id] = number
        if self._missing:
            for key in [k for k in self._missing if k[0] in entity_ids]:
                del self._missing[key]
        self._change = number

    def _put(self, info: SeriesInfo) -> None:
        # Caller holds the lock.
        key = (info.entity_id, info.metric)
        old = self._by_key.get(key)
        if old is not None and old.series_id != info.series_id:
            self._by_id.pop(old.series_id, None)
        self._by_key[key] = info
        self._by_id[info.series_id] = info
        self._metrics_of.setdefault(info.entity_id, set()).add(info.metric)
        self._missing.pop(key, None)

    def hear_local_change(self, data: dict[str, Any]) -> None:
        """``catalog.changed`` announced in this process (``Runtime.announce``), before it goes
        out on the bus: a change handed over to this index (``refreshed_mark``, the mark
        ``hand_over`` returned) is named for every index that hears it; any other change is
        forgotten at once, so the very next request already sees it (bus delivery is
        asynchronous)."""
        mark = data.pop("refreshed_mark", None)
        if mark is not None:
            data["refreshed"] = {"origin": self.origin, "mark": mark}
        else:
            self.invalidate(list(data.get("entity_ids") or []) or None)

    def subscribe(self, bus: Bus) -> Subscription:
        """Follow ``catalog.changed``; returns the subscription (unsubscribe it on stop)."""

        async def on_change(event: Event) -> None:
            data = event.data if isinstance(event.data, dict) else {}
            ids = data.get("entity_ids")
            self.invalidate(list(ids) if ids else None, echo=data.get("refreshed"))

        return bus.subscribe("catalog.changed", on_change)

    def _remember(self, key: tuple[str, str]) -> SeriesInfo | None:
        """Read one (entity, metric) from the database; keep the answer, or the miss."""
        statement = _query().where(Entity.entity_id == key[0], Metric.name == key[1])
        since = self._change
        with self._database.engine.connect() as connection:
            row = connection.execute(statement).first()
        if row is None:
            with self._lock:
                if not self._newer(key[0], since):
                    self._missing[key] = time.monotonic() + NEGATIVE_TTL_S
            return None
        return self._store(_info(row), since)

    def _newer(self, entity_id: str, since: int) -> bool:
        """Whether the entity changed after ``since`` (so a read begun then may be stale)."""
        return self._cleared > since or self._changed.get(entity_id, 0) > since

    def _store(self, info: SeriesInfo, since: int) -> SeriesInfo:
        """Keep a row read from the database, unless its entity changed since the read began
        (the row is still answered: it was true when read)."""
        with self._lock:
            if not self._newer(info.entity_id, since):
                self._put(info)
        return info


def _mark_of(echo: dict[str, Any] | None, origin: str) -> int | None:
    """The hand-over mark an announcement carries, if the hand-over was to this index."""
    if not isinstance(echo, dict) or echo.get("origin") != origin:
        return None
    mark = echo.get("mark")
    return mark if isinstance(mark, int) else None
