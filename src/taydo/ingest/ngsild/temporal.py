"""Temporal retrieval (``/temporal/entities/{id}``) from the observation store, and handing
the points of NGSI-LD writes to the observation writer.

The observation domain answers bucketed series queries; NGSI-LD needs the raw instances of a
range, read with the observation store's ``raw_points`` (raw and packed points alike).
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import islice
from typing import Any

from taydo.catalog import service as catalog
from taydo.core.runtime import Runtime
from taydo.ingest.counts import GatewayCounts
from taydo.ingest.ngsild.context import Context
from taydo.ingest.ngsild.entity import parse_time, translate
from taydo.ingest.ngsild.errors import NgsiError
from taydo.observations.service import ObservationWriter

__all__ = ["MAX_INSTANCES", "store_points", "temporal_entities", "temporal_entity", "window"]

MAX_INSTANCES = 10_000  # per attribute and request


async def store_points(runtime: Runtime, points: list[tuple[int, int, float]]) -> None:
    """Commit the points through the app's group-commit writer (answer after commit).

    Handed over as the writer's own row tuples (quality 0, as a ``Point`` has by default):
    building a frozen ``Point`` per value only for the writer to turn it back into a tuple
    cost more than the rest of this function."""
    rows = [(series_id, ts, value, 0) for series_id, ts, value in points]
    stored = await runtime.get(ObservationWriter).write_rows(rows)
    counts = runtime.find(GatewayCounts)
    if counts is not None:  # refused NGSI-LD input is answered with an error, not quarantined
        counts.add("ngsi-ld", accepted=stored.accepted, duplicates=stored.duplicates, rejected=0)


def window(
    timerel: str | None, time_at: str | None, end_time_at: str | None
) -> tuple[int | None, int | None]:
    """[start, end) in epoch ms from the NGSI-LD temporal parameters."""
    if timerel is None:
        if time_at or end_time_at:
            raise NgsiError("BadRequestData", "timeAt needs timerel")
        return None, None
    if timerel not in ("before", "after", "between"):
        raise NgsiError("BadRequestData", "timerel must be before, after or between")
    if not time_at:
        raise NgsiError("BadRequestData", "timerel needs timeAt")
    at = int(parse_time(time_at, "timeAt").timestamp() * 1000)
    if timerel == "before":
        return None, at
    if timerel == "after":
        return at, None
    if not end_time_at:
        raise NgsiError("BadRequestData", "timerel=between needs endTimeAt")
    end = int(parse_time(end_time_at, "endTimeAt").timestamp() * 1000)
    if end <= at:
        raise NgsiError("BadRequestData", "endTimeAt must be after timeAt")
    return at, end


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def temporal_entity(
    runtime: Runtime,
    entity: Any,
    target: Context,
    span: tuple[int | None, int | None],
    attrs: Any,
    last_n: int | None,
    temporal_values: bool,
) -> dict[str, Any]:
    from taydo.observations.query import raw_points

    database = runtime.db
    out: dict[str, Any] = {
        "id": entity.entity_id,
        "type": translate(entity.type, entity.context, target),
    }
    start, end = span
    limit = min(last_n or MAX_INSTANCES, MAX_INSTANCES)
    with database.engine.connect() as connection:
        for series_id, name, unit in catalog.series_of_entity(connection, entity.entity_id):
            if attrs is not None and not attrs(name, entity.context):
                continue
            # The newest ``limit`` points of the range, raw or packed, then in time order.
            newest = raw_points(
                connection, database.dialect, series_id, start, end, newest_first=True, limit=limit
            )
            rows = [(ts, value) for ts, value, _quality in islice(newest, limit)]
            rows.reverse()
            if not rows:
                continue
            key = translate(name, entity.context, target)
            if temporal_values:
                values: dict[str, Any] = {"type": "Property"}
                values["values"] = [[value, _iso(ts)] for ts, value in rows]
                out[key] = values
            else:
                instances = []
                for ts, value in rows:
                    instance: dict[str, Any] = {
                        "type": "Property",
                        "value": value,
                        "observedAt": _iso(ts),
                    }
                    if unit:
                        instance["unitCode"] = unit
                    instances.append(instance)
                out[key] = instances
    return out


def temporal_entities(
    runtime: Runtime,
    entities: list[Any],
    target: Context,
    span: tuple[int | None, int | None],
    attrs: Any,
    last_n: int | None,
    temporal_values: bool,
) -> list[dict[str, Any]]:
    """``temporal_entity`` of each entity a query selected, in the query's order."""
    return [
        temporal_entity(runtime, entity, target, span, attrs, last_n, temporal_values)
        for entity in entities
    ]
