"""The KPI screens in real headless Chromium: the executive dashboard (and its wall mode on a
4K screen), a KPI's history chart and the DTI trend draw without a script error. Its
screenshots go to a temporary folder, or to docs/screenshots under ``make screenshots`` (with
the demo's made-up figures for the entered KPIs)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from taydo.core.db import Database
from taydo.demo.kpi import fill
from tests.serving import serve_in_thread
from tests.web.test_browser import SHOTS

from .conftest import NOW, ZONE, put

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="headless Chromium is missing: apt-get install -y chromium"
    ),
]


@pytest.fixture
def served(app: Any) -> Iterator[str]:
    with serve_in_thread(app) as base:
        yield base


def test_dashboard_kpi_and_dti_in_chromium(
    cantho: Database, served: str, headers_for: Callable[..., dict[str, str]]
) -> None:
    from playwright.sync_api import sync_playwright

    put(cantho, "AirQualityObserved:kk-ninh-kieu", "pm25", [20.0] * 744)
    put(cantho, "AirQualityObserved:kk-cai-khe", "pm25", [40.0] * 744)
    fill(cantho, now=NOW, zone=ZONE)  # the demo's figures for the entered KPIs; computes
    token = headers_for("leader")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox"]
        )
        try:
            errors: list[str] = []

            def page(width: int, height: int) -> Any:
                context = browser.new_context(
                    viewport={"width": width, "height": height}, extra_http_headers=token
                )
                opened = context.new_page()
                opened.on("pageerror", lambda error: errors.append(str(error)))
                opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                return opened

            board = page(1920, 1080)
            board.goto(served + "/kpi")
            assert board.locator(".kpi-card").count() >= 40
            assert board.locator(".pillar h2").all_inner_texts()[:3] == [
                "Chính quyền số",
                "Kinh tế số",
                "Xã hội số",
            ]
            board.screenshot(path=str(SHOTS / "kpi-dashboard.png"))

            wall = page(3840, 2160)
            wall.goto(served + "/kpi?wall=1")
            assert not wall.locator(".topbar").is_visible()
            # The four pillars and every card on one 4K screen, nothing scrolled.
            assert wall.locator(".pillar h2").all_inner_texts()[:3] == [
                "Chính quyền số",
                "Kinh tế số",
                "Xã hội số",
            ]
            assert wall.evaluate(
                "document.scrollingElement.scrollHeight <= innerHeight"
                " && document.querySelector('main').scrollHeight <= innerHeight"
                " && Array.from(document.querySelectorAll('.kpi-card, .pillar h2'))"
                ".every((el) => el.getBoundingClientRect().bottom <= innerHeight)"
            )
            wall.screenshot(path=str(SHOTS / "kpi-wall.jpg"), type="jpeg", quality=50)

            detail = page(1600, 1200)
            detail.goto(served + "/kpi/bui-pm25")
            detail.wait_for_selector("#kpi-chart canvas")
            assert "Phường Ninh Kiều" in detail.inner_text(".kpi-page")
            detail.screenshot(path=str(SHOTS / "kpi.png"))

            dti = page(1600, 1100)
            dti.goto(served + "/dti?province=cantho-cu")
            dti.wait_for_selector("#dti-chart canvas")
            assert "0.6924" in dti.inner_text("table.dti")
            dti.screenshot(path=str(SHOTS / "dti.png"))
            assert errors == []
        finally:
            browser.close()
