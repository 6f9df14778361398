"""Row-level work of NGSI-LD writes: the touched entities as states to change in memory,
the changes handed to the catalog's batch writes (``taydo.catalog.service.bulk``: one
statement per kind of change), the metrics of observed values resolved (and created), and
the audit journal entry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table

from taydo.auth import journal
from taydo.catalog import service as catalog
from taydo.catalog.series import SeriesInfo
from taydo.core.access import Principal
from taydo.ingest.ngsild.context import Context, ContextResolver
from taydo.ingest.ngsild.entity import NGSI, entity_context_value
from taydo.ingest.ngsild.errors import NgsiError
from taydo.ingest.ngsild.models import EntityType

__all__ = [
    "EntityState",
    "Outcome",
    "PendingPoint",
    "flush",
    "inserted_series",
    "journal_entry",
    "load",
    "more_types_of",
    "series_points",
]

log = logging.getLogger(__name__)
TYPES = cast(Table, EntityType.__table__)


@dataclass(slots=True)
class PendingPoint:
    entity_id: str
    metric: str
    unit: str
    ts: int
    value: float


@dataclass
class Outcome:
    success: list[str] = field(default_factory=list)
    errors: list[tuple[str, NgsiError]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    not_updated: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    points: list[tuple[int, int, float]] = field(default_factory=list)
    changed_catalog: list[str] = field(default_factory=list)  # series index must forget these
    changed_attributes: dict[str, set[str]] = field(default_factory=dict)  # only attributes
    rejected: list[tuple[str, dict[str, Any], str | None]] = field(default_factory=list)
    new_series: list[tuple[int, int, str, str]] = field(default_factory=list)  # id, pk, name, unit
    fresh: list[SeriesInfo] = field(default_factory=list)  # every series of inserted entities
    refreshed: int | None = None  # the series index's mark, when it was handed ``fresh``


@dataclass(slots=True)
class EntityState:
    pk: int | None
    entity_id: str
    type: str
    agency_id: int | None
    agency_code: str | None
    attributes: dict[str, Any]
    lon: float | None
    lat: float | None
    area_code: str | None
    name: str
    context: Context | None  # None: a catalog entity with plain attribute names
    area_explicit: bool = False  # a user or a pack chose the area: the location does not move it
    dirty: bool = False
    deleted: bool = False
    catalog_changed: bool = False
    inserted: bool = False  # this write inserted the row (so it has no metrics yet)
    # Names of attributes whose stored value this write changed (observed values excluded):
    # announced so that what reads attributes (alarm levels, names) reads them again.
    changed_attrs: set[str] | None = None
    # The other types of a multi-typed entity as loaded: the type index is rewritten only
    # for the entities whose types this write changed.
    more_types: tuple[str, ...] = ()


def load(
    connection: Connection, resolver: ContextResolver, ids: list[str]
) -> dict[str, EntityState]:
    """The states of the entities that exist, locked to the commit (see service._write)."""
    found: dict[str, EntityState] = {}
    for row in catalog.lock_entities(connection, ids):
        has_ngsi, value = entity_context_value(row.attributes)
        context = resolver.resolve(value) if has_ngsi else None
        found[row.entity_id] = EntityState(
            row.pk, row.entity_id, row.type, row.agency_id, row.agency_code, row.attributes,
            row.lon, row.lat, row.area_code, row.name, context, area_explicit=row.area_explicit,
            more_types=more_types_of(row.attributes),
        )  # fmt: skip
    return found


def more_types_of(attributes: Any) -> tuple[str, ...]:
    """A multi-typed entity's types after the first (kept in ``_ngsild.types``)."""
    details = attributes.get(NGSI) if isinstance(attributes, dict) else None
    found = details.get("types") if isinstance(details, dict) else None
    return tuple(found) if isinstance(found, list) else ()


def _sync_types(connection: Connection, states: dict[str, EntityState]) -> None:
    """Keep ``ngsild_entity_types`` (what a query by a type other than the first looks
    up) as the write left the entities: two statements, and none when no types changed."""
    changed: dict[str, tuple[str, ...]] = {}
    for key, state in states.items():
        now = () if state.deleted else more_types_of(state.attributes)
        if now != state.more_types:
            changed[key] = now
    if not changed:
        return
    connection.execute(TYPES.delete().where(TYPES.c.entity_id.in_(sorted(changed))))
    rows = [
        {"entity_id": key, "type": kind}
        for key, kinds in changed.items()
        for kind in dict.fromkeys(kinds)
        if len(kind) <= 255  # the column's size; such a type is still answered, not indexed
    ]
    if rows:
        connection.execute(TYPES.insert(), rows)
    for key, kinds in changed.items():
        states[key].more_types = kinds


