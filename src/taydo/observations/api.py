"""REST API of the observations domain, and its start-up: the series index, the writer and
the periodic compaction of closed hours."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, FastAPI, Query, Request

from taydo.catalog.series import SeriesIndex
from taydo.core import clock
from taydo.core.access import Principal, requires
from taydo.core.errors import Invalid, NotFound
from taydo.core.lifecycle import (
    drop_subscription,
    mark_start,
    mark_stop,
    observations_settled,
)
from taydo.core.responses import FastJSONResponse
from taydo.core.clock import parse_timestamp
from taydo.observations.buckets import BUCKET_MS, HOUR_MS, Buckets
from taydo.observations.compaction import Compactor
from taydo.observations.query import MAX_BUCKETS, latest_values, series_buckets
from taydo.observations.schemas import LatestItem, SeriesAnswer
from taydo.observations.service import ObservationWriter

__all__ = ["router", "shutdown", "startup"]

router = APIRouter(prefix="/api/v1", tags=["observations"])

DAY_MS = 86_400_000
READ = requires("observations:read")


async def startup(app: FastAPI) -> None:
    settings = app.state.settings
    bus = app.state.bus
    # The bus subscription's queue belongs to the running event loop: when the same app is
    # started again on another loop (nested test clients, embedded servers), move it there.
    drop_subscription(app, "series_subscription")
    if not mark_start(app, "observation_starts"):  # running on another loop: share them
        app.state.series_subscription = app.state.series.subscribe(bus)
        return
    series = SeriesIndex(app.state.db)
    await asyncio.to_thread(series.load)
    app.state.series = series
    app.state.series_subscription = series.subscribe(bus)
    app.state.buckets = Buckets(settings.display_timezone)
    writer = ObservationWriter(
        app.state.db,
        bus=bus,
        timezone=settings.display_timezone,
        max_rows=settings.commit_max_rows,
    )
    await writer.start()
    app.state.writer = writer
    app.state.compactor = None
    if settings.observations_pack_after_hours > 0:
        compactor = Compactor(
            app.state.db,
            after_hours=settings.observations_pack_after_hours,
            interval_s=settings.observations_pack_interval_s,
        )
        await compactor.start()
        app.state.compactor = compactor


async def shutdown(app: FastAPI) -> None:
    drop_subscription(app, "series_subscription")
    if not mark_stop(app, "observation_starts"):
        return  # still serving on another loop
    compactor: Compactor | None = getattr(app.state, "compactor", None)
    if compactor is not None:
        await compactor.stop()
    writer: ObservationWriter | None = getattr(app.state, "writer", None)
    if writer is not None:
        await writer.stop()


def _instant(raw: str | None, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        return parse_timestamp(raw, coerce_strings=True)
    except (ValueError, OverflowError) as bad:
        raise Invalid(f"{name}: {bad}") from None


@router.get(
    "/entities/{entity_id}/series/{metric}",
    response_model=SeriesAnswer,
    summary="Chuỗi số liệu theo khoảng / Bucketed series",
)
async def get_series(
    request: Request,
    entity_id: str,
    metric: str,
    from_: str | None = Query(None, alias="from", description="ISO 8601 with offset, or ms"),
    to: str | None = Query(None, description="ISO 8601 with offset, or ms (exclusive)"),
    bucket: Literal["1m", "5m", "15m", "1h", "1d"] = "1h",
    agg: Literal["avg", "min", "max", "sum", "count", "last"] = "avg",
    _principal: Principal = READ,
) -> FastJSONResponse:
    """Buckets aligned in the display time zone; default range: the last 24 hours.
    1 h and 1 d buckets read the rollups."""
    end = _instant(to, "to") or clock.now_ms()
    start = _instant(from_, "from")
    if start is None:
        start = end - DAY_MS
    if start >= end:
        raise Invalid("from phải trước to / from must be before to")
    if (end - start) // BUCKET_MS[bucket] > MAX_BUCKETS:
        raise Invalid(
            f"quá {MAX_BUCKETS} khoảng; hãy chọn bucket lớn hơn / more than {MAX_BUCKETS} "
            "buckets: choose a larger bucket or a shorter range"
        )
    app = request.app
    series: SeriesIndex = app.state.series
    buckets: Buckets = app.state.buckets

    def run() -> tuple[str, list[tuple[int, float]]]:
        info = series.get(entity_id, metric)
        if info is None:
            raise NotFound("không có thực thể hoặc chỉ số này / unknown entity or metric")
        found = series_buckets(
            app.state.db,
            info.series_id,
            start_ms=start,
            end_ms=end,
            bucket=bucket,
            agg=agg,
            buckets=buckets,
        )
        return info.unit, found

    if BUCKET_MS[bucket] >= HOUR_MS:  # read from the rollups
        await observations_settled(app)
    unit, found = await asyncio.to_thread(run)
    show = buckets.show
    return FastJSONResponse(
        {
            "entity_id": entity_id,
            "metric": metric,
            "unit": unit,
            "bucket": bucket,
            "agg": agg,
            "from": show(start),
            "to": show(end),
            "points": [
                {"t": text, "v": value}
                for text, (_ts, value) in zip(
                    buckets.show_many([ts for ts, _ in found]), found, strict=True
                )
            ],
        }
    )


@router.get(
    "/latest",
    response_model=list[LatestItem],
    summary="Giá trị mới nhất / Latest values",
)
async def get_latest(
    request: Request,
    type: str | None = Query(None, description="Entity type, e.g. WaterObserved"),
    area: str | None = Query(None, description="Ward/commune code, or a province code"),
    agency: str | None = Query(None, description="Agency code"),
    entity_id: str | None = Query(None),
    _principal: Principal = READ,
) -> FastJSONResponse:
    """The latest value of every metric of the selected entities."""
    app = request.app
    await observations_settled(app)
    found = await asyncio.to_thread(
        latest_values,
        app.state.db,
        entity_type=type,
        area=area,
        agency=agency,
        entity_id=entity_id,
    )
    show = app.state.buckets.show
    return FastJSONResponse(
        [
            {
                "entity_id": v.entity_id,
                "entity_type": v.entity_type,
                "entity_name": v.entity_name,
                "area_code": v.area_code,
                "agency_code": v.agency_code,
                "metric": v.metric,
                "unit": v.unit,
                "ts": show(v.ts),
                "value": v.value,
                "quality": v.quality,
            }
            for v in found
        ]
    )
