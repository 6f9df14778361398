"""Row-level work of NGSI-LD writes: loading the touched entities, writing them back with
one statement per kind of change, resolving (and creating) the metrics of observed values,
and the audit journal entry.

SQLAlchemy Core on purpose: a batch of 1,000 entities is one SELECT, one multi-row INSERT or
one UPDATE executemany and one metrics lookup, not 1,000 ORM objects; the inserts and updates
send plain tuples over the DBAPI (``bulk.py``). Attribute documents are encoded with orjson
(several times faster than the stdlib encoder SQLAlchemy's JSON type uses).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Table,
    Text,
    cast,
    delete,
    select,
)

from taydo.auth import journal
from taydo.catalog.models import Agency, Entity, Metric
from taydo.catalog.series import SeriesInfo
from taydo.core.access import Principal
from taydo.ingest.ngsild.bulk import bind_value, insert_returning, update_many
from taydo.ingest.ngsild.context import Context, ContextResolver
from taydo.ingest.ngsild.entity import entity_context_value
from taydo.ingest.ngsild.errors import NgsiError

__all__ = [
    "AGENCIES",
    "CHUNK",
    "ENTITIES",
    "METRICS",
    "EntityState",
    "Outcome",
    "PendingPoint",
    "flush",
    "inserted_series",
    "journal_entry",
    "load",
    "series_points",
]

log = logging.getLogger(__name__)

ENTITIES: Table = Entity.__table__  # type: ignore[assignment]
METRICS: Table = Metric.__table__  # type: ignore[assignment]
AGENCIES: Table = Agency.__table__  # type: ignore[assignment]
CHUNK = 900  # ids per IN (…) list


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


def _json_text(value: Any) -> str:
    # orjson is several times faster than the stdlib encoder SQLAlchemy's JSON type uses;
    # the stdlib takes the rare value orjson refuses (an integer wider than 64 bits).
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


_TEXTS = (str, bytes)  # built once: ``str | bytes`` builds a union object at every call


def _json_out(text: Any) -> dict[str, Any]:
    if text is None:
        return {}
    value = orjson.loads(text) if isinstance(text, _TEXTS) else text
    return dict(value) if isinstance(value, dict) else {}


def load(
    connection: Connection, resolver: ContextResolver, ids: list[str]
) -> dict[str, EntityState]:
    found: dict[str, EntityState] = {}
    columns = (
        ENTITIES.c.id,
        ENTITIES.c.entity_id,
        ENTITIES.c.type,
        ENTITIES.c.agency_id,
        AGENCIES.c.code,
        cast(ENTITIES.c.attributes, Text),
        ENTITIES.c.lon,
        ENTITIES.c.lat,
        ENTITIES.c.area_code,
        ENTITIES.c.name,
        ENTITIES.c.area_explicit,
    )
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        statement = (
            select(*columns)
            .select_from(ENTITIES.outerjoin(AGENCIES, AGENCIES.c.id == ENTITIES.c.agency_id))
            .where(ENTITIES.c.entity_id.in_(chunk))
        )
        if connection.dialect.name == "postgresql":  # held to the commit: see service._write
            statement = statement.with_for_update(of=ENTITIES)
        for row in connection.execute(statement).fetchall():  # one fetch, not one a row
            attributes = _json_out(row[5])
            has_ngsi, value = entity_context_value(attributes)
            context = resolver.resolve(value) if has_ngsi else None
            found[row[1]] = EntityState(
                row[0], row[1], row[2], row[3], row[4], attributes, row[6], row[7], row[8],
                row[9], context, area_explicit=bool(row[10]),
            )  # fmt: skip
    return found


ENTITY_JSON = frozenset({"attributes", "tags"})
# Most updates leave type and place alone: not naming the indexed columns spares the
# database rewriting their index entries.
_PLAIN_UPDATE = ("name", "attributes", "updated_at")
_FULL_UPDATE = ("type", "name", "lon", "lat", "area_code", "attributes", "updated_at")
_INSERT = (
    "entity_id", "type", "name", "agency_id", "lon", "lat", "area_code", "attributes", "tags",
    "created_at", "updated_at",
)  # fmt: skip


def flush(
    connection: Connection,
    states: dict[str, EntityState],
    originally: dict[str, int | None],
    now: datetime,
    outcome: Outcome,
) -> None:
    """Write the states back: one DELETE, UPDATE executemany and multi-row INSERT each."""
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    plain_updates: list[tuple[Any, ...]] = []
    deletes: list[int | None] = []
    stamp = bind_value(connection, ENTITIES.c.updated_at, now)  # once, not once a row
    for key, state in states.items():
        if state.deleted:
            if originally.get(key) is not None:
                deletes.append(state.pk)
                outcome.changed_catalog.append(key)
            continue
        if state.pk is None:
            inserts.append(
                (
                    state.entity_id, state.type, state.name, state.agency_id, state.lon,
                    state.lat, state.area_code, _json_text(state.attributes), "[]", stamp,
                    stamp,
                )
            )  # fmt: skip
        elif state.dirty:
            attributes = _json_text(state.attributes)
            if state.catalog_changed:
                updates.append(
                    (
                        state.type, state.name, state.lon, state.lat, state.area_code,
                        attributes, stamp, state.pk,
                    )
                )  # fmt: skip
            else:
                plain_updates.append((state.name, attributes, stamp, state.pk))
        if state.catalog_changed:
            outcome.changed_catalog.append(key)
        elif state.changed_attrs:
            outcome.changed_attributes[key] = state.changed_attrs
    if deletes:
        for start in range(0, len(deletes), CHUNK):
            connection.execute(
                delete(ENTITIES).where(ENTITIES.c.id.in_(deletes[start : start + CHUNK]))
            )
    if updates:
        update_many(connection, ENTITIES, _FULL_UPDATE, updates, json_columns=ENTITY_JSON)
    if plain_updates:
        update_many(connection, ENTITIES, _PLAIN_UPDATE, plain_updates, json_columns=ENTITY_JSON)
    if inserts:
        returned = insert_returning(
            connection, ENTITIES, _INSERT, inserts, ("id", "entity_id"), json_columns=ENTITY_JSON
        )
        for pk, entity_id in returned:
            state = states[entity_id]
            state.pk, state.inserted = pk, True


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
    for start in range(0, len(pks), CHUNK):
        statement = select(
            METRICS.c.id,
            METRICS.c.entity_pk,
            METRICS.c.name,
            METRICS.c.min_valid,
            METRICS.c.max_valid,
        ).where(METRICS.c.entity_pk.in_(pks[start : start + CHUNK]))
        for series_id, entity_pk, name, low, high in connection.execute(statement).fetchall():
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
        returned = insert_returning(
            connection, METRICS, ("entity_pk", "name", "unit"), rows, ("id", "entity_pk", "name")
        )
        for series_id, entity_pk, name in returned:
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
