"""The reports and scorecards pages in real headless Chromium (Playwright): a leader downloads
a report from the form and sorts the scorecards; the colours are the statuses'. Screenshots go
to a temporary folder, or to ``docs/screenshots/`` under ``make screenshots``."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from taydo.observations.service import write_rows
from tests.serving import serve_in_thread
from tests.web.test_browser import SHOTS

from .conftest import AIR, DAY, local, make_city, ms

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]  # fmt: skip

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="headless Chromium is missing: apt-get install -y chromium"
    ),
]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Any]]]:
    from taydo.app import create_app
    from taydo.auth.service import ensure_demo_users
    from taydo.core.db import Database
    from taydo.core.migrate import upgrade
    from taydo.core.settings import Settings

    database = Database(f"sqlite:///{tmp_path_factory.mktemp('reports') / 'taydo.db'}")
    upgrade(database)
    ids = make_city(database)
    # SNNMT's air station reports until the end of November: fresh, where DKTTV's is stale.
    last = ms(local(DAY.replace(day=30), 23, 30))
    write_rows(database, [(ids[AIR], last, 40.0, 0)], timezone="Asia/Ho_Chi_Minh")
    accounts = {role: (user, password) for user, password, role in ensure_demo_users(database)}
    settings = Settings(database_url=database.url, dev=True, _env_file=None)  # type: ignore[call-arg]
    app = create_app(settings, database=database)
    try:
        with serve_in_thread(app) as base:
            yield base, accounts
    finally:
        database.dispose()


@pytest.fixture(scope="module")
def page(live: tuple[str, dict[str, Any]]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    base, accounts = live
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(
            viewport={"width": 1600, "height": 1000},
            locale="vi-VN",
            timezone_id="Asia/Ho_Chi_Minh",
            accept_downloads=True,
        )
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        username, password = accounts["leader"]
        tab.goto(base + "/login")
        tab.fill("#username", username)
        tab.fill("#password", password)
        tab.click("button[type=submit]")
        tab.wait_for_url(base + "/")
        try:
            yield tab
        finally:
            browser.close()


def test_a_leader_sorts_the_scorecards(live: tuple[str, Any], page: Any) -> None:
    from playwright.sync_api import expect

    base, _accounts = live
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(base + "/scorecards?month=2026-11")
    expect(page.locator("h1")).to_have_text("Bảng điểm cơ quan")
    rows = page.locator("table.scorecards tbody tr")
    expect(rows).to_have_count(2)
    # DKTTV (shown by its name): no fresh dataset at the end of November → red, in the
    # status's colour
    fresh = rows.filter(has_text="Đài Khí tượng Thủy văn").locator("td").nth(1).locator(".badge")
    expect(fresh).to_have_class("badge score-red")
    colour = fresh.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(179, 38, 30)"  # --c-red, dark enough for white text (WCAG AA)
    expect(
        rows.filter(has_text="Đài Khí tượng Thủy văn").locator("td").nth(3).locator(".badge")
    ).to_have_text("—")  # incidents: not installed
    header = page.get_by_role("link", name="Dữ liệu kịp thời")
    header.click()
    page.wait_for_url("**sort=freshness&order=asc")
    expect(page.get_by_role("link", name="Dữ liệu kịp thời ▲")).to_have_attribute(
        "aria-sort", "ascending"
    )
    expect(rows.first).to_contain_text("Đài Khí tượng Thủy văn")  # 0 % before 100 %
    page.get_by_role("link", name="Dữ liệu kịp thời ▲").click()
    page.wait_for_url("**sort=freshness&order=desc")
    expect(rows.first).to_contain_text("Sở Nông nghiệp và Môi trường")
    expect(rows.first.locator("td").nth(1).locator(".badge")).to_have_text("100,0 %")
    expect(rows.first.locator("td").nth(1).locator(".badge")).to_have_class("badge score-green")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "scorecards.png"))
    assert errors == []


def test_a_leader_downloads_a_report_from_the_form(live: tuple[str, Any], page: Any) -> None:
    base, _accounts = live
    page.goto(base + "/reports")
    page.select_option("select[name=kind]", "monthly")
    page.fill("input[name=day]", "2026-11-20")
    page.select_option("select[name=format]", "xlsx")
    page.screenshot(path=str(SHOTS / "reports.png"))
    with page.expect_download() as info:
        page.get_by_role("button", name="Tải về").click()
    download = info.value
    assert download.suggested_filename == "taydo-monthly-2026-11.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(Path(download.path()).read_bytes()))
    cells = [c for row in book["Tóm tắt"].iter_rows(values_only=True) for c in row]
    assert "11/2026" in cells and "Bảng điểm cơ quan" in cells
