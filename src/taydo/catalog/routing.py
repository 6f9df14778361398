"""A route class that answers invalid requests with a 422 that can always be rendered.

FastAPI's default answer echoes the offending input, which fails to render when the input
holds NaN or Infinity (JSON cannot carry them) and turns a client error into a 500. This
answer lists where and why, in the same shape as the app's other errors, without the input.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

__all__ = ["SafeValidationRoute", "validation_body"]


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


class SafeValidationRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return JSONResponse(validation_body(exc), status_code=422)

        return route
