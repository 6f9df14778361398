"""The active subscriptions in memory, keyed so that a change finds its candidates in a few
dictionary reads: by entity id, by type (its local name), and — for subscriptions that name
only watched attributes — by attribute. Built from the database at start and again whenever a
subscription changes (announced in this process and, over the bus, in the others).

What is decided here is cheap and coarse (ids, local names, activity, expiry, watched names);
what needs the entity (its own context, ``q``, ``geoQ``, the owner's agency scope) is decided
when the notification is built, off the bus handler."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from taydo.ingest.ngsild.context import Context, ContextResolver
from taydo.ingest.ngsild.errors import NgsiError
from taydo.ingest.ngsild.query import GeoQuery, Query
from taydo.subscriptions.schemas import check_subscription
from taydo.subscriptions.service.store import Row

__all__ = ["QUEUE_PREFIX", "Entry", "SubscriptionIndex", "local_name"]

QUEUE_PREFIX = "ngsi-ld:"
_SPLIT = re.compile(r"[/#:]")


def local_name(name: str) -> str:
    """The last segment of a term or IRI (``https://…/WaterObserved`` → ``WaterObserved``)."""
    return _SPLIT.split(name.rstrip("/#"))[-1]


@dataclass(frozen=True)
class Target:
    """One EntitySelector with its type expanded in the subscription's context."""

    type_iri: str
    type_local: str
    entity_id: str | None
    pattern: re.Pattern[str] | None

    def accepts(self, entity_id: str, type_local: str) -> bool:
        if type_local != self.type_local:
            return False
        if self.entity_id is not None:
            return entity_id == self.entity_id
        return self.pattern is None or self.pattern.search(entity_id) is not None


@dataclass(frozen=True)
class Entry:
    """A subscription as the matcher reads it."""

    row: Row
    context: Context
    targets: tuple[Target, ...]
    watched_iris: frozenset[str] | None
    watched_locals: frozenset[str] | None
    attributes: tuple[str, ...] | None
    q: Query | None
    geo: GeoQuery | None
    format: str
    accept: str
    uri: str
    throttling: float
    periodic: bool
    queue: str

    @property
    def sub_id(self) -> str:
        return self.row.sub_id

    def live(self, now: datetime) -> bool:
        """Notifies on changes now: active, not expired, not periodic."""
        if not self.row.is_active or self.periodic:
            return False
        expires = self.row.expires_at
        if expires is not None:
            if expires.tzinfo is None:
                expires = expires.replace(tzinfo=UTC)
            if expires <= now:
                return False
        return True

    def watches(self, names: Iterable[str]) -> bool:
        if self.watched_locals is None:
            return True
        return any(local_name(n) in self.watched_locals for n in names)

    def selects(self, entity_id: str, type_local: str) -> bool:
        if not self.targets:
            return True  # watchedAttributes only: any entity
        return any(t.accepts(entity_id, type_local) for t in self.targets)


def entry_of(row: Row, resolver: ContextResolver) -> Entry | None:
    """The index entry of a stored subscription (None if it no longer reads: a context gone)."""
    try:
        context = resolver.resolve(row.context) if row.context is not None else resolver.core
        spec = check_subscription(row.document, future_expiry=False)
    except NgsiError:
        return None
    targets = tuple(
        Target(
            context.expand(s.type),
            local_name(context.expand(s.type)),
            s.id,
            s.pattern(),
        )
        for s in spec.selectors
    )
    watched = [context.expand(n) for n in spec.watched] if spec.watched else None
    netloc = urlsplit(spec.uri).netloc.lower()
    return Entry(
        row=row,
        context=context,
        targets=targets,
        watched_iris=frozenset(watched) if watched else None,
        watched_locals=frozenset(local_name(w) for w in watched) if watched else None,
        attributes=tuple(spec.attributes) if spec.attributes else None,
        q=spec.q,
        geo=spec.geo,
        format=spec.format,
        accept=spec.accept,
        uri=spec.uri,
        throttling=spec.throttling,
        periodic=spec.time_interval is not None,
        queue=QUEUE_PREFIX + netloc,
    )


class SubscriptionIndex:
    """Every stored subscription by id; the live ones also by entity id, type and attribute.
    Replaced whole (``build``), so a reader on another thread sees the old or the new one."""

    def __init__(self) -> None:
        self._state: tuple[
            dict[str, Entry], dict[str, list[Entry]], dict[str, list[Entry]], dict[str, list[Entry]]
        ] = ({}, {}, {}, {})

    def build(self, rows: Iterable[Row], resolver: ContextResolver) -> None:
        every: dict[str, Entry] = {}
        by_id: dict[str, list[Entry]] = {}
        by_type: dict[str, list[Entry]] = {}
        by_attr: dict[str, list[Entry]] = {}
        for row in rows:
            entry = entry_of(row, resolver)
            if entry is None:
                continue
            every[row.sub_id] = entry
            if not row.is_active or entry.periodic:
                continue  # found by id (its receiver headers), never matched
            if not entry.targets:
                for name in entry.watched_locals or ():
                    by_attr.setdefault(name, []).append(entry)
            for target in entry.targets:
                if target.entity_id is not None:
                    by_id.setdefault(target.entity_id, []).append(entry)
                else:
                    by_type.setdefault(target.type_local, []).append(entry)
        self._state = (every, by_id, by_type, by_attr)

    def __len__(self) -> int:
        return len(self._state[0])

    def get(self, sub_id: str) -> Entry | None:
        return self._state[0].get(sub_id)

    def entries(self) -> list[Entry]:
        return list(self._state[0].values())

    def candidates(
        self, entity_id: str, entity_type: str, names: Iterable[str], now: datetime
    ) -> list[Entry]:
        """The live subscriptions a change of ``names`` of this entity may concern."""
        _every, by_id, by_type, by_attr = self._state
        type_local = local_name(entity_type)
        names = list(names)
        found: dict[str, Entry] = {}
        pools: list[Any] = [by_id.get(entity_id, ()), by_type.get(type_local, ())]
        if by_attr:
            pools.extend(by_attr.get(local_name(n), ()) for n in names)
        for pool in pools:
            for entry in pool:
                if entry.sub_id in found:
                    continue
                if (
                    entry.live(now)
                    and entry.watches(names)
                    and entry.selects(entity_id, type_local)
                ):
                    found[entry.sub_id] = entry
        return list(found.values())

    @property
    def empty(self) -> bool:
        _every, by_id, by_type, by_attr = self._state
        return not (by_id or by_type or by_attr)
