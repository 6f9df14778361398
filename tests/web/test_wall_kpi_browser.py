"""The KPI wall (``/kpi?wall=1``, the executive dashboard on a large screen; issue 16 item 2)
in real headless Chromium over the demo-like data of ``test_words_browser.py``: no text under
24 px on a 3840×2160 wall (every visible text node's computed size, as for the overview's wall
in ``test_wall_browser.py``), nothing smaller than on the desktop page at 1920×1080, the whole
board on the screen (a wall is not scrolled), and no JavaScript errors."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.test_browser import CHROMIUM, _shot, browser
from tests.web.test_wall_browser import TEXT_SIZES
from tests.web.test_words_browser import Demo, _context, _settled, admin_state, demo

__all__ = ["admin_state", "browser", "demo"]  # fixtures, imported for pytest

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


def test_the_kpi_wall_reads_from_afar_on_4k(browser: Any, demo: Demo, admin_state: Any) -> None:
    page = _open(browser, demo, admin_state, 3840, 2160, "/kpi?wall=1")
    assert page.locator(".kpi-card").count() >= 20, "the demo has too few KPIs for this test"
    sizes = page.evaluate(TEXT_SIZES)
    assert len(sizes) > 100  # the walk did find the cards' text
    small = [s for s in sizes if s[0] < 24]
    assert small == [], f"text under 24 px on the 4K KPI wall: {small[:10]}"
    _shot(page, "kpi-wall-4k")
    # The whole board on the screen: a wall is not scrolled, sideways or down.
    extent = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.scrollHeight,"
        " document.querySelector('main').scrollHeight]"
    )
    assert extent[0] <= 3840 and extent[1] <= 2160 and extent[2] <= 2160, extent
    assert page.errors == []
    page.context.close()


def test_the_kpi_wall_at_1080p_is_no_smaller_than_the_desktop_board(
    browser: Any, demo: Demo, admin_state: Any
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
    extent = page.evaluate(
        "[document.documentElement.scrollWidth, document.querySelector('main').scrollHeight]"
    )
    assert extent[0] <= 1920 and extent[1] <= 1080, extent
    _shot(page, "kpi-wall-1080p")
    assert page.errors == []
    page.context.close()
