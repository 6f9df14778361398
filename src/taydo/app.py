"""The composition root: ``create_app(settings)`` builds the ASGI app from what each domain
registers (plugin hook ``taydo_domains``) and runs their start-up and shutdown in order.

It names no domain module: the built-in domains register through the same entry points a
third party would (``[project.entry-points.taydo]`` in ``pyproject.toml``). Nothing is built at
import time, so a test can build a bare app on its own database.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware

from taydo import __version__
from taydo.core.admission import AdmissionMiddleware, Gate
from taydo.core.answers import add_error_handlers, document_errors
from taydo.core.buses import create_bus
from taydo.core.db import Database
from taydo.core.jsonbody import JsonBodyMiddleware
from taydo.core.lease import create_leases
from taydo.core.plugins import Domain, domains, make_plugin_manager
from taydo.core.responses import FastJSONResponse
from taydo.core.runtime import Runtime
from taydo.core.secrets import SecretBox
from taydo.core.security import MAX_FORM_BYTES, SecurityMiddleware, security_headers
from taydo.core.settings import Settings
from taydo.core.validation import RejectNulMiddleware
from taydo.web import pages as kit_pages
from taydo.web.shell import Shell

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    settings = settings or Settings()
    plugins = make_plugin_manager()
    installed = domains(plugins)
    runtime = Runtime(
        settings=settings,
        db=database or Database(settings.database_url),
        bus=create_bus(settings.bus_url),
        plugins=plugins,
        secrets=SecretBox(settings.secret_key.get_secret_value()),
        leases=create_leases(
            (database.url if database is not None else settings.database_url),
            settings.bus_url,
            shards=settings.cluster_shards,
            check_s=settings.lease_check_s,
        ),
    )
    runtime.provide(Shell.of(installed))
    gate = runtime.provide(Gate.from_settings(settings))
    for domain in installed:
        if domain.setup is not None:
            domain.setup(runtime)

    app = FastAPI(
        title="Tây Đô IOC",
        version=__version__,
        openapi_url="/api/openapi.json",
        docs_url=None,  # served by the console from local assets (no CDN): taydo.web.pages
        redoc_url=None,
        default_response_class=FastJSONResponse,
        lifespan=_lifespan(runtime, installed),
    )
    app.state.runtime = runtime  # read only through taydo.core.runtime.runtime_of
    add_error_handlers(app, html=kit_pages.error_page)
    for domain in installed:
        for router in domain.early_routers:
            app.include_router(router)
    app.include_router(kit_pages.router)
    for domain in installed:
        for router in domain.routers:
            app.include_router(router)
    # A catch-all route (NGSI-LD's answer for unknown addresses) goes after every domain's
    # routes, so a domain above the one that owns it can serve addresses under its prefix.
    app.router.routes.sort(key=_catch_all)
    # Pages, scripts and large API answers compressed for the wall's and the phone's links
    # (level 5: most of level 9's gain for a fraction of its CPU). Starlette never compresses
    # the live stream (text/event-stream), and answers under 1 KB stay as they are.
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=5)
    # Every JSON body is checked before a route decodes it; the ingest gateway (with the same
    # decoder, taydo.core.jsonbody.loads) and NGSI-LD (strict orjson) decode their own.
    app.add_middleware(
        JsonBodyMiddleware,
        exempt_prefixes=("/ngsi-ld/",),
        exempt_paths=frozenset({"/api/v1/observations"}),
    )
    document_errors(app)
    # NGSI-LD answers its clients in ProblemDetails and checks NUL itself.
    app.add_middleware(RejectNulMiddleware, exempt_prefixes=("/ngsi-ld/",))
    # Added last, so outermost: its headers are on every answer, the NUL refusal's included.
    # The console's upload form carries its token in the body: read as far as the largest
    # file accepted (and a margin for the other fields), so a legal upload is never refused.
    app.add_middleware(
        SecurityMiddleware,
        https=settings.cookie_secure,
        img_sources=tuple(filter(None, [settings.basemap_origin])),
        max_form_bytes=max(MAX_FORM_BYTES, settings.max_upload_bytes + (1 << 20)),
    )
    # Outermost of all: a request over its class's budget is shed before anything reads it.
    app.add_middleware(
        AdmissionMiddleware,
        gate=gate,
        observers=runtime.request_observers,
        extra_headers=security_headers(https=settings.cookie_secure),
        chunked_size=settings.max_request_bytes,
    )
    return app


def _catch_all(route: Any) -> bool:
    """Whether a route (or an included router) only catches every address under a prefix."""
    inner = getattr(route, "original_router", None)
    routes = inner.routes if inner is not None else [route]
    return bool(routes) and all(getattr(r, "path", "").endswith("/{rest:path}") for r in routes)


def _lifespan(
    runtime: Runtime, installed: list[Domain]
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Start every domain (lowest first), then open every domain's doors to the outside, then
    the bus; stop in the reverse order. A failed start stops what had started."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        started: list[Domain] = []
        try:
            # Connected first: a domain's start may publish (the alert engine's catch-up);
            # delivery to subscribers starts with bus.start() below, once every door is open.
            await runtime.bus.connect()
            # Then this process's share of the leases (every one in a single process), so
            # the domains start knowing which duties and shards are theirs.
            await runtime.leases.start()
            for domain in installed:
                if domain.start is not None:
                    await domain.start(runtime)
                started.append(domain)
            for domain in installed:
                if domain.open is not None:
                    await domain.open(runtime)
            await runtime.bus.start()
            yield
        finally:
            for domain in reversed(started):
                if domain.stop is None:
                    continue
                try:
                    await domain.stop(runtime)
                except Exception:
                    log.exception("shutdown of the %s domain failed", domain.name)
            # Handed over once every domain has finished its work (the peers take over at
            # their next check), then the bus.
            try:
                await runtime.leases.close()
            except Exception:
                log.exception("handing the leases over failed")
            await runtime.bus.close()

    return lifespan
