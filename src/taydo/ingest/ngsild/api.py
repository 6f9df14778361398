"""The NGSI-LD API (ETSI GS CIM 009 core subset) at ``/ngsi-ld/v1``: a thin router."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from taydo.core.access import Principal, requires
from taydo.core.bounds import MAX_OFFSET
from taydo.core.deps import AppRuntime, Db
from taydo.core.runtime import runtime_of
from taydo.ingest.ngsild import discovery, read
from taydo.ingest.ngsild.entity import check_entity_id, parse_attributes
from taydo.ingest.ngsild.errors import NgsiError
from taydo.ingest.ngsild.handlers import (
    batch_items,
    batch_result,
    get_context,
    names_of,
    options_of,
    parse_ops,
    read_body,
    resolver,
    write,
)
from taydo.ingest.ngsild.http import (
    NgsiRoute,
    request_context,
    respond,
)
from taydo.ingest.ngsild.query import parse_geoquery, parse_q
from taydo.ingest.ngsild.service import Operation

__all__ = ["router"]

log = logging.getLogger(__name__)
router = APIRouter(prefix="/ngsi-ld/v1", tags=["ngsi-ld"], route_class=NgsiRoute)
READ = requires("catalog:read")
WRITE = requires("catalog:write")


# -- entities ---------------------------------------------------------------------------


@router.post("/entities", status_code=201)
async def create_entity(request: Request, principal: Principal = WRITE) -> Response:
    body, is_jsonld = await read_body(request)
    ops, errors = await run_in_threadpool(parse_ops, request, [body], is_jsonld, require_type=True)
    if errors:
        raise errors[0][1]
    outcome = await write(request, principal, ops, "create")
    if outcome.errors:
        raise outcome.errors[0][1]
    # Headers are Latin-1: an id with other characters goes percent-encoded (URI syntax).
    location = f"/ngsi-ld/v1/entities/{quote(ops[0].entity_id, safe=':/')}"
    return Response(status_code=201, headers={"Location": location})


class EntityQuery:
    """The query parameters that select entities, shared by ``GET /entities`` and
    ``GET /temporal/entities`` (FastAPI fills it as a dependency)."""

    def __init__(
        self,
        id: str | None = None,
        type: str | None = None,
        attrs: str | None = None,
        q: str | None = None,
        georel: str | None = None,
        geometry: str | None = None,
        coordinates: str | None = None,
        limit: int = Query(20, ge=0, le=MAX_OFFSET),
        offset: int = Query(0, ge=0, le=MAX_OFFSET),
        count: bool = False,
    ) -> None:
        self.types, self.ids, self.names = names_of(type), names_of(id), names_of(attrs)
        if not (self.types or self.ids or self.names or q or georel):
            raise NgsiError("BadRequestData", "give at least one of type, id, attrs, q or georel")
        if limit > read.MAX_LIMIT:
            raise NgsiError("TooManyResults", f"limit must be ≤ {read.MAX_LIMIT}")
        self.q = parse_q(q) if q else None
        self.geo = parse_geoquery(georel, geometry, coordinates) if georel else None
        wanted = list(self.names or []) + (sorted(self.q.attributes()) if self.q else [])
        if self.names is not None and not wanted:
            raise NgsiError("BadRequestData", "attrs is empty")
        self.limit, self.offset, self.count = limit, offset, count

    async def run(
        self, request: Request, principal: Principal, context: Any
    ) -> tuple[list[Any], int]:
        """The matching entities (this page of them) and how many match in all."""
        found: tuple[list[Any], int] = await run_in_threadpool(
            read.query_entities,
            runtime_of(request.app).db,
            resolver(runtime_of(request.app)),
            principal,
            context,
            types=self.types,
            ids=self.ids,
            q=self.q,
            geo=self.geo,
            limit=self.limit,
            offset=self.offset,
        )
        return found

    def headers(self, total: int) -> dict[str, str] | None:
        return {"NGSILD-Results-Count": str(total)} if self.count else None


@router.get("/entities")
async def query_entities(
    request: Request,
    principal: Principal = READ,
    query: EntityQuery = Depends(),  # noqa: B008
    options: str | None = None,
) -> Response:
    context = await get_context(request)
    names = query.names
    matcher = read.NameMatcher(context, names) if names else None
    flags = options_of(options)
    entities, total = await query.run(request, principal, context)
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
    return respond(request, out, context, headers=query.headers(total))


@router.get("/entities/{entity_id}")
async def retrieve_entity(
    request: Request,
    db: Db,
    runtime: AppRuntime,
    entity_id: str,
    principal: Principal = READ,
    attrs: str | None = None,
    options: str | None = None,
) -> Response:
    check_entity_id(entity_id)
    context = await get_context(request)
    names = names_of(attrs)
    entity = await run_in_threadpool(read.retrieve, db, resolver(runtime), principal, entity_id)
    flags = options_of(options)
    body = read.render(
        entity,
        context,
        key_values="keyValues" in flags or "simplified" in flags,
        attrs=read.NameMatcher(context, names) if names else None,
        sys_attrs="sysAttrs" in flags,
    )
    return respond(request, body, context)


async def _whole_entity(
    request: Request, entity_id: str, principal: Principal, mode: str, *, merge_patch: bool
) -> Response:
    """Replace (PUT) or merge (PATCH) an existing entity with the entity in the body."""
    check_entity_id(entity_id)
    body, is_jsonld = await read_body(request, merge_patch=merge_patch)
    if not isinstance(body, dict):
        raise NgsiError("BadRequestData", "expected the entity as a JSON object")
    if body.get("id", entity_id) != entity_id:
        raise NgsiError("BadRequestData", "the body's id differs from the URL's")
    ops, errors = await run_in_threadpool(
        parse_ops, request, [{**body, "id": entity_id}], is_jsonld, require_type=False
    )
    if errors:
        raise errors[0][1]
    outcome = await write(request, principal, ops, mode)
    if outcome.errors:
        raise outcome.errors[0][1]
    return Response(status_code=204)


@router.put("/entities/{entity_id}", status_code=204)
async def replace_entity(
    request: Request, entity_id: str, principal: Principal = WRITE
) -> Response:
    """Replace Entity (§5.6.18): every attribute replaced by the body's; the type may change."""
    return await _whole_entity(request, entity_id, principal, "replace", merge_patch=False)


