"""The station page in real headless Chromium (issue 16, items 6 and 7).

The browser runs in New York time while the IOC shows Vietnam time: the chart must follow the
IOC. A 2.07 m peak above Báo động 3 inside one hour stays visible on the hourly chart; the
alarm-level labels do not overlap; the tooltip works under the page's CSP (no console error);
the chosen range survives a reload; VN_AQI shows its band's colour and name. What the chart
drew is read from ECharts itself (its options and the texts it painted on the canvas).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from taydo.rules.choices import aqi_band
from tests.web.test_browser import CHROMIUM, STATION, Live, _login, _shot, browser, live

__all__ = ["browser", "live"]  # fixtures, imported for pytest

HOUR = 3_600_000
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
AIR = "urn:ngsi-ld:AirQualityObserved:kk-ninh-kieu"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="headless Chromium is missing: apt-get install -y chromium"
    ),
]

# Texts ECharts painted on a chart's canvas, with their boxes in canvas pixels.
PAINTED = """(selector) => {
  const chart = echarts.getInstanceByDom(document.querySelector(selector));
  const out = [];
  chart.getZr().storage.getDisplayList(true).forEach((el) => {
    const text = el.style && el.style.text;
    if (typeof text !== "string" || !text) return;
    const box = el.getBoundingRect().clone();
    if (el.transform) box.applyTransform(el.transform);
    out.push({ text, x: box.x, y: box.y, width: box.width, height: box.height });
  });
  return out;
}"""


@pytest.fixture
def errors() -> Iterator[list[str]]:
    found: list[str] = []
    yield found
    assert found == [], f"JavaScript errors: {found}"


def _new_york_page(browser: Any, errors: list[str]) -> Any:
    context = browser.new_context(
        viewport={"width": 1920, "height": 1080}, locale="vi-VN", timezone_id="America/New_York"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return page


def _post(live: Live, entity_id: str, metric: str, points: list[tuple[int, float]]) -> None:
    answer = httpx.post(
        live.base + "/api/v1/observations",
        json=[{"entity_id": entity_id, "metric": metric, "ts": ts, "value": v} for ts, v in points],
        headers={"Authorization": f"Bearer {live.token}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == len(points)


def _peak_hour(live: Live) -> int:
    """An hour three hours ago: twelve readings of 0.2 m and one 2.07 m peak (BĐ3 is 2.00)."""
    hour = int(time.time() * 1000) // HOUR * HOUR - 3 * HOUR
    readings = [(hour + minute * 60_000, 0.2) for minute in range(0, 60, 5) if minute != 25]
    _post(live, STATION, "height", [*readings, (hour + 25 * 60_000, 2.07)])
    return hour


def _intersect(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def test_hourly_chart_keeps_the_peak_in_vietnam_time_with_readable_labels(
    browser: Any, live: Live, errors: list[str]
) -> None:
    from playwright.sync_api import expect

    hour = _peak_hour(live)
    api = httpx.Client(base_url=live.base, headers={"Authorization": f"Bearer {live.token}"})
    series = f"/api/v1/entities/{STATION}/series/height"
    window = {"from": hour, "to": hour + HOUR, "bucket": "1h"}
    mean = api.get(series, params={**window, "agg": "avg"}).json()["points"]
    assert mean and mean[0]["v"] < 2.0  # an average chart would hide the peak under BĐ3

    page = _new_york_page(browser, errors)
    _login(page, live, "operator")
    page.goto(f"{live.base}/entities/{STATION}?range=7d")
    chart = ".chart[data-metric=height]"
    expect(page.locator(chart)).to_have_attribute("data-drawn", "7d")
    expect(page.locator("button.range[data-range='7d']")).to_have_attribute("aria-pressed", "true")
    highest = page.evaluate(
        """(selector) => {
          const chart = echarts.getInstanceByDom(document.querySelector(selector));
          const data = chart.getOption().series[2].data;
          const top = Math.max(...data.map((p) => p[1]));
          const index = data.findIndex((p) => p[1] === top);
          chart.dispatchAction({ type: "showTip", seriesIndex: 2, dataIndex: index });
          return top;
        }""",
        chart,
    )
    assert highest >= 2.07

    painted = page.evaluate(PAINTED, chart)
    texts = [t["text"] for t in painted]
    # The tooltip: the peak's hour in Vietnam time (the browser is 12 hours behind), in words.
    shown = datetime.fromtimestamp(hour / 1000, VIETNAM).strftime("%d/%m/%Y %H:%M")
    assert any(f"{shown} (UTC+7)" in text for text in texts), texts
    assert any("Cao nhất: 2,07 m" in text for text in texts), texts
    # The three alarm-level labels are drawn and none overlaps another.
    levels = [t for t in painted if t["text"].startswith("BĐ")]
    assert sorted(t["text"].split(" ")[0] for t in levels) == ["BĐ1", "BĐ2", "BĐ3"]
    for i, one in enumerate(levels):
        for other in levels[i + 1 :]:
            assert not _intersect(one, other), (one, other)
    expect(page.locator("#chart-zone")).to_contain_text("giờ Việt Nam (UTC+7)")
    _shot(page, "station-peak")
    page.context.close()


def test_the_chosen_range_is_kept_in_the_address_and_restored(
    browser: Any, live: Live, errors: list[str]
) -> None:
    from playwright.sync_api import expect

    page = _new_york_page(browser, errors)
    _login(page, live, "viewer")
    page.goto(f"{live.base}/entities/{STATION}")
    chart = page.locator(".chart[data-metric=height]")
    expect(chart).to_have_attribute("data-drawn", "24h")
    page.click("button.range[data-range='30d']")
    expect(chart).to_have_attribute("data-drawn", "30d")
    assert page.url.endswith("?range=30d")
    page.reload()
    expect(chart).to_have_attribute("data-drawn", "30d")
    expect(page.locator("button.range[data-range='30d']")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("button.range[data-range='24h']")).to_have_attribute(
        "aria-pressed", "false"
    )
    page.context.close()


def test_vn_aqi_shows_its_band_and_the_page_speaks_words(
    browser: Any, live: Live, errors: list[str]
) -> None:
    from playwright.sync_api import expect

    now = int(time.time() * 1000)
    # NowCast needs two of the last three hours.
    _post(live, AIR, "pm25", [(now - HOUR, 62.0), (now, 64.0)])
    api = httpx.Client(base_url=live.base, headers={"Authorization": f"Bearer {live.token}"})
    deadline = time.monotonic() + 10  # the tracker derives VN_AQI after the write
    aqi: list[dict[str, Any]] = []
    while not aqi and time.monotonic() < deadline:
        latest = api.get("/api/v1/latest", params={"entity_id": AIR}).json()
        aqi = [v for v in latest if v["metric"] == "aqi"]
    assert aqi, "no VN_AQI was derived"
    band = aqi_band(aqi[0]["value"])

    page = _new_york_page(browser, errors)
    _login(page, live, "viewer")
    page.goto(f"{live.base}/entities/{AIR}")
    card = page.locator(".metric[data-latest=aqi]")
    expect(card.locator(".aqi-band")).to_have_text(band.vi)
    background = card.locator(".aqi-band").evaluate("(el) => getComputedStyle(el).backgroundColor")
    red, green, blue = (int(band.colour[i : i + 2], 16) for i in (1, 3, 5))
    assert background == f"rgb({red}, {green}, {blue})"
    aqi_title = re.compile(r"^\s*Chỉ số chất lượng không khí VN_AQI\s*$")  # not the daily one
    expect(page.locator("h2").filter(has_text=aqi_title)).to_have_count(1)
    chart = ".chart[data-metric=aqi]"
    expect(page.locator(chart)).to_have_attribute("data-drawn", "24h")
    pieces = page.evaluate(
        "(s) => echarts.getInstanceByDom(document.querySelector(s))"
        ".getOption().visualMap[0].pieces",
        chart,
    )
    assert [p["color"] for p in pieces] == [
        "#00e400",
        "#ffff00",
        "#ff7e00",
        "#ff0000",
        "#8f3f97",
        "#7e0023",
    ]
    assert any(band.vi in t["text"] for t in page.evaluate(PAINTED, chart))  # in the legend
    # Words, not codes, in the Vietnamese page (the identifier row shows the id on purpose).
    text = page.evaluate(
        """() => { const copy = document.getElementById("entity").cloneNode(true);
                   copy.querySelectorAll("code").forEach((c) => c.remove());
                   return copy.innerText; }"""
    )
    for code in ("pm25", "pm10", "AirQualityObserved", "aqi (", "SNNMT", "height"):
        assert code not in text, code
    assert "Bụi PM2.5" in text and "Trạm quan trắc không khí" in text
    _shot(page, "station-aqi")

    # Live: a new PM2.5 value gives a new VN_AQI; the open card follows without a reload.
    page.evaluate("window.__noReload = true")
    _post(live, AIR, "pm25", [(int(time.time() * 1000), 400.0)])
    deadline = time.monotonic() + 10
    newer: list[dict[str, Any]] = []
    while not newer and time.monotonic() < deadline:
        latest = api.get("/api/v1/latest", params={"entity_id": AIR}).json()
        newer = [v for v in latest if v["metric"] == "aqi" and v["value"] != aqi[0]["value"]]
    assert newer, "no new VN_AQI was derived"
    moved = aqi_band(newer[0]["value"])
    assert moved.code != band.code
    expect(card.locator(".aqi-band")).to_have_text(moved.vi, timeout=2_000)
    expect(card).to_have_class(re.compile(rf"\baqi-{moved.code}\b"))
    assert page.evaluate("window.__noReload") is True
    page.context.close()
