"""The overview map's parts besides its markers: the basemap (an operator's PMTiles file served
with HTTP Range requests, or a tile server of the IOC's own network), a station's popup card,
and the words the markers' hover text needs (metric labels and units).

Nothing comes from another host unless the operator configures a tile server
(``TAYDO_BASEMAP_URL``); with no basemap the map draws the ward outlines on a plain sheet.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response

from taydo.catalog.service import UNIT_SYMBOLS, load_entity_types
from taydo.console import overview as overview_data
from taydo.console.station import labels_of, zone_label
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.deps import AppRuntime, AppSettings
from taydo.core.errors import NotFound
from taydo.core.plugins import packs
from taydo.core.settings import Settings
from taydo.observations.runtime import settled
from taydo.web.i18n import locale_of, pick
from taydo.web.shell import page, render

__all__ = ["BASEMAP_PATH", "map_context", "marker_words", "router"]

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

BASEMAP_PATH = "/console/basemap.pmtiles"
PMTILES_TYPE = "application/vnd.pmtiles"


def map_context(settings: Settings) -> dict[str, Any]:
    """The overview template's basemap: ``kind`` pmtiles, tiles or none."""
    if settings.basemap_pmtiles is not None:
        basemap = {"kind": "pmtiles", "url": BASEMAP_PATH}
    elif settings.basemap_url:
        basemap = {"kind": "tiles", "url": settings.basemap_url}
    else:
        basemap = {"kind": "none", "url": ""}
    return {"basemap": {**basemap, "attribution": settings.basemap_attribution}}


@cache
def _units(data_dirs: tuple[Path, ...]) -> dict[tuple[str, str], str]:
    units: dict[tuple[str, str], str] = {}
    for data_dir in data_dirs:
        for type_name, spec in load_entity_types(data_dir).items():
            for name, metric in spec.metrics.items():
                units[(type_name, name)] = UNIT_SYMBOLS.get(metric.unit, metric.unit)
    return units


def marker_words(data: dict[str, Any], runtime: Any, locale: str) -> dict[str, Any]:
    """The map data with words: ``metrics`` as [label, unit] (in the caller's language) and
    ``labels`` (state code → name), so a marker's hover text needs no other request."""
    labels = labels_of(runtime.plugins)
    units = _units(tuple(pack.data_dir for _name, pack in sorted(packs(runtime.plugins).items())))
    data["metrics"] = [
        [pick(locale, *labels.metric_label(kind, name)), units.get((kind, name), "")]
        for kind, name in data.get("metrics", [])
    ]
    data["labels"] = {s.code: pick(locale, s.label, s.label_en) for s in overview_data.legend()}
    return data


@router.get(BASEMAP_PATH)
async def basemap(
    settings: AppSettings, _principal: Annotated[Principal, page("catalog:read")]
) -> Response:
    """The operator's PMTiles file (``TAYDO_BASEMAP_PMTILES``): the browser reads the parts it
    needs with Range requests (206 Partial Content; 416 for a range outside the file)."""
    path = settings.basemap_pmtiles
    if path is None:
        raise NotFound("no basemap file is configured (TAYDO_BASEMAP_PMTILES)")
    if not path.is_file():
        log.warning("basemap file %s is missing: the map draws no basemap", path)
        raise NotFound("the configured basemap file is missing")
    return FileResponse(
        path,
        media_type=PMTILES_TYPE,
        headers={"Cache-Control": "private, max-age=3600"},
    )


@router.get("/console/entities/{entity_id}/card")
async def entity_card(
    request: Request,
    runtime: AppRuntime,
    entity_id: str,
    principal: Annotated[Principal, page("catalog:read")],
) -> Response:
    """A station's popup on the map (an HTML fragment in the caller's language)."""
    await settled(runtime)
    card = await run_in_threadpool(overview_data.entity_card, runtime.db, principal, entity_id)
    labels = labels_of(runtime.plugins)
    locale = locale_of(request)
    for metric in card["metrics"]:
        metric["label"] = pick(locale, *labels.metric_label(card["type"], metric["name"]))
    card["type_label"] = pick(locale, *labels.type_label(card["type"]))
    context = {"card": card, "zone": zone_label(runtime.settings.tz, clock.now())}
    return render(request, "console/_map_card.html", context)
