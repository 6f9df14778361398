"""Every series of the catalog by name: (entity id, metric) → series id, for feeders that
resolve a whole catalog's readings at once (the simulator's backfill and standalone run)."""

from __future__ import annotations

from sqlalchemy import select

from taydo.catalog.models import Entity, Metric
from taydo.core.db import Database

__all__ = ["series_by_name"]


def series_by_name(database: Database) -> dict[tuple[str, str], int]:
    """(entity_id, metric) → series id of every series in the catalog: one query."""
    statement = select(Entity.entity_id, Metric.name, Metric.id).join(
        Entity, Entity.id == Metric.entity_pk
    )
    with database.engine.connect() as connection:
        return {(row[0], row[1]): row[2] for row in connection.execute(statement)}
