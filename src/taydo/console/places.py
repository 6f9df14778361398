"""Areas for the console: the city's wards and communes with their entities and active alerts,
and their outlines as the map's background (no tile server: IOCs run on closed networks)."""

from __future__ import annotations

from typing import Any

from taydo.catalog.service import entities_per_area
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import NotFound
from taydo.geo.service import get_area, list_areas

__all__ = ["area_summary", "areas_geojson", "areas_table"]


def area_summary(database: Database, code: str) -> dict[str, Any] | None:
    try:
        return get_area(database, code)
    except NotFound:
        return None


def areas_table(
    database: Database, principal: Principal, province: str, alerts: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Every ward/commune of ``province`` with its entity count and active alert count."""
    areas, _total = list_areas(database, parent=province, limit=10_000)
    entities = entities_per_area(database, principal)
    alerting: dict[str, int] = {}
    for alert in alerts:
        code = alert.get("area_code")
        if code:
            alerting[code] = alerting.get(code, 0) + 1
    return [
        {**area, "entities": entities.get(area["code"], 0), "alerts": alerting.get(area["code"], 0)}
        for area in areas
    ]


def areas_geojson(database: Database, province: str, area: str | None = None) -> dict[str, Any]:
    """A FeatureCollection of the outlines loaded for the province's areas (maybe empty)."""
    if area:
        codes = [area]
    else:
        found, _total = list_areas(database, parent=province, has_geometry=True, limit=10_000)
        codes = [a["code"] for a in found]
    features = []
    for code in codes:
        try:
            item = get_area(database, code, geometry=True)
        except NotFound:
            continue
        if item.get("geometry"):
            features.append(
                {
                    "type": "Feature",
                    "geometry": item["geometry"],
                    "properties": {"code": item["code"], "name": item["name"]},
                }
            )
    return {"type": "FeatureCollection", "features": features}
