"""The entity operations beyond single-entity CRUD: answering queries in every shape
(normalized, keyValues, ``pick``/``omit``, ``lang``, GeoJSON), the batch query body
(``POST /entityOperations/query``), purge (``DELETE /entities``) and batch merge."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from taydo.core.access import Principal
from taydo.core.runtime import runtime_of
from taydo.ingest.ngsild import read
from taydo.ingest.ngsild.context import CORE_CONTEXT_URL, Context
from taydo.ingest.ngsild.entity import attr_items, check_entity_id, translate
from taydo.ingest.ngsild.errors import NgsiError
from taydo.ingest.ngsild.handlers import options_of, resolver, write
from taydo.ingest.ngsild.http import respond, respond_geojson, wants_geojson
from taydo.ingest.ngsild.pattern import Pattern, compile_pattern
from taydo.ingest.ngsild.service import Operation
from taydo.ingest.ngsild.shape import (
    Projection,
    concise,
    feature,
    feature_collection,
    parse_projection,
)

__all__ = [
    "Join",
    "Shape",
    "answer_entities",
    "answer_entity",
    "purge",
    "query_body",
    "selectors_check",
]

PURGE_CHUNK = 1000


@dataclass
class Shape:
    """How entities are rendered for one answer."""

    context: Context
    key_values: bool = False
    concise: bool = False
    sys_attrs: bool = False
    attrs: read.NameMatcher | None = None
    projection: Projection | None = None
    lang: list[str] | None = None
    geometry: str = "location"
    datasets: list[str] | None = None

    @classmethod
    def of(
        cls,
        context: Context,
        *,
        options: str | None = None,
        names: list[str] | None = None,
        pick: Any = None,
        omit: Any = None,
        lang: str | None = None,
        geometry_property: str | None = None,
        dataset_id: str | None = None,
    ) -> Shape:
        flags = options_of(options)
        languages = None
        if lang is not None:
            languages = [code.strip() for code in lang.split(",") if code.strip()]
            if not languages or any(len(code) > 35 for code in languages):
                raise NgsiError("BadRequestData", "lang must be language codes (or *)")
        if geometry_property is not None and not geometry_property.strip():
            raise NgsiError("BadRequestData", "geometryProperty is empty")
        datasets = None
        if dataset_id is not None:
            datasets = [d.strip() for d in dataset_id.split(",") if d.strip()]
            for dataset in datasets:
                if dataset != "@none":
                    check_entity_id(dataset)
            if not datasets:
                raise NgsiError("BadRequestData", "datasetId is empty")
        key_values = "keyValues" in flags or "simplified" in flags
        if key_values and "concise" in flags:
            raise NgsiError("BadRequestData", "options: keyValues and concise exclude each other")
        return cls(
            context,
            key_values=key_values,
            concise="concise" in flags,
            sys_attrs="sysAttrs" in flags,
            attrs=read.NameMatcher(context, names) if names else None,
            projection=parse_projection(pick, omit, context),
            lang=languages,
            geometry=(geometry_property or "location").strip(),
            datasets=datasets,
        )

    def _full(self, entity: read.Stored) -> dict[str, Any]:
        return read.render(
            entity,
            self.context,
            key_values=self.key_values,
            attrs=self.attrs,
            sys_attrs=self.sys_attrs,
            lang=self.lang,
            datasets=self.datasets,
        )

    def render(self, entity: read.Stored) -> dict[str, Any]:
        body = self._full(entity)
        body = self.projection.apply(body, self.context) if self.projection else body
        return concise(body) if self.concise else body

    def feature(self, entity: read.Stored, with_context: bool) -> dict[str, Any]:
        """A GeoJSON Feature; its geometry comes from the entity, picked or not."""
        body = self._full(entity)
        name = self.context.normalize(self.geometry)
        shown = self.projection.apply(body, self.context) if self.projection else body
        made = feature(
            {**shown, name: body.get(name)},
            name,
            key_values=self.key_values,
            context_value=self._context_value() if with_context else None,
        )
        if name not in shown:
            made["properties"].pop(name, None)
        return made

    def _context_value(self) -> Any:
        value = self.context.value
        return value if value is not None else CORE_CONTEXT_URL


@dataclass(frozen=True)
class Join:
    """``join=inline|flat`` with ``joinLevel`` (§4.5.23): the entities that Relationships
    point at, embedded in the Relationship (``entity``) or listed after the answer's."""

    how: str
    level: int

    @classmethod
    def of(cls, join: str | None, level: int | None) -> Join | None:
        if join is None:
            if level is not None:
                raise NgsiError("BadRequestData", "joinLevel needs join")
            return None
        if join not in ("inline", "flat", "@none"):
            raise NgsiError("BadRequestData", "join must be inline, flat or @none")
        if level is not None and not 1 <= level <= MAX_JOIN_LEVEL:
            raise NgsiError("BadRequestData", f"joinLevel must be 1 to {MAX_JOIN_LEVEL}")
        return None if join == "@none" else cls(join, level or 1)