@router.patch("/entities/{entity_id}", status_code=204)
async def merge_entity(request: Request, entity_id: str, principal: Principal = WRITE) -> Response:
    """Merge Entity (§5.6.17): the body's attributes added or overwritten, the others kept;
    an attribute whose value is ``"urn:ngsi-ld:null"`` is deleted."""
    return await _whole_entity(request, entity_id, principal, "merge", merge_patch=True)


@router.delete("/entities/{entity_id}", status_code=204)
async def delete_entity(request: Request, entity_id: str, principal: Principal = WRITE) -> Response:
    check_entity_id(entity_id)
    context = await get_context(request)
    outcome = await write(request, principal, [Operation(entity_id, None, context)], "delete")
    if outcome.errors:
        raise outcome.errors[0][1]
    return Response(status_code=204)


async def _attrs_op(
    request: Request, entity_id: str, principal: Principal, mode: str, no_overwrite: bool
) -> Response:
    check_entity_id(entity_id)
    body, is_jsonld = await read_body(request)
    if not isinstance(body, dict):
        raise NgsiError("BadRequestData", "expected a JSON object of attributes")
    if "id" in body and body["id"] != entity_id:
        raise NgsiError("BadRequestData", "the body's id differs from the URL's")
    context = request_context(resolver(runtime_of(request.app)), request, body, is_jsonld)
    attrs = parse_attributes(body, context, context)
    if not attrs:
        raise NgsiError("BadRequestData", "no attributes given")
    from taydo.ingest.ngsild.entity import ParsedEntity

    parsed = ParsedEntity(entity_id, "", attrs, context.value)
    outcome = await write(
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
    no_overwrite = "noOverwrite" in options_of(options)
    return await _attrs_op(request, entity_id, principal, "update", no_overwrite)


@router.patch("/entities/{entity_id}/attrs/{attr}", status_code=204)
async def patch_attr(
    request: Request, runtime: AppRuntime, entity_id: str, attr: str, principal: Principal = WRITE
) -> Response:
    check_entity_id(entity_id)
    body, is_jsonld = await read_body(request)
    if not isinstance(body, dict):
        raise NgsiError("BadRequestData", "expected the attribute as a JSON object")
    context = request_context(resolver(runtime), request, body, is_jsonld)
    fragment = {k: v for k, v in body.items() if k != "@context"}
    parsed = parse_attributes({attr: fragment}, context, context)
    from taydo.ingest.ngsild.entity import ParsedEntity

    op = Operation(entity_id, ParsedEntity(entity_id, "", parsed, context.value), context)
    outcome = await write(request, principal, [op], "patch")
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
    context = await get_context(request)
    op = Operation(entity_id, None, context, attr_name=attr)
    outcome = await write(request, principal, [op], "delete_attr")
    if outcome.errors:
        raise outcome.errors[0][1]
    return Response(status_code=204)


# -- batch operations -------------------------------------------------------------------


@router.post("/entityOperations/{operation}")
async def batch(
    request: Request,
    runtime: AppRuntime,
    operation: str,
    principal: Principal = WRITE,
    options: str | None = None,
) -> Response:
    if operation not in ("create", "upsert", "update", "delete"):
        raise NgsiError("ResourceNotFound", f"no batch operation {operation[:40]!r}")
    items, is_jsonld = await batch_items(request)
    flags = options_of(options)
    context = await get_context(request) if not is_jsonld else resolver(runtime).core
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
            parse_ops, request, items, is_jsonld, require_type=operation != "update"
        )
        mode = {"create": "create", "update": "update"}.get(operation, "upsert")
        if operation == "upsert" and "update" in flags:
            mode = "upsert_update"
    outcome = await write(request, principal, ops, mode, no_overwrite="noOverwrite" in flags)
    if errors or outcome.errors:
        return respond(request, batch_result(outcome, errors), context, status=207)
    if operation == "create" or (operation == "upsert" and outcome.created):
        return respond(request, outcome.created, context, status=201)
    return Response(status_code=204)


