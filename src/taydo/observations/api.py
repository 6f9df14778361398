"""REST API of the observations domain: bucketed series and latest values."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, Query

from taydo.core import clock
from taydo.core.access import Principal, requires
from taydo.core.clock import parse_timestamp
from taydo.core.deps import AppRuntime
from taydo.core.errors import Invalid, NotFound
from taydo.core.responses import FastJSONResponse
from taydo.observations.buckets import BUCKET_MS, HOUR_MS
from taydo.observations.query import MAX_BUCKETS, latest_values, series_buckets
from taydo.observations.runtime import Series, TimeBuckets, settled
from taydo.observations.schemas import LatestItem, SeriesAnswer

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["observations"])

DAY_MS = 86_400_000
READ = requires("observations:read")


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
    runtime: AppRuntime,
    series: Series,
    buckets: TimeBuckets,
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

    def run() -> tuple[str, list[dict[str, object]]]:
        # The whole answer is built here, off the event loop: a year of hourly buckets is
        # 8,760 times to format (~10 ms), which would hold every other request meanwhile.
        info = series.get(entity_id, metric)
        if info is None:
            raise NotFound("không có thực thể hoặc chỉ số này / unknown entity or metric")
        found = series_buckets(
            runtime.db,
            info.series_id,
            start_ms=start,
            end_ms=end,
            bucket=bucket,
            agg=agg,
            buckets=buckets,
        )
        texts = buckets.show_many([ts for ts, _ in found])
        points = [{"t": text, "v": value} for text, (_ts, value) in zip(texts, found, strict=True)]
        return info.unit, points

    if BUCKET_MS[bucket] >= HOUR_MS:  # read from the rollups
        await settled(runtime)
    unit, points = await asyncio.to_thread(run)
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
            "points": points,
        }
    )


@router.get(
    "/latest",
    response_model=list[LatestItem],
    summary="Giá trị mới nhất / Latest values",
)
async def get_latest(
    runtime: AppRuntime,
    buckets: TimeBuckets,
    type: str | None = Query(None, description="Entity type, e.g. WaterObserved"),
    area: str | None = Query(None, description="Ward/commune code, or a province code"),
    agency: str | None = Query(None, description="Agency code"),
    entity_id: str | None = Query(None),
    _principal: Principal = READ,
) -> FastJSONResponse:
    """The latest value of every metric of the selected entities."""
    await settled(runtime)
    found = await asyncio.to_thread(
        latest_values,
        runtime.db,
        entity_type=type,
        area=area,
        agency=agency,
        entity_id=entity_id,
    )
    show = buckets.show
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
