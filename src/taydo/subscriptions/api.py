"""``/ngsi-ld/v1/subscriptions`` (ETSI GS CIM 009 v1.8 §5.8, bindings §6.10–6.11): create,
query, retrieve, update and delete subscriptions, answered as the NGSI-LD gateway answers
(ProblemDetails for every refusal, the JSON-LD Link header or ``@context``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from taydo.core.access import Principal, requires
from taydo.core.bounds import MAX_OFFSET
from taydo.core.deps import AppRuntime
from taydo.ingest.ngsild.entity import check_entity_id
from taydo.ingest.ngsild.errors import NgsiError
from taydo.ingest.ngsild.handlers import get_context, read_body, resolver
from taydo.ingest.ngsild.http import NgsiRoute, link_context, respond
from taydo.subscriptions.runtime import Subscriptions
from taydo.subscriptions.schemas import check_subscription
from taydo.subscriptions.service import (
    create_subscription,
    delete_subscription,
    get_subscription,
    list_subscriptions,
    update_subscription,
)

__all__ = ["router"]

router = APIRouter(prefix="/ngsi-ld/v1", tags=["ngsi-ld"], route_class=NgsiRoute)
MANAGE = requires("subscriptions:manage")
MAX_LIMIT = 1000
BASE = "/ngsi-ld/v1/subscriptions"


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


async def _body_and_context(request: Request, runtime: Any) -> tuple[Any, Any, bool]:
    """The body, the JSON-LD context value its terms are in (None: the core context), and
    whether it came as JSON-LD; the context is resolved once here, so a bad one is refused
    now (503 LdContextNotAvailable), not at the first notification."""
    body, is_jsonld = await read_body(request)
    contexts = resolver(runtime)
    if is_jsonld:
        if not isinstance(body, dict) or "@context" not in body:
            raise NgsiError("BadRequestData", "application/ld+json payloads must carry an @context")
        value = body["@context"]
    else:
        if isinstance(body, dict) and "@context" in body:
            raise NgsiError(
                "BadRequestData",
                "@context belongs in a Link header with application/json (or use ld+json)",
            )
        value = link_context(request)
    if value is not None:
        await run_in_threadpool(contexts.resolve, value)
    return body, value, is_jsonld


@router.post("/subscriptions", status_code=201)
async def create(
    request: Request,
    runtime: AppRuntime,
    subscriptions: Subscriptions,
    principal: Principal = MANAGE,
) -> Response:
    """Create Subscription (§5.8.1): 201 with its address in ``Location``."""
    body, context, _ = await _body_and_context(request, runtime)
    spec = check_subscription(body)
    sub_id = await run_in_threadpool(
        create_subscription,
        runtime.db,
        runtime.secrets,
        principal,
        spec,
        context,
        address=_address(request),
    )
    await subscriptions.changed()
    return Response(status_code=201, headers={"Location": f"{BASE}/{quote(sub_id, safe=':/')}"})


@router.get("/subscriptions")
async def query(
    request: Request,
    runtime: AppRuntime,
    principal: Principal = MANAGE,
    limit: int = Query(20, ge=0, le=MAX_OFFSET),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    count: bool = False,
) -> Response:
    """Query Subscriptions (§5.8.4): the caller's, paged; ``count=true`` adds
    ``NGSILD-Results-Count``."""
    if limit > MAX_LIMIT:
        raise NgsiError("TooManyResults", f"limit must be ≤ {MAX_LIMIT}")
    context = await get_context(request)
    page, total = await run_in_threadpool(
        list_subscriptions, runtime.db, runtime.secrets, principal, limit=limit, offset=offset
    )
    headers = {"NGSILD-Results-Count": str(total)} if count else None
    return respond(request, page, context, headers=headers)


@router.get("/subscriptions/{sub_id}")
async def retrieve(
    request: Request, sub_id: str, runtime: AppRuntime, principal: Principal = MANAGE
) -> Response:
    """Retrieve Subscription (§5.8.3)."""
    check_entity_id(sub_id)
    context = await get_context(request)
    found = await run_in_threadpool(
        get_subscription, runtime.db, runtime.secrets, principal, sub_id
    )
    return respond(request, found, context)


@router.patch("/subscriptions/{sub_id}", status_code=204)
async def update(
    request: Request,
    sub_id: str,
    runtime: AppRuntime,
    subscriptions: Subscriptions,
    principal: Principal = MANAGE,
) -> Response:
    """Update Subscription (§5.8.2): the fragment's members replace the stored ones."""
    check_entity_id(sub_id)
    body, context, is_jsonld = await _body_and_context(request, runtime)
    if isinstance(body, dict) and is_jsonld:
        body = {**body, "@context": context}
    await run_in_threadpool(
        update_subscription,
        runtime.db,
        runtime.secrets,
        principal,
        sub_id,
        body,
        address=_address(request),
    )
    await subscriptions.changed()
    return Response(status_code=204)


@router.delete("/subscriptions/{sub_id}", status_code=204)
async def delete(
    request: Request,
    sub_id: str,
    runtime: AppRuntime,
    subscriptions: Subscriptions,
    principal: Principal = MANAGE,
) -> Response:
    """Delete Subscription (§5.8.5)."""
    check_entity_id(sub_id)
    await run_in_threadpool(
        delete_subscription, runtime.db, principal, sub_id, address=_address(request)
    )
    await subscriptions.changed()
    return Response(status_code=204)
