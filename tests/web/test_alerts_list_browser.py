"""The operators' alerts list in real headless Chromium (issue 16, item 8): the opt-in alarm
for a new danger-level alert, a bulk acknowledgement, an alarm that cleared by itself kept
as "unseen" and acknowledged from its row, sorting, and the csv export. Waits are
conditions (``expect``), never sleeps."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest

from tests.web.test_browser import CHROMIUM, Live, _login, _page, _post_level, browser, live
from tests.web.test_live_browser import LIVE_MS, _quiet, _watch

__all__ = ["browser", "live"]  # fixtures, imported for pytest

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="headless Chromium is missing: apt-get install -y chromium"
    ),
]


def test_an_operator_works_the_alerts_list(browser: Any, live: Live) -> None:
    from playwright.sync_api import expect

    errors: list[str] = []
    _quiet(live)
    page = _watch(_page(browser, live), errors)
    _login(page, live, "operator")
    page.goto(live.base + "/alerts?group=0")  # one row per alert (grouping: test_words_browser)
    expect(page.locator("#live.on")).to_be_attached()

    # The alarm is off until the operator turns it on; the choice survives a reload.
    toggle = page.locator("#alarm-toggle")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    page.reload()
    expect(page.locator("#alarm-toggle")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#live.on")).to_be_attached()

    # A new danger alarm: the row appears, the alarm sounds once and the title flashes.
    _post_level(live, 2.4)
    firing = page.locator("#alert-rows tr[data-state=firing][data-severity=danger]:not([hidden])")
    expect(firing.first).to_be_visible(timeout=LIVE_MS)
    expect(page.locator("body")).to_have_attribute("data-alarms", re.compile(r"^[1-9]"))
    assert page.evaluate("document.title").startswith("⚠")

    # Bulk acknowledgement: tick every firing row, one action.
    count = page.locator("#alert-rows tr[data-state=firing]").count()
    assert count >= 1
    page.check("#select-all")
    page.click("#bulk-ack-button")
    page.wait_for_url(re.compile(r"/alerts\?"))
    expect(page.locator("#alert-rows tr[data-state=firing]")).to_have_count(0)
    expect(page.locator("#alert-rows tr[data-state=acknowledged]").first).to_be_visible()

    # Back under every level, then a short rise that clears before anyone looks at it.
    _quiet(live)
    _post_level(live, 2.4)
    expect(firing.first).to_be_visible(timeout=LIVE_MS)
    _post_level(live, 1.0)
    unseen = page.locator("#alert-rows tr[data-unseen='1']:not([hidden])")
    expect(unseen.first).to_be_visible(timeout=LIVE_MS)
    expect(unseen.first).to_contain_text("Đã tự hết — chưa ai xem")
    while unseen.count():
        with page.expect_navigation():
            unseen.first.locator("button[data-ack]").click()
    expect(unseen).to_have_count(0)

    # On an alert still above its threshold: "Giao cho" is a choice; resolving asks first.
    _post_level(live, 2.4)
    expect(firing.first).to_be_visible(timeout=LIVE_MS)
    alert_id = firing.first.get_attribute("data-alert")
    page.goto(f"{live.base}/alerts/{alert_id}")
    page.select_option("#assignee", index=1)
    chosen = page.locator("#assignee").input_value()
    with page.expect_navigation():
        page.click("form[action$='/assign'] button[type=submit]")
    expect(page.locator("#assignee")).to_have_value(chosen)
    page.fill("form[action$='/resolve'] input[name=note]", "Kiểm thử: đã kiểm tra tại chỗ")
    with page.expect_navigation():
        page.click("#resolve")
    expect(page.locator("#resolve-confirm")).to_contain_text("Điều kiện cảnh báo vẫn còn")
    expect(page.locator("#resolve-confirm")).to_contain_text("2.4")
    expect(page.locator("#alert-state")).not_to_contain_text("Đã kết thúc")
    with page.expect_navigation():
        page.click("#resolve-anyway")
    expect(page.locator("#alert-state")).to_contain_text("Đã kết thúc")
    page.goto(live.base + "/alerts?group=0")

    # Sorting keeps to the URL; the export is the same filtered list, in Vietnamese.
    page.select_option("select[name=open]", "all")
    page.select_option("select[name=sort]", "severity")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r"sort=severity"))
    ranks = {"info": 1, "watch": 2, "warning": 3, "danger": 4, "emergency": 5}
    shown = [
        ranks[s]
        for s in page.locator("#alert-rows tr[data-alert]:not([hidden])").evaluate_all(
            "rows => rows.map(r => r.dataset.severity)"
        )
    ]
    assert shown and shown == sorted(shown, reverse=True)
    with page.expect_download() as waiting:
        page.click("#export-csv")
    text = open(waiting.value.path(), encoding="utf-8-sig").read()  # noqa: SIM115
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][:3] == ["Mã", "Mức độ", "Cảnh báo"]
    assert len(table) - 1 == len(shown)
    page.context.close()

    # On a phone the list's tools wrap; only the table scrolls sideways, inside its frame.
    phone = _watch(_page(browser, live, 390, 844), errors)
    _login(phone, live, "operator")
    phone.goto(live.base + "/alerts?open=all")
    expect(phone.locator("#bulk-ack-button")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.context.close()
    assert errors == [], f"JavaScript errors: {errors}"
