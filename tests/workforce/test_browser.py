"""The workforce pages in real headless Chromium: a leader reads them on a phone, an officer
imports a file through the form and reads the per-row result. Screenshots go to
``docs/screenshots/`` (workforce.png, workforce-import.png)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serving import serve_in_thread
from tests.web.test_browser import CHROMIUM, SHOTS, Live, _page
from tests.web.test_browser import browser as browser  # the module's Chromium fixture
from tests.workforce.conftest import csv_file

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="headless Chromium is missing: apt-get install -y chromium"
    ),
]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A real server on a free port: the Cần Thơ pack, the demo accounts and workforce."""
    from taydo.app import create_app
    from taydo.auth.service import ensure_demo_users
    from taydo.core.db import Database
    from taydo.core.migrate import upgrade
    from taydo.core.plugins import make_plugin_manager, packs
    from taydo.core.settings import Settings
    from taydo.demo.workforce import seed_workforce
    from taydo.packs.loading import load_pack

    path = tmp_path_factory.mktemp("workforce-e2e") / "taydo.db"
    database = Database(f"sqlite:///{path}")
    upgrade(database)
    load_pack(database, packs(make_plugin_manager())["cantho"])
    seed_workforce(database)
    accounts = {role: (user, password) for user, password, role in ensure_demo_users(database)}
    settings = Settings(database_url=database.url, dev=True, _env_file=None)  # type: ignore[call-arg]
    app = create_app(settings, database=database)
    try:
        with serve_in_thread(app) as base:
            yield Live(base, database, accounts)
    finally:
        database.dispose()


def _login(page: Any, live: Live, role: str, target: str) -> None:
    username, password = live.accounts[role]
    page.goto(live.base + target)  # not logged in: the login form, then back here
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(live.base + target)


def test_a_leader_reads_the_workforce_on_a_phone(browser: Any, live: Live) -> None:
    from playwright.sync_api import expect

    page = _page(browser, live, width=390, height=844)
    _login(page, live, "leader", "/workforce")
    expect(page.locator("h1")).to_contain_text("Nhân lực số")
    coverage = page.locator("#coverage")
    expect(coverage).to_contain_text("Tổ công nghệ số cộng đồng")
    expect(coverage.locator(".metric strong").first).not_to_have_text("0")
    expect(page.locator("#wards")).to_contain_text("Phường Ninh Kiều")
    # Wide tables scroll inside their card; the page itself never scrolls sideways.
    overflow = page.evaluate(
        "Math.max(document.documentElement.scrollWidth, document.querySelector('main')"
        ".scrollWidth) - window.innerWidth"
    )
    widest = page.evaluate(
        "[...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right >"
        " window.innerWidth + 1).slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' +"
        " Math.round(e.getBoundingClientRect().right))"
    )
    assert overflow <= 0, f"the page is {overflow}px wider than a phone: {widest}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "workforce.png"), full_page=True)
    page.context.close()


def test_an_officer_imports_a_file_and_reads_the_row_report(
    browser: Any, live: Live, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    file = tmp_path / "nhan-luc-snnmt.csv"
    file.write_bytes(
        csv_file(
            ("Năm", "Mã cơ quan", "Loại nhân lực", "Số người"),
            ("2026", "SNNMT", "Chuyên trách CNTT", "7"),
            ("2026", "SYT", "Chuyên trách CNTT", "9"),  # another agency's row
        )
    )
    page = _page(browser, live)
    _login(page, live, "agency_officer", "/workforce/import")
    page.select_option("select[name=kind]", "staff")
    page.set_input_files("input[type=file]", str(file))
    page.click("button[type=submit].primary")
    result = page.locator("#result")
    expect(result).to_contain_text("Không lưu")
    expect(result.locator("tbody tr")).to_have_count(1)
    expect(result.locator("tbody tr")).to_contain_text("SYT")
    page.select_option("select[name=kind]", "staff")
    page.set_input_files("input[type=file]", str(file))
    page.check("input[value=accept_valid]")
    page.click("button[type=submit].primary")
    expect(page.locator("#result")).to_contain_text("Lưu một phần")
    page.screenshot(path=str(SHOTS / "workforce-import.png"), full_page=True)
    page.goto(live.base + "/workforce?year=2026")
    expect(page.locator("#agencies")).to_contain_text("Sở Nông nghiệp và Môi trường")
    expect(page.locator("#agencies")).not_to_contain_text("SYT")
    page.context.close()