def flush(
    connection: Connection,
    states: dict[str, EntityState],
    originally: dict[str, int | None],
    now: datetime,
    outcome: Outcome,
) -> None:
    """Write the states back through the catalog: one DELETE, UPDATE executemany and
    multi-row INSERT each."""
    inserts: list[catalog.EntityInsert] = []
    updates: list[catalog.EntityUpdate] = []
    plain_updates: list[catalog.AttributesUpdate] = []
    deletes: list[int] = []
    for key, state in states.items():
        if state.deleted:
            if originally.get(key) is not None and state.pk is not None:
                deletes.append(state.pk)
                outcome.changed_catalog.append(key)
            continue
        if state.pk is None:
            inserts.append(
                (
                    state.entity_id, state.type, state.name, state.agency_id, state.lon,
                    state.lat, state.area_code, state.attributes,
                )
            )  # fmt: skip
        elif state.dirty:
            if state.catalog_changed:
                updates.append(
                    (
                        state.type, state.name, state.lon, state.lat, state.area_code,
                        state.attributes, state.pk,
                    )
                )  # fmt: skip
            else:
                plain_updates.append((state.name, state.attributes, state.pk))
        if state.catalog_changed:
            outcome.changed_catalog.append(key)
        elif state.changed_attrs:
            outcome.changed_attributes[key] = state.changed_attrs
    catalog.delete_entities(connection, deletes)
    catalog.update_entities(connection, updates, now)
    catalog.update_attributes(connection, plain_updates, now)
    for pk, entity_id in catalog.insert_entities(connection, inserts, now):
        state = states[entity_id]
        state.pk, state.inserted = pk, True
    _sync_types(connection, states)


def series_points(
    connection: Connection,
    states: dict[str, EntityState],
    pending: list[PendingPoint],
    outcome: Outcome,
) -> list[tuple[int, int, float]]:
    if not pending:
        return []
    pk_of = {p.entity_id: states[p.entity_id].pk for p in pending}
    # An entity inserted by this write has no metrics yet: only the others are looked up.
    pks = sorted({pk for key, pk in pk_of.items() if pk is not None and not states[key].inserted})
    series: dict[tuple[int, str], int] = {}
    limits: dict[int, tuple[float | None, float | None]] = {}
    for series_id, entity_pk, name, low, high in catalog.metrics_of(connection, pks):
        series[(entity_pk, name)] = series_id
        if low is not None or high is not None:
            limits[series_id] = (low, high)
    missing: dict[tuple[int, str], str] = {}
    for point in pending:
        pk = pk_of[point.entity_id]
        if pk is not None and (pk, point.metric) not in series:
            missing.setdefault((pk, point.metric), point.unit)
    if missing:
        rows = [(pk, name, unit) for (pk, name), unit in missing.items()]
        for series_id, entity_pk, name in catalog.insert_metrics(connection, rows):
            series[(entity_pk, name)] = series_id
            outcome.new_series.append((series_id, entity_pk, name, missing[(entity_pk, name)]))
        by_pk = {state.pk: key for key, state in states.items()}
        outcome.changed_catalog.extend(sorted({by_pk[pk] for pk, _ in missing}))
    points: list[tuple[int, int, float]] = []
    for p in pending:
        state = states[p.entity_id]
        if state.pk is None or state.deleted:
            continue
        series_id = series[(state.pk, p.metric)]
        low, high = limits.get(series_id, (None, None))
        if (low is not None and p.value < low) or (high is not None and p.value > high):
            # Physically impossible for this metric: kept in quarantine, not in the series.
            reason = f"{p.metric}={p.value} ngoài khoảng / outside [{low}, {high}]"
            raw = {"entity_id": p.entity_id, "metric": p.metric, "ts": p.ts, "value": p.value}
            outcome.rejected.append((reason, raw, state.agency_code))
            continue
        points.append((series_id, p.ts, p.value))
    return points


def inserted_series(states: dict[str, EntityState], outcome: Outcome) -> list[SeriesInfo]:
    """The complete series of the entities this write inserted, as committed (a new entity
    has no dataset, tags or valid range yet), so the series index need not read them back."""
    inserted = {s.pk: s for s in states.values() if s.inserted and not s.deleted}
    out: list[SeriesInfo] = []
    for series_id, entity_pk, name, unit in outcome.new_series:
        state = inserted.get(entity_pk)
        if state is not None:
            out.append(
                SeriesInfo(
                    series_id, entity_pk, state.entity_id, state.type, name, unit,
                    state.agency_code, state.area_code, None, None, None, (),
                )
            )  # fmt: skip
    return out


def journal_entry(
    connection: Connection, principal: Principal, mode: str, outcome: Outcome
) -> None:
    if not outcome.success:
        return
    journal.record(
        connection,
        actor=principal.username,
        action=f"ngsild.{mode}",
        object_type="entity",
        object_id=outcome.success[0] if len(outcome.success) == 1 else "batch",
        summary={"entities": outcome.success[:2000], "created": len(outcome.created)},
        address=None,
    )
