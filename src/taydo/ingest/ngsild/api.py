"""The NGSI-LD API (ETSI GS CIM 009 core subset) at ``/ngsi-ld/v1``: a thin router."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from taydo.core.access import Principal, requires
from taydo.core.bounds import MAX_INT64, MAX_OFFSET
from taydo.core.deps import AppRuntime, Db
from taydo.core.runtime import runtime_of
from taydo.ingest.ngsild import discovery, forward, read, registrations
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
    wants_jsonld,
)
from taydo.ingest.ngsild.ops import (
    Join,
    Shape,
    answer_entities,
    answer_entity,
    purge,
    query_body,
    selectors_check,
)
from taydo.ingest.ngsild.pattern import compile_pattern
from taydo.ingest.ngsild.query import parse_geoquery, parse_q, parse_scope_q
from taydo.ingest.ngsild.service import NULL, Operation
from taydo.ingest.ngsild.shape import parse_order

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
    """The query parameters that select entities, shared by ``GET /entities``,
    ``GET /temporal/entities``, ``DELETE /entities`` and (from its body)
    ``POST /entityOperations/query`` (FastAPI fills it as a dependency)."""

    def __init__(
        self,
        id: str | None = None,
        type: str | None = None,
        attrs: str | None = None,
        q: str | None = None,
        georel: str | None = None,
        geometry: str | None = None,
        coordinates: str | None = None,
        geoproperty: str | None = None,
        limit: int = Query(20, ge=0, le=MAX_OFFSET),
        offset: int = Query(0, ge=0, le=MAX_OFFSET),
        count: bool = False,
        orderBy: str | None = None,
        scopeQ: str | None = None,
        idPattern: str | None = None,
    ) -> None:
        self.types, self.ids, self.names = names_of(type), names_of(id), names_of(attrs)
        self.selectors: list[Any] | None = None  # EntitySelectors of a Query body
        # §5.7.2: a regular expression the id matches; ``id`` takes precedence over it
        self.pattern = compile_pattern(idPattern) if idPattern is not None else None
        if not (self.types or self.ids or self.names or q or georel or scopeQ or self.pattern):
            raise NgsiError(
                "BadRequestData",
                "give at least one of type, id, idPattern, attrs, q, scopeQ or georel",
            )
        self.scope = parse_scope_q(scopeQ) if scopeQ is not None else None
        if limit > read.MAX_LIMIT:
            raise NgsiError("TooManyResults", f"limit must be ≤ {read.MAX_LIMIT}")
        self.q = parse_q(q) if q else None
        if geoproperty is not None and not georel:
            raise NgsiError("BadRequestData", "geoproperty needs georel, geometry and coordinates")
        self.geo = parse_geoquery(georel, geometry, coordinates, geoproperty) if georel else None
        wanted = list(self.names or []) + (sorted(self.q.attributes()) if self.q else [])
        if self.names is not None and not wanted:
            raise NgsiError("BadRequestData", "attrs is empty")
        self.order = parse_order(orderBy)
        self.limit, self.offset, self.count = limit, offset, count

    async def run(
        self, request: Request, principal: Principal, context: Any, *, everything: bool = False
    ) -> tuple[list[Any], int]:
        """The matching entities (this page of them, or all with ``everything``) and how
        many match in all."""
        types, ids, selected = self.types, self.ids, None
        if self.selectors:
            types, ids, selected = selectors_check(self.selectors, context)
        also = selected
        pattern = self.pattern if not ids else None
        if self.scope is not None or pattern is not None:
            scope = self.scope

            def also(entity: Any) -> bool:
                return (
                    (selected is None or selected(entity))
                    and (scope is None or scope(read.entity_members(entity)[1]))
                    and (pattern is None or pattern.search(entity.entity_id))
                )

        found: tuple[list[Any], int] = await run_in_threadpool(
            read.query_entities,
            runtime_of(request.app).db,
            resolver(runtime_of(request.app)),
            principal,
            context,
            types=types,
            ids=ids,
            q=self.q,
            geo=self.geo,
            limit=MAX_PURGE if everything else self.limit,
            offset=0 if everything else self.offset,
            order=self.order,
            also=also,
        )
        return found

    def headers(self, total: int) -> dict[str, str] | None:
        return {"NGSILD-Results-Count": str(total)} if self.count else None


MAX_PURGE = 1_000_000


@router.get("/entities")
async def query_entities(
    request: Request,
    principal: Principal = READ,
    query: EntityQuery = Depends(),  # noqa: B008
    options: str | None = None,
    pick: str | None = None,
    omit: str | None = None,
    lang: str | None = None,
    geometryProperty: str | None = None,
    datasetId: str | None = None,
    join: str | None = None,
    joinLevel: Annotated[int | None, Query(ge=-MAX_INT64, le=MAX_INT64)] = None,
) -> Response:
    """Query Entities (§5.7.2), answered as JSON, JSON-LD or a GeoJSON FeatureCollection."""
    context = await get_context(request, geo=True)
    shape = Shape.of(
        context, options=options, names=query.names, pick=pick, omit=omit, lang=lang,
        geometry_property=geometryProperty, dataset_id=datasetId,
    )  # fmt: skip
    entities, total = await query.run(request, principal, context)
    entities, total, warning = await forward.query_with_sources(
        request, principal, context, entities, total, query.limit
    )
    return await answer_entities(
        request, entities, shape, {**(query.headers(total) or {}), **warning} or None,
        principal=principal, join=Join.of(join, joinLevel),
    )  # fmt: skip


@router.delete("/entities", status_code=204)
async def purge_entities(
    request: Request,
    principal: Principal = WRITE,
    query: EntityQuery = Depends(),  # noqa: B008
) -> Response:
    """Purge Entities: delete every entity the query selects (type, id, q, georel — the same
    parameters as ``GET /entities``; ``limit``/``offset`` do not apply) that the caller may
    change."""
    if not (query.types or query.ids or query.q or query.geo or query.scope or query.pattern):
        raise NgsiError("BadRequestData", "purge needs type, id, idPattern, q, scopeQ or georel")
    if query.names:
        raise NgsiError("BadRequestData", "attrs does not apply to purge")
    context = await get_context(request)
    entities, _total = await query.run(request, principal, context, everything=True)
    await purge(request, principal, entities, context)
    return Response(status_code=204)


@router.get("/entities/{entity_id}")
async def retrieve_entity(
    request: Request,
    db: Db,
    runtime: AppRuntime,
    entity_id: str,
    principal: Principal = READ,
    attrs: str | None = None,
    options: str | None = None,
    pick: str | None = None,
    omit: str | None = None,
    lang: str | None = None,
    geometryProperty: str | None = None,
    datasetId: str | None = None,
    join: str | None = None,
    joinLevel: Annotated[int | None, Query(ge=-MAX_INT64, le=MAX_INT64)] = None,
) -> Response:
    """Retrieve Entity (§5.7.1), as JSON, JSON-LD or a GeoJSON Feature."""
    check_entity_id(entity_id)
    context = await get_context(request, geo=True)
    shape = Shape.of(
        context, options=options, names=names_of(attrs), pick=pick, omit=omit, lang=lang,
        geometry_property=geometryProperty, dataset_id=datasetId,
    )  # fmt: skip
    missing: NgsiError | None = None
    try:
        entity = await run_in_threadpool(read.retrieve, db, resolver(runtime), principal, entity_id)
    except NgsiError as exc:
        if exc.kind != "ResourceNotFound":
            raise
        entity, missing = None, exc
    found, warning = await forward.retrieve_with_sources(
        request, principal, context, entity_id, entity, attrs
    )
    if found is None:
        assert missing is not None
        raise missing
    answer = await answer_entity(
        request, found, shape, principal=principal, join=Join.of(join, joinLevel)
    )
    answer.headers.update(warning)
    return answer


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
    return await _one_attr(request, runtime, entity_id, attr, principal, replace=False)


@router.put("/entities/{entity_id}/attrs/{attr}", status_code=204)
async def replace_attr(
    request: Request, runtime: AppRuntime, entity_id: str, attr: str, principal: Principal = WRITE
) -> Response:
    """Replace Attribute (§5.6.19): the attribute (the instance of the body's ``datasetId``)
    becomes the body; 404 when the entity or that attribute instance does not exist."""
    return await _one_attr(request, runtime, entity_id, attr, principal, replace=True)


async def _one_attr(
    request: Request,
    runtime: Any,
    entity_id: str,
    attr: str,
    principal: Principal,
    *,
    replace: bool,
) -> Response:
    check_entity_id(entity_id)
    body, is_jsonld = await read_body(request)
    if not isinstance(body, dict):
        raise NgsiError("BadRequestData", "expected the attribute as a JSON object")
    context = request_context(resolver(runtime), request, body, is_jsonld)
    fragment = {k: v for k, v in body.items() if k != "@context"}
    if replace and (not fragment or NULL in _primary_values(fragment)):
        # A replacement is a whole attribute; removing one is DELETE …/attrs/{attr}.
        raise NgsiError("BadRequestData", "the body must be the whole attribute, not NGSI-LD Null")
    parsed = parse_attributes({attr: fragment}, context, context)
    from taydo.ingest.ngsild.entity import ParsedEntity

    op = Operation(entity_id, ParsedEntity(entity_id, "", parsed, context.value), context)
    outcome = await write(request, principal, [op], "patch")
    if outcome.errors:
        raise outcome.errors[0][1]
    if outcome.not_updated.get(entity_id):
        raise NgsiError("ResourceNotFound", f"no attribute {attr[:80]}")
    return Response(status_code=204)


def _primary_values(fragment: dict[str, Any]) -> list[Any]:
    return [fragment.get(k) for k in ("value", "object", "vocab", "json", "languageMap")]


@router.delete("/entities/{entity_id}/attrs/{attr}", status_code=204)
async def delete_attr(
    request: Request,
    entity_id: str,
    attr: str,
    principal: Principal = WRITE,
    datasetId: str | None = None,
    deleteAll: bool = False,
) -> Response:
    """Delete Attribute (§5.6.5): its default instance, the instance of ``datasetId``, or
    with ``deleteAll=true`` every instance."""
    check_entity_id(entity_id)
    if datasetId is not None:
        check_entity_id(datasetId)
    context = await get_context(request)
    op = Operation(
        entity_id, None, context, attr_name=attr, dataset_id=datasetId, delete_all=deleteAll
    )
    outcome = await write(request, principal, [op], "delete_attr")
    if outcome.errors:
        raise outcome.errors[0][1]
    return Response(status_code=204)


# -- batch operations -------------------------------------------------------------------


@router.post("/entityOperations/query")
async def batch_query(
    request: Request,
    principal: Principal = READ,
    limit: int = Query(20, ge=0, le=MAX_OFFSET),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    count: bool = False,
    options: str | None = None,
    orderBy: str | None = None,
    geometryProperty: str | None = None,
    datasetId: str | None = None,
    join: str | None = None,
    joinLevel: Annotated[int | None, Query(ge=-MAX_INT64, le=MAX_INT64)] = None,
) -> Response:
    """Query Entities via POST (§5.7.2 with a Query body): the same answers as
    ``GET /entities`` with the same parameters."""
    body, is_jsonld = await read_body(request)
    context = request_context(resolver(runtime_of(request.app)), request, body, is_jsonld)
    wants_jsonld(request, geo=True)
    kw = query_body(body)
    pick, omit, lang = kw.pop("pick", None), kw.pop("omit", None), kw.pop("lang", None)
    datasetId = kw.pop("datasetId", datasetId)
    selectors = kw.pop("selectors", None)
    if selectors:
        kw["type"] = ",".join(sorted({t for s in selectors for t in s.types}))
    query = EntityQuery(**kw, limit=limit, offset=offset, count=count, orderBy=orderBy)
    query.selectors = selectors
    shape = Shape.of(
        context, options=options, names=query.names, pick=pick, omit=omit, lang=lang,
        geometry_property=geometryProperty, dataset_id=datasetId,
    )  # fmt: skip
    entities, total = await query.run(request, principal, context)
    return await answer_entities(
        request, entities, shape, query.headers(total), principal=principal,
        join=Join.of(join, joinLevel),
    )  # fmt: skip


@router.post("/entityOperations/merge")
async def batch_merge(request: Request, principal: Principal = WRITE) -> Response:
    """Batch Entity Merge (§5.6.20): each entity merged into the stored one, as
    ``PATCH /entities/{id}`` does; 204, or 207 with a BatchOperationResult."""
    items, is_jsonld = await batch_items(request)
    ops, errors = await run_in_threadpool(parse_ops, request, items, is_jsonld, require_type=False)
    outcome = await write(request, principal, ops, "merge")
    if errors or outcome.errors:
        context = resolver(runtime_of(request.app)).core
        return respond(request, batch_result(outcome, errors), context, status=207)
    return Response(status_code=204)


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


# Context source registrations and their subscriptions (stored, validated; no forwarding).
router.include_router(registrations.router)
