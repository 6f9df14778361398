"""The observations domain at run time: the series index, the group-commit writer and the
periodic storage maintenance (compaction of closed hours, then retention); and the typed
request dependencies for them."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Depends, Request

from taydo.catalog.series import SeriesIndex
from taydo.core.runtime import Runtime, runtime_of
from taydo.observations.buckets import Buckets
from taydo.observations.maintenance import StorageMaintainer
from taydo.observations.service import ObservationWriter

__all__ = ["Series", "TimeBuckets", "Writer", "settled", "start", "stop"]


COMPACTION_DUTY = "observations.compaction"


async def start(runtime: Runtime) -> None:
    settings = runtime.settings
    # The bus subscription's queue belongs to the running event loop: when the same app is
    # started again on another loop (nested test clients, embedded servers), move it there.
    if not runtime.first_start("observations"):  # running on another loop: share them
        runtime.keep_subscriptions(
            "observations", [runtime.get(SeriesIndex).subscribe(runtime.bus)]
        )
        return
    series = SeriesIndex(runtime.db)
    await asyncio.to_thread(series.load)
    runtime.provide(series)
    runtime.keep_subscriptions("observations", [series.subscribe(runtime.bus)])
    runtime.listen("catalog.changed", series.hear_local_change)
    runtime.provide(Buckets(settings.display_timezone))
    writer = ObservationWriter(
        runtime.db,
        bus=runtime.bus,
        timezone=settings.display_timezone,
        max_rows=settings.commit_max_rows,
    )
    await writer.start()
    runtime.provide(writer)
    if settings.observations_pack_after_hours > 0:
        compactor = StorageMaintainer(
            runtime.db,
            after_hours=settings.observations_pack_after_hours,
            interval_s=settings.observations_pack_interval_s,
        )
        # A duty: in a cluster one process compacts (taydo.core.lease).
        await runtime.leases.duty(COMPACTION_DUTY, compactor.start, compactor.stop)
        runtime.provide(compactor)


async def stop(runtime: Runtime) -> None:
    runtime.drop_subscriptions("observations")
    if not runtime.last_stop("observations"):
        return  # still serving on another loop
    runtime.unlisten("catalog.changed", runtime.get(SeriesIndex).hear_local_change)
    compactor = runtime.find(StorageMaintainer)
    if compactor is not None:
        await runtime.leases.drop_duty(COMPACTION_DUTY)
        await compactor.stop()
        runtime.discard(StorageMaintainer)
    writer = runtime.find(ObservationWriter)
    if writer is not None:
        await writer.stop()


async def settled(runtime: Runtime) -> None:
    """Before reading rollups or latest values: wait until the writer (if running) has
    applied everything it has answered (``ObservationWriter.sync``)."""
    writer = runtime.find(ObservationWriter)
    if writer is not None:
        await writer.sync()


async def _writer(request: Request) -> ObservationWriter:
    return runtime_of(request.app).get(ObservationWriter)


async def _series(request: Request) -> SeriesIndex:
    return runtime_of(request.app).get(SeriesIndex)


async def _buckets(request: Request) -> Buckets:
    return runtime_of(request.app).get(Buckets)


Writer = Annotated[ObservationWriter, Depends(_writer)]
Series = Annotated[SeriesIndex, Depends(_series)]
TimeBuckets = Annotated[Buckets, Depends(_buckets)]
