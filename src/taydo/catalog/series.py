"""The series index: the hot-path cache from (entity id, metric) to series metadata.

Every gateway resolves each incoming value through it, and the rules engine reads a series'
type, area, agency and tags from it, so it must answer from memory. It loads everything once,
answers misses from the database (a new entity is usable at once), remembers misses for a few
seconds (a flood of unknown ids cannot hammer the database), and drops entries when the catalog
announces a change (bus subject ``catalog.changed``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select

from taydo.catalog.models import Agency, Entity, Metric
from taydo.core.bus import Bus, Event, Subscription
from taydo.core.db import Database

__all__ = ["SeriesIndex", "SeriesInfo"]

NEGATIVE_TTL_S = 5.0
CHUNK = 500  # ids per IN (...) query: well under every driver's parameter limit


@dataclass(frozen=True, slots=True)
class SeriesInfo:
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


def _query() -> Select[Any]:
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
        self._missing: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        # After a full invalidation the next miss reloads everything in one query, instead
        # of one query per (entity, metric) of the next batches.
        self._reload = False

    def load(self) -> int:
        """Load every series; returns how many."""
        with self._database.engine.connect() as connection:
            infos = [_info(row) for row in connection.execute(_query())]
        with self._lock:
            self._by_key = {(i.entity_id, i.metric): i for i in infos}
            self._by_id = {i.series_id: i for i in infos}
            self._missing.clear()
            self._reload = False
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
        statement = _query().where(Entity.entity_id == entity_id, Metric.name == metric)
        return self._remember(key, statement)

    def refresh(self, entity_id: str, metric: str) -> SeriesInfo | None:
        """Read one series again, past a remembered miss: for a caller that has just created
        it (the other series of the entity stay cached)."""
        key = (entity_id, metric)
        with self._lock:
            self._missing.pop(key, None)
        statement = _query().where(Entity.entity_id == entity_id, Metric.name == metric)
        return self._remember(key, statement)

    def by_id(self, series_id: int) -> SeriesInfo | None:
        found = self._by_id.get(series_id)
        if found is not None:
            return found
        with self._database.engine.connect() as connection:
            row = connection.execute(_query().where(Metric.id == series_id)).first()
        if row is None:
            return None
        return self._store(_info(row))

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
            with self._database.engine.connect() as connection:
                for start in range(0, len(missing), CHUNK):
                    chunk = missing[start : start + CHUNK]
                    for row in connection.execute(_query().where(Metric.id.in_(chunk))):
                        info = self._store(_info(row))
                        found[info.series_id] = info
        return found

    def of_entity(self, entity_id: str) -> list[SeriesInfo]:
        """Every series of one entity (from the database, so always complete)."""
        with self._database.engine.connect() as connection:
            rows = connection.execute(_query().where(Entity.entity_id == entity_id)).all()
        return [self._store(_info(row)) for row in rows]

    def invalidate(self, entity_ids: list[str] | None = None) -> None:
        """Forget entries (all, or those of some entities); they reload on next use."""
        with self._lock:
            if entity_ids is None:
                self._by_key.clear()
                self._by_id.clear()
                self._missing.clear()
                self._reload = True
                return
            wanted = set(entity_ids)
            for key in [k for k in self._by_key if k[0] in wanted]:
                info = self._by_key.pop(key)
                self._by_id.pop(info.series_id, None)
            for key in [k for k in self._missing if k[0] in wanted]:
                del self._missing[key]

    def subscribe(self, bus: Bus) -> Subscription:
        """Follow ``catalog.changed``; returns the subscription (unsubscribe it on stop)."""

        async def on_change(event: Event) -> None:
            data = event.data if isinstance(event.data, dict) else {}
            ids = data.get("entity_ids")
            self.invalidate(list(ids) if ids else None)

        return bus.subscribe("catalog.changed", on_change)

    def _remember(self, key: tuple[str, str], statement: Select[Any]) -> SeriesInfo | None:
        with self._database.engine.connect() as connection:
            row = connection.execute(statement).first()
        if row is None:
            with self._lock:
                self._missing[key] = time.monotonic() + NEGATIVE_TTL_S
            return None
        return self._store(_info(row))

    def _store(self, info: SeriesInfo) -> SeriesInfo:
        with self._lock:
            self._by_key[(info.entity_id, info.metric)] = info
            self._by_id[info.series_id] = info
            self._missing.pop((info.entity_id, info.metric), None)
        return info
