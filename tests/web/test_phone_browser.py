"""Every console page on a phone and a portrait tablet (issue 16, item 10), in real headless
Chromium at 390×844 and 768×1024 over the demo-like data of ``test_words_browser.py``: nothing
scrolls sideways (a wide table scrolls inside its own frame), no JavaScript error is logged,
the overview puts the map and the alerts first, and every page with a map shows it across the
screen at a usable height."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.test_browser import CHROMIUM, _shot, browser
from tests.web.test_words_browser import CAN_THO, PAGES, Demo, _context, _settled, admin_state, demo

__all__ = ["admin_state", "browser", "demo"]  # fixtures, imported for pytest

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="headless Chromium is missing: apt-get install -y chromium"
    ),
]

PHONE = (390, 844)
TABLET = (768, 1024)  # a portrait tablet
SCREENS = [PHONE, TABLET]

# The pages with a map, and the map's element (the citizen form is public: no login).
MAPS = (
    ("/", "#map"),
    ("/incidents/{incident}", "#incident-map"),
    ("/citizen/report", "#pick-map"),
    ("/entities/" + CAN_THO, "#minimap"),
)


@pytest.mark.parametrize("size", SCREENS, ids=["phone", "tablet"])
@pytest.mark.parametrize("pattern", PAGES)
def test_every_page_fits_a_phone(
    browser: Any, demo: Demo, admin_state: Any, pattern: str, size: tuple[int, int]
) -> None:
    context = _context(browser, *size, admin_state)
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
    assert width <= size[0], f"{path} is {width} px wide on a {size[0]} px screen"
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


# Where the map is, how big, and whether the page around it is usable: the box of the map in
# the viewport after scrolling it into view, the page's widths, and the Leaflet map's own size
# (a map laid out at another size than its box draws tiles and markers in the wrong place).
MAP_BOX = """(selector) => {
  const el = document.querySelector(selector);
  if (!el) return null;
  el.scrollIntoView({block: "start"});
  const box = el.getBoundingClientRect();
  const column = el.closest(".citizen-page, .page, main").getBoundingClientRect();
  const size = el._leaflet_id && window.TaydoMap && TaydoMap.map
    && TaydoMap.map.getContainer() === el ? TaydoMap.map.getSize() : null;
  return {
    left: box.left, right: box.right, width: box.width, height: box.height,
    column: column.width,
    leaflet: el.classList.contains("leaflet-container"),
    size: size ? [size.x, size.y] : null,
    scrollWidth: document.documentElement.scrollWidth,
  };
}"""


@pytest.mark.parametrize("size", SCREENS, ids=["phone", "tablet"])
@pytest.mark.parametrize(("pattern", "selector"), MAPS, ids=[m[1][1:] for m in MAPS])
def test_every_map_spans_the_screen(
    browser: Any, demo: Demo, admin_state: Any, pattern: str, selector: str, size: tuple[int, int]
) -> None:
    width, height = size
    context = _context(browser, width, height, admin_state)
    page = context.new_page()
    page.set_default_timeout(15_000)
    path = pattern.format(**demo.ids)
    answer = page.goto(demo.base + path)
    assert answer is not None and answer.status == 200, path
    page.wait_for_selector(selector + ".leaflet-container")
    _settled(page)
    box = page.evaluate(MAP_BOX, selector)
    assert box is not None and box["leaflet"], f"{path}: no map drawn in {selector}"
    # The overview's map is the page (≥ 90 % of the width); a map inside a page's card keeps
    # the card's margins (≥ 80 % of the page's column: the citizen form is a 40 rem column on
    # a tablet, on purpose). Either way all of it is on the screen, sideways.
    share = 0.9 if pattern == "/" else 0.8
    column = min(width, box["column"])
    assert column >= 0.8 * min(width, 640), f"{path}: the page's column is {column:.0f} px"
    assert box["width"] >= share * column, f"{path}: the map is {box['width']:.0f} px wide"
    assert box["left"] >= 0 and box["right"] <= width, f"{path}: the map runs off the screen"
    assert box["height"] >= 200, f"{path}: the map is {box['height']:.0f} px high"
    assert box["scrollWidth"] <= width, f"{path} scrolls sideways ({box['scrollWidth']} px)"
    if box["size"] is not None:  # Leaflet knows the size it is shown at
        assert abs(box["size"][0] - box["width"]) <= 2, (path, box)
        assert abs(box["size"][1] - box["height"]) <= 2, (path, box)
    context.close()


@pytest.mark.parametrize("size", SCREENS, ids=["phone", "tablet"])
def test_the_overview_map_comes_first_and_the_alerts_can_be_reached(
    browser: Any, demo: Demo, admin_state: Any, size: tuple[int, int]
) -> None:
    """The map on the first screen, across it, at least half of the screen's height; then the
    alerts, which scrolling brings into view (a page that cannot scroll hides them)."""
    width, height = size
    context = _context(browser, width, height, admin_state)
    page = context.new_page()
    page.goto(demo.base + "/")
    _settled(page)
    first = page.evaluate(
        """() => {
          const box = (id) => document.getElementById(id).getBoundingClientRect();
          const map = box("map"), main = document.querySelector("main").getBoundingClientRect();
          const inside = Array.from(document.querySelectorAll("#overview > *, #overview aside > *"))
            .filter((el) => el.id !== "map" && el.getBoundingClientRect().height > 0)
            .map((el) => el.getBoundingClientRect().top);
          return {map: [map.left, map.top, map.width, map.height, map.bottom],
                  main: main.top, others: inside, feed: box("feed").top};
        }"""
    )
    left, top, map_width, map_height, bottom = first["map"]
    assert left <= 1 and map_width >= 0.9 * width, first
    assert abs(top - first["main"]) <= 1, "the map is not the first thing under the top bar"
    assert map_height >= 0.5 * (height - top) and bottom <= height + 1, first
    assert all(other >= bottom - 1 for other in first["others"]), first
    assert first["feed"] >= bottom - 1, first
    # The alerts: a finger's scroll under the map (a wheel here: what a touch pan does to a
    # page) brings them up. A script's scrollIntoView would scroll even an overflow: hidden
    # box, so the test scrolls as a person does.
    page.mouse.move(width / 2, height - 8)
    page.mouse.wheel(0, 700)
    page.wait_for_timeout(400)
    shown = page.evaluate(
        """() => { const b = document.getElementById("feed").getBoundingClientRect();
                   return [b.top, b.bottom]; }"""
    )
    assert shown[0] < first["feed"], f"the page does not scroll to the alerts: {shown}"
    assert shown[0] < height and shown[1] > 0, f"the alert list is not on the screen: {shown}"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    _shot(page, f"phone-overview-{width}")
    context.close()
