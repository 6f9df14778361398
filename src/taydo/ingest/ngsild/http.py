"""HTTP details of NGSI-LD: content types, the JSON-LD Link header, bodies, ProblemDetails."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from taydo.core.errors import TaydoError
from taydo.ingest.ngsild.context import CORE_CONTEXT_URL, Context, ContextResolver
from taydo.ingest.ngsild.errors import NgsiError

__all__ = [
    "JSONLD_REL",
    "NgsiRoute",
    "body_of",
    "link_context",
    "problem_response",
    "respond",
    "respond_geojson",
    "wants_geojson",
    "wants_jsonld",
]

log = logging.getLogger(__name__)
JSONLD_REL = "http://www.w3.org/ns/json-ld#context"
_LINK = re.compile(r"^\s*<([^>]*)>\s*;(.*)$")
_HTTP_TITLES = {
    401: "Cần đăng nhập / Unauthorized",
    403: "Không có quyền / Forbidden",
    406: "Không hỗ trợ kiểu trả về / Not acceptable",
    413: "Yêu cầu quá lớn / Payload too large",
    415: "Kiểu nội dung không được hỗ trợ / Unsupported media type",
}


def problem_response(error: NgsiError, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(error.body()), error.status, headers, media_type="application/json"
    )


def _http_problem(status: int, detail: str) -> Response:
    body = {"type": "about:blank", "title": _HTTP_TITLES.get(status, ""), "status": status}
    body["detail"] = detail
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


class NgsiRoute(APIRoute):
    """Every failure of an NGSI-LD route, including permission checks and parameter
    validation done by FastAPI, is answered as ProblemDetails."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            if "\x00" in request.url.path or "%00" in request.url.query:
                # No NGSI-LD name holds NUL, and PostgreSQL cannot even compare one.
                return problem_response(
                    NgsiError("BadRequestData", "ký tự NUL / NUL character (%00) in the URL")
                )
            try:
                return await original(request)
            except NgsiError as error:
                return problem_response(error)
            except RequestValidationError as error:
                detail = "; ".join(
                    f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
                    for e in error.errors()
                )
                return problem_response(NgsiError("BadRequestData", detail[:500]))
            except TaydoError as error:
                if error.status_code in _HTTP_TITLES:
                    return _http_problem(error.status_code, error.message)
                kind = "ResourceNotFound" if error.status_code == 404 else "BadRequestData"
                return problem_response(NgsiError(kind, error.message))
            except Exception:
                log.exception("NGSI-LD request failed: %s %s", request.method, request.url.path)
                return problem_response(NgsiError("InternalError", "lỗi nội bộ / internal error"))

        return handler


def link_context(request: Request) -> str | None:
    """The context URL of a ``Link`` header with the JSON-LD context relation, if any."""
    values = request.headers.getlist("link")
    found: list[str] = []
    for header in values:
        for part in header.split(","):
            match = _LINK.match(part)
            if match is None:
                continue
            params = match.group(2).replace(" ", "")
            if f'rel="{JSONLD_REL}"' in params or f"rel={JSONLD_REL}" in params:
                found.append(match.group(1))
    if len(found) > 1:
        raise NgsiError("BadRequestData", "more than one JSON-LD context Link header")
    return found[0] if found else None


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


MERGE_PATCH = "application/merge-patch+json"