MAX_JOIN_LEVEL = 5
MAX_JOINED = 1000


def _objects(entity: read.Stored) -> dict[str, list[str]]:
    """The stored name of each Relationship and the ids it points at."""
    out: dict[str, list[str]] = {}
    for name, attr in attr_items(entity.attributes):
        if attr.get("type") in ("Relationship", "ListRelationship"):
            target = attr.get("object", attr.get("objectList"))
            targets = target if isinstance(target, list) else [target]
            out[name] = [t for t in targets if isinstance(t, str)]
    return out


async def _related(
    request: Request, principal: Principal, shape: Shape, entities: list[read.Stored], join: Join
) -> dict[str, read.Stored]:
    """Every entity reachable from ``entities`` in ``join.level`` Relationship hops that the
    caller may see (at most MAX_JOINED)."""
    runtime = runtime_of(request.app)
    known = {e.entity_id: e for e in entities}
    frontier = entities
    for _hop in range(join.level):
        wanted = sorted(
            {t for e in frontier for ts in _objects(e).values() for t in ts} - set(known)
        )
        wanted = wanted[: max(0, MAX_JOINED - len(known))]
        if not wanted:
            break
        found, _total = await run_in_threadpool(
            partial(
                read.query_entities,
                runtime.db,
                resolver(runtime),
                principal,
                shape.context,
                ids=wanted,
                limit=len(wanted),
            )
        )
        known.update((e.entity_id, e) for e in found)
        frontier = found
    return known


def _inline(
    shape: Shape,
    entity: read.Stored,
    known: dict[str, read.Stored],
    level: int,
    seen: frozenset[str],
) -> dict[str, Any]:
    body = shape.render(entity)
    if level == 0:
        return body
    for name, targets in _objects(entity).items():
        key = translate(name, entity.context, shape.context)
        if key not in body:
            continue
        inner = [
            _inline(shape, known[t], known, level - 1, seen | {t})
            for t in targets
            if t in known and t not in seen
        ]
        if not inner:
            continue
        embedded = inner[0] if len(inner) == 1 else inner
        if isinstance(body[key], dict) and not shape.key_values:
            body[key] = {**body[key], "entity": embedded}
        else:
            body[key] = embedded
    return body


async def answer_entities(
    request: Request,
    entities: list[read.Stored],
    shape: Shape,
    headers: dict[str, str] | None,
    *,
    principal: Principal | None = None,
    join: Join | None = None,
) -> Response:
    if wants_geojson(request):
        features = [shape.feature(e, False) for e in entities]
        return respond_geojson(
            feature_collection(features, shape._context_value()), headers=headers
        )
    if join is not None and principal is not None:
        known = await _related(request, principal, shape, entities, join)
        if join.how == "flat":
            mine = {e.entity_id for e in entities}
            every = entities + [e for key, e in known.items() if key not in mine]
            body = [shape.render(e) for e in every]
        else:
            body = [
                _inline(shape, e, known, join.level, frozenset({e.entity_id})) for e in entities
            ]
        return respond(request, body, shape.context, headers=headers)
    return respond(request, [shape.render(e) for e in entities], shape.context, headers=headers)


