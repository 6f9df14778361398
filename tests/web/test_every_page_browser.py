"""Every console page in real headless Chromium (issue 16): the list of pages is the app's own
(every GET route guarded by ``page()``), each visited over the demo-like data of
``test_words_browser.py`` with the demo's ids in its path.

* At 1920×1080: no JavaScript error in the console and no failed request (a network error or
  an answer of 400 or more) while the page loads and its scripts fill it.
* At 390×844: nothing scrolls sideways, neither the document nor ``main`` (a wide table
  scrolls inside its own frame).

* At 1920×1080 with an empty cache, what each page transfers (compressed): at most
  ``BUDGET_KB`` (400 KB), or the ceiling ``OVER_BUDGET`` names for its route with the reason; and
  every text answer above the compression threshold came compressed (``Content-Encoding``).
  The figures themselves: ``benchmarks/page_weight.py`` (docs/performance.md §17).

The pages are listed once, in ``taydo.demo.pages.PAGES`` (the benchmark weighs the same). A
page route that list does not visit fails the test (``test_the_list_is_every_page``): a new
page is checked the day it is added. The GET routes under ``page()`` that are not pages
(fragments, data, files, streams) are named in ``NOT_PAGES`` with what they are.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from taydo.demo.pages import BUDGET_KB, CAN_THO, PAGES, Weigher, addresses, file_inputs
from tests.web.test_browser import CHROMIUM, _shot, browser
from tests.web.test_words_browser import Demo, _context, _settled, admin_state, demo

__all__ = ["admin_state", "browser", "demo"]  # fixtures, imported for pytest

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="headless Chromium is missing: apt-get install -y chromium"
    ),
]

DESKTOP = (1920, 1080)
PHONE = (390, 844)

# Pictures of pages no other test takes (docs/incidents.md shows them), at 1920×1080.
SHOTS = {"/incidents": "incident-board", "/incidents/{incident}": "incident"}

# GET routes guarded by page() that a person does not open as a page.
NOT_PAGES: dict[str, str] = {
    "/static/{name:path}": "the console's files",
    "/lang/{code}": "switches the language, then back to the page",
    "/alerts/rows": "the alert list's rows, a fragment",
    "/alerts/export.{kind}": "a CSV or spreadsheet file",
    "/console/entities.json": "the overview map's points",
    "/console/areas.geojson": "the overview map's wards",
    "/console/counters": "the overview's counters, a fragment",
    "/console/feed": "the overview's alert feed, a fragment",
    "/console/basemap.pmtiles": "the base map's tiles",
    "/console/entities/{entity_id}/card": "a map marker's card, a fragment",
    "/citizen/r/{token}/live": "a report's status, a stream",
    "/citizen/photos/{report_id}": "a report's photo",
    "/citizen/stream": "new citizen reports, a stream",
    "/citizen/areas.geojson": "the report form's wards",
    "/reports/download": "a report's file",
}


def page_routes(app: Any) -> set[str]:
    """The paths of the app's GET routes guarded by ``taydo.web.shell.page``."""
    from fastapi.routing import APIRoute

    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is already flat
        contexts: Any = app.routes
    else:
        contexts = iter_route_contexts(app.routes)
    found: set[str] = set()
    for context in contexts:
        if not isinstance(getattr(context, "original_route", context), APIRoute):
            continue
        if "GET" not in (context.methods or ()):
            continue
        stack = list(context.dependant.dependencies)
        while stack:
            dependency = stack.pop()
            call = dependency.call
            if getattr(call, "__module__", "") == "taydo.web.shell" and getattr(
                call, "__qualname__", ""
            ).startswith("page."):
                found.add(str(context.path))
                break
            stack.extend(dependency.dependencies)
    return found


def test_the_list_is_every_page(tmp_path: Any) -> None:
    from taydo.app import create_app
    from taydo.core.settings import Settings

    settings = Settings(  # type: ignore[call-arg]
        database_url=f"sqlite:///{tmp_path / 'routes.db'}", dev=True, _env_file=None
    )
    routes = page_routes(create_app(settings))
    assert "/alerts" in routes and "/kpi/{code}" in routes  # the walk finds the pages
    missing = routes - set(PAGES) - set(NOT_PAGES)
    assert missing == set(), f"page routes this test does not visit: {sorted(missing)}"
    gone = (set(PAGES) | set(NOT_PAGES)) - routes
    assert gone == set(), f"listed routes the app no longer has: {sorted(gone)}"