async def body_of(
    request: Request, max_bytes: int, *, merge_patch: bool = False
) -> tuple[Any, bool]:
    """The parsed JSON body and whether it is JSON-LD (so carries its own @context).
    ``merge_patch``: the route also takes ``application/merge-patch+json`` (RFC 7396), read as
    JSON with its context in the Link header."""
    media = _media_type(request)
    if merge_patch and media == MERGE_PATCH:
        media = "application/json"
    if media not in ("application/json", "application/ld+json"):
        raise NgsiError(
            "InvalidRequest",
            f"Content-Type phải là application/json hoặc application/ld+json / must be "
            f"application/json or application/ld+json, not {media[:60]!r}",
            status=415,
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise NgsiError("BadRequestData", f"body larger than {max_bytes} bytes", status=413)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise NgsiError("BadRequestData", f"body larger than {max_bytes} bytes", status=413)
        chunks.append(chunk)
    if media == "application/ld+json" and link_context(request) is not None:
        # ETSI GS CIM 009 §6.3.5: a JSON-LD payload carries its own @context; a Link header
        # beside it would give a second, conflicting one.
        raise NgsiError(
            "BadRequestData",
            "application/ld+json carries its @context in the body: no JSON-LD Link header",
        )
    data = b"".join(chunks)
    # A large body is decoded off the event loop (a 1,000-entity batch takes milliseconds).
    body = await run_in_threadpool(_decode, data) if size > 65_536 else _decode(data)
    return body, media == "application/ld+json"


def _decode(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise NgsiError("InvalidRequest", f"JSON không hợp lệ / invalid JSON: {exc}") from exc


def request_context(
    resolver: ContextResolver,
    request: Request,
    item: Any,
    is_jsonld: bool,
    linked: Context | None = None,
) -> Context:
    """The context one payload item is written in (body @context or Link header);
    ``linked`` is the Link header's context when the caller already resolved it."""
    if is_jsonld:
        if not isinstance(item, dict) or "@context" not in item:
            raise NgsiError("BadRequestData", "application/ld+json payloads must carry an @context")
        return resolver.resolve(item["@context"])
    if isinstance(item, dict) and "@context" in item:
        raise NgsiError(
            "BadRequestData",
            "@context belongs in a Link header with application/json (or use ld+json)",
        )
    if linked is not None:
        return linked
    url = link_context(request)
    return resolver.resolve(url) if url else resolver.core


GEOJSON = "application/geo+json"


def _accepted(request: Request) -> list[str]:
    accept = request.headers.get("accept", "").lower()
    return [part.split(";", 1)[0].strip() for part in accept.split(",")] if accept else []


def wants_geojson(request: Request) -> bool:
    """Whether the caller prefers GeoJSON (entity retrieval and queries offer it)."""
    kinds = _accepted(request)
    if GEOJSON not in kinds:
        return False
    others = [k for k in kinds if k in ("application/json", "application/ld+json")]
    return not others or kinds.index(GEOJSON) < kinds.index(others[0])


def wants_jsonld(request: Request, *, geo: bool = False) -> bool:
    """Whether to answer in JSON-LD (else plain JSON); ``geo``: the route also answers
    GeoJSON, so an Accept asking only for it is no reason for 406."""
    if geo and wants_geojson(request):
        return False
    accept = request.headers.get("accept", "").lower()
    if not accept:
        return False
    kinds = _accepted(request)
    if "application/ld+json" in kinds:
        return "application/json" not in kinds or kinds.index("application/ld+json") < (
            kinds.index("application/json")
        )
    if any(k in ("application/json", "*/*", "application/*") for k in kinds):
        return False
    raise NgsiError(
        "InvalidRequest", f"cannot answer in {accept[:80]!r}; use application/json", status=406
    )


def respond(
    request: Request,
    content: Any,
    context: Context,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    headers = dict(headers or {})
    if wants_jsonld(request):
        value = context.value if context.value is not None else CORE_CONTEXT_URL
        if isinstance(content, dict):
            content = {**content, "@context": value}
        elif isinstance(content, list):
            content = [{**c, "@context": value} if isinstance(c, dict) else c for c in content]
        return Response(orjson.dumps(content), status, headers, media_type="application/ld+json")
    headers["Link"] = f'<{context.link_url}>; rel="{JSONLD_REL}"; type="application/ld+json"'
    return Response(orjson.dumps(content), status, headers, media_type="application/json")


def respond_geojson(content: Any, *, headers: dict[str, str] | None = None) -> Response:
    """A GeoJSON answer: a Feature or FeatureCollection carrying its ``@context``."""
    return Response(orjson.dumps(content), 200, headers, media_type=GEOJSON)
