"""The gateways component: runs the MQTT gateway, the pull-connector scheduler and the data
health checker inside the server, and serves the quarantine, upload, connector and health
routes. Listed in ``taydo.core.app.COMPONENTS`` after ``taydo.ingest.api`` (it needs the
writer and the series index the observations component starts)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, FastAPI

from taydo.core.lifecycle import drop_subscription, mark_start, mark_stop
from taydo.ingest import health_api, quarantine, quarantine_api
from taydo.ingest.connectors import api as connectors_api
from taydo.ingest.connectors.service import Scheduler, seal_plain_secrets
from taydo.ingest.files import api as files_api
from taydo.ingest.health import HealthWatcher
from taydo.ingest.mqtt.gateway import MqttGateway, parse_broker_url
from taydo.ingest.mqtt.payload import IotaService
from taydo.ingest.resolve import EntityResolver

__all__ = ["iota_services", "router", "shutdown", "startup"]

log = logging.getLogger(__name__)

router = APIRouter()
router.include_router(quarantine_api.router)
router.include_router(health_api.router)
router.include_router(files_api.router)
router.include_router(connectors_api.router)


def iota_services(raw: dict[str, dict[str, str]]) -> dict[str, IotaService]:
    return {
        apikey: IotaService(agency=group["agency"], entity_type=group.get("type"))
        for apikey, group in raw.items()
    }


async def startup(app: FastAPI) -> None:
    settings = app.state.settings
    bus = app.state.bus
    # As in the observations component: the same app may be started again on another event
    # loop (nested test clients); the bus subscription moves to the newest loop and the
    # background tasks run once, on the first start.
    drop_subscription(app, "resolver_subscription")
    if not mark_start(app, "gateway_starts"):
        app.state.resolver_subscription = app.state.resolver.subscribe(bus)
        return
    resolver = EntityResolver(app.state.db)
    app.state.resolver = resolver
    app.state.resolver_subscription = resolver.subscribe(bus)
    app.state.mqtt = None
    app.state.connectors = Scheduler(app)
    sealed = await asyncio.to_thread(seal_plain_secrets, app.state.db, app.state.secrets)
    if sealed:
        log.info("sealed %d connector secret(s) stored in clear by an earlier version", sealed)
    if settings.connectors_enabled:
        await app.state.connectors.start()
    watcher = HealthWatcher(app.state.db, bus, settings.health_check_interval_s)
    app.state.health = watcher
    if settings.health_check_interval_s > 0:
        await watcher.start()
    if settings.mqtt_url:
        writer = app.state.writer
        database = app.state.db

        async def write(rows: list[tuple[int, int, float, int]]) -> None:
            await writer.write_rows(rows)

        async def keep(entries: list[Any]) -> None:
            await asyncio.to_thread(quarantine.put_many, database, entries)

        gateway = MqttGateway(
            parse_broker_url(settings.mqtt_url),
            series=app.state.series,
            resolver=resolver,
            write=write,
            quarantine=keep,
            client_id=settings.mqtt_client_id,
            topics=(f"{settings.mqtt_topic_prefix}/+/+/attrs", "/+/+/attrs", "/json/+/+/attrs"),
            prefix=settings.mqtt_topic_prefix,
            iota=iota_services(settings.mqtt_iota_services),
            batch_max=settings.mqtt_batch_max,
        )
        await gateway.start()
        app.state.mqtt = gateway


async def shutdown(app: FastAPI) -> None:
    drop_subscription(app, "resolver_subscription")
    if not mark_stop(app, "gateway_starts"):
        return  # still serving on another loop
    for name in ("mqtt", "connectors", "health"):
        part = getattr(app.state, name, None)
        if part is not None:
            await part.stop()
