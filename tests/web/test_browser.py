"""End-to-end in real headless Chromium (Debian's ``chromium``, driven by Playwright).

The real server runs on a free port with a temporary SQLite file and the Cần Thơ pack. The
tests log in, watch the live feed, act on an alert, switch language, and record every request
the page makes to prove none leaves the IOC's own origin. Screenshots of each page go to a
temporary directory; ``make screenshots`` runs these tests with ``TAYDO_SCREENSHOTS`` set to
``docs/screenshots/`` (shown in the README), so ``make test`` never rewrites tracked files.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from taydo.console.live import FEED_SIZE
from tests.serving import serve_in_thread

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SHOTS = Path(os.environ.get("TAYDO_SCREENSHOTS") or tempfile.mkdtemp(prefix="taydo-shots-"))
STATION = "urn:ngsi-ld:WaterObserved:can-tho"  # Trạm thủy văn Cần Thơ, Báo động 3 = 2.00 m

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="headless Chromium is missing: apt-get install -y chromium",
    ),
]


@dataclass
class Live:
    base: str
    database: Any
    accounts: dict[str, tuple[str, str]]
    token: str = ""
    requests: list[str] = field(default_factory=list)


def _ensure_station(database: Any) -> None:
    """The Cần Thơ hydrological station, as the pack's ``stations.yaml`` describes it; created
    here only while the pack does not carry stations yet."""
    from taydo.catalog.schemas import EntityIn, MetricIn
    from taydo.catalog.service import create_entity, list_entities

    if list_entities(database, type="WaterObserved", limit=1)[1]:
        return
    create_entity(
        database,
        EntityIn(
            entity_id=STATION,
            name="Trạm thủy văn Cần Thơ (sông Hậu)",
            agency="DKTTV",
            lon=105.7885,
            lat=10.0355,
            area_code="31135",
            attributes={"alarm_levels": {"1": 1.80, "2": 1.90, "3": 2.00}},
            tags=["flood", "tide"],
            metrics=[MetricIn(name="height", unit="MTR", min_valid=-5, max_valid=10)],
        ),
        None,
    )


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    from taydo.app import create_app
    from taydo.auth.service import ensure_demo_users, get_user, issue_token
    from taydo.core.db import Database
    from taydo.core.migrate import upgrade
    from taydo.core.plugins import make_plugin_manager, packs
    from taydo.core.settings import Settings
    from taydo.packs.loading import load_pack

    path = tmp_path_factory.mktemp("e2e") / "taydo.db"
    database = Database(f"sqlite:///{path}")
    upgrade(database)
    load_pack(database, packs(make_plugin_manager())["cantho"])
    _ensure_station(database)
    accounts = {role: (user, password) for user, password, role in ensure_demo_users(database)}
    operator = get_user(database, accounts["operator"][0])
    _row, token = issue_token(database, operator.id, "e2e feed")
    settings = Settings(database_url=database.url, dev=True, _env_file=None)  # type: ignore[call-arg]
    app = create_app(settings, database=database)
    try:
        with serve_in_thread(app) as base:
            yield Live(base, database, accounts, token)
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


def _page(browser: Any, live: Live, width: int = 1920, height: int = 1080) -> Any:
    # An operator's machine in Cần Thơ: charts draw times in the browser's zone.
    context = browser.new_context(
        viewport={"width": width, "height": height},
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("request", lambda request: live.requests.append(request.url))
    return page


def _login(page: Any, live: Live, role: str) -> None:
    username, password = live.accounts[role]
    page.goto(live.base + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(live.base + "/")


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def _post_level(live: Live, value: float) -> None:
    answer = httpx.post(
        live.base + "/api/v1/observations",
        json=[
            {
                "entity_id": STATION,
                "metric": "height",
                "ts": int(time.time() * 1000),
                "value": value,
            }
        ],
        headers={"Authorization": f"Bearer {live.token}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 1


def _origins(live: Live) -> list[str]:
    return [
        url
        for url in live.requests
        if not (url.startswith(live.base + "/") or url.startswith(("data:", "blob:")))
    ]


def test_operator_sees_an_alert_arrive_live_acknowledges_it_and_reads_english(
    browser: Any, live: Live
) -> None:
    from playwright.sync_api import expect

    page = _page(browser, live)
    _login(page, live, "operator")

    # The map shows the pack's stations as markers (clusters or single circles).
    expect(page.locator("#overview")).to_have_attribute("data-markers", _positive(), timeout=15_000)
    expect(page.locator("#map .leaflet-marker-icon.cluster, #map canvas").first).to_be_visible()
    expect(page.locator("#live.on")).to_be_attached(timeout=5_000)
    _shot(page, "overview")

    # Above Báo động 3 at the Cần Thơ station: its alert reaches the feed without a reload.
    page.evaluate("window.__noReload = true")
    _post_level(live, 2.35)
    item = page.locator("#feed li.feed-item").filter(has_text="Cần Thơ").first
    expect(item).to_be_visible(timeout=3_000)
    assert page.evaluate("window.__noReload") is True
    expect(page.locator("#counters .counter.sev-danger .value")).to_have_text("1")
    page.wait_for_timeout(800)
    _shot(page, "overview-alert")

    # Acknowledge it from the alert page.
    item.locator("a").click()
    page.wait_for_url(live.base + "/alerts/*")
    expect(page.locator("#alert-state")).to_contain_text("Đang cảnh báo")
    _shot(page, "alert-detail")
    page.click("#acknowledge")
    expect(page.locator("#alert-state")).to_contain_text("Đã tiếp nhận")

    # Switch to English: the same page, in English.
    page.click("a[lang=en]")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#alert-state")).to_contain_text("Acknowledged")
    expect(page.locator("nav")).to_contain_text("Overview")
    assert "Tổng quan" not in page.locator("nav").inner_text()
    page.context.close()

    assert _origins(live) == []


def _positive() -> Any:
    import re

    return re.compile(r"^[1-9]\d*$")


@pytest.mark.parametrize(
    ("name", "path", "width", "height"),
    [
        ("alerts", "/alerts?open=all", 1920, 1080),
        ("areas", "/areas", 1920, 1080),
        ("data", "/data", 1920, 1080),
        ("entity", f"/entities/{STATION}", 1920, 1080),
        ("overview-laptop", "/", 1366, 768),
        ("overview-wall", "/?wall=1&cycle=2", 1920, 1080),
    ],
)
def test_every_page_renders_in_the_browser(
    browser: Any, live: Live, name: str, path: str, width: int, height: int
) -> None:
    from playwright.sync_api import expect

    errors: list[str] = []
    page = _page(browser, live, width, height)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _login(page, live, "operator")
    page.goto(live.base + path)
    expect(page.locator("main")).to_be_visible()
    if name.startswith("overview"):
        expect(page.locator("#overview")).to_have_attribute("data-markers", _positive())
    if name == "entity":
        expect(page.locator(".chart canvas").first).to_be_attached()
    if name == "overview-wall":
        visible = page.locator("[data-panel]:not(.wall-hidden)")
        expect(visible).to_have_count(1)
        first = visible.get_attribute("data-panel")
        page.wait_for_timeout(2_500)
        assert visible.get_attribute("data-panel") != first
        # A day of alert traffic in fast motion: the page must not grow. Two parts change size
        # by design and are left out of the count: the map, whose cluster icons follow the
        # wall's fly-to animation (markers are keyed by entity, so they cannot pile up), and
        # the feed, which may fill up to its cap but never beyond it. Counting them made this
        # test fail whenever a burst ended mid-animation.
        nodes = (
            "document.getElementsByTagName('*').length"
            " - document.getElementById('map').getElementsByTagName('*').length"
            " - document.getElementById('feed').getElementsByTagName('*').length"
        )

        def burst() -> None:
            for _ in range(40):
                page.evaluate(
                    "document.body.dispatchEvent(new CustomEvent('taydo:alert', {detail: {}}))"
                )
                page.wait_for_timeout(50)
            page.wait_for_timeout(1_500)

        burst()
        before = page.evaluate(nodes)
        burst()
        assert page.evaluate(nodes) <= before + 5
        assert page.locator("#feed > li").count() <= FEED_SIZE
    # Nothing scrolls sideways at this size.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.wait_for_timeout(800)  # let map and chart animations settle before the picture
    _shot(page, name)
    page.context.close()
    assert errors == []
    assert _origins(live) == []


def test_an_officer_uploads_a_spreadsheet_from_the_data_page(
    browser: Any, live: Live, tmp_path: Path
) -> None:
    """The demo officer (Sở Nông nghiệp và Môi trường) maps the salinity dataset's columns,
    uploads a CSV from the file chooser and reads the result row by row."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from playwright.sync_api import expect

    hour = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")) - timedelta(hours=2)
    stamp = hour.strftime("%d/%m/%Y %H:00")
    sheet = tmp_path / "do-man-dai-ngai.csv"
    sheet.write_text(
        "Thời gian;Trạm;Độ mặn (‰)\n"
        f"{stamp};Trạm đo mặn Đại Ngãi (sông Hậu);2,5\n"
        f"{stamp};Trạm đo mặn Đại Ngãi (sông Hậu);không đo\n",
        encoding="utf-8",
    )
    page = _page(browser, live, 1366, 1000)
    _login(page, live, "agency_officer")
    page.goto(live.base + "/data")
    page.click("text=Tải tệp dữ liệu lên")
    page.select_option("select[name=dataset]", "salinity")
    page.click("form.filters button")
    expect(page.locator("form.mapping")).to_contain_text("salinity")  # the dataset's metrics
    page.fill("textarea[name=metrics]", "Độ mặn (‰) = salinity")
    page.click("form.mapping button")
    page.set_input_files("input[type=file]", str(sheet))
    page.click("form.upload button")
    result = page.locator("#result")
    expect(result).to_contain_text("Lưu một phần")
    expect(result).to_contain_text("không đo")
    expect(page.locator("table").last).to_contain_text("do-man-dai-ngai.csv")
    _shot(page, "upload")
    page.context.close()
    assert _origins(live) == []


def test_login_page_and_a_wrong_password(browser: Any, live: Live) -> None:
    from playwright.sync_api import expect

    page = _page(browser, live)
    page.goto(live.base + "/")
    page.wait_for_url(live.base + "/login?next=/")
    _shot(page, "login")
    page.fill("#username", live.accounts["operator"][0])
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_contain_text("Sai tên đăng nhập hoặc mật khẩu")
    page.context.close()


def test_a_viewer_sees_no_action_buttons(browser: Any, live: Live) -> None:
    from playwright.sync_api import expect

    page = _page(browser, live)
    _login(page, live, "viewer")
    page.goto(live.base + "/alerts?open=all")
    link = page.locator("table a[href^='/alerts/']").first
    if link.count() == 0:
        _post_level(live, 2.4)
        page.reload()
    link.click()
    expect(page.locator("#alert-state")).to_be_visible()
    expect(page.locator("form[action$='/acknowledge'], form[action$='/resolve']")).to_have_count(0)
    page.context.close()
