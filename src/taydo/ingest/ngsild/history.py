"""The history of non-numeric NGSI-LD attribute values (``ngsild_attribute_instances``):
what the observation store, which keeps numbers only, cannot hold — texts, booleans, JSON,
GeoProperties, Relationships, LanguageProperties, and numbers observed at no time.

Each stored instance is a row: the entity's id, the attribute's stored name, its datasetId
(``""`` for the default instance), its time (``observedAt``, else when it was written) and
the instance as NGSI-LD normalized JSON. Its ``instanceId`` is
``urn:ngsi-ld:Instance:h-<row id>`` (a number's is ``<series id>-<epoch ms>``).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, cast

import orjson
from sqlalchemy import Connection, Table, delete, select, update

from taydo.ingest.ngsild.entity import primary_member
from taydo.ingest.ngsild.models import AttributeInstance

__all__ = [
    "TABLE",
    "Row",
    "append",
    "delete_rows",
    "history_id",
    "instance_row",
    "parse_history_id",
    "read_rows",
    "simplified_member",
]

TABLE = cast(Table, AttributeInstance.__table__)
_ID = re.compile(r"^urn:ngsi-ld:Instance:h-(\d{1,18})$")
# The simplified temporal representation's member of each attribute type (§4.5.9).
SIMPLIFIED = {
    "Property": "values",
    "GeoProperty": "values",
    "Relationship": "objects",
    "ListRelationship": "objectLists",
    "LanguageProperty": "languageMaps",
    "JsonProperty": "jsons",
    "ListProperty": "valueLists",
    "VocabProperty": "vocabs",
}


def history_id(row_id: int) -> str:
    return f"urn:ngsi-ld:Instance:h-{row_id}"


def parse_history_id(value: str) -> int | None:
    """The row id of a history instanceId; None for any other id."""
    found = _ID.match(value)
    return int(found.group(1)) if found else None


def simplified_member(kind: str) -> str:
    return SIMPLIFIED.get(kind, "values")


# A row to insert: entity_id, name, dataset_id, ts, observed, attr (the instance).
Row = tuple[str, str, str, int, bool, dict[str, Any]]
_COLUMNS = ("entity_id", "name", "dataset_id", "ts", "observed", "attr")
CHUNK = 1_000  # rows per INSERT statement (6,000 parameters)


def instance_row(
    entity_id: str, name: str, dataset: str | None, attr: dict[str, Any], ts: int, observed: bool
) -> Row:
    if "datasetId" in attr or "instanceId" in attr:
        attr = {k: v for k, v in attr.items() if k not in ("datasetId", "instanceId")}
    return (entity_id, name, dataset or "", ts, observed, attr)


def _json_text(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # what orjson refuses (an integer wider than 64 bits)
        return json.dumps(value)


def append(connection: Connection, rows: list[Row]) -> None:
    """Insert the rows of one write: a multi-row INSERT straight through the driver (per
    1,000 rows), the instances serialized once, by orjson."""
    if not rows:
        return
    if connection.dialect.paramstyle == "qmark":
        markers = "(?, ?, ?, ?, ?, ?)"
    else:
        markers = "(%s, %s, %s, %s, %s, CAST(%s AS JSON))"
    head = f"INSERT INTO {TABLE.name} ({', '.join(_COLUMNS)}) VALUES "  # noqa: S608 — ours
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        flat = tuple(
            value
            for entity_id, name, dataset, ts, observed, attr in chunk
            for value in (entity_id, name, dataset, ts, observed, _json_text(attr))
        )
        connection.exec_driver_sql(head + ", ".join([markers] * len(chunk)), flat)


def read_rows(
    connection: Connection,
    entity_id: str,
    start: int | None,
    end: int | None,
    *,
    newest_first: bool = False,
    limit: int | None = None,
    name: str | None = None,
) -> list[Any]:
    """(id, name, dataset_id, ts, observed, attr) of the entity's instances in [start, end),
    by time (then by row)."""
    query = select(
        TABLE.c.id, TABLE.c.name, TABLE.c.dataset_id, TABLE.c.ts, TABLE.c.observed, TABLE.c.attr
    ).where(TABLE.c.entity_id == entity_id)
    if name is not None:
        query = query.where(TABLE.c.name == name)
    if start is not None:
        query = query.where(TABLE.c.ts >= start)
    if end is not None:
        query = query.where(TABLE.c.ts < end)
    if newest_first:
        query = query.order_by(TABLE.c.ts.desc(), TABLE.c.id.desc())
    else:
        query = query.order_by(TABLE.c.ts, TABLE.c.id)
    if limit is not None:
        query = query.limit(limit)
    return [tuple(r) for r in connection.execute(query)]


def stored_names(connection: Connection, entity_id: str) -> list[str]:
    """The names of the entity's attributes with a history."""
    query = select(TABLE.c.name).where(TABLE.c.entity_id == entity_id).distinct()
    return [str(r[0]) for r in connection.execute(query)]


def delete_rows(
    connection: Connection,
    entity_id: str,
    *,
    name: str | None = None,
    dataset: str | None = None,
    row_id: int | None = None,
) -> int:
    """Delete the entity's instances (of ``name``; of ``dataset`` too when given: ``""``
    the default instances); the number deleted."""
    statement = delete(TABLE).where(TABLE.c.entity_id == entity_id)
    if name is not None:
        statement = statement.where(TABLE.c.name == name)
    if dataset is not None:
        statement = statement.where(TABLE.c.dataset_id == dataset)
    if row_id is not None:
        statement = statement.where(TABLE.c.id == row_id)
    return int(connection.execute(statement).rowcount or 0)


def modify_row(
    connection: Connection, entity_id: str, name: str, row_id: int, attr: dict[str, Any]
) -> bool:
    kept = {k: v for k, v in attr.items() if k not in ("datasetId", "instanceId")}
    statement = (
        update(TABLE)
        .where(TABLE.c.id == row_id, TABLE.c.entity_id == entity_id, TABLE.c.name == name)
        .values(attr=kept)
    )
    return bool(connection.execute(statement).rowcount)


def primary_value(attr: dict[str, Any]) -> Any:
    return attr.get(primary_member(attr.get("type", "Property")))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def aggregate_values(methods: tuple[str, ...], values: list[Any]) -> dict[str, Any]:
    """Each method over the values of one period (CIM 009 §4.5.19): ``totalCount`` and
    ``distinctCount`` of any value, ``min``/``max`` of numbers or of texts (null when the
    values mix kinds or are neither), ``sum``/``avg``/``stddev``/``sumsq`` of numbers only
    (null otherwise)."""
    numbers = all(_is_number(v) for v in values)
    texts = all(isinstance(v, str) for v in values)
    out: dict[str, Any] = {}
    for method in methods:
        result: Any = None
        if method == "totalCount":
            result = len(values)
        elif method == "distinctCount":
            result = len({json.dumps(v, sort_keys=True) for v in values})
        elif method in ("min", "max") and (numbers or texts):
            result = min(values) if method == "min" else max(values)
        elif numbers and values:
            floats = [float(v) for v in values]
            total = math.fsum(floats)
            squares = math.fsum(v * v for v in floats)
            if method == "sum":
                result = total
            elif method == "avg":
                result = total / len(floats)
            elif method == "sumsq":
                result = squares
            elif method == "stddev":
                mean = total / len(floats)
                count = len(floats)
                result = (
                    math.sqrt(max(squares - count * mean * mean, 0.0) / (count - 1))
                    if count > 1
                    else 0.0
                )
        out[method] = result
    return out
