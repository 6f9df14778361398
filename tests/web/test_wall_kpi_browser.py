"""The KPI wall (``/kpi?wall=1``, the executive dashboard on a large screen; issue 16 item 2)
in real headless Chromium over the demo-like data of ``test_words_browser.py``: no text under
24 px on a 3840×2160 wall (every visible text node's computed size, as for the overview's wall
in ``test_wall_browser.py``), nothing smaller than on the desktop page at 1920×1080, the whole
board on the screen at 1920×1080 and 3840×2160 (a wall is not scrolled), a sparkline drawn
beside each KPI with a history (months entered here for a few of the pack's KPIs), and no
JavaScript errors."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.web.test_browser import CHROMIUM, _shot, browser
from tests.web.test_wall_browser import TEXT_SIZES
from tests.web.test_words_browser import Demo, _context, _settled, admin_state, demo

__all__ = ["admin_state", "browser", "demo"]  # fixtures, imported for pytest

# KPIs of the pack given a few closed months here (the shared demo fixture skips the demo's
# KPI history, which takes time): the two counts and the share computed from them.
WITH_HISTORY = ("so-ho-so-truc-tuyen", "tong-so-ho-so", "ho-so-truc-tuyen")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="headless Chromium is missing: apt-get install -y chromium"
    ),
]


def _open(browser: Any, demo: Demo, state: Any, width: int, height: int, path: str) -> Any:
    context = _context(browser, width, height, state)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    answer = page.goto(demo.base + path)
    assert answer is not None and answer.status == 200, path
    _settled(page)
    page.errors = errors  # type: ignore[attr-defined]
    return page


@pytest.fixture(scope="module")
def history(demo: Demo) -> tuple[str, ...]:
    """Four closed months of the two counts, entered as an officer does, then computed."""
    from taydo.kpi.periods import recent

    zone = "Asia/Ho_Chi_Minh"
    months = recent("month", datetime.now(ZoneInfo(zone)), zone, 5)[:-1]
    user, password = demo.accounts["admin"]
    with httpx.Client(base_url=demo.base, timeout=30) as client:
        login = client.post("/api/v1/auth/login", json={"username": user, "password": password})
        assert login.status_code == 200, login.text
        client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        for n, month in enumerate(months):
            for code, value in (("so-ho-so-truc-tuyen", 900 + 60 * n), ("tong-so-ho-so", 2000)):
                answer = client.post(
                    f"/api/v1/kpis/{code}/entries",
                    json={"period": month.key, "value": value, "evidence": "Sổ theo dõi"},
                )
                assert answer.status_code == 201, answer.text
        answer = client.post("/api/v1/kpi/compute", json={"force": True})
        assert answer.status_code == 200, answer.text
    return WITH_HISTORY


# Every card's sparkline: its KPI, whether a line is drawn (two points or more, a box of some
# size) and whether all of it is on the screen.
SPARKS = """() => Array.from(document.querySelectorAll(".kpi-card")).map((card) => {
  const line = card.querySelector("svg.spark polyline");
  const box = line ? line.closest("svg").getBoundingClientRect() : null;
  return {
    kpi: card.querySelector("a").getAttribute("href").split("/").pop(),
    points: line ? line.getAttribute("points").trim().split(/\\s+/).length : 0,
    drawn: box !== null && box.width > 0 && box.height > 0,
    shown: box !== null && box.top >= 0 && box.left >= 0
      && box.bottom <= window.innerHeight && box.right <= window.innerWidth,
  };
})"""


def _fits(page: Any, width: int, height: int, history: tuple[str, ...]) -> None:
    """The whole board on one screen, every card on it, the given KPIs with a sparkline."""
    extent = page.evaluate(
        "[document.scrollingElement.scrollWidth, document.scrollingElement.scrollHeight,"
        " document.querySelector('main').scrollWidth, document.querySelector('main').scrollHeight]"
    )
    assert extent[0] <= width and extent[1] <= height, extent
    assert extent[2] <= width and extent[3] <= height, extent
    outside = page.evaluate(
        """() => Array.from(document.querySelectorAll(".kpi-card")).filter((card) => {
             const b = card.getBoundingClientRect();
             return b.top < 0 || b.left < 0 || b.bottom > innerHeight || b.right > innerWidth;
           }).length"""
    )
    assert outside == 0, f"{outside} KPI cards off the {width}×{height} screen"
    sparks = {s["kpi"]: s for s in page.evaluate(SPARKS)}
    for code in history:
        spark = sparks[code]
        assert spark["points"] >= 2 and spark["drawn"] and spark["shown"], spark
    assert all(s["shown"] for s in sparks.values() if s["points"]), sparks


def test_the_kpi_wall_reads_from_afar_on_4k(
    browser: Any, demo: Demo, admin_state: Any, history: tuple[str, ...]
) -> None:
    page = _open(browser, demo, admin_state, 3840, 2160, "/kpi?wall=1")
    assert page.locator(".kpi-card").count() >= 20, "the demo has too few KPIs for this test"
    sizes = page.evaluate(TEXT_SIZES)
    assert len(sizes) > 100  # the walk did find the cards' text
    small = [s for s in sizes if s[0] < 24]
    assert small == [], f"text under 24 px on the 4K KPI wall: {small[:10]}"
    _shot(page, "kpi-wall-4k")
    # The whole board on the screen: a wall is not scrolled, sideways or down.
    _fits(page, 3840, 2160, history)
    assert page.errors == []
    page.context.close()


def test_the_kpi_wall_at_1080p_is_no_smaller_than_the_desktop_board(
    browser: Any, demo: Demo, admin_state: Any, history: tuple[str, ...]
) -> None:
    """The wall at 1920×1080 scales down with the screen, never under the desktop page's own
    smallest text (the same board without ``?wall=1``, at the same size)."""
    desk = _open(browser, demo, admin_state, 1920, 1080, "/kpi")
    floor = min(s[0] for s in desk.evaluate(TEXT_SIZES) if not s[2].startswith("A.chip"))
    desk.context.close()
    page = _open(browser, demo, admin_state, 1920, 1080, "/kpi?wall=1")
    sizes = page.evaluate(TEXT_SIZES)
    assert len(sizes) > 100
    small = [s for s in sizes if s[0] < floor]
    assert small == [], f"text under the desktop board's {floor} px on the 1080p wall: {small[:10]}"
    _fits(page, 1920, 1080, history)
    _shot(page, "kpi-wall-1080p")
    assert page.errors == []
    page.context.close()
