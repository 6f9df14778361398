"""Entities selected by plain criteria, for readers outside the catalog (the NGSI-LD API).

SQLAlchemy Core, one statement per call: an entity by id, every entity matching ids, types,
a lon/lat box and the caller's agency scope (streamed in primary-key order, for a reader that
filters further and pages itself), the entity types in scope, and an entity's metrics. Rows
come back as plain ``NamedTuple``s; ``attributes`` is the stored document as it is (shared
with nobody, so a reader may keep it, but ``None`` when the entity has none).
"""

from __future__ import annotations

from collections.abc import Collection, Generator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Connection, Select, Table, or_, select

from taydo.catalog.models import Agency, Entity, Metric
from taydo.core.access import Principal
from taydo.core.db import Database

__all__ = [
    "EntityRecord",
    "EntitySelection",
    "EntitySeries",
    "entity_record",
    "entity_records",
    "series_of_entity",
]

ENTITIES: Table = Entity.__table__  # type: ignore[assignment]
AGENCIES: Table = Agency.__table__  # type: ignore[assignment]
METRICS: Table = Metric.__table__  # type: ignore[assignment]
MAX_IDS = 1000  # ids per selection (the rest are ignored)
BATCH = 2000  # rows fetched at a time while streaming
_Select = Select[*tuple[Any, ...]]


class EntityRecord(NamedTuple):
    """An entity as a reader sees it (times as the database hands them back: naive UTC on
    SQLite)."""

    entity_id: str
    type: str
    agency_code: str | None
    attributes: dict[str, Any] | None
    lon: float | None
    lat: float | None
    created_at: datetime
    updated_at: datetime


class EntitySeries(NamedTuple):
    """One metric (series) of an entity."""

    series_id: int
    name: str
    unit: str  # UN/CEFACT code or symbol, "" when none


@dataclass(frozen=True, slots=True)
class EntitySelection:
    """Which entities: every criterion given must hold (None: no condition)."""

    ids: Sequence[str] | None = None  # the first MAX_IDS count
    types: Collection[str] | None = None  # stored type among these
    # with ``types``: or the entity id among what this SELECT of ids gives (an index kept
    # by a domain above, e.g. the other types of multi-typed NGSI-LD entities)
    or_ids: Any = None
    bbox: tuple[float, float, float, float] | None = None  # (min lon, min lat, max lon, max lat)
    located: bool = False  # only entities with a position (implied by ``bbox``)


def _columns() -> tuple[Any, ...]:
    return (
        ENTITIES.c.entity_id,
        ENTITIES.c.type,
        AGENCIES.c.code,
        ENTITIES.c.attributes,
        ENTITIES.c.lon,
        ENTITIES.c.lat,
        ENTITIES.c.created_at,
        ENTITIES.c.updated_at,
    )


def _from() -> Any:
    return ENTITIES.outerjoin(AGENCIES, AGENCIES.c.id == ENTITIES.c.agency_id)


def _scoped(statement: _Select, principal: Principal) -> _Select:
    """Only the entities of agencies the caller sees."""
    if principal.sees_everything:
        return statement
    return statement.where(AGENCIES.c.code.in_(sorted(principal.agencies)))


def entity_record(database: Database, principal: Principal, entity_id: str) -> EntityRecord | None:
    """The entity ``entity_id`` when it exists and is in the caller's scope."""
    statement = select(*_columns()).select_from(_from()).where(ENTITIES.c.entity_id == entity_id)
    statement = _scoped(statement, principal)
    with database.engine.connect() as connection:
        row = connection.execute(statement).first()
    return None if row is None else EntityRecord._make(row)


def entity_records(
    database: Database, principal: Principal, selection: EntitySelection
) -> Generator[EntityRecord, None, None]:
    """Every entity in the caller's scope that ``selection`` selects, in the order they were
    made (primary key), streamed: read the iterator to its end (or close it) to give the
    connection back."""
    statement = select(*_columns()).select_from(_from()).order_by(ENTITIES.c.id)
    if selection.types:
        typed: ColumnElement[bool] = ENTITIES.c.type.in_(sorted(selection.types))
        if selection.or_ids is not None:
            typed = or_(typed, ENTITIES.c.entity_id.in_(selection.or_ids))
        statement = statement.where(typed)
    if selection.ids:
        statement = statement.where(ENTITIES.c.entity_id.in_(selection.ids[:MAX_IDS]))
    statement = _scoped(statement, principal)
    box = selection.bbox
    if box is not None:
        statement = statement.where(
            ENTITIES.c.lon.between(box[0], box[2]), ENTITIES.c.lat.between(box[1], box[3])
        )
    elif selection.located:
        statement = statement.where(ENTITIES.c.lon.is_not(None))
    make = EntityRecord._make
    with database.engine.connect() as connection:
        for row in connection.execute(statement.execution_options(yield_per=BATCH)):
            yield make(row)


def series_of_entity(connection: Connection, entity_id: str) -> list[EntitySeries]:
    """The metrics of the entity ``entity_id`` by name (none when there is no such entity),
    in the caller's connection (which goes on to read their points)."""
    statement = (
        select(METRICS.c.id, METRICS.c.name, METRICS.c.unit)
        .join(ENTITIES, ENTITIES.c.id == METRICS.c.entity_pk)
        .where(ENTITIES.c.entity_id == entity_id)
        .order_by(METRICS.c.name)
    )
    return [EntitySeries._make(row) for row in connection.execute(statement)]
