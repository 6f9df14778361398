"""Every console page on a phone (issue 16, item 10), in real headless Chromium at 390×844
over the demo-like data of ``test_words_browser.py``: nothing scrolls sideways (a wide table
scrolls inside its own frame), no JavaScript error is logged, and the overview puts the map
and the alerts first."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.test_browser import CHROMIUM, _shot, browser
from tests.web.test_words_browser import PAGES, Demo, _context, _settled, admin_state, demo

__all__ = ["admin_state", "browser", "demo"]  # fixtures, imported for pytest

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="headless Chromium is missing: apt-get install -y chromium"
    ),
]

PHONE = (390, 844)


@pytest.mark.parametrize("pattern", PAGES)
def test_every_page_fits_a_phone(browser: Any, demo: Demo, admin_state: Any, pattern: str) -> None:
    context = _context(browser, *PHONE, admin_state)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    path = pattern.format(**demo.ids)
    answer = page.goto(demo.base + path)
    assert answer is not None and answer.status == 200, path
    _settled(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE[0], f"{path} is {width} px wide on a {PHONE[0]} px phone"
    context.close()
    assert errors == [], f"{path}: {errors}"


def test_the_overview_puts_the_map_and_the_alerts_first_on_a_phone(
    browser: Any, demo: Demo, admin_state: Any
) -> None:
    context = _context(browser, *PHONE, admin_state)
    page = context.new_page()
    page.goto(demo.base + "/")
    _settled(page)
    tops = page.evaluate(
        """() => {
          const top = (el) => el ? el.getBoundingClientRect().top + window.scrollY : null;
          const panels = Array.from(document.querySelectorAll("#overview [data-panel]"));
          return {
            map: top(document.getElementById("map")),
            feed: top(document.getElementById("feed")),
            others: panels
              .filter((p) => !p.contains(document.getElementById("map"))
                          && !p.contains(document.getElementById("feed")))
              .map(top).filter((t) => t !== null),
          };
        }"""
    )
    assert tops["map"] is not None and tops["feed"] is not None
    assert tops["map"] < 844, "the map is not on the first screen"
    assert all(tops["feed"] <= other for other in tops["others"]), tops
    _shot(page, "phone-overview")
    context.close()