async def answer_entity(
    request: Request,
    entity: read.Stored,
    shape: Shape,
    *,
    principal: Principal | None = None,
    join: Join | None = None,
) -> Response:
    if wants_geojson(request):
        return respond_geojson(shape.feature(entity, True))
    if join is not None and principal is not None:
        if join.how == "flat":  # the entity and those it points at: an array
            return await answer_entities(
                request, [entity], shape, None, principal=principal, join=join
            )
        known = await _related(request, principal, shape, [entity], join)
        body = _inline(shape, entity, known, join.level, frozenset({entity.entity_id}))
        return respond(request, body, shape.context)
    return respond(request, shape.render(entity), shape.context)


# -- POST /entityOperations/query -------------------------------------------------------


@dataclass
class Selector:
    id: str | None
    types: list[str] | None
    pattern: Pattern | None = None  # idPattern (ignored when the selector names an id)


def _text(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise NgsiError("BadRequestData", f"{what} must be a non-empty string")
    return value


def selectors_of(raw: Any) -> list[Selector]:
    """The ``entities`` member of a Query: EntitySelectors (§5.2.33)."""
    if not isinstance(raw, list) or not raw:
        raise NgsiError("BadRequestData", "entities must be a non-empty array of selectors")
    out: list[Selector] = []
    for item in raw:
        if not isinstance(item, dict):
            raise NgsiError("BadRequestData", "an EntitySelector is an object")
        unknown = set(item) - {"id", "idPattern", "type"}
        if unknown:
            raise NgsiError(
                "BadRequestData", f"unknown EntitySelector member {sorted(unknown)[0]!r}"
            )
        entity_id = item.get("id")
        if entity_id is not None:
            check_entity_id(entity_id)
        kind = _text(item.get("type"), "type")
        if kind is None:
            raise NgsiError("BadRequestData", "an EntitySelector needs a type")
        types = [t.strip() for t in kind.split(",") if t.strip()]
        raw = item.get("idPattern")
        if raw is not None and not isinstance(raw, str):
            raise NgsiError("BadRequestData", "idPattern must be a string")
        pattern = compile_pattern(raw) if raw is not None else None
        out.append(Selector(entity_id, types, pattern))
    return out


def selectors_check(
    selectors: list[Selector], context: Context
) -> tuple[list[str], list[str] | None, Callable[[read.Stored], bool]]:
    """(every type named, every id when each selector names one, the check that an entity
    answers to at least one selector)."""
    types = sorted({t for s in selectors for t in (s.types or [])})
    ids = [s.id for s in selectors if s.id] if all(s.id for s in selectors) else None
    checks = [
        (s.id, None if s.id else s.pattern, read.type_check(context, s.types) if s.types else None)
        for s in selectors
    ]

    def check(entity: read.Stored) -> bool:
        return any(
            (entity_id is None or entity.entity_id == entity_id)
            and (pattern is None or pattern.search(entity.entity_id))
            and (kind is None or kind(entity))
            for entity_id, pattern, kind in checks
        )

    return types, ids, check


QUERY_MEMBERS = {
    "type", "entities", "attrs", "q", "geoQ", "scopeQ", "lang", "pick", "omit", "@context",
    "temporalQ", "csf", "datasetId",
}  # fmt: skip


def query_body(body: Any, *, temporal: bool = False) -> dict[str, Any]:
    """The Query data type (§5.2.23) as the keyword arguments of ``EntityQuery``; with
    ``temporal`` (the temporal batch query) its ``temporalQ`` is kept under that key."""
    if not isinstance(body, dict):
        raise NgsiError("BadRequestData", "expected a Query object")
    if body.get("type") != "Query":
        raise NgsiError("BadRequestData", 'a Query needs "type": "Query"')
    unknown = set(body) - QUERY_MEMBERS
    if unknown:
        raise NgsiError("BadRequestData", f"unknown Query member {sorted(unknown)[0]!r}")
    if ("temporalQ" in body and not temporal) or "csf" in body:
        raise NgsiError("OperationNotSupported", "temporalQ and csf are not supported here")
    out: dict[str, Any] = {}
    if temporal:
        out["temporalQ"] = temporal_q(body.get("temporalQ"))
    attrs = body.get("attrs")
    if attrs is not None:
        if not isinstance(attrs, list) or not all(isinstance(a, str) and a for a in attrs):
            raise NgsiError("BadRequestData", "attrs must be an array of names")
        out["attrs"] = ",".join(attrs)
    for member in ("q", "scopeQ", "lang"):
        if member in body:
            out[member] = _text(body[member], member)
    geo = body.get("geoQ")
    if geo is not None:
        if not isinstance(geo, dict) or not {"geometry", "coordinates", "georel"} <= set(geo):
            raise NgsiError("BadRequestData", "geoQ needs geometry, coordinates and georel")
        coordinates = geo["coordinates"]
        out["georel"] = _text(geo["georel"], "georel")
        out["geometry"] = _text(geo["geometry"], "geometry")
        out["coordinates"] = (
            coordinates if isinstance(coordinates, str) else _json_text(coordinates)
        )
        if "geoproperty" in geo:
            out["geoproperty"] = _text(geo["geoproperty"], "geoproperty")
    if "entities" in body:
        out["selectors"] = selectors_of(body["entities"])
    for member in ("pick", "omit", "datasetId"):
        if member in body:
            out[member] = _text_list(body[member], member)
    return out


TEMPORAL_Q = ("timerel", "timeAt", "endTimeAt", "timeproperty")


def temporal_q(value: Any) -> dict[str, str]:
    """A TemporalQuery (§5.2.21): the members the URL's parameters of the same names carry;
    only ``observedAt`` instances are stored (as on ``GET /temporal/entities``)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise NgsiError("BadRequestData", "temporalQ must be an object")
    unknown = set(value) - set(TEMPORAL_Q)
    if unknown:
        raise NgsiError("BadRequestData", f"unknown temporalQ member {sorted(unknown)[0]!r}")
    out = {k: _text(value[k], k) for k in TEMPORAL_Q if value.get(k) is not None}
    if out.pop("timeproperty", "observedAt") != "observedAt":
        raise NgsiError("OperationNotSupported", "only observedAt instances are stored")
    return {k: v for k, v in out.items() if v is not None}


def _text_list(value: Any, what: str) -> str | None:
    """A name or an array of names, as the comma-separated text the URL would carry."""
    if isinstance(value, list):
        if not value or not all(isinstance(v, str) and v and "," not in v for v in value):
            raise NgsiError("BadRequestData", f"{what} must be an array of names")
        return ",".join(value)
    return _text(value, what)


def _json_text(value: Any) -> str:
    import orjson

    try:
        return orjson.dumps(value).decode()
    except TypeError as exc:
        raise NgsiError("BadRequestData", "coordinates must be a JSON array") from exc


# -- DELETE /entities --------------------------------------------------------------------


async def purge(
    request: Request, principal: Principal, entities: list[read.Stored], context: Context
) -> int:
    """Delete every entity given that the caller may change, in chunks; how many went."""
    mine = [e.entity_id for e in entities if principal.may_write_agency(e.agency_code)]
    deleted = 0
    for start in range(0, len(mine), PURGE_CHUNK):
        chunk = mine[start : start + PURGE_CHUNK]
        ops = [Operation(entity_id, None, context) for entity_id in chunk]
        outcome = await write(request, principal, ops, "delete")
        deleted += len(outcome.success)
    return deleted
