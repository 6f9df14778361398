"""The overview map in real headless Chromium: ward outlines and names, markers' hover text and
popup card, keyboard access to stations, the offline basemap (a PMTiles file read with HTTP
Range requests), nothing from another host and no console error.

The server runs with a temporary SQLite file, the Cần Thơ pack, six ward outlines imported
through ``taydo geo import``'s matcher from a small generated GeoJSON (the real boundaries are
an operator's import, docs/geography.md), three stations with values, and a tiny raster
PMTiles archive written here with the ``pmtiles`` package.
"""

from __future__ import annotations

import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.serving import serve_in_thread
from tests.web.test_browser import ARGS, CHROMIUM, SHOTS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="headless Chromium is missing: apt-get install -y chromium",
    ),
]

CENTRE = (105.75, 10.03)  # lon, lat: Ninh Kiều
CELL = 0.06  # degrees: each generated ward is a square this wide
HIGH = "urn:ngsi-ld:WaterObserved:map-high"  # above Báo động 2
CALM = "urn:ngsi-ld:WaterObserved:map-calm"
EMPTY = "urn:ngsi-ld:WaterObserved:map-empty"


@dataclass
class MapServer:
    base: str
    accounts: dict[str, tuple[str, str]]
    wards: list[str]  # the names of the outlines loaded
    token: str
    requests: list[Any] = field(default_factory=list)


