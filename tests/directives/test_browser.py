"""Directives in real headless Chromium: the leader issues one from the tracker on a laptop,
the agency officer reports progress with a photo from a phone (390 px), and the leader's
directive page follows live (Server-Sent Events) until the completion is accepted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.directives.conftest import jpeg
from tests.serving import serve_in_thread
from tests.web.test_browser import SHOTS

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="apt-get install -y chromium"),
]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from taydo.app import create_app
    from taydo.auth.service import ensure_demo_users
    from taydo.core.db import Database
    from taydo.core.migrate import upgrade
    from taydo.core.plugins import make_plugin_manager, packs
    from taydo.core.settings import Settings
    from taydo.packs.loading import load_pack

    folder = tmp_path_factory.mktemp("directives-e2e")
    database = Database(f"sqlite:///{folder / 'taydo.db'}")
    upgrade(database)
    load_pack(database, packs(make_plugin_manager())["cantho"])
    accounts = {role: (user, password) for user, password, role in ensure_demo_users(database)}
    settings = Settings(  # type: ignore[call-arg]
        database_url=database.url, dev=True, directives_files_dir=folder / "files", _env_file=None
    )
    app = create_app(settings, database=database)
    try:
        with serve_in_thread(app) as base:
            yield {"base": base, "accounts": accounts, "folder": folder}
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


def _page(browser: Any, live: dict[str, Any], width: int, height: int, problems: list[str]) -> Any:
    context = browser.new_context(
        viewport={"width": width, "height": height},
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
        is_mobile=width < 500,
        has_touch=width < 500,
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on(
        "request",
        lambda r: (
            None
            if r.url.startswith((live["base"] + "/", "data:", "blob:"))
            else problems.append("outside request: " + r.url)
        ),
    )
    return page


def _login(page: Any, live: dict[str, Any], role: str) -> None:
    username, password = live["accounts"][role]
    page.goto(live["base"] + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(live["base"] + "/")


def test_issue_report_from_a_phone_and_follow_live(browser: Any, live: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    from taydo.core import clock

    problems: list[str] = []
    leader = _page(browser, live, 1366, 900, problems)
    _login(leader, live, "leader")
    leader.goto(live["base"] + "/directives")
    leader.fill("input[name=title]", "Khơi thông cống thoát nước đường Mậu Thân")
    leader.fill("textarea[name=description]", "Nạo vét trước đợt triều cường cuối tháng")
    leader.check("input[name=agencies][value=SNNMT]")
    due = (clock.now() + timedelta(days=3)).astimezone(
        __import__("zoneinfo").ZoneInfo("Asia/Ho_Chi_Minh")
    )
    leader.fill("input[name=due_at]", due.strftime("%Y-%m-%dT%H:%M"))
    leader.select_option("select[name=priority]", "high")
    leader.click("#new-directive button[type=submit]")
    leader.wait_for_url(live["base"] + "/directives/*")
    expect(leader.locator("#part-SNNMT")).to_contain_text("Đã giao")
    expect(leader.locator("#live.on")).to_be_attached(timeout=5_000)
    leader.evaluate("window.__noReload = true")

    officer = _page(browser, live, 390, 844, problems)
    _login(officer, live, "agency_officer")
    officer.goto(live["base"] + "/directives/mine")
    card = officer.locator("section.assignment").filter(has_text="Mậu Thân")
    expect(card).to_be_visible()
    width = officer.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 390, f"the phone page scrolls sideways ({width} px)"
    photo = live["folder"] / "cong.jpg"
    photo.write_bytes(jpeg())
    card.locator("input[name=percent]").fill("60")
    card.locator("textarea[name=note]").fill("Đã nạo vét 150 m cống")
    card.locator("input[type=file]").set_input_files(str(photo))
    SHOTS.mkdir(parents=True, exist_ok=True)
    officer.screenshot(path=str(SHOTS / "directives-mine-phone.png"), full_page=True)
    card.locator("button[data-action=progress]").click()
    officer.wait_for_url(live["base"] + "/directives/mine")
    expect(card.locator(".percent")).to_have_text("60%")

    # The leader's page follows without a reload.
    expect(leader.locator("#part-SNNMT .percent")).to_have_text("60%", timeout=5_000)
    expect(leader.locator("#part-SNNMT")).to_contain_text("cong.jpg")
    expect(leader.locator("#timeline")).to_contain_text("Báo cáo tiến độ")
    assert leader.evaluate("window.__noReload") is True

    card.locator("textarea[name=note]").fill("Hoàn thành nạo vét 300 m")
    card.locator("button[data-action=complete]").click()
    officer.wait_for_url(live["base"] + "/directives/mine")
    expect(officer.locator("section.assignment").filter(has_text="Mậu Thân")).to_contain_text(
        "chờ lãnh đạo nghiệm thu"
    )
    accept = leader.locator("#part-SNNMT button[data-action=accept]")
    expect(accept).to_be_visible(timeout=5_000)
    leader.screenshot(path=str(SHOTS / "directives-detail.png"), full_page=True)
    accept.click()
    expect(leader.locator("#directive-status")).to_contain_text("Đã hoàn thành")
    leader.goto(live["base"] + "/directives?status=all")
    expect(leader.locator("#rates tr[data-agency=SNNMT] .rate")).to_have_text("100%")
    leader.screenshot(path=str(SHOTS / "directives-tracker.png"), full_page=True)

    # The same tracker in English.
    leader.click("a[lang=en]")
    expect(leader.locator("h1")).to_contain_text("Directive tracker")
    assert problems == []
    leader.context.close()
    officer.context.close()
