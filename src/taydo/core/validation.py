"""The app-wide answer to invalid requests: a 422 that can always be rendered.

FastAPI's default answer echoes the offending input, which fails to render when the input
holds NaN or Infinity (JSON cannot carry them) and turns a client error into a 500, and which
would echo a password sent in a bad login. This answer lists where and why, in the same shape
as the app's other errors, without the input.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["RejectNulMiddleware", "validation_body", "validation_error_handler"]


def validation_body(exc: RequestValidationError) -> dict[str, Any]:
    errors = [
        {
            "loc": [str(part) for part in error.get("loc", ())],
            "msg": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        for error in exc.errors()
    ]
    where = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
    return {
        "error": f"dữ liệu không hợp lệ / invalid request: {where}",
        "details": {"errors": errors},
    }


async def validation_error_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(validation_body(exc), status_code=422)


class RejectNulMiddleware:
    """Answer 400 to a URL that carries a NUL character (``%00``).

    No name, code or filter of the IOC can contain NUL, and PostgreSQL refuses it in text: a
    query with it would fail as a 500 deep in some service. One check at the door gives every
    route the same clear answer.
    """

    def __init__(self, app: ASGIApp, *, exempt_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.exempt_prefixes = exempt_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and not scope.get("path", "").startswith(self.exempt_prefixes)
            and (
                "\x00" in scope.get("path", "")
                or b"%00" in scope.get("query_string", b"")
                or b"\x00" in scope.get("query_string", b"")
            )
        ):
            body = {"error": "địa chỉ chứa ký tự NUL / the URL holds a NUL character (%00)"}
            await JSONResponse(body, status_code=400)(scope, receive, send)
            return
        await self.app(scope, receive, send)
