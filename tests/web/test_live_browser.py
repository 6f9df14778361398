"""The console is live everywhere (issue 16, item 1), in real headless Chromium.

A new alarm reaches an open alerts list and an open wall without a reload; an acknowledgement
made in one browser reaches another; an expired session or a revoked display turns the live
mark red with the reason; a display screen pairs once and shows the wall. Every page here is
also checked for JavaScript errors. Waits are conditions (``expect``), never sleeps; the
2-second bound is the issue's requirement for "live".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.web.test_browser import (  # the server and browser fixtures of the console tests
    CHROMIUM,
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

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="headless Chromium is missing: apt-get install -y chromium"
    ),
]


@pytest.fixture
def errors() -> Iterator[list[str]]:
    found: list[str] = []
    yield found
    assert found == [], f"JavaScript errors: {found}"


def _watch(page: Any, errors: list[str]) -> Any:
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return page


def _operator_api(live: Live) -> httpx.Client:
    return httpx.Client(
        base_url=live.base, headers={"Authorization": f"Bearer {live.token}"}, timeout=10
    )


def _quiet(live: Live) -> None:
    """The station back under every alarm level, and no alert of it left open."""
    api = _operator_api(live)
    _post_level(live, 1.0)
    for alert in api.get("/api/v1/alerts", params={"active": True}).json():
        api.post(f"/api/v1/alerts/{alert['id']}/resolve", json={"note": "Kiểm thử: đóng"})


def test_a_new_alarm_appears_on_an_open_alerts_list_and_an_open_wall(
    browser: Any, live: Live, errors: list[str]
) -> None:
    from playwright.sync_api import expect

    _quiet(live)
    listing = _watch(_page(browser, live), errors)
    _login(listing, live, "operator")
    listing.goto(live.base + "/alerts")
    wall = _watch(_page(browser, live), errors)
    _login(wall, live, "leader")
    wall.goto(live.base + "/?wall=1")
    for page in (listing, wall):
        expect(page.locator("#live.on")).to_be_attached()
        page.evaluate("window.__noReload = true")

    _post_level(live, 2.4)  # above Báo động 3 at the Cần Thơ station
    row = listing.locator("#alert-rows tr[data-state=firing]").filter(has_text="Cần Thơ")
    expect(row.first).to_be_visible(timeout=LIVE_MS)
    expect(wall.locator("#feed li.feed-item").filter(has_text="Cần Thơ").first).to_be_visible(
        timeout=LIVE_MS
    )
    for page in (listing, wall):
        assert page.evaluate("window.__noReload") is True  # no reload happened
        expect(page.locator("#live")).to_have_attribute("data-state", "on")
    _shot(listing, "alerts-live")
    listing.context.close()
    wall.context.close()


def test_an_acknowledgement_in_one_browser_shows_in_another(
    browser: Any, live: Live, errors: list[str]
) -> None:
    from playwright.sync_api import expect

    _quiet(live)
    _post_level(live, 2.45)
    watcher = _watch(_page(browser, live), errors)
    _login(watcher, live, "leader")
    watcher.goto(live.base + "/alerts")
    row = watcher.locator("#alert-rows tr").filter(has_text="Cần Thơ").first
    expect(row).to_have_attribute("data-state", "firing")
    alert_id = row.get_attribute("data-alert")
    row = watcher.locator(f"#alert-rows tr[data-alert='{alert_id}']")
    # The leader also keeps the alert's own page open in a second tab.
    detail = _watch(watcher.context.new_page(), errors)
    detail.goto(f"{live.base}/alerts/{alert_id}")
    expect(detail.locator("#live.on")).to_be_attached()

    actor = _watch(_page(browser, live), errors)
    _login(actor, live, "operator")
    actor.goto(f"{live.base}/alerts/{alert_id}")
    actor.click("#acknowledge")  # the console's own form, not the API
    expect(actor.locator("#alert-state")).to_contain_text("Đã tiếp nhận")

    expect(row).to_have_attribute("data-state", "acknowledged", timeout=LIVE_MS)
    expect(row).to_contain_text("Đã tiếp nhận")
    expect(detail.locator("#alert-state")).to_contain_text("Đã tiếp nhận", timeout=LIVE_MS)
    actor.context.close()
    watcher.context.close()


def test_an_expired_session_marks_the_page_not_live(
    browser: Any, live: Live, errors: list[str]
) -> None:
    """A session that ends while the page is open: the stream closes at the session's end
    and the live mark turns red, says why and offers to log in again."""
    from playwright.sync_api import expect

    from taydo.auth.service import get_user
    from taydo.auth.sessions import COOKIE_NAME, create_session

    user = get_user(live.database, live.accounts["viewer"][0])
    with live.database.session() as session:
        started = create_session(session, user, hours=4 / 3600, address="127.0.0.1")  # 4 s
    page = _watch(_page(browser, live), errors)
    page.context.add_cookies(
        [{"name": COOKIE_NAME, "value": started.session_id, "url": live.base + "/"}]
    )
    page.goto(live.base + "/")
    expect(page.locator("#live.on")).to_be_attached()
    mark = page.locator("#live")
    expect(mark).to_have_attribute("data-state", "expired", timeout=15_000)
    expect(mark).to_have_class(re.compile(r"\boff\b"))
    expect(mark).to_contain_text("Phiên đăng nhập đã hết hạn")
    expect(mark.locator("a[href^='/login?next=']")).to_be_visible()
    _shot(page, "session-expired")
    page.context.close()


def test_a_display_screen_pairs_once_shows_the_wall_and_goes_dark_when_revoked(
    browser: Any, live: Live, errors: list[str]
) -> None:
    from playwright.sync_api import expect

    from taydo.auth.service import get_user, issue_token

    admin = get_user(live.database, live.accounts["admin"][0])
    _row, token = issue_token(live.database, admin.id, "e2e displays")
    api = httpx.Client(base_url=live.base, headers={"Authorization": f"Bearer {token}"})
    pairing = api.post("/api/v1/displays", json={"username": "wall-e2e"}).json()

    screen = _watch(_page(browser, live), errors)
    screen.goto(live.base + pairing["pair_url"])
    screen.click("#pair")
    screen.wait_for_url(live.base + "/?wall=1")
    expect(screen.locator("body.wall")).to_be_attached()
    expect(screen.locator("#live.on")).to_be_attached()
    expect(screen.locator("#overview")).to_have_attribute("data-markers", re.compile(r"^[1-9]"))

    assert api.delete("/api/v1/displays/wall-e2e").status_code == 204
    mark = screen.locator("#live")
    expect(mark).to_have_attribute("data-state", "revoked", timeout=LIVE_MS)
    expect(mark).to_contain_text("Màn hình đã bị thu hồi")
    screen.context.close()


def test_the_station_page_follows_new_values(browser: Any, live: Live, errors: list[str]) -> None:
    from playwright.sync_api import expect

    from tests.web.test_browser import STATION

    page = _watch(_page(browser, live), errors)
    _login(page, live, "operator")
    page.goto(f"{live.base}/entities/{STATION}")
    expect(page.locator("#live.on")).to_be_attached()
    expect(page.locator(".chart canvas").first).to_be_attached()
    page.evaluate("window.__noReload = true")
    _post_level(live, 1.234)
    card = page.locator(".metric[data-latest=height] .number")
    expect(card).to_have_text("1.23", timeout=LIVE_MS)
    _post_level(live, 2.468)  # above Báo động 3: its alert joins the page's list too
    expect(card).to_have_text("2.47", timeout=LIVE_MS)
    expect(page.locator("#entity-alerts li.feed-item").first).to_be_visible(timeout=LIVE_MS)
    assert page.evaluate("window.__noReload") is True
    page.context.close()


def test_a_lost_connection_turns_the_mark_red_and_the_wall_catches_up_by_itself(
    browser: Any, live: Live
) -> None:
    """The network drops and no error ever reaches the page (Chromium offline keeps the open
    stream, as a dead NAT entry would): once the stream has been silent past the heartbeat
    (the page's clock is moved on instead of waiting 40 s) the mark turns red and says why; a
    new alarm raised meanwhile shows once the network is back, without a reload or a login."""
    from playwright.sync_api import expect

    _quiet(live)
    wall = _page(browser, live)
    wall.clock.install()
    _login(wall, live, "leader")
    wall.goto(live.base + "/?wall=1")
    expect(wall.locator("#live.on")).to_be_attached()
    wall.evaluate("window.__noReload = true")
    wall.context.set_offline(True)
    wall.clock.fast_forward(45_000)  # past the 40 s watchdog: silent means lost
    mark = wall.locator("#live")
    expect(mark).to_have_attribute("data-state", "lost")
    expect(mark).to_have_class(re.compile(r"\boff\b"))
    expect(mark).to_contain_text("Mất kết nối")
    _post_level(live, 2.5)
    wall.context.set_offline(False)

    def reconnected() -> bool:
        wall.clock.fast_forward(5_000)  # let the retry timers run
        return wall.locator("#live").get_attribute("data-state") == "on"

    for _ in range(30):
        if reconnected():
            break
        wall.wait_for_timeout(200)
    expect(mark).to_have_attribute("data-state", "on")
    # (attached, not visible: the wall's panels took turns while the clock moved on)
    expect(wall.locator("#feed li.feed-item").filter(has_text="Cần Thơ").first).to_be_attached()
    assert wall.evaluate("window.__noReload") is True
    wall.context.close()
