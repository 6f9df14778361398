"""Find an entity from what a sender knows: its full id, its local id, or its name.

MQTT topics carry the entity's local id (``urn:ngsi-ld:WaterObserved:CT-NK-01`` → ``CT-NK-01``)
and agency files carry a station's name or code ("Trạm Ninh Kiều"). Both are looked up within
one agency, so two agencies may use the same local codes. The table is loaded once and
reloaded on a miss (at most every few seconds, so a flood of unknown names cannot hammer the
database) and when the catalog announces a change.
"""

from __future__ import annotations

import threading
import time
import unicodedata

from taydo.catalog.service import entity_names
from taydo.core.bus import Bus, Event, Subscription
from taydo.core.db import Database

__all__ = ["Ambiguous", "EntityResolver", "normalise_name"]

RELOAD_AFTER_MISS_S = 5.0


class Ambiguous(LookupError):
    """Several entities of the agency answer to that name."""


def normalise_name(text: str) -> str:
    """Compare names the way people write them: NFC, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


class EntityResolver:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._lock = threading.Lock()
        self._keys: dict[tuple[str, str], set[str]] = {}
        self._agency_of: dict[str, str | None] = {}
        self._loaded_at = -1e9
        self.generation = 0  # grows at every reload: callers drop what they cached

    def _load(self) -> None:
        keys: dict[tuple[str, str], set[str]] = {}
        agency_of: dict[str, str | None] = {}
        with self._database.engine.connect() as connection:
            rows = entity_names(connection)
        for entity_id, name, agency in rows:
            agency_of[entity_id] = agency
            scope = agency or ""
            local = entity_id.rsplit(":", 1)[-1]
            keys.setdefault((scope, local), set()).add(entity_id)
            keys.setdefault((scope, normalise_name(local)), set()).add(entity_id)
            if name:
                keys.setdefault((scope, normalise_name(name)), set()).add(entity_id)
        with self._lock:
            self._keys, self._agency_of = keys, agency_of
            self._loaded_at = time.monotonic()
            self.generation += 1

    def invalidate(self) -> None:
        with self._lock:
            self._loaded_at = -1e9
            self.generation += 1

    def subscribe(self, bus: Bus) -> list[Subscription]:
        async def on_change(_event: Event) -> None:
            self.invalidate()

        async def on_attributes(event: Event) -> None:
            data = event.data if isinstance(event.data, dict) else {}
            if "name" in (data.get("attributes") or ()):  # names are lookup keys
                self.invalidate()

        return [
            bus.subscribe("catalog.changed", on_change),
            bus.subscribe("catalog.attributes_changed", on_attributes),
        ]

    def agency_of(self, entity_id: str) -> str | None:
        if entity_id not in self._agency_of:
            self._maybe_reload()
        return self._agency_of.get(entity_id)

    def resolve(self, agency: str | None, key: str) -> str | None:
        """The entity id for ``key`` within ``agency`` (None: any agency); None when unknown,
        ``Ambiguous`` when several match. Synchronous: may read the database."""
        key = key.strip()
        if key.startswith("urn:ngsi-ld:"):
            return key
        found = self._find(agency, key)
        if found is None and self._maybe_reload():
            found = self._find(agency, key)
        if not found:
            return None
        if len(found) > 1:
            raise Ambiguous(
                f"nhiều thực thể trùng tên / {len(found)} entities answer to {key!r}: "
                + ", ".join(sorted(found)[:5])
            )
        return next(iter(found))

    def _find(self, agency: str | None, key: str) -> set[str] | None:
        candidates = (key, normalise_name(key))
        if agency is not None:
            for candidate in candidates:
                hit = self._keys.get((agency, candidate))
                if hit:
                    return hit
            return None
        merged: set[str] = set()
        for (_scope, name), ids in self._keys.items():
            if name in candidates:
                merged |= ids
        return merged or None

    def _maybe_reload(self) -> bool:
        if time.monotonic() - self._loaded_at < RELOAD_AFTER_MISS_S:
            return False
        self._load()
        return True
