"""The console's cross-domain screens: the overview and wall (map, counters, live feed), the
areas table and the station page. They read the domains' services; no domain reads them.

The areas page lives here rather than in ``geo``: it counts each area's entities and alerts,
and geo sits below the catalog and alerts.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from taydo.alerts.feed import feed_item
from taydo.alerts.runtime import live_context
from taydo.catalog.service import get_agency, get_dataset, get_entity
from taydo.console import live, mapview, places
from taydo.console import overview as overview_data
from taydo.console.places import area_summary, areas_geojson
from taydo.console.station import (
    AQI_METRICS,
    Labels,
    aqi_bands,
    aqi_view,
    labels_of,
    zone_label,
)
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.deps import AppRuntime, AppSettings, Db
from taydo.core.errors import NotFound
from taydo.core.runtime import runtime_of
from taydo.geo.names import loose_key
from taydo.kpi.service import list_sectors
from taydo.observations.query import latest_values
from taydo.observations.runtime import settled
from taydo.web.i18n import N_, locale_of
from taydo.web.shell import page, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _json(data: Any) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


def _area(request: Request, code: str | None) -> dict[str, Any] | None:
    if not code:
        return None
    found = area_summary(runtime_of(request.app).db, code)
    if found is None:
        raise NotFound(f"no area {code!r}")
    return found


@router.get("/")
async def overview(
    request: Request,
    db: Db,
    principal: Annotated[Principal, page("catalog:read")],
    area: str | None = None,
    cycle: int = 15,
) -> Response:
    """The map, counters and live feed; ``?wall=1``: the wall screen (clock, big counters per
    severity and sector, alert cards by severity, a focus chart that changes every ``cycle`` s).
    """
    chosen = await run_in_threadpool(_area, request, area)
    runtime = runtime_of(request.app)
    wall = _is_wall(request)
    context = {
        "area": chosen,
        "legend": overview_data.legend_groups(),
        "counters": await run_in_threadpool(live.counters, db, principal),
        "feed": await run_in_threadpool(live.wall_feed if wall else live.feed, db, principal, area),
        "cycle": min(max(cycle, 2), 600),
        **mapview.map_context(runtime.settings),
        **live_context(runtime, live.STREAM_URL),
    }
    if wall:
        context["sectors"] = await run_in_threadpool(_sector_counters, db, principal)
        context["display_tz"] = runtime.settings.display_timezone
        locale = locale_of(request)
        context["clock_text"] = live.wall_clock(clock.now(), runtime.settings.tz, locale)
    return render(request, "console/overview.html", context)


def _is_wall(request: Request) -> bool:
    return request.query_params.get("wall") == "1"


def _sector_counters(db: Database, principal: Principal) -> list[dict[str, Any]]:
    names = {s["code"]: (s["name"], s["name_en"] or s["name"]) for s in list_sectors(db)}
    return live.sector_counters(db, principal, names)


@router.get("/console/entities.json")
async def overview_entities(
    request: Request,
    runtime: AppRuntime,
    db: Db,
    principal: Annotated[Principal, page("catalog:read")],
    area: str | None = None,
) -> Response:
    await settled(runtime)
    data = await run_in_threadpool(
        overview_data.entity_rows,
        db,
        principal,
        area=area,
        cache=runtime.get(overview_data.EntityCache),
    )
    return _json(mapview.marker_words(data, runtime, locale_of(request)))


@router.get("/console/areas.geojson")
async def overview_areas(
    request: Request,
    db: Db,
    settings: AppSettings,
    _principal: Annotated[Principal, page("catalog:read")],
    area: str | None = None,
) -> Response:
    province = settings.console_area
    return _json(await run_in_threadpool(areas_geojson, db, province, area))


@router.get("/console/counters")
async def overview_counters(
    request: Request, db: Db, principal: Annotated[Principal, page("alerts:read")]
) -> Response:
    """The headline counters; ``?wall=1`` adds the wall's counters per sector."""
    context: dict[str, Any] = {"counters": await run_in_threadpool(live.counters, db, principal)}
    if _is_wall(request):
        context["sectors"] = await run_in_threadpool(_sector_counters, db, principal)
    return render(request, "console/_counters.html", context)


@router.get("/console/feed")
async def overview_feed(
    request: Request,
    db: Db,
    principal: Annotated[Principal, page("alerts:read")],
    area: str | None = None,
    entity: str | None = None,
) -> Response:
    """The live feed (``?entity=``: one station's active alerts, for its page; ``?wall=1``:
    the wall's cards, most severe first)."""
    if _is_wall(request):
        feed = await run_in_threadpool(live.wall_feed, db, principal, area)
    elif entity:
        found = await run_in_threadpool(live.active_alerts, db, principal)
        feed = [feed_item(a) for a in found if a.get("entity_id") == entity][: live.FEED_SIZE]
    else:
        feed = await run_in_threadpool(live.feed, db, principal, area)
    return render(request, "console/_feed.html", {"feed": feed})


AREA_KINDS = (N_("phường"), N_("xã"), N_("đặc khu"), N_("thành phố"), N_("tỉnh"))


