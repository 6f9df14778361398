"""The catalog as a map reads it: where each entity is, which series belong to which entity,
how many entities each area holds, and a cheap version to tell when any of it changed.

Plain rows (named tuples), read with SQLAlchemy Core in one query each: the console's
overview keeps them in memory for 10,000 entities and reloads them when the version moves.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, select

from taydo.catalog.models import Agency, Entity, Metric
from taydo.core.access import Principal
from taydo.core.db import Database

__all__ = [
    "CatalogVersion",
    "PlacedEntity",
    "SeriesOwner",
    "catalog_version",
    "entities_per_area",
    "placed_entities",
    "series_owners",
]


class CatalogVersion(NamedTuple):
    """Moves whenever an entity or metric is added, changed or removed."""

    entities: int
    entities_updated: datetime | None
    metrics: int
    newest_metric: int | None


class PlacedEntity(NamedTuple):
    """An entity that has a position (``attributes`` decoded)."""

    pk: int
    entity_id: str
    name: str
    lat: float
    lon: float
    type: str
    area_code: str | None
    agency_code: str | None
    attributes: dict[str, Any] | None


class SeriesOwner(NamedTuple):
    """A series (metric) and the entity it belongs to."""

    series_id: int
    entity_pk: int
    metric: str


def catalog_version(database: Database) -> CatalogVersion:
    """Entity and metric counts, newest entity change and newest metric: one aggregate query."""
    statement = select(
        select(func.count()).select_from(Entity).scalar_subquery(),
        select(func.max(Entity.updated_at)).scalar_subquery(),
        select(func.count()).select_from(Metric).scalar_subquery(),
        select(func.max(Metric.id)).scalar_subquery(),
    )
    with database.engine.connect() as connection:
        return CatalogVersion(*connection.execute(statement).one())


def placed_entities(database: Database) -> Iterator[PlacedEntity]:
    """Every entity with a latitude and longitude, with its agency's code, by primary key.

    Streamed from the cursor (10,000 rows need not all be held at once): consume it at once,
    it holds a connection until exhausted or closed."""
    statement = (
        select(
            Entity.id,
            Entity.entity_id,
            Entity.name,
            Entity.lat,
            Entity.lon,
            Entity.type,
            Entity.area_code,
            Agency.code,
            Entity.attributes,
        )
        .outerjoin(Agency, Agency.id == Entity.agency_id)
        .where(Entity.lat.is_not(None), Entity.lon.is_not(None))
        .order_by(Entity.id)
    )
    with database.engine.connect() as connection:
        yield from map(PlacedEntity._make, connection.execute(statement))


def series_owners(database: Database) -> Iterator[SeriesOwner]:
    """Every series of the catalog with its entity's primary key and its metric's name.

    Streamed from the cursor, as ``placed_entities``."""
    statement = select(Metric.id, Metric.entity_pk, Metric.name)
    with database.engine.connect() as connection:
        yield from map(SeriesOwner._make, connection.execute(statement))


def entities_per_area(database: Database, principal: Principal) -> dict[str, int]:
    """Area code → number of entities placed in it, counting only the entities of the
    principal's agencies unless it sees everything (entities without an area left out)."""
    statement = select(Entity.area_code, func.count()).group_by(Entity.area_code)
    if not principal.sees_everything:
        statement = statement.join(Agency, Agency.id == Entity.agency_id).where(
            Agency.code.in_(sorted(principal.agencies))
        )
    with database.engine.connect() as connection:
        return {code: n for code, n in connection.execute(statement) if code}
