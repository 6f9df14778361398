"""The app factory: ``create_app(settings)`` builds everything; nothing is built at import."""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import ModuleType

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError

from taydo import __version__
from taydo.core.bus import create_bus
from taydo.core.db import Database
from taydo.core.errors import TaydoError
from taydo.core.plugins import make_plugin_manager
from taydo.core.responses import FastJSONResponse
from taydo.core.secrets import SecretBox
from taydo.core.settings import Settings
from taydo.core.validation import RejectNulMiddleware, validation_error_handler

__all__ = ["COMPONENTS", "create_app"]

log = logging.getLogger(__name__)

# Each component module exposes ``router`` and may expose ``async startup(app)`` and
# ``async shutdown(app)``. Order matters for start-up: lower domains first.
COMPONENTS = (
    "taydo.auth.api",
    "taydo.geo.api",
    "taydo.catalog.api",
    "taydo.observations.api",
    "taydo.ingest.api",
    "taydo.alerts.api",
    "taydo.ingest.gateways",
    "taydo.ingest.ngsild.api",
    "taydo.web.pages",
    "taydo.ingest.pages",
    "taydo.catalog.pages",
    "taydo.alerts.pages",
)


def _load_components() -> list[ModuleType]:
    return [importlib.import_module(name) for name in COMPONENTS]


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    settings = settings or Settings()
    components = _load_components()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        started: list[ModuleType] = []
        try:
            for component in components:
                startup = getattr(component, "startup", None)
                if startup is not None:
                    await startup(app)
                started.append(component)
            await app.state.bus.start()
            yield
        finally:
            for component in reversed(started):
                shutdown = getattr(component, "shutdown", None)
                if shutdown is not None:
                    try:
                        await shutdown(app)
                    except Exception:
                        log.exception("shutdown of %s failed", component.__name__)
            await app.state.bus.close()

    app = FastAPI(
        title="Tây Đô IOC",
        version=__version__,
        openapi_url="/api/openapi.json",
        docs_url=None,  # served by the console from local assets (no CDN): taydo.web.pages
        redoc_url=None,
        default_response_class=FastJSONResponse,
        lifespan=lifespan,
    )
    db = database or Database(settings.database_url)
    app.state.settings = settings
    app.state.db = db
    app.state.bus = create_bus(settings.bus_url)
    app.state.plugins = make_plugin_manager()
    app.state.secrets = SecretBox(settings.secret_key.get_secret_value())

    from taydo.auth.service import authenticator

    app.state.authenticate = authenticator(db)

    app.add_exception_handler(RequestValidationError, validation_error_handler)

    @app.exception_handler(TaydoError)
    async def _taydo_error(_request: Request, exc: TaydoError) -> FastJSONResponse:
        body: dict[str, object] = {"error": exc.message}
        if exc.details:
            body["details"] = exc.details
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return FastJSONResponse(body, status_code=exc.status_code, headers=headers)

    for component in components:
        app.include_router(component.router)
    from taydo.core.security import MAX_FORM_BYTES, SecurityMiddleware

    # NGSI-LD answers its clients in ProblemDetails and checks NUL itself.
    app.add_middleware(RejectNulMiddleware, exempt_prefixes=("/ngsi-ld/",))
    # Added last, so outermost: its headers are on every answer, the NUL refusal's included.
    # The console's upload form carries its token in the body: read as far as the largest
    # file accepted (and a margin for the other fields), so a legal upload is never refused.
    app.add_middleware(
        SecurityMiddleware,
        https=settings.cookie_secure,
        max_form_bytes=max(MAX_FORM_BYTES, settings.max_upload_bytes + (1 << 20)),
    )
    return app
