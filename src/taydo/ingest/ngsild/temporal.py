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
from taydo.ingest.ngsild import history
from taydo.ingest.ngsild.context import Context
from taydo.ingest.ngsild.entity import parse_time, render_attribute, translate
from taydo.ingest.ngsild.errors import NgsiError
from taydo.ingest.ngsild.temporal_aggregate import MAX_PERIODS, Aggregation, aggregate
from taydo.ingest.ngsild.temporal_write import instance_id
from taydo.observations.buckets import HOUR_MS
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


def _numeric_rows(
    connection: Any, dialect: str, series_id: int, span: tuple[int | None, int | None],
    last_n: int | None,
) -> tuple[list[tuple[int, float]], bool]:  # fmt: skip
    """A series' points of the range (oldest first; with ``lastN`` the newest N), at most
    ``MAX_INSTANCES``, and whether more were left out."""
    from taydo.observations.query import raw_points

    start, end = span
    if last_n is not None:
        # The newest ``lastN`` points of the range, raw or packed, then in time order.
        limit = min(last_n, MAX_INSTANCES)
        newest = raw_points(
            connection, dialect, series_id, start, end, newest_first=True, limit=limit + 1
        )
        rows = [(ts, value) for ts, value, _quality in islice(newest, limit + 1)]
        cut = len(rows) > limit and last_n > MAX_INSTANCES
        rows = rows[:limit]
        rows.reverse()
        return rows, cut
    oldest = raw_points(connection, dialect, series_id, start, end, limit=MAX_INSTANCES + 1)
    rows = [(ts, value) for ts, value, _quality in islice(oldest, MAX_INSTANCES + 1)]
    return rows[:MAX_INSTANCES], len(rows) > MAX_INSTANCES


WRITTEN = "@written"  # in an entry's instance: observed at no time, written then (epoch ms)
# One instance of an answer: (time, its normalized form without instanceId, its instanceId).
_Entry = tuple[int, dict[str, Any], str]


def _history_entries(
    connection: Any, entity: Any, span: tuple[int | None, int | None], attrs: Any,
    last_n: int | None,
) -> dict[str, tuple[list[_Entry], bool]]:  # fmt: skip
    """The non-numeric instances of the range by stored name (see ``_numeric_rows``)."""
    start, end = span
    names = history.stored_names(connection, entity.entity_id)
    if attrs is not None:
        names = [n for n in names if attrs(n, entity.context)]
    limit = MAX_INSTANCES if last_n is None else min(last_n, MAX_INSTANCES)
    out: dict[str, tuple[list[_Entry], bool]] = {}
    for name in sorted(names):
        rows = history.read_rows(
            connection, entity.entity_id, start, end, newest_first=last_n is not None,
            limit=limit + 1, name=name,
        )  # fmt: skip
        entries: list[_Entry] = []
        for row_id, _name, dataset, ts, observed, attr in rows:
            instance = dict(attr)
            if dataset:
                instance["datasetId"] = dataset
            if not observed:
                instance[WRITTEN] = ts
            entries.append((ts, instance, history.history_id(row_id)))
        cut = len(entries) > limit and (last_n is None or last_n > MAX_INSTANCES)
        entries = entries[:limit]
        if last_n is not None:
            entries.reverse()
        if entries:
            out[name] = (entries, cut)
    return out


def _merge(
    first: list[_Entry], second: list[_Entry], last_n: int | None
) -> tuple[list[_Entry], bool]:
    """Two attributes' instances of one name in time order, cut as one."""
    merged = sorted(first + second, key=lambda e: e[0])
    limit = MAX_INSTANCES if last_n is None else min(last_n, MAX_INSTANCES)
    if len(merged) <= limit:
        return merged, False
    cut = last_n is None or last_n > MAX_INSTANCES
    return (merged[-limit:] if last_n is not None else merged[:limit]), cut


def _render(instance: dict[str, Any], ident: str, source: Any, target: Context) -> dict[str, Any]:
    written = instance.pop(WRITTEN, None)
    out: dict[str, Any] = render_attribute(instance, source, target, False)
    if written is not None:
        out["modifiedAt"] = _iso(written)
    out["instanceId"] = ident
    return out