def _areas_context(
    request: Request, principal: Principal, q: str, alerting: bool
) -> dict[str, Any]:
    database = runtime_of(request.app).db
    province = runtime_of(request.app).settings.console_area
    alerts = live.active_alerts(database, principal)
    rows = places.areas_table(database, principal, province, alerts)
    if q:
        wanted = loose_key(q)
        rows = [r for r in rows if wanted in loose_key(r["name"])]
    if alerting:
        rows = [r for r in rows if r["alerts"]]
    parent = places.area_summary(database, province)
    return {
        "areas": rows,
        "q": q,
        "alerting": alerting,
        "province_name": parent["name"] if parent else province,
    }


@router.get("/areas")
async def areas(
    request: Request,
    principal: Annotated[Principal, page("catalog:read")],
    q: str = "",
    alerting: bool = False,
) -> Response:
    context = await run_in_threadpool(_areas_context, request, principal, q.strip(), alerting)
    context.update(live_context(runtime_of(request.app), live.STREAM_URL))
    return render(request, "console/areas.html", context)


# ---------------------------------------------------------------- station page

# The chart's range picker: (code, label, milliseconds, bucket). Ranges of a week or more use
# hourly or daily buckets, which the observations store answers from its rollups.
RANGES: tuple[tuple[str, str, int, str], ...] = (
    ("6h", N_("6 giờ"), 6 * 3_600_000, "5m"),
    ("24h", N_("24 giờ"), 24 * 3_600_000, "15m"),
    ("7d", N_("7 ngày"), 7 * 86_400_000, "1h"),
    ("30d", N_("30 ngày"), 30 * 86_400_000, "1h"),
    ("1y", N_("1 năm"), 365 * 86_400_000, "1d"),
)


def entity_view(
    database: Database, principal: Principal, entity_id: str, labels: Labels | None = None
) -> dict[str, Any]:
    """Everything the entity page shows; 404 as for a missing one when out of scope."""
    entity = get_entity(database, entity_id)
    labels = labels or Labels({}, {}, {})
    if not principal.may_see_agency(entity.get("agency")):
        raise NotFound(f"entity {entity_id!r} not found")
    latest = {v.metric: v for v in latest_values(database, entity_id=entity_id)}
    levels = (entity.get("attributes") or {}).get("alarm_levels") or {}
    metrics = []
    for metric in entity.get("metrics", []):
        found = latest.get(metric["name"])
        is_aqi = metric["name"] in AQI_METRICS
        metrics.append(
            {
                **metric,
                "label": labels.metric_label(entity["type"], metric["name"]),
                "latest": found,
                # Alarm levels belong to the water-level metric (WaterObserved.height).
                "levels": levels if metric["name"] == "height" else {},
                "aqi": is_aqi,
                "band": aqi_view(found.value) if is_aqi and found is not None else None,
            }
        )
    # The air-quality index first: it is what the station is read for.
    metrics.sort(key=lambda m: not m["aqi"])
    alerts = [a for a in live.active_alerts(database, principal) if a.get("entity_id") == entity_id]
    agency = get_agency(database, entity["agency"]) if entity.get("agency") else None
    dataset = get_dataset(database, entity["dataset"]) if entity.get("dataset") else None
    return {
        "entity": entity,
        "type_label": labels.type_label(entity["type"]),
        "agency": (agency["name"], agency["name_en"]) if agency else None,
        "dataset_name": dataset["name"] if dataset else None,
        "metrics": metrics,
        "alerts": [feed_item(a) for a in alerts],
    }


@router.get("/entities/{entity_id}")
async def entity_page(
    request: Request,
    runtime: AppRuntime,
    entity_id: str,
    principal: Annotated[Principal, page("catalog:read")],
    chart_range: Annotated[str, Query(alias="range", max_length=8)] = "24h",
) -> Response:
    """The station page; ``?range=`` is the chart's range (an unknown one shows 24 hours)."""
    await settled(runtime)
    labels = labels_of(runtime.plugins)
    view = await run_in_threadpool(entity_view, runtime.db, principal, entity_id, labels)
    chart_ranges = [
        {"code": code, "label": label, "ms": ms, "bucket": bucket}
        for code, label, ms, bucket in RANGES
    ]
    view["ranges"] = chart_ranges
    view["ranges_json"] = orjson.dumps(
        [{"code": r["code"], "ms": r["ms"], "bucket": r["bucket"]} for r in chart_ranges]
    ).decode()
    # Live: this station's alerts and its new values (latest values and the chart follow).
    stream = f"{live.STREAM_URL}?{urlencode({'topics': 'alerts,values', 'entity': entity_id})}"
    view.update(live_context(runtime, stream))
    view["display_tz"] = runtime.settings.display_timezone
    view["zone"] = zone_label(runtime.settings.tz, clock.now())
    view["aqi_bands_json"] = orjson.dumps(aqi_bands()).decode()
    view["range_code"] = chart_range if any(r[0] == chart_range for r in RANGES) else "24h"
    return render(request, "console/entity.html", view)