# -- types and attributes -----------------------------------------------------------------


async def _discover(
    request: Request,
    db: Any,
    runtime: Any,
    principal: Principal,
    answer: Callable[[discovery.Survey, Any], Any],
) -> Response:
    """Survey the types and attributes in the caller's scope, answer in the caller's context."""
    context = await get_context(request)
    found = await run_in_threadpool(discovery.survey, db, resolver(runtime), principal)
    return respond(request, answer(found, context), context)


@router.get("/types")
async def list_types(
    request: Request,
    db: Db,
    runtime: AppRuntime,
    principal: Principal = READ,
    details: bool = False,
) -> Response:
    """``EntityTypeList``, or with ``details=true`` an ``EntityType`` per type."""
    return await _discover(
        request, db, runtime, principal, lambda f, c: discovery.type_list(f, c, details=details)
    )


@router.get("/types/{name:path}")
async def type_details(
    request: Request, db: Db, runtime: AppRuntime, name: str, principal: Principal = READ
) -> Response:
    """``EntityTypeInfo``: how many entities of the type, their attributes and kinds."""
    return await _discover(
        request, db, runtime, principal, lambda f, c: discovery.type_info(f, c, name)
    )


@router.get("/attributes")
async def list_attributes(
    request: Request,
    db: Db,
    runtime: AppRuntime,
    principal: Principal = READ,
    details: bool = False,
) -> Response:
    """``AttributeList``, or with ``details=true`` an ``Attribute`` per attribute."""
    return await _discover(
        request,
        db,
        runtime,
        principal,
        lambda f, c: discovery.attribute_list(f, c, details=details),
    )


@router.get("/attributes/{name:path}")
async def attribute_details(
    request: Request, db: Db, runtime: AppRuntime, name: str, principal: Principal = READ
) -> Response:
    """``Attribute``: how many entities have it, its kinds and the types holding it."""
    return await _discover(
        request, db, runtime, principal, lambda f, c: discovery.attribute_info(f, c, name)
    )


# The temporal routes (reads and writes) are in ``temporal_api`` (included before this router).
