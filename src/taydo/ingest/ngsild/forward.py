"""Forwarding reads to registered context sources (ETSI GS CIM 009 §4.3.6, distributed
operations): ``GET /entities/{id}`` and ``GET /entities`` also ask the sources of the
``inclusive`` and ``auxiliary`` registrations (``/csourceRegistrations``) whose information
matches what is asked (entity type, id or idPattern, attribute names), over HTTP, and merge
their answers into the local ones.

* inclusive: the source's attributes join the entity's; an attribute both hold keeps the
  newer ``observedAt`` (the local one when neither is newer);
* auxiliary: asked after the inclusive sources, it only fills what is still lacking (an
  attribute, or an entity nobody else had);
* a source that fails (refused, 2 s timeout, not a 2xx, not NGSI-LD) is skipped: the answer
  is partial and says so in an ``NGSILD-Warning`` header, never a 500;
* loops: every forwarded request carries a ``Via`` header naming this broker; a request
  that already names it is answered from local data only (as ``local=true`` asks).

The registrations are read once per request, in one query.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, cast
from urllib.parse import quote

import httpx
import orjson
from fastapi import Request
from sqlalchemy import Table, select
from starlette.concurrency import run_in_threadpool

from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.runtime import runtime_of
from taydo.ingest.ngsild import read
from taydo.ingest.ngsild.context import Context, ContextResolver
from taydo.ingest.ngsild.entity import (
    DATASETS,
    NGSI,
    parse_entity,
    parse_time,
    split_for_storage,
    translate,
)
from taydo.ingest.ngsild.errors import NgsiError
from taydo.ingest.ngsild.handlers import resolver as resolver_of
from taydo.ingest.ngsild.models import SourceResource
from taydo.ingest.ngsild.pattern import compile_pattern
from taydo.ingest.ngsild.query import geometry_of, point_of
from taydo.ingest.ngsild.read import Stored

__all__ = [
    "BROKER_ID",
    "Asked",
    "Forwarded",
    "Source",
    "forward",
    "loops_back",
    "merge_into",
    "query_with_sources",
    "retrieve_with_sources",
    "sources_for",
]

log = logging.getLogger(__name__)
TABLE = cast(Table, SourceResource.__table__)
TIMEOUT_S = 2.0
MAX_SOURCES = 16  # sources asked by one request at most
MAX_ANSWER_BYTES = 8 * 1024 * 1024
MAX_ENTITIES = 1000  # entities taken from one source's answer
FORWARDED_MODES = ("inclusive", "auxiliary")
# §5.2.9 operations (and the groups that hold them) a registration may list
OPERATIONS = {
    "retrieve": {"retrieveEntity", "federationOps", "retrieveOps"},
    "query": {"queryEntity", "federationOps", "retrieveOps"},
}
# A token naming this broker process in Via headers (RFC 9110 §7.6.3).
BROKER_ID = f"taydo-{uuid.uuid4().hex[:12]}"
# contextSourceInfo keys never sent as headers (they would change the request itself)
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}")  # RFC 9110 field name
_VALUE = re.compile(r"[\x20-\x7e\t]{0,4096}")  # printable ASCII: no line breaks
_HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "via", "accept"}


@dataclass(frozen=True)
class Asked:
    """What the caller asked, as expanded IRIs (None: no condition)."""

    operation: str  # retrieve | query
    types: frozenset[str] | None
    ids: tuple[str, ...] | None
    attrs: frozenset[str] | None


@dataclass
class Source:
    """A matching registration: where to ask, how its answer merges, which attributes."""

    registration_id: str
    endpoint: str
    mode: str
    headers: dict[str, str]
    attrs: set[str] | None  # expanded attribute IRIs to ask for (None: all)


@dataclass
class Forwarded:
    """What the sources answered: entities by id (each a Stored in the context it was
    parsed with), and the sources that failed."""

    entities: dict[str, list[tuple[str, Stored]]] = field(default_factory=dict)  # id → (mode, e)
    order: list[str] = field(default_factory=list)  # ids in the order first seen
    failed: list[str] = field(default_factory=list)

    def warning(self) -> dict[str, str]:
        if not self.failed:
            return {}
        names = ", ".join(self.failed[:5])
        return {"NGSILD-Warning": f'199 {BROKER_ID} "context sources unavailable: {names}"'}


def loops_back(via: str | None) -> bool:
    """Whether the request already passed through this broker."""
    if not via:
        return False
    return any(BROKER_ID in hop.split() for hop in via.split(","))


def _registrations(database: Database, principal: Principal) -> list[Any]:
    statement = select(TABLE.c.resource_id, TABLE.c.body, TABLE.c.context).where(
        TABLE.c.kind == "registration"
    )
    if not principal.sees_everything:
        statement = statement.where(TABLE.c.agency_code.in_(sorted(principal.agencies)))
    with database.engine.connect() as connection:
        return list(connection.execute(statement.order_by(TABLE.c.id)))


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _entity_matches(infos: Any, asked: Asked, context: Context) -> bool:
    if not isinstance(infos, list):
        return True  # no entities: any entity
    for info in infos:
        if not isinstance(info, dict):
            continue
        kinds = {context.expand(t) for t in _list(info.get("type")) if isinstance(t, str)}
        if asked.types is not None and not kinds & asked.types:
            continue
        if asked.ids is not None and isinstance(info.get("id"), str):
            if info["id"] not in asked.ids:
                continue
        elif asked.ids is not None and isinstance(info.get("idPattern"), str):
            try:
                pattern = compile_pattern(info["idPattern"])
            except NgsiError:
                continue
            if not any(pattern.search(i) for i in asked.ids):
                continue
        return True
    return False


def _source_of(row: Any, asked: Asked, resolver: ContextResolver, now: datetime) -> Source | None:
    body = row.body if isinstance(row.body, dict) else {}
    mode = body.get("mode", "inclusive")
    endpoint = body.get("endpoint")
    if mode not in FORWARDED_MODES or not isinstance(endpoint, str):
        return None
    if not endpoint.startswith(("http://", "https://")):
        return None
    operations = body.get("operations")
    if isinstance(operations, list) and not OPERATIONS[asked.operation] & set(operations):
        return None
    expires = body.get("expiresAt")
    if expires is not None:
        try:
            if parse_time(expires, "expiresAt") <= now:
                return None
        except NgsiError:
            return None
    try:
        context = resolver.resolve(row.context) if row.context is not None else resolver.core
    except NgsiError:
        return None
    wanted: set[str] | None = set()
    matched = False
    for info in body.get("information") or []:
        if not isinstance(info, dict) or not _entity_matches(info.get("entities"), asked, context):
            continue
        names = [*(info.get("propertyNames") or []), *(info.get("relationshipNames") or [])]
        if not names:  # every attribute of the entities it names
            if asked.attrs is not None:
                wanted = None if wanted is None else wanted | set(asked.attrs)
            else:
                wanted = None
            matched = True
            continue
        iris = {context.expand(n) for n in names if isinstance(n, str)}
        if asked.attrs is not None:
            iris &= asked.attrs
        if iris:
            matched = True
            wanted = None if wanted is None else wanted | iris
    if not matched:
        return None
    headers = {}
    for item in body.get("contextSourceInfo") or []:
        key, value = item.get("key"), item.get("value")
        if not (isinstance(key, str) and isinstance(value, str)):
            continue
        if _TOKEN.fullmatch(key) and _VALUE.fullmatch(value) and key.lower() not in _HOP_HEADERS:
            headers[key] = value  # what would not make a valid header is left out
    return Source(str(row.resource_id), endpoint.rstrip("/"), mode, headers, wanted)


def sources_for(
    database: Database, resolver: ContextResolver, principal: Principal, asked: Asked
) -> list[Source]:
    """The registrations (one query) whose sources answer what is asked: inclusive ones
    first, then auxiliary ones. Blocking."""
    now = datetime.now(UTC)
    found = [
        s
        for row in _registrations(database, principal)
        if (s := _source_of(row, asked, resolver, now)) is not None
    ]
    found.sort(key=lambda s: s.mode != "inclusive")
    return found[:MAX_SOURCES]


# -- asking the sources -----------------------------------------------------------------


def _stored_from(raw: Any, context: Context) -> Stored | None:
    """A source's entity (normalized NGSI-LD, in ``context``'s terms) as a Stored."""
    try:
        parsed = parse_entity(raw, context)
    except NgsiError:
        return None
    defaults = {}
    datasets: dict[str, Any] = {}
    for name, attr in parsed.attrs.items():
        instances = attr.get(DATASETS)
        rest = {k: v for k, v in attr.items() if k != DATASETS}
        if instances:
            datasets[name] = instances
        if rest.get("type") is not None and len(rest) > 1:
            defaults[name] = rest
    values, meta = split_for_storage(defaults)
    details: dict[str, Any] = {"@context": context.value, "meta": meta}
    if parsed.more_types:
        details["types"] = parsed.more_types
    if parsed.scope:
        details["scope"] = parsed.scope
    if datasets:
        details["datasets"] = datasets
    attributes: dict[str, Any] = {**values, NGSI: details}
    lon = lat = None
    location = values.get("location")
    if location is not None:
        place = point_of(location)
        if place is None:
            try:
                point = geometry_of(location).representative_point()
                place = (point.x, point.y)
            except NgsiError:
                place = None
        if place is not None:
            lon, lat = place
    now = datetime.now(UTC)
    return Stored(parsed.entity_id, parsed.type, None, attributes, lon, lat, now, now, context)


def _params(asked: Asked, source: Source, given: dict[str, str], core: bool, ctx: Context) -> Any:
    """The query parameters for a source: the caller's, with attrs narrowed to the
    registered ones (and, when no Link header is sent, names as full IRIs)."""
    params = dict(given)
    if source.attrs is not None:
        params["attrs"] = ",".join(sorted(ctx.compact(a) if not core else a for a in source.attrs))
    if core and asked.types is not None and "type" in params:
        params["type"] = ",".join(sorted(asked.types))
    return params


async def _ask(
    client: httpx.AsyncClient,
    source: Source,
    url: str,
    params: dict[str, str],
    headers: dict[str, str],
) -> list[Any] | None:
    """``_read`` within TIMEOUT_S in all (httpx's timeout bounds each step, not the whole:
    a source that sends its answer a byte at a time is cut off too)."""
    try:
        return await asyncio.wait_for(_read(client, source, url, params, headers), TIMEOUT_S)
    except TimeoutError:
        log.warning("context source %s took longer than %s s", source.endpoint, TIMEOUT_S)
        return None


async def _read(
    client: httpx.AsyncClient,
    source: Source,
    url: str,
    params: dict[str, str],
    headers: dict[str, str],
) -> list[Any] | None:
    """The entities a source answered (a list), [] for a 404, None when it failed."""
    try:
        async with client.stream(
            "GET", url, params=params, headers={**source.headers, **headers}
        ) as response:
            if response.status_code == 404:
                return []
            if not 200 <= response.status_code < 300:
                log.warning("context source %s answered %d", source.endpoint, response.status_code)
                return None
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_ANSWER_BYTES:
                    log.warning("context source %s answered too much", source.endpoint)
                    return None
                chunks.append(chunk)
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:  # UnicodeError too
        log.warning("context source %s failed: %s", source.endpoint, exc)
        return None
    try:
        body = orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError:
        log.warning("context source %s answered no JSON", source.endpoint)
        return None
    entities = body if isinstance(body, list) else [body]
    if not all(isinstance(e, dict) for e in entities):
        return None
    return entities[:MAX_ENTITIES]


async def forward(
    sources: list[Source],
    asked: Asked,
    context: Context,
    core: Context,
    *,
    entity_id: str | None = None,
    params: dict[str, str] | None = None,
    via: str | None = None,
) -> Forwarded:
    """Ask every source at once (``entity_id``: Retrieve Entity; else Query Entities with
    ``params``) and gather what they answered."""
    out = Forwarded()
    if not sources:
        return out
    linked = context.value is None or isinstance(context.value, str)
    parse_with = context if linked else core
    headers = {"Accept": "application/json", "Via": f"{via + ', ' if via else ''}1.1 {BROKER_ID}"}
    if linked and context.value is not None:
        headers["Link"] = (
            f'<{context.link_url}>; rel="http://www.w3.org/ns/json-ld#context"; '
            'type="application/ld+json"'
        )
    path = "/ngsi-ld/v1/entities"
    if entity_id is not None:
        path += "/" + quote(entity_id, safe=":")
    async with httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False) as client:
        answers = await asyncio.gather(
            *(
                _ask(
                    client,
                    source,
                    source.endpoint + path,
                    _params(asked, source, params or {}, not linked, context),
                    headers,
                )
                for source in sources
            )
        )
    for source, answer in zip(sources, answers, strict=True):
        if answer is None:
            out.failed.append(source.registration_id)
            continue
        for raw in answer:
            stored = _stored_from(raw, parse_with)
            if stored is None or (entity_id is not None and stored.entity_id != entity_id):
                continue
            if stored.entity_id not in out.entities:
                out.entities[stored.entity_id] = []
                out.order.append(stored.entity_id)
            out.entities[stored.entity_id].append((source.mode, stored))
    return out


# -- merging ----------------------------------------------------------------------------


def _observed(entity: Stored, name: str) -> datetime | None:
    details = entity.attributes.get(NGSI)
    meta = details.get("meta", {}) if isinstance(details, dict) else {}
    when = (meta.get(name) or {}).get("observedAt")
    if when is None:
        return None
    try:
        return parse_time(when, "observedAt")
    except NgsiError:
        return None


def _copy(entity: Stored) -> Stored:
    attributes = dict(entity.attributes)
    details = attributes.get(NGSI)
    if isinstance(details, dict):
        details = dict(details)
        details["meta"] = dict(details.get("meta") or {})
        details["datasets"] = dict(details.get("datasets") or {})
    else:
        details = {"@context": None, "meta": {}, "datasets": {}, "plain": True}
    attributes[NGSI] = details
    return Stored(
        entity.entity_id, entity.type, entity.agency_code, attributes, entity.lon, entity.lat,
        entity.created_at, entity.updated_at, entity.context,
    )  # fmt: skip


def merge_into(local: Stored | None, answers: list[tuple[str, Stored]]) -> Stored | None:
    """The entity with what the sources answered merged in (see the module's text)."""
    if not answers:
        return local
    merged = _copy(local if local is not None else answers[0][1])
    target = merged.context
    details = merged.attributes[NGSI]
    rest = answers if local is not None else answers[1:]
    for mode, remote in rest:
        remote_details = remote.attributes.get(NGSI) or {}
        remote_meta = remote_details.get("meta") or {}
        remote_sets = remote_details.get("datasets") or {}
        for name, value in remote.attributes.items():
            if name == NGSI:
                continue
            mine = translate(name, remote.context, target)
            if mine in merged.attributes:
                if mode != "inclusive":
                    continue
                theirs, ours = _observed(remote, name), _observed(merged, mine)
                if theirs is None or (ours is not None and theirs <= ours):
                    continue
            merged.attributes[mine] = value
            if mine == "location":
                merged.lon, merged.lat = remote.lon, remote.lat
            if name in remote_meta:
                details["meta"][mine] = remote_meta[name]
            else:
                details["meta"].pop(mine, None)
        for name, instances in remote_sets.items():
            mine = translate(name, remote.context, target)
            have = details["datasets"].setdefault(mine, {})
            for dataset, instance in instances.items():
                have.setdefault(dataset, instance)
    if not details["datasets"]:
        details.pop("datasets")
    return merged


# -- the two reads ----------------------------------------------------------------------

# The query parameters of GET /entities a source is asked with (the rest shape the answer).
FORWARDED_PARAMS = (
    "type", "id", "idPattern", "attrs", "q", "georel", "geometry", "coordinates",
    "geoproperty", "scopeQ", "limit", "offset",
)  # fmt: skip


def _local_only(request: Request) -> bool:
    local = request.query_params.get("local")
    if local not in (None, "true", "false"):
        raise NgsiError("BadRequestData", "local must be true or false")
    return local == "true" or loops_back(request.headers.get("via"))


def _expanded(context: Context, text: str | None) -> frozenset[str] | None:
    if not text:
        return None
    return frozenset(context.expand(n.strip()) for n in text.split(",") if n.strip())


async def _forwarded(
    request: Request,
    principal: Principal,
    context: Context,
    asked: Asked,
    *,
    entity_id: str | None = None,
    params: dict[str, str] | None = None,
) -> Forwarded:
    runtime = runtime_of(request.app)
    contexts = resolver_of(runtime)
    sources = await run_in_threadpool(sources_for, runtime.db, contexts, principal, asked)
    return await forward(
        sources, asked, context, contexts.core, entity_id=entity_id, params=params,
        via=request.headers.get("via"),
    )  # fmt: skip


async def retrieve_with_sources(
    request: Request,
    principal: Principal,
    context: Context,
    entity_id: str,
    local: Stored | None,
    attrs: str | None,
) -> tuple[Stored | None, dict[str, str]]:
    """The entity (local, merged with what the matching sources hold; None when nobody
    has it) and the headers to add (a warning when a source failed)."""
    if _local_only(request):
        return local, {}
    types = None
    if local is not None:
        source = local.context or context
        types = frozenset(source.expand(t) for t in [local.type, *_more_types(local)])
    asked = Asked("retrieve", types, (entity_id,), _expanded(context, attrs))
    found = await _forwarded(request, principal, context, asked, entity_id=entity_id)
    return merge_into(local, found.entities.get(entity_id, [])), found.warning()


def _more_types(entity: Stored) -> list[str]:
    details = entity.attributes.get(NGSI)
    found = details.get("types") if isinstance(details, dict) else None
    return [t for t in found if isinstance(t, str)] if isinstance(found, list) else []


async def query_with_sources(
    request: Request,
    principal: Principal,
    context: Context,
    entities: list[Stored],
    total: int,
    limit: int,
) -> tuple[list[Stored], int, dict[str, str]]:
    """The page of local entities merged with what the matching sources answered (each
    source asked for the same page), the entities only sources hold added after them up to
    ``limit``; the count grows by those; and the headers to add."""
    if _local_only(request):
        return entities, total, {}
    query = request.query_params
    ids = tuple(i.strip() for i in query["id"].split(",") if i.strip()) if query.get("id") else None
    asked = Asked("query", _expanded(context, query.get("type")), ids,
                  _expanded(context, query.get("attrs")))  # fmt: skip
    params = {k: query[k] for k in FORWARDED_PARAMS if k in query}
    params.setdefault("limit", str(limit))
    found = await _forwarded(request, principal, context, asked, params=params)
    if not found.entities:
        return entities, total, found.warning()
    merged = []
    for entity in entities:
        more = found.entities.pop(entity.entity_id, [])
        merged.append((merge_into(entity, more) or entity) if more else entity)
    others = [i for i in found.order if found.entities.get(i)]
    runtime = runtime_of(request.app)
    known, _count = await run_in_threadpool(
        partial(
            read.query_entities, runtime.db, resolver_of(runtime), principal, context,
            ids=others, limit=len(others),
        )
    )  # fmt: skip
    local_ids = {e.entity_id for e in known}  # on another page, or not matching here
    added = 0
    for entity_id in others:
        answers = found.entities[entity_id]
        if entity_id in local_ids:
            continue
        added += 1
        if len(merged) < limit:
            only = merge_into(None, answers)
            if only is not None:
                merged.append(only)
    return merged, total + added, found.warning()
