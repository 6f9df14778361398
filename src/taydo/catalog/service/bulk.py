"""Entities and metrics read and written many at a time, for writers of whole batches
(NGSI-LD batch operations): the one place besides ``entities`` that writes these tables.

SQLAlchemy Core on purpose: a batch of 1,000 entities is one SELECT, one multi-row INSERT or
one UPDATE executemany and one metrics lookup, not 1,000 ORM objects; the inserts and updates
send plain tuples over the DBAPI (``dbapi``). Attribute documents are encoded with orjson
(several times faster than the stdlib encoder SQLAlchemy's JSON type uses).

Every function works in the caller's transaction (a ``Connection`` inside ``begin()``) and
neither journals nor announces: the caller does both, once for its whole batch.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection, Table, Text, cast, delete, select

from taydo.catalog.models import Agency, Entity, Metric
from taydo.catalog.service.dbapi import bind_value, insert_returning, update_many

__all__ = [
    "AttributesUpdate",
    "EntityInsert",
    "EntityUpdate",
    "LockedEntity",
    "MetricRow",
    "agency_id_of",
    "delete_entities",
    "insert_entities",
    "insert_metrics",
    "lock_entities",
    "metrics_of",
    "update_attributes",
    "update_entities",
]

ENTITIES: Table = Entity.__table__  # type: ignore[assignment]
METRICS: Table = Metric.__table__  # type: ignore[assignment]
AGENCIES: Table = Agency.__table__  # type: ignore[assignment]
CHUNK = 900  # ids per IN (…) list

# (entity_id, type, name, agency_id, lon, lat, area_code, attributes)
EntityInsert = tuple[str, str, str, "int | None", "float | None", "float | None", "str | None", Any]
# (type, name, lon, lat, area_code, attributes, pk): a change of what and where the entity is
EntityUpdate = tuple[str, str, "float | None", "float | None", "str | None", Any, int]
# (name, attributes, pk): most updates leave type and place alone
AttributesUpdate = tuple[str, Any, int]


class LockedEntity(NamedTuple):
    """An entity as a batch writer reads it (``attributes`` decoded)."""

    pk: int
    entity_id: str
    type: str
    agency_id: int | None
    agency_code: str | None
    attributes: dict[str, Any]
    lon: float | None
    lat: float | None
    area_code: str | None
    name: str
    area_explicit: bool


class MetricRow(NamedTuple):
    id: int
    entity_pk: int
    name: str
    min_valid: float | None
    max_valid: float | None


def _json_text(value: Any) -> str:
    # The stdlib takes the rare value orjson refuses (an integer wider than 64 bits).
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


def lock_entities(connection: Connection, entity_ids: Sequence[str]) -> list[LockedEntity]:
    """The entities of these ids that exist. On PostgreSQL their rows stay locked until the
    caller's commit, so concurrent writers of one entity wait for each other (on SQLite the
    caller holds the write lock: ``BEGIN IMMEDIATE``)."""
    found: list[LockedEntity] = []
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
    for start in range(0, len(entity_ids), CHUNK):
        chunk = entity_ids[start : start + CHUNK]
        statement = (
            select(*columns)
            .select_from(ENTITIES.outerjoin(AGENCIES, AGENCIES.c.id == ENTITIES.c.agency_id))
            .where(ENTITIES.c.entity_id.in_(chunk))
        )
        if connection.dialect.name == "postgresql":
            statement = statement.with_for_update(of=ENTITIES)
        for row in connection.execute(statement).fetchall():  # one fetch, not one a row
            found.append(
                LockedEntity(
                    row[0], row[1], row[2], row[3], row[4], _json_out(row[5]), row[6], row[7],
                    row[8], row[9], bool(row[10]),
                )
            )  # fmt: skip
    return found


def agency_id_of(connection: Connection, code: str) -> int | None:
    """The primary key of the agency with this code, if there is one."""
    found = connection.scalar(select(AGENCIES.c.id).where(AGENCIES.c.code == code))
    return None if found is None else int(found)


_ENTITY_JSON = frozenset({"attributes", "tags"})
# Most updates leave type and place alone: not naming the indexed columns spares the
# database rewriting their index entries.
_ATTRIBUTES_UPDATE = ("name", "attributes", "updated_at")
_FULL_UPDATE = ("type", "name", "lon", "lat", "area_code", "attributes", "updated_at")
_INSERT = (
    "entity_id", "type", "name", "agency_id", "lon", "lat", "area_code", "attributes", "tags",
    "created_at", "updated_at",
)  # fmt: skip


def delete_entities(connection: Connection, pks: Sequence[int]) -> None:
    """Delete these entities (their metrics go with them: ``ON DELETE CASCADE``)."""
    for start in range(0, len(pks), CHUNK):
        connection.execute(delete(ENTITIES).where(ENTITIES.c.id.in_(pks[start : start + CHUNK])))


def update_entities(connection: Connection, rows: Sequence[EntityUpdate], now: datetime) -> None:
    """Set type, name, place and attributes of each entity (one UPDATE executemany)."""
    if not rows:
        return
    stamp = bind_value(connection, ENTITIES.c.updated_at, now)  # once, not once a row
    values = [
        (kind, name, lon, lat, area, _json_text(attributes), stamp, pk)
        for kind, name, lon, lat, area, attributes, pk in rows
    ]
    update_many(connection, ENTITIES, _FULL_UPDATE, values, json_columns=_ENTITY_JSON)


def update_attributes(
    connection: Connection, rows: Sequence[AttributesUpdate], now: datetime
) -> None:
    """Set name and attributes of each entity, leaving its type and place alone."""
    if not rows:
        return
    stamp = bind_value(connection, ENTITIES.c.updated_at, now)
    values = [(name, _json_text(attributes), stamp, pk) for name, attributes, pk in rows]
    update_many(connection, ENTITIES, _ATTRIBUTES_UPDATE, values, json_columns=_ENTITY_JSON)


def insert_entities(
    connection: Connection, rows: Sequence[EntityInsert], now: datetime
) -> list[tuple[int, str]]:
    """Insert new entities (no tags, no dataset); returns (pk, entity_id) of each, in no
    particular order."""
    if not rows:
        return []
    stamp = bind_value(connection, ENTITIES.c.created_at, now)
    values = [
        (entity_id, kind, name, agency_id, lon, lat, area, _json_text(attributes), "[]", stamp,
         stamp)
        for entity_id, kind, name, agency_id, lon, lat, area, attributes in rows
    ]  # fmt: skip
    returned = insert_returning(
        connection, ENTITIES, _INSERT, values, ("id", "entity_id"), json_columns=_ENTITY_JSON
    )
    return returned


def metrics_of(connection: Connection, entity_pks: Sequence[int]) -> list[MetricRow]:
    """Every metric of these entities, with its valid range."""
    found: list[MetricRow] = []
    for start in range(0, len(entity_pks), CHUNK):
        statement = select(
            METRICS.c.id,
            METRICS.c.entity_pk,
            METRICS.c.name,
            METRICS.c.min_valid,
            METRICS.c.max_valid,
        ).where(METRICS.c.entity_pk.in_(entity_pks[start : start + CHUNK]))
        found.extend(MetricRow(*row) for row in connection.execute(statement).fetchall())
    return found


def insert_metrics(
    connection: Connection, rows: Sequence[tuple[int, str, str]]
) -> list[tuple[int, int, str]]:
    """Insert metrics given as (entity_pk, name, unit); returns (id, entity_pk, name) of
    each, in no particular order."""
    if not rows:
        return []
    returned = insert_returning(
        connection, METRICS, ("entity_pk", "name", "unit"), rows, ("id", "entity_pk", "name")
    )
    return returned
