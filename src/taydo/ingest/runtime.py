"""The ingest domain at run time.

``start``: the entity resolver (names and device ids → entities, following catalog changes)
and the NGSI-LD context resolver. ``open`` — once every domain has started, so that nothing
arrives before the writer and the alert engine listen — the doors to the outside: the MQTT
gateway, the pull-connector scheduler and the data-health checker.
"""

from __future__ import annotations

import asyncio
import logging

from taydo.catalog.series import SeriesIndex
from taydo.core.runtime import Runtime
from taydo.ingest import quarantine
from taydo.ingest.connectors.service import Scheduler, seal_plain_secrets
from taydo.ingest.counts import GatewayCounts
from taydo.ingest.health import HealthWatcher
from taydo.ingest.mqtt.gateway import MqttGateway, iota_services, parse_broker_url
from taydo.ingest.mqtt.payload import shared_topics, split_share
from taydo.ingest.ngsild.handlers import resolver
from taydo.ingest.resolve import EntityResolver
from taydo.observations.service import ObservationWriter

__all__ = ["open_gateways", "start", "stop"]

log = logging.getLogger(__name__)

CONNECTORS_DUTY = "ingest.connectors"
HEALTH_DUTY = "ingest.health"


async def start(runtime: Runtime) -> None:
    # As in the observations domain: the same app may be started again on another event
    # loop (nested test clients); the bus subscription moves to the newest loop and the
    # background tasks run once, on the first start.
    if not runtime.first_start("ingest"):
        runtime.keep_subscriptions("ingest", runtime.get(EntityResolver).subscribe(runtime.bus))
        return
    entities = runtime.provide(EntityResolver(runtime.db))
    runtime.provide(GatewayCounts())
    runtime.keep_subscriptions("ingest", entities.subscribe(runtime.bus))
    resolver(runtime)  # the NGSI-LD contexts, loaded before the first request needs them


async def open_gateways(runtime: Runtime) -> None:
    if runtime.find(Scheduler) is not None:
        return  # opened by an earlier start of this app
    settings = runtime.settings
    scheduler = runtime.provide(Scheduler(runtime))
    sealed = await asyncio.to_thread(seal_plain_secrets, runtime.db, runtime.secrets)
    if sealed:
        log.info("sealed %d connector secret(s) stored in clear by an earlier version", sealed)
    # Schedules and checks are duties: in a cluster one process runs each (taydo.core.lease).
    if settings.connectors_enabled:
        await runtime.leases.duty(CONNECTORS_DUTY, scheduler.start, scheduler.stop)
    watcher = runtime.provide(
        HealthWatcher(runtime.db, runtime.bus, settings.health_check_interval_s)
    )
    if settings.health_check_interval_s > 0:
        await runtime.leases.duty(HEALTH_DUTY, watcher.start, watcher.stop)
    if settings.mqtt_url:
        await _open_mqtt(runtime)


async def _open_mqtt(runtime: Runtime) -> None:
    settings = runtime.settings
    writer = runtime.get(ObservationWriter)
    database = runtime.db

    async def write(rows: list[tuple[int, int, float, int]]) -> None:
        await writer.write_rows(rows)

    async def keep(entries: list[quarantine.Entry]) -> None:
        await asyncio.to_thread(quarantine.put_many, database, entries)

    group, prefix = split_share(settings.mqtt_topic_prefix)
    topics = (f"{prefix}/+/+/attrs", "/+/+/attrs", "/json/+/+/attrs")
    gateway = MqttGateway(
        parse_broker_url(settings.mqtt_url or ""),
        series=runtime.get(SeriesIndex),
        resolver=runtime.get(EntityResolver),
        write=write,
        quarantine=keep,
        client_id=settings.mqtt_client_id,
        topics=shared_topics(group, topics),
        prefix=prefix,
        iota=iota_services(settings.mqtt_iota_services),
        batch_max=settings.mqtt_batch_max,
    )
    await gateway.start()
    runtime.provide(gateway)


async def stop(runtime: Runtime) -> None:
    runtime.drop_subscriptions("ingest")
    if not runtime.last_stop("ingest"):
        return  # still serving on another loop
    gateway, scheduler, watcher = (
        runtime.find(MqttGateway),
        runtime.find(Scheduler),
        runtime.find(HealthWatcher),
    )
    for duty in (CONNECTORS_DUTY, HEALTH_DUTY):
        await runtime.leases.drop_duty(duty)
    for part in (gateway, scheduler, watcher):
        if part is not None:
            await part.stop()
    for kind in (MqttGateway, Scheduler, HealthWatcher):
        runtime.discard(kind)
