"""The glue between the NGSI-LD routes and the services: contexts, bodies, parsing a
payload into operations, and running a write (then announcing catalog changes, committing the
observed points through the observation writer and quarantining impossible values)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from taydo.catalog.events import announce_attribute_changes, announce_changes
from taydo.catalog.series import SeriesIndex
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.runtime import Runtime, runtime_of
from taydo.geo.service import AreaLocator
from taydo.ingest.ngsild import temporal
from taydo.ingest.ngsild.context import Context, ContextResolver, ContextStore
from taydo.ingest.ngsild.entity import parse_entity
from taydo.ingest.ngsild.errors import NgsiError
from taydo.ingest.ngsild.http import body_of, link_context, request_context, wants_jsonld
from taydo.ingest.ngsild.service import Operation, Outcome, write_entities
from taydo.ingest.quarantine import Entry, put_many

__all__ = [
    "AGENCY_HEADER",
    "batch_items",
    "batch_result",
    "get_context",
    "names_of",
    "options_of",
    "parse_ops",
    "read_body",
    "resolver",
    "write",
]

AGENCY_HEADER = "taydo-agency"


def resolver(runtime: Runtime) -> ContextResolver:
    """The app's JSON-LD context resolver (one per app, made on first use)."""
    found = runtime.find(ContextResolver)
    if found is None:
        settings = runtime.settings
        found = runtime.provide(
            ContextResolver(
                ContextStore(settings.contexts_dir),
                fetch_remote=settings.ngsild_fetch_remote_contexts,
            )
        )
    return found


AREAS_TTL_S = 300.0


@dataclass(frozen=True)
class _Areas:
    """The point-in-area locator NGSI-LD writes use, and when it was built."""

    built: float
    locator: AreaLocator


def locator(runtime: Runtime) -> Any:
    """Point-in-area from the geo domain (rebuilt every few minutes); None without areas."""
    cached = runtime.find(_Areas)
    now = time.monotonic()
    if cached is None or now - cached.built > AREAS_TTL_S:
        cached = runtime.provide(_Areas(now, AreaLocator(runtime.db)))
    return cached.locator.locate if cached.locator else None


def options_of(options: str | None) -> set[str]:
    return {o.strip() for o in (options or "").split(",") if o.strip()}


def names_of(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise NgsiError("BadRequestData", "empty list")
    return names


async def get_context(request: Request, *, geo: bool = False) -> Context:
    """The caller's context (Link header, else the core); ``geo``: the route can answer
    GeoJSON too (see ``wants_jsonld``)."""
    url = link_context(request)
    wants_jsonld(request, geo=geo)  # refuses an unsupported Accept early
    contexts = resolver(runtime_of(request.app))
    if url is None:
        return contexts.core
    return await run_in_threadpool(contexts.resolve, url)


async def write(
    request: Request,
    principal: Principal,
    operations: list[Operation],
    mode: str,
    *,
    no_overwrite: bool = False,
) -> Outcome:
    runtime = runtime_of(request.app)
    agency = request.headers.get(AGENCY_HEADER)
    locate = (
        await run_in_threadpool(locator, runtime) if mode not in ("delete", "delete_attr") else None
    )
    outcome: Outcome = await run_in_threadpool(
        write_entities,
        runtime.db,
        resolver(runtime),
        principal,
        operations,
        mode,
        no_overwrite=no_overwrite,
        agency=agency,
        locate=locate,
        series=runtime.find(SeriesIndex),
    )
    await announce_changes(runtime, outcome.changed_catalog, refreshed=outcome.refreshed)
    await announce_attribute_changes(runtime, outcome.changed_attributes)
    if outcome.points:
        await temporal.store_points(runtime, outcome.points)
    if outcome.rejected:
        await run_in_threadpool(quarantine, runtime.db, outcome)
    return outcome


def quarantine(database: Database, outcome: Outcome) -> None:
    entries = [Entry("ngsi-ld", reason, raw, agency) for reason, raw, agency in outcome.rejected]
    put_many(database, entries)


async def read_body(request: Request, *, merge_patch: bool = False) -> tuple[Any, bool]:
    limit = runtime_of(request.app).settings.max_request_bytes
    return await body_of(request, limit, merge_patch=merge_patch)


def parse_ops(
    request: Request, items: list[Any], is_jsonld: bool, *, require_type: bool
) -> tuple[list[Operation], list[tuple[str, NgsiError]]]:
    return parse_items(request, items, is_jsonld, require_type=require_type)


def parse_items(
    request: Request, items: list[Any], is_jsonld: bool, *, require_type: bool
) -> tuple[list[Operation], list[tuple[str, NgsiError]]]:
    operations: list[Operation] = []
    errors: list[tuple[str, NgsiError]] = []
    contexts = resolver(runtime_of(request.app))
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


def batch_result(
    outcome: Outcome | None, parse_errors: list[tuple[str, NgsiError]]
) -> dict[str, Any]:
    errors = list(parse_errors) + (outcome.errors if outcome else [])
    return {
        "success": outcome.success if outcome else [],
        "errors": [{"entityId": i, "error": e.body()} for i, e in errors],
    }


async def batch_items(request: Request) -> tuple[list[Any], bool]:
    body, is_jsonld = await read_body(request)
    if not isinstance(body, list):
        raise NgsiError("BadRequestData", "a batch operation takes a JSON array")
    if not body:
        raise NgsiError("BadRequestData", "a batch operation needs at least one item")
    limit = runtime_of(request.app).settings.max_batch_items
    if len(body) > limit:
        raise NgsiError("BadRequestData", f"more than {limit} items in one batch", status=413)
    return body, is_jsonld
