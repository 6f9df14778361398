"""What entities and series answer to: entities' ids, names and agencies, for resolvers that
find an entity from what a sender knows (an MQTT topic's local id, a station's name in an
agency's file); series by (entity id, metric), for feeders that resolve a whole catalog's
readings at once (the simulator's backfill and standalone run)."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from taydo.catalog.models import Agency, Entity, Metric
from taydo.core.db import Database

__all__ = ["EntityName", "entity_names", "series_by_name"]


class EntityName(NamedTuple):
    entity_id: str
    name: str
    agency: str | None  # the agency's code; None for an entity of no agency


def entity_names(connection: Session | Connection) -> list[EntityName]:
    """Every entity's id, name and agency code: one query."""
    statement = select(Entity.entity_id, Entity.name, Agency.code).outerjoin(
        Agency, Agency.id == Entity.agency_id
    )
    return [EntityName(*row) for row in connection.execute(statement)]


def series_by_name(database: Database) -> dict[tuple[str, str], int]:
    """(entity_id, metric) → series id of every series in the catalog: one query."""
    statement = select(Entity.entity_id, Metric.name, Metric.id).join(
        Entity, Entity.id == Metric.entity_pk
    )
    with database.engine.connect() as connection:
        return {(row[0], row[1]): row[2] for row in connection.execute(statement)}
