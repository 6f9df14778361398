"""The wall (``/?wall=1``, issue 16 item 2) in real headless Chromium, at 1920×1080 and at
3840×2160: no text under 24 px on the 4K wall (every visible text node's computed size), a
clock in Vietnam time that ticks, the alert cards sorted by severity then time, a new alarm
joining the cards in its place without a reload, the focus chart of the most severe station,
no horizontal scroll and no JavaScript errors. (A new alarm reaching the 1920×1080 wall within
2 s is ``test_live_browser.py::test_a_new_alarm_appears_on_an_open_alerts_list_and_an_open_wall``;
here it is checked at 4K, with its place among the cards.)
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.web.test_browser import (  # the server and browser fixtures of the console tests
    CHROMIUM,
    STATION,
    Live,
    _login,
    _page,
    _post_level,
    _shot,
    browser,
    live,
)

__all__ = ["browser", "live"]  # fixtures, imported for pytest

LIVE_MS = 2_000  # "within 2 s" (issue 16, Must hold)
SIZES = [(1920, 1080), (3840, 2160)]
CLOCK = re.compile(r"^(Thứ (Hai|Ba|Tư|Năm|Sáu|Bảy)|Chủ Nhật), \d\d/\d\d/\d{4} \d\d:\d\d$")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="headless Chromium is missing: apt-get install -y chromium"
    ),
]

# Every text node with a box on the screen: its computed font size, the text and its element.
TEXT_SIZES = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    const el = node.parentElement;
    if (!text || !el) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.opacity === "0") continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const boxes = Array.from(range.getClientRects()).filter((r) =>
      r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0
      && r.top < innerHeight && r.left < innerWidth);
    if (!boxes.length) continue;
    out.push([parseFloat(style.fontSize), text.slice(0, 40), el.tagName + "." + el.className]);
  }
  return out;
}"""


@pytest.fixture
def errors() -> Iterator[list[str]]:
    found: list[str] = []
    yield found
    assert found == [], f"JavaScript errors: {found}"


def _watch(page: Any, errors: list[str]) -> Any:
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return page


def _api(live: Live) -> httpx.Client:
    return httpx.Client(
        base_url=live.base, headers={"Authorization": f"Bearer {live.token}"}, timeout=10
    )


@pytest.fixture(scope="module")
def mixed(live: Live) -> list[tuple[str, str]]:
    """Open alerts of every severity on the pack's water-level stations, started in an order
    that differs from their severity order: (entity id, severity) of each."""
    from datetime import timedelta

    from taydo.alerts.models import Alert
    from taydo.catalog.service import list_entities
    from taydo.core import clock

    rows, _total = list_entities(live.database, type="WaterObserved", limit=20)
    stations = [r["entity_id"] for r in rows if r["entity_id"] != STATION]
    severities = ["danger", "watch", "emergency", "info", "warning", "danger", "watch"]
    assert len(stations) >= len(severities), "the pack has fewer stations than this test needs"
    now = clock.now()
    made = []
    with live.database.session() as session:
        for index, (entity, severity) in enumerate(zip(stations, severities, strict=False)):
            started = now - timedelta(minutes=7 * index + 1)
            session.add(
                Alert(
                    rule_code="wall-test",
                    rule_kind="threshold",
                    target=entity,
                    open_key=f"wall-test|{entity}",
                    state="firing",
                    severity=severity,
                    value=2.1,
                    entity_id=entity,
                    metric="height",
                    agency_code="DKTTV",
                    sector="natural-resources-environment",
                    title=f"Kiểm thử màn hình lớn — {severity}",
                    title_en=f"Wall test — {severity}",
                    started_at=started,
                    updated_at=started,
                )
            )
            made.append((entity, severity))
    # The most severe station has values for the focus chart (under its alarm levels).
    emergency = next(e for e, s in made if s == "emergency")
    now_ms = int(time.time() * 1000)
    answer = _api(live).post(
        "/api/v1/observations",
        json=[
            {"entity_id": emergency, "metric": "height", "ts": now_ms - k * 600_000, "value": v}
            for k, v in ((0, 0.62), (1, 0.71), (2, 0.55))
        ],
    )
    assert answer.status_code == 200, answer.text
    return made


def _cards(page: Any) -> list[tuple[int, int]]:
    return [
        (int(rank), int(started))
        for rank, started in page.eval_on_selector_all(
            "#feed li.feed-item",
            "items => items.map((li) => [li.dataset.rank, li.dataset.started])",
        )
    ]


def _assert_sorted(cards: list[tuple[int, int]]) -> None:
    assert cards, "no alert cards on the wall"
    expected = sorted(cards, key=lambda c: (-c[0], -c[1]))
    assert cards == expected, f"cards not by severity then time: {cards}"


