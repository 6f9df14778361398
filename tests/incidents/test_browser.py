"""The incident board and page in real headless Chromium at a phone's width: a change made
elsewhere (the API, another operator) shows without a reload over the live stream; a step is
completed from the page; the map shows the incident with its alert's station."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.web.test_browser import (  # the same server, browser and login as the console's
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

__all__ = ["browser", "live"]  # fixtures, used by name

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="headless Chromium is missing"),
]


def _api(live: Live, method: str, path: str, **kwargs: Any) -> Any:
    answer = httpx.request(
        method,
        live.base + path,
        headers={"Authorization": f"Bearer {live.token}"},
        timeout=10,
        **kwargs,
    )
    assert answer.status_code < 300, answer.text
    return answer.json()


def _no_horizontal_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_board_and_incident_page_are_live_on_a_phone(browser: Any, live: Live) -> None:
    from playwright.sync_api import expect

    page = _page(browser, live, width=390, height=844)
    _login(page, live, "operator")
    page.goto(live.base + "/incidents")
    expect(page.locator("#live.on")).to_be_attached(timeout=5_000)
    assert _no_horizontal_scroll(page)

    # An alert at the Cần Thơ station, made an incident through the API: the board shows it
    # in the "new" column without a reload.
    page.evaluate("window.__noReload = true")
    _post_level(live, 2.35)
    deadline = time.monotonic() + 10
    alerts: list[Any] = []
    while not alerts and time.monotonic() < deadline:
        alerts = _api(live, "GET", "/api/v1/alerts?active=true&area=31135")
        alerts = [a for a in alerts if a["entity_id"] == STATION]
        time.sleep(0.1)
    assert alerts, "the station's alert did not fire"
    created = _api(
        live,
        "POST",
        "/api/v1/incidents",
        json={"type": "tidal-flooding", "alert_id": alerts[0]["id"]},
    )
    card = page.locator(f"#col-new [data-incident='{created['id']}']")
    expect(card).to_be_visible(timeout=5_000)
    assert page.evaluate("window.__noReload") is True
    assert _no_horizontal_scroll(page)
    _shot(page, "incident-board-phone")

    # The incident page: one map with the incident and its alert's station; the SOP checklist
    card.locator("a").click()
    page.wait_for_url(live.base + f"/incidents/{created['id']}")
    expect(page.locator("#incident-map")).to_have_attribute("data-points", "2")
    expect(page.locator("#incident-status")).to_contain_text("Mới")
    verify = page.locator("#step-verify")
    verify.locator("input[name=f_water_level_m]").fill("2,35")
    verify.locator("button[type=submit]").click()
    expect(page.locator("#step-verify")).to_contain_text("Mực nước đo được (m): 2.35")
    expect(page.locator("#incident-status")).to_contain_text("Đang xử lý")
    assert _no_horizontal_scroll(page)

    # Someone else resolves it: the page follows without a reload
    page.evaluate("window.__noReload = true")
    _api(live, "POST", f"/api/v1/incidents/{created['id']}/status", json={"status": "resolved"})
    expect(page.locator("#incident-status")).to_contain_text("Đã xử lý xong", timeout=5_000)
    assert page.evaluate("window.__noReload") is True
    expect(page.locator("#timeline")).to_contain_text("Chuyển trạng thái")
    _shot(page, "incident-phone")
