"""NGSI-LD reads: retrieve one entity, query entities, list types."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from shapely.geometry import Point
from sqlalchemy import Table, select

from taydo.catalog import service as catalog
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.ingest.ngsild.context import Context, ContextResolver
from taydo.ingest.ngsild.entity import (
    NGSI,
    attr_items,
    entity_context_value,
    render_attribute,
    translate,
)
from taydo.ingest.ngsild.errors import NgsiError
from taydo.ingest.ngsild.models import EntityType
from taydo.ingest.ngsild.query import MISSING, GeoQuery, Query, geometry_of
from taydo.ingest.ngsild.shape import Order, sort_key

__all__ = ["Stored", "geo_matches", "query_entities", "render", "retrieve", "stored_of"]

MAX_LIMIT = 1000


def _local(iri: str) -> str:
    return iri.rstrip("/#").rsplit("/", 1)[-1].rsplit("#", 1)[-1]


@dataclass(slots=True)
class Stored:
    entity_id: str
    type: str
    agency_code: str | None
    attributes: dict[str, Any]
    lon: float | None
    lat: float | None
    created_at: datetime
    updated_at: datetime
    context: Context | None


def stored_of(row: catalog.EntityRecord, resolver: ContextResolver) -> Stored:
    attributes = dict(row[3] or {})
    has_ngsi, value = entity_context_value(attributes)
    context = resolver.resolve(value) if has_ngsi else None
    return Stored(row[0], row[1], row[2], attributes, row[4], row[5], row[6], row[7], context)


def _instances(entity: Stored) -> dict[str, dict[str, dict[str, Any]]]:
    """The attribute instances with a datasetId, by attribute name and datasetId."""
    details = entity.attributes.get(NGSI)
    found = details.get("datasets") if isinstance(details, dict) else None
    return found if isinstance(found, dict) else {}


def entity_members(entity: Stored) -> tuple[list[str], list[str]]:
    """(a multi-typed entity's types after the first, the entity's scopes)."""
    details = entity.attributes.get(NGSI)
    if not isinstance(details, dict):
        return [], []
    return list(details.get("types") or []), list(details.get("scope") or [])


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # SQLite hands back naive UTC
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class NameMatcher:
    """Which stored names answer to the names a caller asked for (in the caller's context)."""

    def __init__(self, request: Context, names: list[str]) -> None:
        self.request = request
        self.iris = {request.expand(n): n for n in names}
        self.plain = set(names) | {_local(i) for i in self.iris}

    def __call__(self, stored: str, context: Context | None) -> bool:
        if context is None:
            return stored in self.plain
        return context.expand(stored) in self.iris


def _stored_name(name: str, request: Context, entity: Stored) -> str:
    if entity.context is None:
        return name if name in entity.attributes else _local(request.expand(name))
    return translate(name, request, entity.context)


def render(
    entity: Stored,
    target: Context,
    *,
    key_values: bool = False,
    attrs: NameMatcher | None = None,
    sys_attrs: bool = False,
    lang: list[str] | None = None,
    datasets: list[str] | None = None,
) -> dict[str, Any]:
    """The entity in ``target``'s terms; ``lang``: LanguageProperties become Properties in
    the first of these languages they hold (``*``: any); ``datasets``: only the attribute
    instances with these datasetIds (``@none``: the default instances)."""
    source = entity.context
    out: dict[str, Any] = {
        "id": entity.entity_id,
        "type": translate(entity.type, source, target),
    }
    more, scope = entity_members(entity)
    if more:
        out["type"] = [out["type"], *(translate(t, source, target) for t in more)]
    if scope:
        out["scope"] = scope[0] if len(scope) == 1 else scope
    items = attr_items(entity.attributes)
    if "location" not in entity.attributes and entity.lon is not None and entity.lat is not None:
        point = {"type": "Point", "coordinates": [entity.lon, entity.lat]}
        items.append(("location", {"type": "GeoProperty", "value": point}))
    instances = _instances(entity)
    if instances:  # attributes that have only instances with a datasetId
        items += [(n, {}) for n in instances if n not in entity.attributes]
    for name, attr in items:
        if attrs is not None and not attrs(name, source):
            continue
        every = ([attr] if attr else []) + list(instances.get(name, {}).values())
        if datasets is not None:
            every = [a for a in every if a.get("datasetId", "@none") in datasets]
        if lang is not None:
            every = [in_language(a, lang) if a.get("type") == "LanguageProperty" else a
                     for a in every]  # fmt: skip
        shown = [render_attribute(a, source, target, key_values) for a in every]
        if shown:
            out[translate(name, source, target)] = shown[0] if len(shown) == 1 else shown
    if sys_attrs and not key_values:
        out["createdAt"] = _iso(entity.created_at)
        out["modifiedAt"] = _iso(entity.updated_at)
    return out


def in_language(attr: dict[str, Any], lang: list[str]) -> dict[str, Any]:
    """A LanguageProperty as the Property of one language (§4.5.18): the first of ``lang``
    the map holds, else its ``@none`` entry, else its first one."""
    languages = attr.get("languageMap")
    if not isinstance(languages, dict) or not languages:
        return attr
    chosen = next((code for code in lang if code in languages), None)
    if chosen is None:
        chosen = "@none" if "@none" in languages else next(iter(languages))
    out = {k: v for k, v in attr.items() if k not in ("languageMap", "type")}
    out = {"type": "Property", "value": languages[chosen], **out}
    if chosen != "@none":
        out["lang"] = chosen
    return out


def retrieve(
    database: Database, resolver: ContextResolver, principal: Principal, entity_id: str
) -> Stored:
    row = catalog.entity_record(database, principal, entity_id)
    if row is None:
        raise NgsiError("ResourceNotFound", f"không có thực thể / no entity {entity_id[:255]}")
    return stored_of(row, resolver)


def _type_filter(request: Context, types: list[str]) -> tuple[set[str], Callable[[Stored], bool]]:
    wanted = {request.expand(t): t for t in types}
    candidates = set(types) | {_local(i) for i in wanted} | set(wanted)
    candidates |= {request.compact(i) for i in wanted}

    locals_ = {_local(i) for i in wanted}

    def check(entity: Stored) -> bool:
        kinds = [entity.type, *entity_members(entity)[0]]
        if entity.context is None:
            return any(k in types or k in locals_ for k in kinds)
        return any(entity.context.expand(k) in wanted for k in kinds)

    return candidates, check


def type_check(request: Context, types: list[str]) -> Callable[[Stored], bool]:
    """Whether an entity is of one of ``types`` (terms of ``request``'s context)."""
    return _type_filter(request, types)[1]


def query_entities(
    database: Database,
    resolver: ContextResolver,
    principal: Principal,
    request: Context,
    *,
    types: list[str] | None = None,
    ids: list[str] | None = None,
    q: Query | None = None,
    geo: GeoQuery | None = None,
    limit: int = 20,
    offset: int = 0,
    order: Order | None = None,
    also: Callable[[Stored], bool] | None = None,
) -> tuple[list[Stored], int]:
    """Matching entities (a page of them) and how many match in all; ``order`` sorts every
    match before the page is cut (else they come in the order they were made); ``also`` is
    one more condition each must meet."""
    check_type: Callable[[Stored], bool] | None = None
    candidates: set[str] | None = None
    if types:
        candidates, check_type = _type_filter(request, types)
    # The catalog narrows by stored type, id, scope and a lon/lat box; what needs the
    # entities' contexts (types, q), the exact geometry and the paging is decided here.
    selection = catalog.EntitySelection(
        ids=ids or None,
        types=candidates,
        or_ids=_typed_also(candidates),
        bbox=geo.bbox() if geo is not None else None,
        located=geo is not None and geo.on_location,
    )
    matched: list[Stored] = []
    total = 0
    with closing(catalog.entity_records(database, principal, selection)) as rows:
        for row in rows:
            entity = stored_of(row, resolver)
            if check_type is not None and not check_type(entity):
                continue
            if q is not None and not q.matches(_getter(entity, request)):
                continue
            if geo is not None and not geo_matches(entity, geo, request):
                continue
            if also is not None and not also(entity):
                continue
            if order is not None:
                if total >= MAX_SORTED:
                    raise NgsiError("TooManyResults", f"orderBy sorts at most {MAX_SORTED} matches")
                matched.append(entity)
            elif offset <= total < offset + limit:
                matched.append(entity)
            total += 1
    if order is not None:
        matched.sort(key=lambda e: sort_key(order, _order_getter(e, request)))
        matched = matched[offset : offset + limit]
    return matched, total


MAX_SORTED = 100_000
TYPES = cast(Table, EntityType.__table__)


def _typed_also(candidates: set[str] | None) -> Any:
    """The ids of multi-typed entities with one of ``candidates`` among their other types
    (the catalog prefilters on the first type only)."""
    if not candidates:
        return None
    return select(TYPES.c.entity_id).where(TYPES.c.type.in_(sorted(candidates)))


def _order_getter(entity: Stored, request: Context) -> Callable[[str], tuple[Any, bool]]:
    get = _getter(entity, request)

    def value(name: str) -> tuple[Any, bool]:
        if name == "id":
            return entity.entity_id, False
        if name == "type":
            return entity.type, False
        found = get(name)
        return (None, True) if found is MISSING else (found, False)

    return value


def _getter(entity: Stored, request: Context) -> Callable[[str], Any]:
    def get(name: str) -> Any:
        stored = _stored_name(name, request, entity)
        if stored == NGSI or stored not in entity.attributes:
            return MISSING
        return entity.attributes[stored]

    return get


def geo_matches(entity: Stored, geo: GeoQuery, request: Context) -> bool:
    """Whether the entity's GeoProperty ``geo.geoproperty`` (a term of ``request``; any of
    its instances) meets the geo-query."""
    if geo.on_location:
        return _location_matches(entity, geo)
    name = _stored_name(geo.geoproperty, request, entity)
    if name == NGSI:
        return False
    values = [entity.attributes[name]] if name in entity.attributes else []
    values += [i.get("value") for i in _instances(entity).get(name, {}).values()]
    for value in values:
        try:
            geometry = geometry_of(value)
        except NgsiError:
            continue  # not a geometry: this attribute is no GeoProperty
        point = geometry if isinstance(geometry, Point) else geometry.representative_point()
        if geo.matches(geometry, point.x, point.y):
            return True
    return False


def _location_matches(entity: Stored, geo: GeoQuery) -> bool:
    if entity.lon is None or entity.lat is None:
        return False
    location = entity.attributes.get("location")
    try:
        geometry = geometry_of(location) if location is not None else None
    except NgsiError:
        geometry = None
    if geometry is None:
        geometry = geometry_of({"type": "Point", "coordinates": [entity.lon, entity.lat]})
    return geo.matches(geometry, entity.lon, entity.lat)