@pytest.fixture(scope="module")
def ids(demo: Demo) -> dict[str, str]:
    """The demo's ids, with a citizen's report filed over Open311 (its status page's token)
    and an observation of an unknown station (a quarantined input)."""
    bearer = {"Authorization": f"Bearer {demo.token}"}
    with httpx.Client(base_url=demo.base, headers=bearer, timeout=10) as api:
        return file_inputs(api, dict(demo.ids), "Kiểm tra trang trạng thái")


def _addresses(ids: dict[str, str]) -> list[str]:
    return [address for _route, address in addresses(ids)]


class Watch:
    """What goes wrong on the page being checked: errors logged, requests failed."""

    def __init__(self, page: Any) -> None:
        self.problems: list[str] = []
        self.on = False
        self.asked: set[Any] = set()  # the requests of the page being checked (held: one id each)
        page.on("request", lambda r: self.asked.add(r) if self.on else None)
        page.on("pageerror", lambda error: self._add(f"error: {error}"))
        page.on("console", lambda m: self._add(f"console: {m.text}") if m.type == "error" else None)
        page.on(
            "requestfailed",
            lambda r: self._add(f"failed: {r.url} {r.failure}") if r in self.asked else None,
        )
        page.on(
            "response",
            lambda r: self._add(f"answer {r.status}: {r.url}") if r.status >= 400 else None,
        )

    def _add(self, problem: str) -> None:
        if self.on:
            self.problems.append(problem)

    def start(self) -> None:
        self.problems = []
        self.asked = set()
        self.on = True

    def stop(self) -> list[str]:
        self.on = False  # what the next navigation cuts off (open streams) is not counted
        return self.problems


@pytest.fixture(scope="module")
def desktop(browser: Any, admin_state: Any) -> Iterator[Any]:
    context = _context(browser, *DESKTOP, admin_state)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page, Watch(page)
    context.close()


@pytest.fixture(scope="module")
def phone(browser: Any, admin_state: Any) -> Iterator[Any]:
    context = _context(browser, *PHONE, admin_state)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def test_no_page_logs_an_error_or_fails_a_request(
    desktop: Any, demo: Demo, ids: dict[str, str]
) -> None:
    page, watch = desktop
    problems: dict[str, list[str]] = {}
    shots = {pattern.format(**ids): name for pattern, name in SHOTS.items()}
    for path in _addresses(ids):
        watch.start()
        answer = page.goto(demo.base + path)
        status = answer.status if answer is not None else None
        _settled(page)
        found = watch.stop()
        if path in shots:
            _shot(page, shots[path])
        page.goto("about:blank")  # the page's open streams end here, out of the watch
        if status != 200:
            found.insert(0, f"the page answered {status}")
        if found:
            problems[path] = found
    assert problems == {}, f"pages with errors at 1920×1080: {problems}"


# How far the document and ``main`` reach past the screen's width (0: nothing scrolls).
OVERFLOW = """() => {
  const over = (el) => el ? el.scrollWidth - el.clientWidth : 0;
  const main = document.querySelector("main");
  const wide = [];
  if (main) {
    const right = main.getBoundingClientRect().right;
    const clipped = (el) => {
      for (let up = el.parentElement; up && up !== main; up = up.parentElement) {
        if (getComputedStyle(up).overflowX !== "visible") return true;
      }
      return false;
    };
    for (const el of main.querySelectorAll("*")) {
      if (clipped(el)) continue;  // inside its own scrolling frame
      const box = el.getBoundingClientRect();
      if (box.right > right + 1 && el.offsetParent !== null) {
        const name = typeof el.className === "string" ? el.className.split(" ")[0] : "";
        wide.push(el.tagName + (el.id ? "#" + el.id : "") + (name ? "." + name : ""));
      }
    }
  }
  return {document: over(document.scrollingElement), main: over(main), wide: wide.slice(0, 8)};
}"""


def test_no_page_scrolls_sideways_on_a_phone(phone: Any, demo: Demo, ids: dict[str, str]) -> None:
    wide: dict[str, Any] = {}
    for path in _addresses(ids):
        answer = phone.goto(demo.base + path)
        assert answer is not None and answer.status == 200, path
        _settled(phone)
        extent = phone.evaluate(OVERFLOW)
        if extent["document"] > 0 or extent["main"] > 0:
            wide[path] = extent
    assert wide == {}, f"pages wider than a 390 px phone: {wide}"


