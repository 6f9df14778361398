"""Temporal API writes (ETSI GS CIM 009 §5.6.11–5.6.16): the instances of a temporal
representation become points of the observation store, through the same path as every other
value (series index, valid range → quarantine, group commit, bus).

An instance is a numeric Property value with its ``observedAt``; it is stored as the point
(series of the attribute's metric, observedAt, value). The store keys points by
(series, time) and keeps no id of its own, so an instance's ``instanceId`` is derived from
that key: ``urn:ngsi-ld:Instance:<series id>-<epoch ms>``; it is stable as long as the
point is stored, and a second instance of the same attribute at the same instant is the same
instance (a duplicate, kept once).

Any other instance — text, boolean, JSON, GeoProperty, Relationship, LanguageProperty, with
or without a datasetId — is kept whole in the attribute history (``history``), at its
``observedAt`` (or, without one, at the time of the write); an instance identical to one
already stored at the same time is kept once.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from taydo.auth import journal
from taydo.catalog.series import SeriesInfo
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.ingest.ngsild import history
from taydo.ingest.ngsild.context import Context
from taydo.ingest.ngsild.entity import (
    DATASETS,
    ENTITY_MEMBERS,
    observed_ms,
    parse_attributes,
    translate,
)
from taydo.ingest.ngsild.errors import NgsiError
from taydo.ingest.quarantine import Entry, put_many

__all__ = [
    "Instance",
    "TemporalBody",
    "TextInstance",
    "instance_id",
    "judge_order",
    "parse_instance_id",
    "parse_temporal",
    "record",
    "valid_points",
]

_NOW = 2**62  # an instance observed at no time is the newest (it is stored as of now)
_INSTANCE = re.compile(r"^urn:ngsi-ld:Instance:(\d{1,18})-(-?\d{1,18})$")
MAX_INSTANCES_PER_REQUEST = 200_000


def instance_id(series_id: int, ts: int) -> str:
    return f"urn:ngsi-ld:Instance:{series_id}-{ts}"


def parse_instance_id(value: str) -> tuple[int, int]:
    """(series id, epoch ms) of an instanceId this server gave; 404 for any other."""
    found = _INSTANCE.match(value)
    if found is None:
        raise NgsiError("ResourceNotFound", f"no attribute instance {value[:120]}")
    return int(found.group(1)), int(found.group(2))


@dataclass(slots=True)
class Instance:
    name: str  # the attribute name in the request's context (normalized)
    ts: int
    value: float
    unit: str


@dataclass(slots=True)
class TextInstance:
    """A non-numeric instance: kept whole in the attribute history."""

    name: str  # the attribute name in the request's context (normalized)
    dataset: str | None
    ts: int | None  # None: observed at no time (stored at the time of the write)
    attr: dict[str, Any]


@dataclass
class TemporalBody:
    """A parsed EntityTemporal (or fragment): the newest instance of each attribute (for
    the entity's current state) and every numeric instance (for the history)."""

    entity_id: str | None
    type: str | None
    # name → raw instance (a list of them, one per datasetId, when there are several)
    newest: dict[str, Any] = field(default_factory=dict)
    instances: list[Instance] = field(default_factory=list)
    texts: list[TextInstance] = field(default_factory=list)
    numeric: set[str] = field(default_factory=set)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_PLAIN = frozenset({"type", "value", "observedAt", "unitCode", "instanceId"})


def _plain(item: dict[str, Any]) -> dict[str, Any] | None:
    """The usual instance — ``{"type": "Property", "value": <number>, "observedAt": <text>,
    "unitCode": <short text>}`` — as the entity parser would give it, without its per-key
    work (a history of 1,000 instances spent most of its parsing there); None for any
    other shape, which the full parser then checks."""
    if item.get("type") != "Property" or not item.keys() <= _PLAIN:
        return None
    value = item.get("value")
    when = item.get("observedAt")
    if not _is_number(value) or not isinstance(when, str):
        return None
    out = {"type": "Property", "value": value, "observedAt": when}
    if "unitCode" in item:
        unit = item["unitCode"]
        if not isinstance(unit, str) or not 0 < len(unit) <= 32:
            return None
        out["unitCode"] = unit
    return out


def parse_temporal(body: Any, context: Context, *, fragment: bool) -> TemporalBody:
    """Check an EntityTemporal body: each attribute one instance or an array of instances;
    a numeric Property instance needs ``observedAt`` (and no datasetId), any other is
    kept in the attribute history."""
    if not isinstance(body, dict):
        raise NgsiError("BadRequestData", "expected a temporal representation (a JSON object)")
    entity_id = body.get("id")
    kind = body.get("type")
    if not fragment:
        if not isinstance(entity_id, str) or not entity_id:
            raise NgsiError("BadRequestData", "the temporal representation needs an id")
        if not isinstance(kind, str | list) or not kind:
            raise NgsiError("BadRequestData", "the temporal representation needs a type")
    out = TemporalBody(entity_id if isinstance(entity_id, str) else None, None)
    out.type = kind if isinstance(kind, str) else None
    count = 0
    for key, raw in body.items():
        if key in ENTITY_MEMBERS or key in ("@context", "scope"):
            continue
        items = raw if isinstance(raw, list) else [raw]
        if not items:
            raise NgsiError("BadRequestData", f"attribute {key[:80]!r}: no instance given")
        best: tuple[int, dict[str, Any]] | None = None
        newest: dict[str | None, tuple[int, dict[str, Any]]] = {}  # datasetId → its newest
        name: str | None = None  # the attribute's name, once the first instance gave it
        for item in items:
            if not isinstance(item, dict):
                raise NgsiError(
                    "BadRequestData", f"attribute {key[:80]!r}: an instance must be an object"
                )
            attr = _plain(item) if name is not None else None
            if name is None or attr is None:  # not the plain shape: the entity parser's checks
                parsed = parse_attributes({key: item}, context, context)
                ((name, attr),) = parsed.items()
            dataset = item.get("datasetId")
            if DATASETS in attr:  # an instance with a datasetId: parsed as a multi-attribute
                attr = next(iter(attr[DATASETS].values()))
            value: Any = attr.get("value")
            if attr.get("type") != "Property" or not _is_number(value) or dataset is not None:
                if _is_number(value) and attr.get("type") == "Property":
                    raise NgsiError(
                        "OperationNotSupported",
                        f"attribute {key[:80]!r}: numeric instances with a datasetId keep "
                        "no history here",
                    )
                when = attr.get("observedAt")
                stamp = observed_ms(when, key) if when is not None else None
                out.texts.append(TextInstance(name, dataset, stamp, attr))
                count += 1
                order = stamp if stamp is not None else _NOW
                if dataset not in newest or order >= newest[dataset][0]:
                    newest[dataset] = (order, item)
                continue
            if "observedAt" not in attr:
                raise NgsiError(
                    "BadRequestData",
                    f"attribute {key[:80]!r}: a temporal instance needs observedAt",
                )
            if not math.isfinite(float(value)):
                raise NgsiError("BadRequestData", f"attribute {key[:80]!r}: value not finite")
            ts = observed_ms(attr["observedAt"], key)
            unit = attr.get("unitCode", "")
            out.instances.append(
                Instance(name, ts, float(value), unit if isinstance(unit, str) else "")
            )
            out.numeric.add(key)
            count += 1
            if best is None or ts > best[0]:
                best = (ts, item)
        if best is not None and (None not in newest or best[0] >= newest[None][0]):
            newest[None] = best
        if newest:
            chosen = [item for _order, item in newest.values()]
            out.newest[key] = chosen[0] if len(chosen) == 1 else chosen
    if count > MAX_INSTANCES_PER_REQUEST:
        raise NgsiError(
            "BadRequestData", f"more than {MAX_INSTANCES_PER_REQUEST} instances in one request",
            status=413,
        )  # fmt: skip
    if not out.newest and fragment:
        raise NgsiError("BadRequestData", "no attributes given")
    return out


def metric_name(name: str, request: Context, entity: Context | None) -> str:
    """The stored name (the metric's) of an attribute named in the request's context."""
    return translate(name, request, entity)


def valid_points(
    instances: list[Instance],
    series: dict[str, SeriesInfo],
    agency: str | None,
    entity_id: str,
) -> tuple[list[tuple[int, int, float]], list[tuple[str, dict[str, Any], str | None]]]:
    """The points of the instances (``series``: metric name → series), and the quarantine
    entries of the values outside their metric's valid range (kept out of the series)."""
    points: list[tuple[int, int, float]] = []
    rejected: list[tuple[str, dict[str, Any], str | None]] = []
    for item in instances:
        info = series[item.name]
        low, high = info.min_valid, info.max_valid
        if (low is not None and item.value < low) or (high is not None and item.value > high):
            reason = f"{info.metric}={item.value} ngoài khoảng / outside [{low}, {high}]"
            raw = {
                "entity_id": entity_id,
                "metric": info.metric,
                "ts": item.ts,
                "value": item.value,
            }
            rejected.append((reason, raw, agency))
            continue
        points.append((info.series_id, item.ts, item.value))
    return points, rejected


def judge_order(points: list[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    """The points in the order they are committed and announced: each series' newest first.

    The rules engine judges a series' points in the order they are announced and ignores a
    point older than the last one it judged (a late point never moves an alert). A write of
    history thus has only its newest value judged — the state the series ends in — and never
    fires (then clears) alerts for values of the past, whatever order the client sent."""
    return sorted(points, key=lambda p: (p[0], -p[1]))


def text_rows(
    entity_id: str, texts: list[TextInstance], context: Context, entity: Context | None, now: int
) -> list[history.Row]:
    """The history rows of the non-numeric instances (names in the entity's context)."""
    rows = []
    for t in texts:
        name = translate(t.name, context, entity)
        ts = t.ts if t.ts is not None else now
        rows.append(history.instance_row(entity_id, name, t.dataset, t.attr, ts, t.ts is not None))
    return rows


def store_texts(database: Database, rows: list[history.Row]) -> int:
    """Append the rows an entity's history lacks (an identical instance at the same time is
    kept once); how many were added. One read of the range, one multi-row insert."""
    if not rows:
        return 0
    entity_id = rows[0][0]
    low, high = min(r[3] for r in rows), max(r[3] for r in rows)
    with database.engine.begin() as connection:
        seen = {
            (name, dataset, ts, json.dumps(attr, sort_keys=True))
            for _id, name, dataset, ts, _observed, attr in history.read_rows(
                connection, entity_id, low, high + 1
            )
        }
        fresh = []
        for row in rows:
            key = (row[1], row[2], row[3], json.dumps(row[5], sort_keys=True))
            if key not in seen:
                seen.add(key)
                fresh.append(row)
        history.append(connection, fresh)
    return len(fresh)


def quarantine(database: Database, rejected: list[tuple[str, dict[str, Any], str | None]]) -> None:
    if rejected:
        put_many(
            database, [Entry("ngsi-ld", reason, raw, agency) for reason, raw, agency in rejected]
        )


def record(
    database: Database,
    principal: Principal,
    action: str,
    entity_id: str,
    summary: dict[str, Any],
    address: str | None = None,
) -> None:
    """One audit-journal entry for a temporal write (``ngsild.temporal.<action>``)."""
    with database.session() as session:
        journal.record(
            session,
            actor=principal.username,
            action=f"ngsild.temporal.{action}",
            object_type="entity",
            object_id=entity_id,
            summary=summary,
            address=address,
        )
