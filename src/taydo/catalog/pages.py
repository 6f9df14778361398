"""Console screen of the catalog: the entity page (latest values, charts, alarm levels, map)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import NotFound
from taydo.core.lifecycle import observations_settled
from taydo.web.i18n import N_
from taydo.web.shell import page, render

__all__ = ["RANGES", "router"]

router = APIRouter(include_in_schema=False)

# The chart's range picker: (code, label, milliseconds, bucket). Ranges of a week or more use
# hourly or daily buckets, which the observations store answers from its rollups.
RANGES: tuple[tuple[str, str, int, str], ...] = (
    ("6h", N_("6 giờ"), 6 * 3_600_000, "5m"),
    ("24h", N_("24 giờ"), 24 * 3_600_000, "15m"),
    ("7d", N_("7 ngày"), 7 * 86_400_000, "1h"),
    ("30d", N_("30 ngày"), 30 * 86_400_000, "1h"),
    ("1y", N_("1 năm"), 365 * 86_400_000, "1d"),
)


def entity_view(database: Database, principal: Principal, entity_id: str) -> dict[str, Any]:
    """Everything the entity page shows; 404 as for a missing one when out of scope."""
    from taydo.catalog.service import get_entity
    from taydo.web import live

    entity = get_entity(database, entity_id)
    if not principal.may_see_agency(entity.get("agency")):
        raise NotFound(f"entity {entity_id!r} not found")
    try:
        from taydo.observations.query import latest_values
    except ImportError:  # no observations store: the page shows "no data yet"
        latest = {}
    else:
        latest = {v.metric: v for v in latest_values(database, entity_id=entity_id)}
    levels = (entity.get("attributes") or {}).get("alarm_levels") or {}
    metrics = [
        {
            **metric,
            "latest": latest.get(metric["name"]),
            # Alarm levels belong to the water-level metric (WaterObserved.height).
            "levels": levels if metric["name"] == "height" else {},
        }
        for metric in entity.get("metrics", [])
    ]
    alerts = [a for a in live.active_alerts(database, principal) if a.get("entity_id") == entity_id]
    return {"entity": entity, "metrics": metrics, "alerts": [live.feed_item(a) for a in alerts]}


@router.get("/entities/{entity_id}")
async def entity_page(
    request: Request, entity_id: str, principal: Annotated[Principal, page("catalog:read")]
) -> Response:
    await observations_settled(request.app)
    view = await run_in_threadpool(entity_view, request.app.state.db, principal, entity_id)
    chart_ranges = [
        {"code": code, "label": label, "ms": ms, "bucket": bucket}
        for code, label, ms, bucket in RANGES
    ]
    view["ranges"] = chart_ranges
    view["ranges_json"] = orjson.dumps(
        [{"code": r["code"], "ms": r["ms"], "bucket": r["bucket"]} for r in chart_ranges]
    ).decode()
    return render(request, "catalog/entity.html", view)
