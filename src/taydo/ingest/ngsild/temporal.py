"""Temporal retrieval (``/temporal/entities/{id}``) from the observation store, and handing
the points of NGSI-LD writes to the observation writer (temporal writes: ``temporal_write``
and ``temporal_api``; aggregation: ``temporal_aggregate``).

The observation domain answers bucketed series queries; NGSI-LD needs the raw instances of a
range, read with the observation store's ``raw_points`` (raw and packed points alike).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from taydo.catalog import service as catalog
from taydo.core.runtime import Runtime
from taydo.ingest.counts import GatewayCounts
from taydo.ingest.ngsild.context import Context
from taydo.ingest.ngsild.entity import parse_time, translate
from taydo.ingest.ngsild.errors import NgsiError
from taydo.ingest.ngsild.temporal_aggregate import Aggregation, aggregate
from taydo.ingest.ngsild.temporal_write import instance_id
from taydo.observations.service import ObservationWriter

__all__ = [
    "MAX_INSTANCES",
    "Page",
    "store_points",
    "temporal_entities",
    "temporal_entity",
    "window",
]

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


@dataclass
class Page:
    """Where the instances of an answer were cut (the spec's temporal pagination): the
    time range the answer covers, for a 206 with ``Content-Range: date-time …``."""

    first: int | None = None
    last: int | None = None
    cut: bool = False
    wanted: int | None = None

    def note(self, first: int, last: int, cut: bool) -> None:
        self.first = first if self.first is None else min(self.first, first)
        self.last = last if self.last is None else max(self.last, last)
        self.cut = self.cut or cut

    def headers(self) -> dict[str, str] | None:
        if not self.cut or self.first is None or self.last is None:
            return None
        size = "*" if self.wanted is None else str(self.wanted)
        return {"Content-Range": f"date-time {_iso(self.first)}-{_iso(self.last)}/{size}"}


def temporal_entity(
    runtime: Runtime,
    entity: Any,
    target: Context,
    span: tuple[int | None, int | None],
    attrs: Any,
    last_n: int | None,
    temporal_values: bool,
    aggregation: Aggregation | None = None,
    page: Page | None = None,
) -> dict[str, Any]:
    """The temporal representation of one entity: each numeric attribute's instances in
    the range (oldest first; with ``lastN`` the newest N), each with its ``instanceId``;
    simplified (``temporalValues``) or aggregated (``aggregation``). At most
    ``MAX_INSTANCES`` per attribute: a longer history is cut (``page`` notes where)."""
    from taydo.observations.query import raw_points
    from taydo.observations.service import store_for

    database = runtime.db
    out: dict[str, Any] = {
        "id": entity.entity_id,
        "type": translate(entity.type, entity.context, target),
    }
    start, end = span
    page = page if page is not None else Page()
    with database.engine.connect() as connection:
        for series_id, name, unit in catalog.series_of_entity(connection, entity.entity_id):
            if attrs is not None and not attrs(name, entity.context):
                continue
            key = translate(name, entity.context, target)
            if aggregation is not None:
                buckets = store_for(database).buckets
                values, _source = aggregate(
                    connection, database.dialect, buckets, series_id, aggregation, span,
                    last_n, raw_points,
                )  # fmt: skip
                if values is not None:
                    out[key] = {"type": "Property", **values}
                continue
            if last_n is not None:
                # The newest ``lastN`` points of the range, raw or packed, then in time order.
                limit = min(last_n, MAX_INSTANCES)
                newest = raw_points(
                    connection, database.dialect, series_id, start, end,
                    newest_first=True, limit=limit + 1,
                )  # fmt: skip
                rows = [(ts, value) for ts, value, _quality in islice(newest, limit + 1)]
                cut = len(rows) > limit and last_n > MAX_INSTANCES
                rows = rows[:limit]
                rows.reverse()
            else:
                oldest = raw_points(
                    connection, database.dialect, series_id, start, end, limit=MAX_INSTANCES + 1
                )
                rows = [(ts, value) for ts, value, _quality in islice(oldest, MAX_INSTANCES + 1)]
                cut = len(rows) > MAX_INSTANCES
                rows = rows[:MAX_INSTANCES]
            if not rows:
                continue
            page.note(rows[0][0], rows[-1][0], cut)
            if temporal_values:
                values_of: dict[str, Any] = {"type": "Property"}
                values_of["values"] = [[value, _iso(ts)] for ts, value in rows]
                out[key] = values_of
            else:
                instances = []
                for ts, value in rows:
                    instance: dict[str, Any] = {
                        "type": "Property",
                        "value": value,
                        "observedAt": _iso(ts),
                        "instanceId": instance_id(series_id, ts),
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
    aggregation: Aggregation | None = None,
    page: Page | None = None,
) -> list[dict[str, Any]]:
    """``temporal_entity`` of each entity a query selected, in the query's order."""
    return [
        temporal_entity(
            runtime, entity, target, span, attrs, last_n, temporal_values, aggregation, page
        )
        for entity in entities
    ]