@pytest.mark.parametrize(("width", "height"), SIZES, ids=["1080p", "4k"])
def test_the_wall_reads_from_afar(
    browser: Any,
    live: Live,
    mixed: list[tuple[str, str]],
    errors: list[str],
    width: int,
    height: int,
) -> None:
    from playwright.sync_api import expect

    page = _watch(_page(browser, live, width, height), errors)
    _login(page, live, "leader")
    page.goto(live.base + "/?wall=1")
    expect(page.locator("#overview")).to_have_attribute("data-markers", re.compile(r"^[1-9]"))
    expect(page.locator("#live.on")).to_be_attached()

    # The clock: Vietnamese day and date, Vietnam time (the browser's zone is also Vietnam's
    # here; the zone shown is the server's TAYDO_DISPLAY_TIMEZONE, checked in the next test).
    clock = page.locator("#wall-clock")
    expect(clock).to_have_text(CLOCK)

    # Cards: the most severe first, the newest first within a severity; every severity shows.
    _assert_sorted(_cards(page))
    shown = {
        m.group(1)
        for c in page.eval_on_selector_all("#feed li.feed-item", "l => l.map((li) => li.className)")
        if (m := re.search(r"sev-(\w+)", c))
    }
    assert {s for _e, s in mixed} <= shown
    # Counters per severity and per sector, as numbers.
    expect(page.locator("#counters .counter.sev-emergency .value")).to_have_text("1")
    expect(page.locator("#counters .counter.sev-danger .value")).to_have_text("2")
    sector = page.locator("#counters .sector[data-sector='natural-resources-environment']")
    expect(sector.locator(".value")).to_have_text(str(len(mixed)))
    expect(sector).to_contain_text("Tài nguyên – môi trường")

    # The focus: the most severe station's chart, through the series API.
    expect(page.locator("#focus-chart canvas").first).to_be_attached()
    emergency = next(e for e, s in mixed if s == "emergency")
    expect(page.locator("#focus-chart")).to_have_attribute("data-entity", emergency)
    expect(page.locator("#focus-meta")).to_contain_text("Cao nhất: 0,71 m")

    # Nothing scrolls, sideways or down.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.evaluate("document.documentElement.scrollHeight <= window.innerHeight")

    sizes = page.evaluate(TEXT_SIZES)
    assert len(sizes) > 20  # the walk did find the page's text
    if width >= 3840:
        small = [s for s in sizes if s[0] < 24]
        assert small == [], f"text under 24 px on the 4K wall: {small[:10]}"
        # The legend takes its turn: its text too.
        page.locator("[data-panel=legend]").evaluate("el => el.classList.remove('wall-hidden')")
        page.locator("[data-panel=focus]").evaluate("el => el.classList.add('wall-hidden')")
        legend = [s for s in page.evaluate(TEXT_SIZES) if s[0] < 24]
        assert legend == [], f"text under 24 px on the 4K wall's legend: {legend[:10]}"
    page.wait_for_timeout(500)
    _shot(page, f"wall-{height}p")
    page.context.close()


def test_the_clock_shows_vietnam_time_and_ticks(
    browser: Any, live: Live, errors: list[str]
) -> None:
    """The browser's own zone is UTC here: the clock still shows Vietnam time (UTC+7)."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1920, "height": 1080}, timezone_id="UTC")
    page = _watch(context.new_page(), errors)
    _login(page, live, "viewer")
    # Thursday 3 December 2026, 08:41:30 UTC = 15:41:30 in Vietnam.
    page.clock.install(time=datetime(2026, 12, 3, 8, 41, 30, tzinfo=UTC))
    page.goto(live.base + "/?wall=1")
    clock = page.locator("#wall-clock")
    expect(clock).to_have_text("Thứ Năm, 03/12/2026 15:41")
    page.clock.run_for(31_000)
    expect(clock).to_have_text("Thứ Năm, 03/12/2026 15:42")
    page.clock.fast_forward(8 * 3_600_000 + 18 * 60_000)  # past midnight: the day turns too
    expect(clock).to_have_text("Thứ Sáu, 04/12/2026 00:00")
    context.close()


def test_a_new_alarm_takes_its_place_on_the_4k_wall_within_2_s(
    browser: Any, live: Live, mixed: list[tuple[str, str]], errors: list[str]
) -> None:
    from playwright.sync_api import expect

    _quiet_station(live)
    page = _watch(_page(browser, live, 3840, 2160), errors)
    _login(page, live, "leader")
    page.goto(live.base + "/?wall=1")
    expect(page.locator("#live.on")).to_be_attached()
    page.evaluate("window.__noReload = true")
    before = page.locator("#feed li.feed-item").count()

    _post_level(live, 2.4)  # above Báo động 3 at the Cần Thơ station: a "danger" alarm
    card = page.locator(f"#feed li.feed-item.sev-danger[data-entity='{STATION}']")
    expect(card).to_be_visible(timeout=LIVE_MS)
    assert page.locator("#feed li.feed-item").count() > before
    _assert_sorted(_cards(page))
    # The new danger card comes after the emergency one and before the older dangers (the
    # same rise may also raise a ward's flood risk and a "rising fast" watch).
    ids = page.eval_on_selector_all(
        "#feed li.feed-item", "l => l.map((li) => [li.dataset.entity, li.dataset.rank])"
    )
    mine = ids.index([STATION, "4"])
    older = [ids.index([e, "4"]) for e, s in mixed if s == "danger"]
    emergency = ids.index([next(e for e, s in mixed if s == "emergency"), "5"])
    assert emergency < mine < min(older), ids
    dangers = page.locator("#feed li.feed-item.sev-danger").count()
    assert dangers >= 3
    expect(page.locator("#counters .counter.sev-danger .value")).to_have_text(str(dangers))
    assert page.evaluate("window.__noReload") is True
    page.context.close()
    _quiet_station(live)


def _quiet_station(live: Live) -> None:
    """The Cần Thơ station under every alarm level and its alarms closed (the others stay)."""
    api = _api(live)
    _post_level(live, 1.0)
    for alert in api.get("/api/v1/alerts", params={"active": True, "limit": 500}).json():
        if alert.get("entity_id") == STATION:
            api.post(f"/api/v1/alerts/{alert['id']}/resolve", json={"note": "Kiểm thử: đóng"})
