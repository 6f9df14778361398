"""Every error the app answers, in one JSON shape, and the OpenAPI that says so.

The shape is ``{"error": "<Vietnamese / English reason>", "details": {...}}`` (``details``
only when there is something to add), for the services' errors (``TaydoError``), for what
Starlette itself refuses (an unknown path, a method the path does not take: the ``Allow``
header is kept) and for a fault nobody foresaw: that one is logged with its traceback and
answered 500 in the same shape, never as plain text and never with the exception's text,
which could hold input or a secret.

A browser that navigates to a console address (``GET`` with ``Accept: text/html``, outside the
machine interfaces) or posts one of its forms gets the same refusal as a page in the console's
look instead: the composition root passes the UI kit's renderer as ``html``.

``document_errors`` adds these answers to the OpenAPI of every operation, so a client (and
the schema fuzzing test) knows which status codes a route may give and what their body is.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import compile_path

from taydo.core.access import api_routes
from taydo.core.errors import TaydoError
from taydo.core.responses import FastJSONResponse
from taydo.core.validation import validation_body, validation_error_handler

__all__ = [
    "ERROR_SCHEMA",
    "HtmlError",
    "add_error_handlers",
    "allowed_methods",
    "document_errors",
    "error_response",
    "wants_html",
]

log = logging.getLogger(__name__)

_REASONS: dict[int, str] = {
    400: "yêu cầu không hợp lệ / bad request",
    401: "cần đăng nhập / authentication required",
    403: "không được phép / not allowed",
    404: "không tìm thấy / not found",
    405: "phương thức không được hỗ trợ / method not allowed",
    409: "xung đột / conflict",
    413: "nội dung quá lớn / content too large",
    415: "kiểu nội dung không được hỗ trợ / unsupported media type",
    422: "dữ liệu không hợp lệ / invalid input",
    429: "quá nhiều yêu cầu / too many requests",
    500: "lỗi nội bộ máy chủ / internal server error",
    503: "dịch vụ tạm thời không sẵn sàng / service temporarily unavailable",
}


def error_response(
    status_code: int,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> FastJSONResponse:
    body: dict[str, Any] = {"error": message}
    if details:
        body["details"] = details
    return FastJSONResponse(body, status_code=status_code, headers=headers)


# Addresses answered to programs, never as an HTML page, whatever their Accept header says.
MACHINE_PREFIXES = ("/api/", "/ngsi-ld/", "/open311/", "/metrics", "/healthz", "/readyz")

# Renders a refusal as a console page: (request, status, message) → the page.
HtmlError = Callable[[Request, int, str], Awaitable[Response]]


# What a browser's HTML form sends (``<form method="post">``, with or without a file).
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def wants_html(request: Request) -> bool:
    """A person's browser at a console address (not a script, not the API): navigating to it
    (``GET``/``HEAD``) or submitting one of its forms (``POST`` of a form), so that a form
    refused before its route answers (CSRF 403, size 413, …) shows a page, not JSON."""
    if "text/html" not in request.headers.get("accept", ""):
        return False
    if request.url.path.startswith(MACHINE_PREFIXES):
        return False
    if request.method in ("GET", "HEAD"):
        return True
    content_type = request.headers.get("content-type", "").lower()
    return request.method == "POST" and content_type.startswith(FORM_TYPES)


def _taydo_error(exc: Exception) -> Response:
    assert isinstance(exc, TaydoError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return error_response(exc.status_code, exc.message, exc.details or None, headers)


def allowed_methods(request: Request, *, besides: Any = None) -> list[str]:
    """Every method some route takes on this path (``besides``: an endpoint left out, such as
    a catch-all). Starlette's ``Allow`` names only the methods of the first route whose path
    matched, while a path's GET and POST are often two routes (``GET /agencies`` beside
    ``POST /agencies``)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is already flat
        contexts: Any = request.app.routes
    else:
        contexts = iter_route_contexts(request.app.routes)
    path = request.url.path
    methods: set[str] = set()
    for context in contexts:
        route = getattr(context, "original_route", context)
        if besides is not None and getattr(route, "endpoint", None) is besides:
            continue
        pattern = _patterns.get(context.path)
        if pattern is None:
            pattern = _patterns.setdefault(context.path, compile_path(context.path)[0])
        if context.methods and pattern.match(path):
            methods |= set(context.methods)
    return sorted(methods)