# Routes whose first visit may transfer more than BUDGET_KB: the ceiling (KB) and why. Filled
# from benchmarks/page_weight.py's figures with a little room (a few KB of demo data more or
# less); a page that grows past its ceiling fails, as one without an entry does past the budget.
OVER_BUDGET: dict[str, tuple[float, str]] = {
    # Swagger UI's bundle is ≈ 455 KB gzipped by itself (2026-12-04: the page 515 KB); it is a
    # page for developers reading the API, not an operator's screen, and is used as shipped.
    "/api/docs": (540.0, "(Swagger UI's bundle alone is ≈ 455 KB compressed)"),
}

# Starlette's GZipMiddleware in taydo.app compresses answers from this size (minimum_size).
GZIP_FROM = 1024
# What is text (and so worth compressing) among the answers' MIME types.
TEXT = (
    "text/",
    "application/javascript",
    "application/json",
    "application/geo+json",
    "+json",
    "+xml",
    "image/svg",
)


def _is_text(mime: str) -> bool:
    return mime != "text/event-stream" and any(
        mime.startswith(kind) or mime.endswith(kind) for kind in TEXT
    )


def test_every_page_fits_its_weight_budget(
    browser: Any, admin_state: Any, demo: Demo, ids: dict[str, str]
) -> None:
    context = _context(browser, *DESKTOP, admin_state)
    page = context.new_page()
    page.set_default_timeout(15_000)
    cdp = context.new_cdp_session(page)
    weigher = Weigher(cdp)
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})  # every visit a first one
    heavy: dict[str, str] = {}
    plain: dict[str, list[str]] = {}
    try:
        for route, path in addresses(ids):
            weigher.start()
            page.goto(demo.base + path)
            _settled(page)
            resources = weigher.stop()
            page.goto("about:blank")
            kb = sum(r.transferred for r in resources if r.finished) / 1024
            ceiling, why = OVER_BUDGET.get(route, (BUDGET_KB, ""))
            if kb > ceiling:
                heavy[path] = f"{kb:.0f} KB > {ceiling:.0f} KB {why}".strip()
            sent_plain = [
                f"{r.url} ({r.mime}, {r.body} B)"
                for r in resources
                if r.finished
                and r.status == 200
                and r.body >= GZIP_FROM
                and _is_text(r.mime)
                and not r.encoding
            ]
            if sent_plain:
                plain[path] = sent_plain
    finally:
        context.close()
    assert heavy == {}, f"pages over their weight budget (first visit, compressed): {heavy}"
    assert plain == {}, f"text answers sent uncompressed: {plain}"


# What each chart page's charts need of ECharts, by component type. The console loads its own
# ECharts build (src/taydo/web/echarts.entry.js: only the parts its charts use, for the page
# weight); an option whose part is missing from it is dropped without an error, so this checks
# that each part the pages ask for was built in and made. The VN_AQI chart's piecewise visual
# map is checked by test_station_browser.py (this data set has no hour of AQI to chart).
CHART_PARTS: dict[str, tuple[str, ...]] = {
    "/alerts/{level_alert}": ("series", "tooltip", "markLine"),  # the alarm's threshold line
    "/entities/" + CAN_THO: ("series", "tooltip", "markLine"),  # its alarm levels
    "/kpi/{kpi}": ("series", "tooltip", "markLine"),  # the KPI's target
    "/dti": ("series", "tooltip", "legend"),  # the DTI trend's scrolling legend
}

# The component types of every chart on the page, once each has them all (or after 10 s).
CHART_TYPES = """(wanted) => {
  const found = new Set();
  document.querySelectorAll("[_echarts_instance_]").forEach((el) => {
    const chart = echarts.getInstanceByDom(el);
    if (!chart) return;
    chart.getModel().eachComponent((type) => found.add(type));
  });
  return wanted.every((t) => found.has(t)) ? [...found] : null;
}"""


def test_the_chart_pages_draw_every_part_they_ask_for(
    browser: Any, admin_state: Any, demo: Demo, ids: dict[str, str]
) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    context = _context(browser, *DESKTOP, admin_state)
    page = context.new_page()
    page.set_default_timeout(15_000)
    missing: dict[str, list[str]] = {}
    try:
        for pattern, parts in CHART_PARTS.items():
            page.goto(demo.base + pattern.format(**ids))
            _settled(page)
            try:
                page.wait_for_function(CHART_TYPES, arg=list(parts), timeout=10_000)
            except PlaywrightTimeout:  # reported below with what the page has
                found = page.evaluate(CHART_TYPES, arg=[]) or []
                missing[pattern] = sorted(set(parts) - set(found))
            page.goto("about:blank")
    finally:
        context.close()
    assert missing == {}, f"chart parts not made (not in the console's ECharts build?): {missing}"
