"""Every address under ``/ngsi-ld/v1`` that no operation serves, answered as ProblemDetails
(a FIWARE client reads ``type``), never in the console's error shape. Its router is
registered after every other NGSI-LD router, so every real operation matches first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response

from taydo.core.access import Principal, public
from taydo.core.answers import allowed_methods
from taydo.ingest.ngsild.errors import NgsiError
from taydo.ingest.ngsild.http import NgsiRoute, problem_response

__all__ = ["router"]

router = APIRouter(prefix="/ngsi-ld/v1", tags=["ngsi-ld"], route_class=NgsiRoute)
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@router.api_route("/{rest:path}", methods=ANY_METHOD, include_in_schema=False)
async def unknown(
    request: Request, rest: str, _principal: Annotated[Principal | None, public()]
) -> Response:
    """404 ``ResourceNotFound`` for an address nothing serves; 405 ``OperationNotSupported``
    with ``Allow`` for a method the address does not take."""
    path = request.url.path
    allowed = allowed_methods(request, besides=unknown)
    if allowed:
        return problem_response(
            NgsiError(
                "OperationNotSupported",
                f"{request.method} không áp dụng cho / is not supported on {path[:200]}; "
                f"allowed: {', '.join(allowed)}",
                status=405,
            ),
            headers={"Allow": ", ".join(allowed)},
        )
    return problem_response(
        NgsiError("ResourceNotFound", f"không có / no such resource: {path[:200]}")
    )
