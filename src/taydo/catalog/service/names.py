"""What entities answer to: their ids, names and agencies, for resolvers that find an entity
from what a sender knows (an MQTT topic's local id, a station's name in an agency's file)."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from taydo.catalog.models import Agency, Entity

__all__ = ["EntityName", "entity_names"]


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
