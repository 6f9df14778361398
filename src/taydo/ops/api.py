"""``/healthz``, ``/readyz`` and ``/metrics``.

``/healthz`` and ``/readyz`` are public (load balancers and orchestrators probe them without
credentials) and say nothing secret: check names, true/false, queue numbers. ``/metrics``
needs ``ops:metrics`` (admins), or the ``TAYDO_METRICS_TOKEN`` as a bearer token (what a
Prometheus scrape config sends), or ``TAYDO_METRICS_PUBLIC=true``.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from taydo.core.access import Principal, public
from taydo.core.deps import AppRuntime
from taydo.core.errors import Forbidden, Unauthenticated
from taydo.core.responses import FastJSONResponse
from taydo.core.runtime import runtime_of
from taydo.ops.metrics import Metrics
from taydo.ops.readiness import Readiness

__all__ = ["router"]

router = APIRouter(tags=["ops"])
PUBLIC = public()
PERMISSION = "ops:metrics"


def _metrics_reader(request: Request) -> None:
    """The ``ops:metrics`` permission, or the scrape token, or a public setting."""
    runtime = runtime_of(request.app)
    settings = runtime.settings
    if settings.metrics_public:
        return
    token = settings.metrics_token.get_secret_value()
    scheme, _, sent = request.headers.get("authorization", "").partition(" ")
    if (
        token
        and scheme.lower() == "bearer"
        and hmac.compare_digest(sent.strip().encode("utf-8", "replace"), token.encode())
    ):
        return
    authenticate = runtime.authenticate
    principal: Principal | None = authenticate(request) if authenticate is not None else None
    request.state.principal = principal
    if principal is None:
        raise Unauthenticated("authentication required (ops:metrics or the metrics token)")
    if not principal.has(PERMISSION):
        raise Forbidden(f"your role may not do this ({PERMISSION})")


_metrics_reader.taydo_permission = PERMISSION  # type: ignore[attr-defined]
METRICS_READER = Depends(_metrics_reader)


@router.get("/healthz", summary="Sống / Liveness: the process answers")
async def healthz(_caller: Principal | None = PUBLIC) -> dict[str, Any]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Sẵn sàng / Readiness: database, bus, MQTT, writer queue, migrations",
    responses={503: {"description": "A check failed; the body says which"}},
)
async def readyz(runtime: AppRuntime, _caller: Principal | None = PUBLIC) -> FastJSONResponse:
    checks = await runtime.get(Readiness).checks()
    ready = all(check.ok for check in checks)
    body = {
        "ready": ready,
        "checks": {c.name: {"ok": c.ok, **c.detail} for c in checks},
    }
    return FastJSONResponse(body, status_code=200 if ready else 503)


@router.get(
    "/metrics",
    summary="Chỉ số / Prometheus metrics",
    response_class=Response,
    dependencies=[METRICS_READER],
)
async def metrics(runtime: AppRuntime) -> Response:
    text = await asyncio.to_thread(runtime.get(Metrics).render)
    return Response(text, media_type=CONTENT_TYPE_LATEST)
