"""``/ngsi-ld/v1/jsonldContexts`` (ETSI GS CIM 009 §5.13): the contexts this broker knows —
listed, served, added (hosted here) and deleted — backed by the local context store.

Kinds, as the spec names them: ``Hosted`` (added through this API; its URL is this broker's
``/ngsi-ld/v1/jsonldContexts/{id}``), ``Cached`` (a copy of a remote context, put in the store
by ``taydo contexts add`` or fetched when remote fetching is allowed, and the core context).
Contexts are served to anyone (JSON-LD processors fetch them without credentials); adding and
deleting one is an administrator's (``catalog:admin``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import unquote

import orjson
from fastapi import APIRouter, Request, Response

from taydo.core.access import Principal, public, requires
from taydo.core.deps import AppRuntime
from taydo.ingest.ngsild.context import CORE_CONTEXT_URL, HOSTED_PATH, core_document
from taydo.ingest.ngsild.errors import NgsiError
from taydo.ingest.ngsild.handlers import read_body, resolver
from taydo.ingest.ngsild.http import NgsiRoute

__all__ = ["router"]

router = APIRouter(prefix="/ngsi-ld/v1", tags=["ngsi-ld"], route_class=NgsiRoute)
KINDS = ("Hosted", "Cached", "ImplicitlyCreated")
CORE_ID = "core"


def _kind(url: str) -> str:
    return "Hosted" if HOSTED_PATH in url else "Cached"


def _entries(runtime: AppRuntime) -> list[dict[str, Any]]:
    store = resolver(runtime).store
    listed: list[dict[str, Any]] = [{"URL": CORE_CONTEXT_URL, "localId": CORE_ID, "kind": "Cached"}]
    for url, local_id, stored in store.entries() if store is not None else []:
        created = datetime.fromtimestamp(stored, UTC).isoformat().replace("+00:00", "Z")
        listed.append({"URL": url, "localId": local_id, "kind": _kind(url), "createdAt": created})
    return listed


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


@router.get("/jsonldContexts")
async def list_contexts(
    runtime: AppRuntime,
    _principal: Annotated[Principal | None, public()],
    details: bool = False,
    kind: str | None = None,
) -> Response:
    """The URLs of the known contexts, or with ``details=true`` their URL, local id, kind and
    when they were stored; ``kind`` keeps one kind."""
    if kind is not None and kind not in KINDS:
        raise NgsiError("BadRequestData", f"kind is one of {', '.join(KINDS)}")
    entries = [e for e in _entries(runtime) if kind is None or e["kind"] == kind]
    return _json(entries if details else [e["URL"] for e in entries])


def _find(runtime: AppRuntime, context_id: str) -> dict[str, Any]:
    wanted = unquote(context_id)
    for entry in _entries(runtime):
        if wanted in (entry["localId"], entry["URL"]):
            return entry
    raise NgsiError("ResourceNotFound", f"không có ngữ cảnh / no @context {wanted[:200]}")


@router.get("/jsonldContexts/{context_id:path}")
async def serve_context(
    runtime: AppRuntime,
    context_id: str,
    _principal: Annotated[Principal | None, public()],
    details: bool = False,
) -> Response:
    """The context document (by local id or URL), or with ``details=true`` its description."""
    entry = _find(runtime, context_id)
    if details:
        return _json(entry)
    if entry["localId"] == CORE_ID:
        return Response(core_document(), media_type="application/ld+json")
    store = resolver(runtime).store
    document = store.get(entry["URL"]) if store is not None else None
    if document is None:
        raise NgsiError("ResourceNotFound", f"no @context {context_id[:200]}")
    return Response(orjson.dumps(document), media_type="application/ld+json")


@router.post("/jsonldContexts", status_code=201)
async def add_context(
    request: Request,
    runtime: AppRuntime,
    _principal: Annotated[Principal, requires("catalog:admin")],
) -> Response:
    """Host a context: the body is a JSON-LD document with a top-level ``@context``; its URL
    (``Location``) is what clients then name in their ``Link`` headers."""
    body, _is_jsonld = await read_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("@context"), dict | list):
        raise NgsiError("BadRequestData", "expected a JSON object with an @context object or list")
    resolver(runtime).resolve(body["@context"])  # refused now rather than when first used
    store = resolver(runtime).store
    if store is None:
        raise NgsiError("OperationNotSupported", "this server has no context store")
    local_id = uuid.uuid4().hex
    location = f"{HOSTED_PATH}{local_id}"
    url = str(request.base_url).rstrip("/") + location
    store.add(url, orjson.dumps(body), local_id=local_id)
    return Response(status_code=201, headers={"Location": location})


@router.delete("/jsonldContexts/{context_id:path}", status_code=204)
async def delete_context(
    runtime: AppRuntime,
    context_id: str,
    _principal: Annotated[Principal, requires("catalog:admin")],
    reload: bool = False,
) -> Response:
    """Forget a hosted or cached context; the core context stays. ``reload=true`` (fetch a
    cached context again) needs the network, which an IOC on a closed network does not have."""
    entry = _find(runtime, context_id)
    if entry["localId"] == CORE_ID:
        raise NgsiError("BadRequestData", "the core @context cannot be deleted")
    if reload:
        raise NgsiError(
            "BadRequestData" if entry["kind"] == "Hosted" else "LdContextNotAvailable",
            "reload applies to a cached context fetched from the network; "
            "replace it with `taydo contexts add` instead",
        )
    contexts = resolver(runtime)
    if contexts.store is None or not contexts.store.remove(entry["URL"]):
        raise NgsiError("ResourceNotFound", f"no @context {context_id[:200]}")
    contexts.forget()
    return Response(status_code=204)
