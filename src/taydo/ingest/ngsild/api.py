"""The NGSI-LD API (ETSI GS CIM 009 core subset) at ``/ngsi-ld/v1``: a thin router."""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import APIRouter, FastAPI, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from taydo.catalog.events import announce_changes
from taydo.core.access import Principal, requires
from taydo.geo.service import AreaLocator
from taydo.ingest.ngsild import read, temporal
from taydo.ingest.ngsild.context import Context, ContextResolver, ContextStore
from taydo.ingest.ngsild.entity import check_entity_id, parse_attributes, parse_entity
from taydo.ingest.ngsild.errors import NgsiError
from taydo.ingest.ngsild.gcpause import gc_paused
from taydo.ingest.ngsild.http import (
    NgsiRoute,
    body_of,
    link_context,
    request_context,
    respond,
    wants_jsonld,
)
from taydo.ingest.ngsild.query import parse_geoquery, parse_q
from taydo.ingest.ngsild.service import Operation, Outcome, write_entities

__all__ = ["router", "startup"]

log = logging.getLogger(__name__)
router = APIRouter(prefix="/ngsi-ld/v1", tags=["ngsi-ld"], route_class=NgsiRoute)
READ = requires("catalog:read")
WRITE = requires("catalog:write")
AGENCY_HEADER = "taydo-agency"


async def startup(app: FastAPI) -> None:
    resolver(app)


def resolver(app: FastAPI) -> ContextResolver:
    found: ContextResolver | None = getattr(app.state, "ngsild_contexts", None)
    if found is None:
        settings = app.state.settings
        found = ContextResolver(
            ContextStore(settings.contexts_dir),
            fetch_remote=settings.ngsild_fetch_remote_contexts,
        )
        app.state.ngsild_contexts = found
    return found


AREAS_TTL_S = 300.0


def _locator(app: FastAPI) -> Any:
    """Point-in-area from the geo domain (rebuilt every few minutes); None without areas."""
    cached = getattr(app.state, "ngsild_areas", None)
    now = time.monotonic()
    if cached is None or now - cached[0] > AREAS_TTL_S:
        cached = (now, AreaLocator(app.state.db))
        app.state.ngsild_areas = cached
    locator = cached[1]
    return locator.locate if locator else None


def _options(options: str | None) -> set[str]:
    return {o.strip() for o in (options or "").split(",") if o.strip()}


