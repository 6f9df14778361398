"""Datasets as other domains read them: a dataset with its agency, the series and metric names
of its entities, its stations — plain rows, for the file gateway and the data-health checks.

Each function runs one query in the caller's transaction (a ``Session`` or a ``Connection``),
so a caller that also reads or writes its own tables keeps doing so in one transaction.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from taydo.catalog.models import Agency, Dataset, Entity, Metric
from taydo.catalog.service.common import not_found

__all__ = [
    "DatasetRef",
    "Station",
    "dataset_metric_names",
    "dataset_ref",
    "dataset_refs",
    "dataset_series_ids",
    "dataset_stations",
]


class DatasetRef(NamedTuple):
    """A dataset and the code of its agency."""

    id: int
    code: str
    name: str
    agency: str
    update_interval_s: int


class Station(NamedTuple):
    """An entity of a dataset as an agency's file names it."""

    name: str
    entity_id: str


def _refs(connection: Session | Connection, code: str | None) -> list[DatasetRef]:
    statement = select(
        Dataset.id, Dataset.code, Dataset.name, Agency.code, Dataset.update_interval_s
    ).join(Agency, Agency.id == Dataset.agency_id)
    if code is not None:
        statement = statement.where(Dataset.code == code)
    return [DatasetRef(*row) for row in connection.execute(statement.order_by(Dataset.code))]


def dataset_ref(connection: Session | Connection, code: str) -> DatasetRef:
    """The dataset ``code`` with its agency; ``NotFound`` when there is none."""
    found = _refs(connection, code)
    if not found:
        raise not_found("dataset", code)
    return found[0]


def dataset_refs(connection: Session | Connection) -> list[DatasetRef]:
    """Every dataset with its agency, by code."""
    return _refs(connection, None)


def dataset_series_ids(connection: Session | Connection, dataset_id: int) -> list[int]:
    """The series (metric ids) of the dataset's entities."""
    return list(
        connection.scalars(
            select(Metric.id)
            .join(Entity, Entity.id == Metric.entity_pk)
            .where(Entity.dataset_id == dataset_id)
        )
    )


def dataset_metric_names(connection: Session | Connection, dataset_id: int) -> list[str]:
    """The metric names of the dataset's entities, each once, sorted."""
    return list(
        connection.scalars(
            select(Metric.name)
            .join(Entity, Entity.id == Metric.entity_pk)
            .where(Entity.dataset_id == dataset_id)
            .distinct()
            .order_by(Metric.name)
        )
    )


def dataset_stations(connection: Session | Connection, dataset_id: int) -> list[Station]:
    """The dataset's entities (name, entity id), by name then id."""
    return [
        Station(*row)
        for row in connection.execute(
            select(Entity.name, Entity.entity_id)
            .where(Entity.dataset_id == dataset_id)
            .order_by(Entity.name, Entity.entity_id)
        )
    ]
