"""Small reads of the catalog for other domains, returning plain values (no ORM objects).

The alert engine's catalog cache reads metric ids, entity attribute documents and dataset
intervals through the ``Connection`` it holds (one query each, as before); alert episodes and
CAP documents read an entity's name, sector or place inside the caller's ``Session``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection, Text, cast, select
from sqlalchemy.orm import Session

from taydo.catalog.models import Agency, Dataset, Entity, Metric

__all__ = [
    "EntityContext",
    "MetricSeries",
    "dataset_intervals",
    "entity_attributes",
    "entity_context_in",
    "entity_location_in",
    "metric_ids",
    "metric_series",
]


class EntityContext(NamedTuple):
    """An entity's display name and its dataset's sector (None without a dataset)."""

    name: str
    sector: str | None


def metric_ids(connection: Connection) -> list[int]:
    """The id of every metric (series)."""
    return list(connection.execute(select(Metric.id)).scalars())


def entity_attributes(
    connection: Connection, entity_pks: Sequence[int] | None
) -> dict[int, dict[str, Any]]:
    """Entities' attribute documents by primary key (all when ``entity_pks`` is None).

    Read as text and decoded with orjson: several times faster than the stdlib decoder of
    SQLAlchemy's JSON type, and a batch of new entities brings a thousand documents at once."""
    statement = select(Entity.id, cast(Entity.attributes, Text))
    if entity_pks is not None:
        statement = statement.where(Entity.id.in_(entity_pks))
    return {
        pk: (orjson.loads(text) if text else None) or {}
        for pk, text in connection.execute(statement)
    }


def dataset_intervals(
    connection: Connection, dataset_ids: Sequence[int] | None
) -> dict[int, tuple[str, int]]:
    """(code, expected update interval in seconds) of datasets by id (all when None)."""
    statement = select(Dataset.id, Dataset.code, Dataset.update_interval_s)
    if dataset_ids is not None:
        statement = statement.where(Dataset.id.in_(dataset_ids))
    return {row[0]: (row[1], row[2]) for row in connection.execute(statement)}


def entity_context_in(session: Session, entity_id: str) -> EntityContext | None:
    """The entity's name and its dataset's sector, in the caller's session (None: no such
    entity)."""
    row = session.execute(
        select(Entity.name, Dataset.sector)
        .outerjoin(Dataset, Dataset.id == Entity.dataset_id)
        .where(Entity.entity_id == entity_id)
    ).first()
    return EntityContext(row[0], row[1]) if row else None


def entity_location_in(session: Session, entity_id: str) -> tuple[float, float] | None:
    """The entity's (lon, lat), in the caller's session; None if it has no location (or
    does not exist)."""
    found = session.execute(
        select(Entity.lon, Entity.lat).where(Entity.entity_id == entity_id)
    ).first()
    if found and found[0] is not None and found[1] is not None:
        return (float(found[0]), float(found[1]))
    return None


class MetricSeries(NamedTuple):
    """One series of a metric, with what a KPI needs of its entity."""

    series_id: int
    entity_id: str
    area_code: str | None
    agency_code: str | None
    attributes: dict[str, Any]


def metric_series(
    connection: Session | Connection,
    metric: str,
    *,
    entity_types: Sequence[str] = (),
    dataset: str | None = None,
) -> list[MetricSeries]:
    """Every series named ``metric`` (of these entity types / this dataset), by series id:
    the KPI engine aggregates them city-wide and by ward."""
    statement = (
        select(Metric.id, Entity.entity_id, Entity.area_code, Agency.code, Entity.attributes)
        .join(Entity, Entity.id == Metric.entity_pk)
        .outerjoin(Agency, Agency.id == Entity.agency_id)
        .where(Metric.name == metric)
        .order_by(Metric.id)
    )
    if entity_types:
        statement = statement.where(Entity.type.in_(list(entity_types)))
    if dataset is not None:
        statement = statement.join(Dataset, Dataset.id == Entity.dataset_id).where(
            Dataset.code == dataset
        )
    return [
        MetricSeries(int(sid), eid, area, agency, attrs or {})
        for sid, eid, area, agency, attrs in connection.execute(statement)
    ]