def _names(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise NgsiError("BadRequestData", "empty list")
    return names


async def _get_context(request: Request) -> Context:
    url = link_context(request)
    wants_jsonld(request)  # refuses an unsupported Accept early
    if url is None:
        return resolver(request.app).core
    return await run_in_threadpool(resolver(request.app).resolve, url)


async def _write(
    request: Request,
    principal: Principal,
    operations: list[Operation],
    mode: str,
    *,
    no_overwrite: bool = False,
) -> Outcome:
    app = request.app
    agency = request.headers.get(AGENCY_HEADER)
    locate = (
        await run_in_threadpool(_locator, app) if mode not in ("delete", "delete_attr") else None
    )
    outcome: Outcome = await run_in_threadpool(
        write_entities,
        app.state.db,
        resolver(app),
        principal,
        operations,
        mode,
        no_overwrite=no_overwrite,
        agency=agency,
        locate=locate,
    )
    await announce_changes(app, outcome.changed_catalog)
    if outcome.points:
        await temporal.store_points(app, outcome.points)
    if outcome.rejected:
        await run_in_threadpool(_quarantine, app, outcome)
    return outcome


def _quarantine(app: FastAPI, outcome: Outcome) -> None:
    from taydo.ingest.quarantine import Entry, put_many

    entries = [Entry("ngsi-ld", reason, raw, agency) for reason, raw, agency in outcome.rejected]
    put_many(app.state.db, entries)


async def _body(request: Request) -> tuple[Any, bool]:
    return await body_of(request, request.app.state.settings.max_request_bytes)


def _parse_ops(
    request: Request, items: list[Any], is_jsonld: bool, *, require_type: bool
) -> tuple[list[Operation], list[tuple[str, NgsiError]]]:
    with gc_paused():
        return _parse_items(request, items, is_jsonld, require_type=require_type)


def _parse_items(
    request: Request, items: list[Any], is_jsonld: bool, *, require_type: bool
) -> tuple[list[Operation], list[tuple[str, NgsiError]]]:
    operations: list[Operation] = []
    errors: list[tuple[str, NgsiError]] = []
    contexts = resolver(request.app)
    linked = None
    if not is_jsonld:  # one Link header for the whole payload
        url = link_context(request)
        linked = contexts.resolve(url) if url else contexts.core
    for item in items:
        entity_id = item.get("id") if isinstance(item, dict) else None
        try:
            context = request_context(contexts, request, item, is_jsonld, linked)
            parsed = parse_entity(item, context, require_type=require_type)
            operations.append(Operation(parsed.entity_id, parsed, context))
        except NgsiError as error:
            errors.append((str(entity_id)[:255] if entity_id is not None else "", error))
    return operations, errors


# -- entities ---------------------------------------------------------------------------


@router.post("/entities", status_code=201)
async def create_entity(request: Request, principal: Principal = WRITE) -> Response:
    body, is_jsonld = await _body(request)
    ops, errors = await run_in_threadpool(_parse_ops, request, [body], is_jsonld, require_type=True)
    if errors:
        raise errors[0][1]
    outcome = await _write(request, principal, ops, "create")
    if outcome.errors:
        raise outcome.errors[0][1]
    location = f"/ngsi-ld/v1/entities/{ops[0].entity_id}"
    return Response(status_code=201, headers={"Location": location})


@router.get("/entities")
async def query_entities(
    request: Request,
    principal: Principal = READ,
    id: str | None = None,
    type: str | None = None,
    attrs: str | None = None,
    q: str | None = None,
    georel: str | None = None,
    geometry: str | None = None,
    coordinates: str | None = None,
    limit: int = Query(20, ge=0),
    offset: int = Query(0, ge=0),
    options: str | None = None,
    count: bool = False,
) -> Response:
    context = await _get_context(request)
    types, ids, names = _names(type), _names(id), _names(attrs)
    if not (types or ids or names or q or georel):
        raise NgsiError("BadRequestData", "give at least one of type, id, attrs, q or georel")
    if limit > read.MAX_LIMIT:
        raise NgsiError("TooManyResults", f"limit must be ≤ {read.MAX_LIMIT}")
    query = parse_q(q) if q else None
    geo = parse_geoquery(georel, geometry, coordinates) if georel else None
    wanted = list(names or []) + (sorted(query.attributes()) if query else [])
    matcher = read.NameMatcher(context, names) if names else None
    flags = _options(options)
    entities, total = await run_in_threadpool(
        read.query_entities,
        request.app.state.db,
        resolver(request.app),
        principal,
        context,
        types=types,
        ids=ids,
        q=query,
        geo=geo,
        limit=limit,
        offset=offset,
    )
    if names and not wanted:
        raise NgsiError("BadRequestData", "attrs is empty")
    out = [
        read.render(
            e,
            context,
            key_values="keyValues" in flags or "simplified" in flags,
            attrs=matcher,
            sys_attrs="sysAttrs" in flags,
        )
        for e in entities
    ]
    headers = {"NGSILD-Results-Count": str(total)} if count else None
    return respond(request, out, context, headers=headers)


@router.get("/entities/{entity_id}")
async def retrieve_entity(
    request: Request,
    entity_id: str,
    principal: Principal = READ,
    attrs: str | None = None,
    options: str | None = None,
) -> Response:
    check_entity_id(entity_id)
    context = await _get_context(request)
    names = _names(attrs)
    entity = await run_in_threadpool(
        read.retrieve, request.app.state.db, resolver(request.app), principal, entity_id
    )
    flags = _options(options)
    body = read.render(
        entity,
        context,
        key_values="keyValues" in flags or "simplified" in flags,
        attrs=read.NameMatcher(context, names) if names else None,
        sys_attrs="sysAttrs" in flags,
    )
    return respond(request, body, context)


@router.delete("/entities/{entity_id}", status_code=204)
async def delete_entity(request: Request, entity_id: str, principal: Principal = WRITE) -> Response:
    check_entity_id(entity_id)
    context = await _get_context(request)
    outcome = await _write(request, principal, [Operation(entity_id, None, context)], "delete")
    if outcome.errors:
        raise outcome.errors[0][1]
    return Response(status_code=204)


async def _attrs_op(
    request: Request, entity_id: str, principal: Principal, mode: str, no_overwrite: bool
) -> Response:
    check_entity_id(entity_id)
    body, is_jsonld = await _body(request)
    if not isinstance(body, dict):
        raise NgsiError("BadRequestData", "expected a JSON object of attributes")
    if "id" in body and body["id"] != entity_id:
        raise NgsiError("BadRequestData", "the body's id differs from the URL's")
    context = request_context(resolver(request.app), request, body, is_jsonld)
    attrs = parse_attributes(body, context, context)
    if not attrs:
        raise NgsiError("BadRequestData", "no attributes given")
    from taydo.ingest.ngsild.entity import ParsedEntity

    parsed = ParsedEntity(entity_id, "", attrs, context.value)
    outcome = await _write(
        request, principal, [Operation(entity_id, parsed, context)], mode, no_overwrite=no_overwrite
    )
    if outcome.errors:
        raise outcome.errors[0][1]
    skipped = outcome.not_updated.get(entity_id)
    if not skipped:
        return Response(status_code=204)
    written = [n for n in attrs if n not in {s[0] for s in skipped}]
    result = {
        "updated": written,
        "notUpdated": [{"attributeName": n, "reason": r} for n, r in skipped],
    }
    return respond(request, result, context, status=207)


@router.patch("/entities/{entity_id}/attrs", status_code=204)
async def update_attrs(request: Request, entity_id: str, principal: Principal = WRITE) -> Response:
    return await _attrs_op(request, entity_id, principal, "patch", False)


@router.post("/entities/{entity_id}/attrs", status_code=204)
async def append_attrs(
    request: Request, entity_id: str, principal: Principal = WRITE, options: str | None = None
) -> Response:
    no_overwrite = "noOverwrite" in _options(options)
    return await _attrs_op(request, entity_id, principal, "update", no_overwrite)


@router.patch("/entities/{entity_id}/attrs/{attr}", status_code=204)
async def patch_attr(
    request: Request, entity_id: str, attr: str, principal: Principal = WRITE
) -> Response:
    check_entity_id(entity_id)
    body, is_jsonld = await _body(request)
    if not isinstance(body, dict):
        raise NgsiError("BadRequestData", "expected the attribute as a JSON object")
    context = request_context(resolver(request.app), request, body, is_jsonld)
    fragment = {k: v for k, v in body.items() if k != "@context"}
    parsed = parse_attributes({attr: fragment}, context, context)
    from taydo.ingest.ngsild.entity import ParsedEntity

    op = Operation(entity_id, ParsedEntity(entity_id, "", parsed, context.value), context)
    outcome = await _write(request, principal, [op], "patch")
    if outcome.errors:
        raise outcome.errors[0][1]
    if outcome.not_updated.get(entity_id):
        raise NgsiError("ResourceNotFound", f"no attribute {attr[:80]}")
    return Response(status_code=204)


@router.delete("/entities/{entity_id}/attrs/{attr}", status_code=204)
async def delete_attr(
    request: Request, entity_id: str, attr: str, principal: Principal = WRITE
) -> Response:
    check_entity_id(entity_id)
    context = await _get_context(request)
    op = Operation(entity_id, None, context, attr_name=attr)
    outcome = await _write(request, principal, [op], "delete_attr")
    if outcome.errors:
        raise outcome.errors[0][1]
    return Response(status_code=204)


# -- batch operations -------------------------------------------------------------------


def _batch_result(
    outcome: Outcome | None, parse_errors: list[tuple[str, NgsiError]]
) -> dict[str, Any]:
    errors = list(parse_errors) + (outcome.errors if outcome else [])
    return {
        "success": outcome.success if outcome else [],
        "errors": [{"entityId": i, "error": e.body()} for i, e in errors],
    }


async def _batch_items(request: Request) -> tuple[list[Any], bool]:
    body, is_jsonld = await _body(request)
    if not isinstance(body, list):
        raise NgsiError("BadRequestData", "a batch operation takes a JSON array")
    limit = request.app.state.settings.max_batch_items
    if len(body) > limit:
        raise NgsiError("BadRequestData", f"more than {limit} items in one batch", status=413)
    return body, is_jsonld


@router.post("/entityOperations/{operation}")
async def batch(
    request: Request,
    operation: str,
    principal: Principal = WRITE,
    options: str | None = None,
) -> Response:
    if operation not in ("create", "upsert", "update", "delete"):
        raise NgsiError("ResourceNotFound", f"no batch operation {operation[:40]!r}")
    items, is_jsonld = await _batch_items(request)
    flags = _options(options)
    context = await _get_context(request) if not is_jsonld else resolver(request.app).core
    if operation == "delete":
        errors: list[tuple[str, NgsiError]] = []
        ops = []
        for item in items:
            try:
                ops.append(Operation(check_entity_id(item), None, context))
            except NgsiError as error:
                errors.append((str(item)[:255], error))
        mode = "delete"
    else:
        ops, errors = await run_in_threadpool(
            _parse_ops, request, items, is_jsonld, require_type=operation != "update"
        )
        mode = {"create": "create", "update": "update"}.get(operation, "upsert")
        if operation == "upsert" and "update" in flags:
            mode = "upsert_update"
    outcome = await _write(request, principal, ops, mode, no_overwrite="noOverwrite" in flags)
    if errors or outcome.errors:
        return respond(request, _batch_result(outcome, errors), context, status=207)
    if operation == "create" or (operation == "upsert" and outcome.created):
        return respond(request, outcome.created, context, status=201)
    return Response(status_code=204)


# -- types and temporal -----------------------------------------------------------------


@router.get("/types")
async def list_types(request: Request, principal: Principal = READ) -> Response:
    context = await _get_context(request)
    names = await run_in_threadpool(
        read.entity_types, request.app.state.db, resolver(request.app), principal, context
    )
    body = {"id": "urn:ngsi-ld:EntityTypeList:taydo", "type": "EntityTypeList", "typeList": names}
    return respond(request, body, context)


@router.get("/temporal/entities/{entity_id}")
async def temporal_entity(
    request: Request,
    entity_id: str,
    principal: Principal = READ,
    attrs: str | None = None,
    timerel: str | None = None,
    timeAt: str | None = None,
    endTimeAt: str | None = None,
    lastN: int | None = Query(None, ge=1),
    options: str | None = None,
) -> Response:
    check_entity_id(entity_id)
    context = await _get_context(request)
    entity = await run_in_threadpool(
        read.retrieve, request.app.state.db, resolver(request.app), principal, entity_id
    )
    window = temporal.window(timerel, timeAt, endTimeAt)
    names = _names(attrs)
    body = await run_in_threadpool(
        temporal.temporal_entity,
        request.app,
        entity,
        context,
        window,
        read.NameMatcher(context, names) if names else None,
        lastN,
        "temporalValues" in _options(options),
    )
    return respond(request, body, context)