def _png(rgb: tuple[int, int, int]) -> bytes:
    """A 256×256 PNG of one colour (a basemap tile), written by hand: zlib and struct."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * 256
    header = struct.pack(">IIBBBBB", 256, 256, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * 256, 9))
        + chunk(b"IEND", b"")
    )


def _tile_range(
    zoom: int, lon0: float, lat0: float, lon1: float, lat1: float
) -> Iterator[tuple[int, int]]:
    import math

    def tile(lon: float, lat: float) -> tuple[int, int]:
        n = 2**zoom
        x = int((lon + 180) / 360 * n)
        y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
        return x, y

    (x0, y0), (x1, y1) = tile(lon0, lat1), tile(lon1, lat0)
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            yield x, y


def write_pmtiles(path: Path, max_zoom: int = 9) -> int:
    """A raster PMTiles archive over the Mekong delta, zoom 0–``max_zoom``: one pale tile
    repeated (the writer stores it once). Returns the number of tiles addressed."""
    from pmtiles.tile import Compression, TileType, zxy_to_tileid
    from pmtiles.writer import Writer

    bounds = (104.5, 9.0, 107.0, 11.0)
    tile = _png((236, 232, 220))
    ids = sorted(
        zxy_to_tileid(z, x, y) for z in range(max_zoom + 1) for x, y in _tile_range(z, *bounds)
    )
    with path.open("wb") as handle:
        writer = Writer(handle)
        for tile_id in ids:
            writer.write_tile(tile_id, tile)
        writer.finalize(
            {
                "tile_type": TileType.PNG,
                "tile_compression": Compression.NONE,
                "min_lon_e7": int(bounds[0] * 1e7),
                "min_lat_e7": int(bounds[1] * 1e7),
                "max_lon_e7": int(bounds[2] * 1e7),
                "max_lat_e7": int(bounds[3] * 1e7),
                "center_zoom": 9,
                "center_lon_e7": int(CENTRE[0] * 1e7),
                "center_lat_e7": int(CENTRE[1] * 1e7),
            },
            {"attribution": "test tiles"},
        )
    return len(ids)


def ward_outlines(names: list[str]) -> dict[str, Any]:
    """Squares in a 3-column grid around the centre, one per ward name (a GeoJSON file as an
    operator would import it, matched by name)."""
    features = []
    for index, name in enumerate(names):
        col, row = index % 3, index // 3
        lon = CENTRE[0] + (col - 1) * CELL
        lat = CENTRE[1] + (0.5 - row) * CELL
        ring = [
            [lon - CELL / 2, lat - CELL / 2],
            [lon + CELL / 2, lat - CELL / 2],
            [lon + CELL / 2, lat + CELL / 2],
            [lon - CELL / 2, lat + CELL / 2],
            [lon - CELL / 2, lat - CELL / 2],
        ]
        features.append(
            {
                "type": "Feature",
                "properties": {"ten_xa": name},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _stations(database: Any) -> None:
    from taydo.catalog.schemas import EntityIn, MetricIn
    from taydo.catalog.service import create_entity

    levels = {"alarm_levels": {"1": 1.80, "2": 1.90, "3": 2.00}}
    for entity_id, name, lon, lat in (
        (HIGH, "Trạm thử mực nước cao", CENTRE[0] - CELL, CENTRE[1] + CELL / 2),
        (CALM, "Trạm thử bình thường", CENTRE[0] + CELL, CENTRE[1] - CELL / 2),
        (EMPTY, "Trạm thử chưa có số liệu", CENTRE[0], CENTRE[1] - CELL / 2),
    ):
        create_entity(
            database,
            EntityIn(
                entity_id=entity_id,
                name=name,
                agency="DKTTV",
                lon=lon,
                lat=lat,
                attributes=levels,
                metrics=[MetricIn(name="height", unit="MTR", min_valid=-5, max_valid=10)],
            ),
            None,
        )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MapServer]:
    from taydo.app import create_app
    from taydo.auth.service import ensure_demo_users, get_user, issue_token
    from taydo.core.db import Database
    from taydo.core.migrate import upgrade
    from taydo.core.plugins import make_plugin_manager, packs
    from taydo.core.settings import Settings
    from taydo.geo.importing import import_geojson
    from taydo.geo.service import list_areas
    from taydo.packs.loading import load_pack

    folder = tmp_path_factory.mktemp("map")
    database = Database(f"sqlite:///{folder / 'taydo.db'}")
    upgrade(database)
    load_pack(database, packs(make_plugin_manager())["cantho"])
    wards = [a["name"] for a in list_areas(database, parent="92", limit=6)[0]]
    report = import_geojson(
        database, orjson.dumps(ward_outlines(wards)), match="name", prop="ten_xa", province="92"
    )
    assert len(report.matched) == len(wards), report.as_dict()
    _stations(database)
    accounts = {role: (user, password) for user, password, role in ensure_demo_users(database)}
    token = issue_token(database, get_user(database, accounts["operator"][0]).id, "map")[1]
    archive = folder / "basemap.pmtiles"
    assert write_pmtiles(archive) > 10
    settings = Settings(  # type: ignore[call-arg]
        database_url=database.url, dev=True, basemap_pmtiles=archive, _env_file=None
    )
    app = create_app(settings, database=database)
    try:
        with serve_in_thread(app) as base:
            values = [
                {"entity_id": e, "metric": "height", "ts": int(time.time() * 1000), "value": v}
                for e, v in ((HIGH, 1.95), (CALM, 1.21))
            ]
            answer = httpx.post(
                f"{base}/api/v1/observations",
                json=values,
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            assert answer.status_code == 200 and answer.json()["accepted"] == 2, answer.text
            yield MapServer(base, accounts, wards, token)
    finally:
        database.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Opened:
    page: Any
    errors: list[str]
    requests: list[Any]


def _open(browser: Any, server: MapServer, width: int, height: int) -> Opened:
    from playwright.sync_api import expect

    context = browser.new_context(
        viewport={"width": width, "height": height},
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    requests: list[Any] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("request", lambda request: requests.append(request))
    username, password = server.accounts["operator"]
    page.goto(server.base + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(server.base + "/")
    overview = page.locator("#overview")
    # "All markers placed": the cluster layer took every marker of the map data.
    page.wait_for_function(
        "() => { const d = document.getElementById('overview').dataset;"
        " return d.markers && Number(d.markers) > 3 && d.placed === d.markers; }"
    )
    expect(overview).to_have_attribute("data-outlines", str(len(server.wards)))
    return Opened(page, errors, requests)


def _foreign(server: MapServer, requests: list[Any]) -> list[str]:
    return [
        r.url
        for r in requests
        if not (r.url.startswith(server.base + "/") or r.url.startswith(("data:", "blob:")))
    ]


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (390, 844)])
def test_outlines_names_markers_and_basemap_draw_offline(
    browser: Any, server: MapServer, width: int, height: int
) -> None:
    from playwright.sync_api import expect

    opened = _open(browser, server, width, height)
    page = opened.page
    # Every ward's name is on the map; at least one is shown (the rest may be decluttered).
    labels = page.locator(".leaflet-tooltip.area-label")
    expect(labels).to_have_count(len(server.wards))
    assert sorted(labels.all_text_contents()) == sorted(server.wards)
    # Zoomed in (the first fit of the view may still land after a first setZoom: ask until
    # the map is there), the names have room and at least one shows.
    page.wait_for_function(
        "() => { const m = TaydoMap.map; if (m.getZoom() < 13) m.setZoom(13, {animate: false});"
        " return m.getZoom() >= 13; }"
    )
    expect(page.locator(".area-label:not(.area-label-hidden)").first).to_be_visible()
    # The outlines are on the map's canvas (one path per ward, drawn by Leaflet).
    assert page.evaluate(
        "(() => { let n = 0; TaydoMap.map.eachLayer((l) => { if (l.feature) n++; }); return n; })()"
    ) == len(server.wards)
    # The basemap: the archive is read in parts (Range requests answered 206).
    expect(page.locator("#overview")).to_have_attribute("data-basemap-state", "raster")
    expect(page.locator("#map img.leaflet-tile-loaded").first).to_be_attached()
    ranged = [r for r in opened.requests if r.url.endswith("/console/basemap.pmtiles")]
    assert ranged, "the basemap archive was never requested"
    assert all(r.headers.get("range", "").startswith("bytes=") for r in ranged)
    statuses = {r.response().status for r in ranged if r.response() is not None}
    assert statuses == {206}, statuses
    assert len(ranged) >= 2  # header + root directory, then tile data
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("TaydoMap.map.setView([10.03, 105.75], 12, {animate: false})")
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / f"map-{width}x{height}.png"))
    assert _foreign(server, opened.requests) == []
    assert opened.errors == []
    page.context.close()


def test_hover_shows_the_value_and_the_popup_says_value_level_time_and_link(
    browser: Any, server: MapServer
) -> None:
    from playwright.sync_api import expect

    opened = _open(browser, server, 1920, 1080)
    page = opened.page
    page.evaluate("TaydoMap.map.setView([10.03, 105.75], 13, {animate: false})")
    point = page.evaluate(
        "(id) => { const m = TaydoMap.markers.get(id);"
        " const p = TaydoMap.map.latLngToContainerPoint(m.getLatLng());"
        " const r = document.getElementById('map').getBoundingClientRect();"
        " return [r.left + p.x, r.top + p.y]; }",
        HIGH,
    )
    page.mouse.move(point[0], point[1])
    tooltip = page.locator(".leaflet-tooltip:not(.area-label)")
    expect(tooltip).to_contain_text("Trạm thử mực nước cao")
    expect(tooltip).to_contain_text("Mực nước: 1.95 m")
    # The state in words: the alarm level reached, or the pack's rule's alert once it fired.
    expect(tooltip).to_contain_text(_re("Báo động 2|Cảnh báo"))
    page.mouse.click(point[0], point[1])
    card = page.locator(".leaflet-popup .map-card")
    expect(card).to_be_visible()
    expect(card.locator("h3")).to_have_text("Trạm thử mực nước cao")
    expect(card.locator(".card-values")).to_contain_text("1.95 m")
    expect(card.locator(".card-values")).to_contain_text("Báo động 2")
    expect(card.locator("time")).to_have_text(_re(r"^\d\d:\d\d \d\d/\d\d/\d{4}$"))
    expect(card.locator(".card-zone")).to_contain_text("UTC+7")
    expect(card.locator("a.card-link")).to_have_attribute("href", _re(r"^/entities/urn"))
    assert opened.errors == []
    assert _foreign(server, opened.requests) == []
    page.context.close()


def test_keyboard_reaches_every_station_in_view_and_enter_opens_its_popup(
    browser: Any, server: MapServer
) -> None:
    from playwright.sync_api import expect

    opened = _open(browser, server, 390, 844)
    page = opened.page
    ids = orjson.dumps([HIGH, CALM, EMPTY]).decode()
    page.evaluate(
        f"TaydoMap.map.fitBounds(L.latLngBounds({ids}.map((id) =>"
        " TaydoMap.markers.get(id).getLatLng())).pad(0.1), {animate: false})"
    )
    buttons = page.locator("#station-list button.station")
    for entity_id in (HIGH, CALM, EMPTY):
        expect(page.locator(f'#station-list button[data-id="{entity_id}"]')).to_have_count(1)
    # The most severe first; each button says the station's value and state in words.
    expect(buttons.first).to_contain_text("Trạm thử mực nước cao")
    expect(buttons.first).to_contain_text("1.95 m")
    expect(buttons.first).to_contain_text(_re("Báo động 2|Cảnh báo"))
    # Into the list (the map's cluster icons before it take Tab too), then Tab to the station.
    buttons.first.focus()
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.id") == CALM:
            break
    assert page.evaluate("document.activeElement.dataset.id") == CALM, "Tab never reached it"
    page.keyboard.press("Enter")
    card = page.locator(".leaflet-popup .map-card")
    expect(card.locator("h3")).to_have_text("Trạm thử bình thường")
    expect(card).to_contain_text("Bình thường")
    # Focus moves into the popup (its link), Escape closes it and returns to the list.
    expect(card.locator("a.card-link")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator(".leaflet-popup")).to_have_count(0)
    assert page.evaluate("document.activeElement.dataset.id") == CALM
    page.wait_for_timeout(400)  # the list catches up with the map: focus stays on it
    assert page.evaluate("document.activeElement.dataset.id") == CALM
    assert opened.errors == []
    page.context.close()


def _re(pattern: str) -> Any:
    import re

    return re.compile(pattern)


# ------------------------------------------------------------------ HTTP, no browser needed


def _session(server: MapServer) -> httpx.Client:
    return httpx.Client(
        base_url=server.base, timeout=10, headers={"Authorization": f"Bearer {server.token}"}
    )


def test_basemap_route_answers_ranges_and_refuses_outside_the_file(server: MapServer) -> None:
    with _session(server) as client:
        whole = client.get("/console/basemap.pmtiles")
        assert whole.status_code == 200
        assert whole.content[:7] == b"PMTiles"
        size = len(whole.content)
        part = client.get("/console/basemap.pmtiles", headers={"Range": "bytes=0-126"})
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes 0-126/{size}"
        assert part.content == whole.content[:127]
        # pmtiles.js asks for the first 16 KB whatever the size: the answer stops at the end.
        first = client.get("/console/basemap.pmtiles", headers={"Range": "bytes=0-16383"})
        assert first.status_code == 206
        assert first.content == whole.content[:16384]
        beyond = client.get(
            "/console/basemap.pmtiles", headers={"Range": f"bytes={size + 10}-{size + 20}"}
        )
        assert beyond.status_code == 416
    anonymous = httpx.get(server.base + "/console/basemap.pmtiles", timeout=10)
    assert anonymous.status_code == 401


def test_map_data_carries_hover_words_in_the_callers_language(server: MapServer) -> None:
    with _session(server) as client:
        data = client.get("/console/entities.json").json()
        rows = {row[0]: row for row in data["rows"]}
        high = rows[HIGH]
        # Báo động 2 reached; the pack's water-level rule may have raised a warning already.
        assert high[4] in ("level2", "warning") and high[7] == 1.95
        assert data["metrics"][high[8]] == ["Mực nước", "m"]
        assert data["labels"]["level2"] == "Báo động 2"
        assert rows[CALM][4] == "normal"
        assert rows[EMPTY][7] is None and rows[EMPTY][8] is None
        client.cookies.set("taydo_lang", "en")
        english = client.get("/console/entities.json").json()
        assert english["labels"]["level2"] == "Alarm level 2"
        assert english["metrics"][high[8]] == ["Water level", "m"]
        missing = client.get("/console/entities/urn:ngsi-ld:WaterObserved:nowhere/card")
        assert missing.status_code == 404
