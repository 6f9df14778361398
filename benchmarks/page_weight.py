"""Compressed page weight of every console page on the demo data (issue 16; goal ≤ 400 KB).

Prepares the demo in a temporary directory as ``taydo demo`` does (the Cần Thơ pack, accounts,
citizen reports, incidents, directives, KPIs, the digital workforce; ``--hours`` of history),
raises alarms of each rule kind the pages show (a fast rise past Báo động 3 at the Cần Thơ
station), files a citizen's report over Open311 and one observation of an unknown station (a
quarantined input), serves the app (uvicorn, in a thread) and opens every page of
``taydo.demo.pages.PAGES`` in Debian's Chromium through Playwright, logged in as the demo's
administrator, each in a fresh browser context (an empty cache: a first visit).

For each page it sums, over every response of the visit (the page, its styles, scripts, data,
tiles …; streams still open at the end are left out), the bytes transferred (compressed where
the server compresses, headers included, as DevTools' "transferred") and the bodies' decoded
bytes, and prints: address, requests, transferred KB, uncompressed KB, the biggest asset.

Run: ``.venv/bin/python -m benchmarks.page_weight [--hours 6]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from tests.serving import serve_in_thread

from benchmarks.common import free_port, machine, write_figures

CHROMIUM = "/usr/bin/chromium"
HISTORY_STEP_S = 600  # the demo history's spacing (10 minutes)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SETTLE_MS = 1000  # after "load": the page's scripts fetch their data and draw their charts


def prepare_demo(directory: Path, hours: float) -> tuple[Any, Any, dict[str, Any]]:
    """The demo's database and settings, prepared as ``taydo demo`` does."""
    from rich.console import Console

    from taydo.core.db import Database
    from taydo.demo import DemoOptions, demo_settings, prepare

    port = free_port()
    options = DemoOptions(
        path=directory / "demo.db",
        port=port,
        backfill_s=hours * 3600,
        backfill_step_s=HISTORY_STEP_S,
    )
    database = Database(f"sqlite:///{options.path}")
    info = prepare(database, options, Console(quiet=True), inbox_secret="page-weight")
    return database, demo_settings(options), info


def demo_ids(base: str, token: str) -> dict[str, str]:
    """The ids the page addresses name, from the running demo (alarms raised here)."""
    from taydo.demo.pages import CAN_THO, file_inputs, find_ids, post_rise

    api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    post_rise(api, HISTORY_STEP_S * 1000, int(time.time() * 1000))
    ids: dict[str, str] = {}
    deadline = time.monotonic() + 60
    by_rule: dict[str, str] = {}
    while time.monotonic() < deadline:
        found = api.get("/api/v1/alerts", params={"active": "true"}).json()
        by_rule = {a["rule"]: str(a["id"]) for a in found if a["entity_id"] == CAN_THO}
        by_rule.update({a["rule"]: str(a["id"]) for a in found if a.get("area_code") == "31135"})
        if {"water-level-alarm", "flood-risk-ward"} <= set(by_rule):
            break
        time.sleep(0.2)
    if "water-level-alarm" not in by_rule:
        raise SystemExit(f"không có cảnh báo mực nước / no water-level alarm: {by_rule}")
    ids["level_alert"] = by_rule["water-level-alarm"]
    ids["rate_alert"] = by_rule.get("water-level-rising-fast", ids["level_alert"])
    ids["ward_alert"] = by_rule.get("flood-risk-ward", ids["level_alert"])
    find_ids(api, ids)
    file_inputs(api, ids, "Đo trọng lượng trang")
    api.close()
    return ids


# Weighed logged out: a logged-in visit of the login form is sent on to the overview.
LOGGED_OUT = {"/login"}


def weigh(browser: Any, base: str, state: Any, path: str) -> list[Any]:
    """The responses of one first visit of ``path`` (a fresh context: an empty cache)."""
    from taydo.demo.pages import Weigher

    context = browser.new_context(
        viewport={"width": 1920, "height": 1080},
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
        storage_state=state,
    )
    page = context.new_page()
    page.set_default_timeout(60_000)
    weigher = Weigher(context.new_cdp_session(page))
    weigher.start()
    page.goto(base + path)
    page.wait_for_load_state("load")
    page.wait_for_timeout(SETTLE_MS)
    resources = weigher.stop()
    context.close()
    return [r for r in resources if r.finished]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=float, default=6.0, help="demo history to write")
    parser.add_argument("--json", help="write the headline figures here (benchmarks/compare.py)")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from taydo.app import create_app
    from taydo.auth.service import get_user, issue_token
    from taydo.demo.pages import BUDGET_KB, addresses

    print(f"machine: {machine()}")
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    with tempfile.TemporaryDirectory(prefix="taydo-weight-") as tmp:
        t0 = time.monotonic()
        database, settings, info = prepare_demo(Path(tmp), args.hours)
        print(f"demo prepared in {time.monotonic() - t0:.0f} s ({args.hours:g} h of history)")
        accounts = {role: (user, password) for user, password, role in info["accounts"]}
        operator = get_user(database, accounts["operator"][0])
        _row, token = issue_token(database, operator.id, "page weight")
        app = create_app(settings, database=database)
        try:
            with serve_in_thread(app, port=settings.port, start_timeout_s=120) as base:
                ids = demo_ids(base, token)
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                    context = browser.new_context()
                    login = context.new_page()
                    login.goto(base + "/login")
                    login.fill("#username", accounts["admin"][0])
                    login.fill("#password", accounts["admin"][1])
                    login.click("button[type=submit]")
                    login.wait_for_url(base + "/")
                    state = context.storage_state()
                    context.close()
                    rows = []
                    for route, path in addresses(ids):
                        logged_in = None if route in LOGGED_OUT else state
                        resources = weigh(browser, base, logged_in, path)
                        biggest = max(resources, key=lambda r: r.transferred)
                        name = biggest.url.removeprefix(base).split("?")[0]
                        rows.append(
                            (
                                route,
                                path,
                                len(resources),
                                sum(r.transferred for r in resources) / 1024,
                                sum(r.body for r in resources) / 1024,
                                f"{name} {biggest.transferred / 1024:.0f} KB",
                            )
                        )
                    browser.close()
        finally:
            database.dispose()
    load = os.getloadavg()
    print(f"\nfirst visits, {started}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"goal: ≤ {BUDGET_KB:.0f} KB transferred (compressed) per page\n")
    print("| address | requests | transferred KB | uncompressed KB | biggest asset (transferred) |")
    print("|---|---:|---:|---:|---|")
    for _route, path, requests, kb, raw_kb, biggest in rows:
        shown = path if len(path) <= 60 else path[:57] + "…"
        print(f"| `{shown}` | {requests} | {kb:.0f} | {raw_kb:.0f} | {biggest} |")
    within = sum(1 for row in rows if row[3] <= BUDGET_KB)
    overview = next(row[3] for row in rows if row[1] == "/")
    print(f"\n{within}/{len(rows)} pages ≤ {BUDGET_KB:.0f} KB; overview {overview:.0f} KB")
    heaviest = max(rows, key=lambda row: row[3])
    write_figures(
        args.json,
        "page_weight",
        {
            "overview_kb": (overview, "KB", "lower"),
            "heaviest_page_kb": (heaviest[3], "KB", "lower"),
            "pages_within_budget": (float(within), "pages", "higher"),
        },
    )


if __name__ == "__main__":
    main()