_patterns: dict[str, re.Pattern[str]] = {}


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request)) or headers.get("Allow", "")
    if exc.status_code < 400:  # a redirect the console raises (login required): no body
        return Response(status_code=exc.status_code, headers=headers)
    detail = exc.detail if isinstance(exc.detail, str) else ""
    # Starlette's own details are its English phrase ("Not Found"): give ours instead.
    if not detail or detail == HTTPStatus(exc.status_code).phrase:
        detail = _REASONS.get(exc.status_code, HTTPStatus(exc.status_code).phrase)
    message = detail
    return error_response(exc.status_code, message, headers=headers or None)


def _unhandled(request: Request, exc: Exception) -> Response:
    # Starlette's ServerErrorMiddleware calls this for any exception no other handler took
    # (and re-raises it afterwards for the server's log): the client gets the shape, no text
    # of the exception.
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, _REASONS[500])


def add_error_handlers(app: FastAPI, *, html: HtmlError | None = None) -> None:
    """Answer every error in the JSON shape, or as a console page (``html``) to a browser."""

    def answering(
        answer: Callable[[Request, Exception], Response],
    ) -> Callable[[Request, Exception], Awaitable[Response]]:
        async def handler(request: Request, exc: Exception) -> Response:
            response = answer(request, exc)
            if html is None or response.status_code < 400 or not wants_html(request):
                return response
            message = _REASONS.get(response.status_code, HTTPStatus(response.status_code).phrase)
            if isinstance(exc, TaydoError | StarletteHTTPException) and response.status_code < 500:
                text = exc.message if isinstance(exc, TaydoError) else exc.detail
                message = text if isinstance(text, str) and text else message
            try:
                page = await html(request, response.status_code, message)
            except Exception:  # the page itself failed: the JSON answer still says why
                log.exception("the error page for %s could not be rendered", request.url.path)
                return response
            for name in ("Allow", "Retry-After", "WWW-Authenticate"):
                if name in response.headers:
                    page.headers[name] = response.headers[name]
            return page

        return handler

    async def invalid(request: Request, exc: Exception) -> Response:
        response = await validation_error_handler(request, exc)
        if html is None or not wants_html(request):
            return response
        assert isinstance(exc, RequestValidationError)
        try:  # a console form's field out of its bounds: the reason as a page
            return await html(request, 422, validation_body(exc)["error"])
        except Exception:
            log.exception("the error page for %s could not be rendered", request.url.path)
            return response

    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(TaydoError, answering(lambda _r, exc: _taydo_error(exc)))
    app.add_exception_handler(StarletteHTTPException, answering(_http_error))
    app.add_exception_handler(Exception, answering(_unhandled))


ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "description": "the reason, Vietnamese / English"},
        "details": {"type": "object", "description": "what and where, when there is more"},
    },
}
_PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "ProblemDetails",
    "type": "object",
    "required": ["type", "title"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
}
_WRITES = {"post", "put", "patch", "delete"}


def _codes(method: str, permission: str | None, has_body: bool) -> list[int]:
    """The error answers any operation may give, from what it declares."""
    codes = [400, 404, 422, 500]
    if permission not in (None, "public"):
        codes += [401, 403]
    if method in _WRITES or has_body:
        # a conflict with stored state; a body too large, or of a type the route does not read
        codes += [409, 413, 415]
    return sorted(codes)


def document_errors(app: FastAPI) -> None:
    """Make ``app.openapi()`` list, for every operation, the error answers it may give (the
    shared shape; ProblemDetails under ``/ngsi-ld/``) besides what the route declares."""
    permissions = {
        (route.path, method.lower()): route.permission
        for route in api_routes(app)
        for method in route.methods
    }

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, routes=app.routes, description=app.description
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Error"] = ERROR_SCHEMA
        components["ProblemDetails"] = _PROBLEM_SCHEMA
        for path, operations in schema.get("paths", {}).items():
            ngsi = path.startswith("/ngsi-ld/")
            media = "application/json"
            ref = "#/components/schemas/" + ("ProblemDetails" if ngsi else "Error")
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                has_body = "requestBody" in operation
                for code in _codes(method, permissions.get((path, method)), has_body):
                    if str(code) in responses and code != 422:
                        continue
                    responses[str(code)] = {
                        "description": _REASONS[code],
                        "content": {media: {"schema": {"$ref": ref}}},
                    }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