def _simplified(entries: list[_Entry], source: Any, target: Context) -> Any:
    """The simplified temporal representation (``temporalValues``) of one attribute: per
    datasetId, ``[value, time]`` pairs under the member of its type (``values``,
    ``objects``, ``languageMaps`` …)."""
    by_dataset: dict[str | None, list[_Entry]] = {}
    for entry in entries:
        by_dataset.setdefault(entry[1].get("datasetId"), []).append(entry)
    shown = []
    for dataset, group in by_dataset.items():
        kind = group[0][1].get("type", "Property")
        out: dict[str, Any] = {"type": kind}
        if dataset is not None:
            out["datasetId"] = dataset
        out[history.simplified_member(kind)] = [
            [history.primary_value(instance), _iso(ts)] for ts, instance, _id in group
        ]
        shown.append(out)
    return shown[0] if len(shown) == 1 else shown


def _aggregate_history(
    entries: list[_Entry], aggregation: Aggregation, span: tuple[int | None, int | None],
    last_n: int | None, buckets: Any,
) -> dict[str, Any] | None:  # fmt: skip
    """The aggregated representation of non-numeric instances (``history.aggregate_values``
    per period; periods as ``temporal_aggregate`` counts them)."""
    if not entries:
        return None
    start, end = span
    origin = start if start is not None else buckets.start(entries[0][0], HOUR_MS)
    period = aggregation.period_ms
    groups: dict[int, list[Any]] = {}
    for ts, instance, _id in entries:
        index = 0 if period == 0 else (ts - origin) // period
        if index >= MAX_PERIODS:
            raise NgsiError(
                "TooManyResults",
                f"more than {MAX_PERIODS} periods: give a longer aggrPeriodDuration",
            )
        groups.setdefault(index, []).append(history.primary_value(instance))
    stop = end if end is not None else entries[-1][0] + 1
    keys = sorted(groups)
    if last_n is not None:
        keys = keys[-last_n:]
    out: dict[str, Any] = {m: [] for m in aggregation.methods}
    for index in keys:
        begin = origin + index * period
        finish = stop if period == 0 else min(begin + period, stop)
        for method, value in history.aggregate_values(aggregation.methods, groups[index]).items():
            out[method].append([value, _iso(begin), _iso(finish)])
    kind = entries[0][1].get("type", "Property")
    return {"type": kind, **out}


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
    """The temporal representation of one entity: each attribute's instances in the range
    (oldest first; with ``lastN`` the newest N), each with its ``instanceId`` — numbers from
    the observation store, other values from their history (``history``), merged by name;
    simplified (``temporalValues``) or aggregated (``aggregation``). At most
    ``MAX_INSTANCES`` per attribute: a longer history is cut (``page`` notes where)."""
    from taydo.observations.query import raw_points
    from taydo.observations.service import store_for

    database = runtime.db
    source = entity.context
    out: dict[str, Any] = {
        "id": entity.entity_id,
        "type": translate(entity.type, source, target),
    }
    page = page if page is not None else Page()
    numeric: dict[str, tuple[list[_Entry], bool]] = {}
    with database.engine.connect() as connection:
        for series_id, name, unit in catalog.series_of_entity(connection, entity.entity_id):
            if attrs is not None and not attrs(name, source):
                continue
            key = translate(name, source, target)
            if aggregation is not None:
                buckets = store_for(database).buckets
                values, _source = aggregate(
                    connection, database.dialect, buckets, series_id, aggregation, span,
                    last_n, raw_points,
                )  # fmt: skip
                if values is not None:
                    out[key] = {"type": "Property", **values}
                continue
            rows, cut = _numeric_rows(connection, database.dialect, series_id, span, last_n)
            entries: list[_Entry] = []
            for ts, value in rows:
                instance: dict[str, Any] = {
                    "type": "Property", "value": value, "observedAt": _iso(ts),
                }  # fmt: skip
                if unit:
                    instance["unitCode"] = unit
                entries.append((ts, instance, instance_id(series_id, ts)))
            numeric[name] = (entries, cut)
        texts = _history_entries(connection, entity, span, attrs, last_n)
    for name, (entries, cut) in texts.items():
        key = translate(name, source, target)
        if aggregation is not None:
            if key not in out:  # a name with a numeric series is aggregated from it
                values = _aggregate_history(
                    entries, aggregation, span, last_n, store_for(database).buckets
                )
                if values is not None:
                    out[key] = values
            continue
        if name in numeric:
            merged, more = _merge(numeric[name][0], entries, last_n)
            numeric[name] = (merged, cut or more or numeric[name][1])
        else:
            numeric[name] = (entries, cut)
    for name, (entries, cut) in numeric.items():
        if not entries:
            continue
        page.note(entries[0][0], entries[-1][0], cut)
        key = translate(name, source, target)
        if temporal_values:
            out[key] = _simplified(entries, source, target)
        else:
            out[key] = [
                _render(instance, ident, source, target) for _ts, instance, ident in entries
            ]
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
