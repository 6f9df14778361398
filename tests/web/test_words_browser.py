"""Words, not codes (issue 16, item 4), and every page on a phone (item 10), in real headless
Chromium over demo-like data: the demo's own preparation (the Cần Thơ pack, citizen reports,
incidents, directives, KPIs, the digital workforce, a few hours of history) and alarms of each
rule kind raised by posting levels.

Each console page is opened in Vietnamese; its visible text must hold none of the codes a
person should never read — metric names, entity types, agency codes, area codes, sector keys,
rule kinds, history event codes — built from the catalog and the pack, not typed here. What a
page shows as an identifier on purpose (``<code>``, the raw JSON of a rule in ``pre.raw``) and
what a person types into a form (inputs, text areas) are left out of the visible text.

The same pages on a phone: ``test_phone_browser.py`` (the fixtures here serve both).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from taydo.demo.pages import CAN_THO, find_ids, post_rise
from tests.serving import free_port, serve_in_thread
from tests.web.test_browser import CHROMIUM, _shot, browser

__all__ = ["browser"]  # fixture, imported for pytest

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="headless Chromium is missing: apt-get install -y chromium"
    ),
]

# CAN_THO (taydo.demo.pages): the Cần Thơ water-level station, Báo động 3 = 2.00 m.

# Every console page a person opens from the navigation, and the detail pages the demo data
# gives (filled in by the fixture: the first alert, incident, directive, report, KPI).
PAGES: tuple[str, ...] = (
    "/",
    "/alerts",
    "/alerts?open=all",
    "/alerts/{alert}",
    "/areas",
    "/entities/" + CAN_THO,
    "/data",
    "/data/upload",
    "/incidents",
    "/incidents/{incident}",
    "/incidents/new",
    "/directives",
    "/directives/mine",
    "/directives/{directive}",
    "/citizen/reports",
    "/citizen/reports/{report}",
    "/kpi",
    "/kpi/{kpi}",
    "/dti",
    "/scorecards",
    "/workforce",
    "/reports",
    "/display",
)

# Pages beyond the navigation's, walked in Vietnamese too (not on the phone): every alert the
# fixture raised (a level, a rate, a ward's flood risk), a station of each kind of the pack,
# the flat list, the public report form and the workforce import.
MORE_PAGES: tuple[str, ...] = (
    "/alerts?open=all&group=0",
    "/alerts/{rate_alert}",
    "/alerts/{ward_alert}",
    "/citizen/report",
    "/workforce/import",
    "/entities/{air}",
    "/entities/{salt}",
    "/entities/{traffic}",
    "/entities/{service}",
)

# The visible text of the page's main part: identifiers shown on purpose and form fields out.
VISIBLE = """() => {
  const main = document.querySelector("main") || document.body;
  const copy = main.cloneNode(true);
  copy.querySelectorAll("code, pre.raw, input, textarea, select, script, style, [hidden]")
      .forEach((n) => n.remove());
  document.body.appendChild(copy);  // innerText needs a rendered node
  copy.style.position = "absolute";
  const text = copy.innerText;
  copy.remove();
  return text;
}"""


@dataclass
class Demo:
    base: str
    accounts: dict[str, tuple[str, str]]
    token: str
    ids: dict[str, str]
    codes: list[str]
    data_dir: Path


def raw_codes(database: Any, data_dir: Path) -> list[str]:
    """The codes no person should read, from the catalog and the pack: metric names, entity
    types, agency codes, ward codes ("31135", "area:31135"), sector keys, rule kinds and the
    alert history's event codes."""
    import yaml

    from taydo.catalog.service import list_agencies, list_datasets
    from taydo.catalog.service.labels import RULE_KINDS
    from taydo.catalog.service.packs import load_entity_types

    codes: set[str] = set()
    for type_name, spec in load_entity_types(data_dir).items():
        codes.add(type_name)
        codes.update(spec.metrics)
    codes.update(a["code"] for a in list_agencies(database, limit=10_000)[0])
    datasets = list_datasets(database, limit=10_000)[0]
    codes.update(d["sector"] for d in datasets if d.get("sector"))
    kpis = yaml.safe_load((data_dir / "kpis.yaml").read_text(encoding="utf-8"))
    codes.update(s["code"] for s in kpis["sectors"])
    codes.update(RULE_KINDS)
    codes.update(("fired", "cleared", "escalated", "eased", "None", "area:", "dataset:"))
    # The standard procedures' step fields and roles, the engine's own name as an actor.
    incidents = yaml.safe_load((data_dir / "incidents.yaml").read_text(encoding="utf-8"))
    for sop in incidents.get("sops") or []:
        for step in sop.get("steps") or []:
            codes.update(f["code"] for f in step.get("fields") or [])
    # "target: proposed" marks a KPI target the pack proposes (kpis.yaml): said in words.
    codes.update(("agency_officer", "system", "citizen.report_created", "target: proposed"))
    # The citizen report types' questions and the keys of their answers.
    citizen = yaml.safe_load((data_dir / "citizen.yaml").read_text(encoding="utf-8"))
    for kind in citizen.get("services") or []:
        for question in kind.get("attributes") or []:
            codes.add(question["code"])
            codes.update(v["key"] for v in question.get("values") or [])
    # The notification outbox: channel codes and kinds, delivery states and events.
    from taydo.alerts.routing import list_channels

    channels = list_channels(database)
    codes.update(c["code"] for c in channels)
    codes.update(("webhook", "email", "pending", "sent", "dead", "renotify", "escalation"))
    with database.engine.connect() as connection:
        from sqlalchemy import text

        wards = connection.execute(text("select distinct area_code from entities")).scalars()
        codes.update(str(w) for w in wards if w)
    # People and agencies as the journal stores who acted or was given the work: an account's
    # username (every account of the demo has a name) and the "agency:" / "user:" prefixes.
    from taydo.auth.service import list_users

    codes.update(u.username for u in list_users(database))
    codes.update(("agency:", "user:"))
    # "co" (carbon monoxide) is also a Vietnamese syllable without its marks in names typed
    # by hand; the metric is checked through its label elsewhere, not as a bare word here.
    codes.discard("co")
    # "pH" is the metric's code and also its name, in Vietnamese and English alike.
    codes.discard("pH")
    return sorted(codes)


@pytest.fixture(scope="session")  # shared with test_phone_browser.py: prepared once
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    from rich.console import Console

    from taydo.app import create_app
    from taydo.auth.service import get_user, issue_token
    from taydo.core.db import Database
    from taydo.core.plugins import make_plugin_manager, packs
    from taydo.demo import DemoOptions, demo_settings, prepare

    path = tmp_path_factory.mktemp("words") / "demo.db"
    options = DemoOptions(path=path, port=free_port(), backfill_s=6 * 3600, backfill_step_s=1800)
    database = Database(f"sqlite:///{path}")
    with pytest.MonkeyPatch.context() as patch:
        # The demo's KPI history (hundreds of journalled entries) is what takes the time; the
        # KPI pages list every KPI with its agency and sector without it.
        patch.setattr("taydo.demo.kpi.fill", lambda *args, **kwargs: 0)
        info = prepare(database, options, Console(quiet=True), inbox_secret="words-test")
    accounts = {role: (user, password) for user, password, role in info["accounts"]}
    operator = get_user(database, accounts["operator"][0])
    _row, token = issue_token(database, operator.id, "words test")
    settings = demo_settings(options)
    app = create_app(settings, database=database)
    try:
        with serve_in_thread(app, port=options.port) as base:
            data_dir = packs(make_plugin_manager())["cantho"].data_dir
            demo = Demo(base, accounts, token, {}, raw_codes(database, data_dir), data_dir)
            # A fast rise past Báo động 3 at the Cần Thơ station: the level alarm, the rate
            # alarm and the ward's flood risk (three related alerts: one group in the list).
            api = httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10
            )
            post_rise(api, int(options.backfill_step_s * 1000), int(time.time() * 1000))
            # Under load (2 cores, several suites) the rules take more than 10 s: wait for the
            # level alarm itself, which the pages below need, not for any two alerts.
            deadline = time.monotonic() + 30
            alerts: list[dict[str, Any]] = []
            while time.monotonic() < deadline:
                found = api.get("/api/v1/alerts", params={"active": "true"}).json()
                alerts = [
                    a for a in found if a.get("area_code") == "31135" or a["entity_id"] == CAN_THO
                ]
                # the level alarm the pages below need, and the ward's flood risk that follows it
                rules = {a["rule"] for a in alerts}
                if {"water-level-alarm", "flood-risk-ward"} <= rules:
                    break
                time.sleep(0.2)
            assert alerts, "no alert was raised"
            demo.ids["alert"] = str(alerts[0]["id"])
            level = [a for a in alerts if a["rule"] == "water-level-alarm"]
            assert level, f"no water-level alarm among {[a['rule'] for a in alerts]}"
            demo.ids["level_alert"] = str(level[0]["id"])
            by_rule = {a["rule"]: str(a["id"]) for a in alerts}
            demo.ids["rate_alert"] = by_rule.get("water-level-rising-fast", demo.ids["level_alert"])
            demo.ids["ward_alert"] = by_rule.get("flood-risk-ward", demo.ids["level_alert"])
            # Given to an agency (the grouped-list test acknowledges the group): named, not coded.
            agency = level[0]["agency_code"]
            assert agency, level[0]
            from taydo.catalog.service import list_agencies

            names = {a["code"]: a["name"] for a in list_agencies(database, limit=10_000)[0]}
            demo.ids["agency_name"] = names[agency]
            answer = api.post(f"/api/v1/alerts/{level[0]['id']}/assign", json={"assignee": agency})
            assert answer.status_code == 200, answer.text
            find_ids(api, demo.ids)
            api.close()
            yield demo
    finally:
        database.dispose()


def _login(page: Any, demo: Demo, role: str) -> None:
    username, password = demo.accounts[role]
    page.goto(demo.base + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(demo.base + "/")


def _context(browser: Any, width: int, height: int, state: Any = None) -> Any:
    return browser.new_context(
        viewport={"width": width, "height": height},
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
        storage_state=state,
    )


@pytest.fixture(scope="module")
def admin_state(browser: Any, demo: Demo) -> Any:
    """A logged-in administrator's cookies (every page is open to that role)."""
    context = _context(browser, 1280, 800)
    _login(context.new_page(), demo, "admin")
    state = context.storage_state()
    context.close()
    return state


def _settled(page: Any) -> None:
    page.wait_for_load_state("load")
    page.wait_for_timeout(600)  # the page's scripts fill their parts (feed, charts, rows)


def _found(text: str, codes: list[str]) -> list[str]:
    """The codes in the text, each as a word of its own; a prefix ("agency:") also when a
    code follows it ("agency:CATP")."""
    return [
        code
        for code in codes
        if re.search(
            r"(?<![\w/:-])" + re.escape(code) + ("" if code.endswith(":") else r"(?![\w-])"),
            text,
        )
        is not None
    ]


def test_no_page_shows_a_raw_code_in_vietnamese(browser: Any, demo: Demo, admin_state: Any) -> None:
    assert {"height", "WaterObserved", "DKTTV", "natural-resources-environment", "rate"} <= set(
        demo.codes
    )
    assert {"operator", "leader", "can-bo-sxd", "agency:"} <= set(demo.codes)  # who acted
    assert _found("giao cho agency:CATP", demo.codes) == ["agency:"]
    context = _context(browser, 1920, 1080, admin_state)
    page = context.new_page()
    page.set_default_timeout(15_000)
    shown: dict[str, list[str]] = {}
    for pattern in PAGES + MORE_PAGES:
        path = pattern.format(**demo.ids)
        answer = page.goto(demo.base + path)
        assert answer is not None and answer.status == 200, path
        _settled(page)
        found = _found(page.evaluate(VISIBLE), demo.codes)
        if found:
            shown[path] = found
    # The alerts list and an alert, in words: a title for people, the history in words.
    page.goto(demo.base + "/alerts/" + demo.ids["alert"])
    history = page.locator("section.card").filter(has_text="Lịch sử")
    assert "Bắt đầu cảnh báo" in history.inner_text()
    # The rule's instruction to the public, as such (not only inside the rule's JSON).
    page.goto(demo.base + "/alerts/" + demo.ids["level_alert"])
    assert "Hướng dẫn cho người dân" in page.locator("#instruction").inner_text()
    _shot(page, "words-alert")
    # The notifications by channel name and state in words; who took it and who has it, by name.
    deliveries = page.locator("#deliveries").inner_text()
    assert "Hộp thư thử nghiệm" in deliveries, deliveries
    assert re.search("Đang chờ gửi|Đã gửi|Gửi thất bại", deliveries), deliveries
    facts = page.locator("dl.facts").inner_text()
    assert re.search(r"Người xử lý\s+" + re.escape(demo.ids["agency_name"]), facts), facts
    # Who acted, by name (the demo's accounts are people), the stored code in the tooltip.
    history = page.locator("section.card").filter(has_text="Lịch sử").inner_text()
    assert "Nguyễn Văn An" in history, history  # the operator gave it to the agency
    page.goto(demo.base + "/incidents/" + demo.ids["incident"])
    assigned = page.locator("#assignees").inner_text()
    assert "Công an thành phố Cần Thơ" in assigned and "Đặng Quốc Huy" in assigned, assigned
    assert page.locator("#assignees .who[title='agency:CATP']").count() == 1
    assert "Nguyễn Văn An" in page.locator("#timeline").inner_text()
    assert page.locator("#assign-to option:checked").all_inner_texts()  # picked by name
    page.goto(demo.base + "/directives/" + demo.ids["directive"])
    assert "Lê Hoàng Phúc" in page.locator("#issued-by").inner_text()
    page.goto(demo.base + "/citizen/reports/2")  # acknowledged by the operator
    assert "Nguyễn Văn An" in page.locator("main").inner_text()
    page.goto(demo.base + "/workforce/import")
    assert "Trần Minh Quân" in page.locator("main").inner_text()  # the demo's imports
    # Notes the pack writes in both languages ("Tiếng Việt / English"): the Vietnamese half.
    import yaml

    dti = yaml.safe_load((demo.data_dir / "dti.yaml").read_text(encoding="utf-8"))
    notes = [fw.get("missing", "") for fw in dti["frameworks"]] + [
        i.get("missing", "") for fw in dti["frameworks"] for g in fw["groups"] for i in g["indices"]
    ]
    halves = [n.split(" / ") for n in notes if " / " in n]
    assert halves
    page.goto(demo.base + "/dti?framework=dti-922&province=cantho-cu")
    _settled(page)
    text = " ".join(page.evaluate(VISIBLE).split())
    for vietnamese, english in halves:
        assert " ".join(vietnamese.split()) in text and " ".join(english.split()) not in text
    context.close()
    assert shown == {}, f"raw codes on the pages: {shown}"


def test_related_alerts_are_grouped_in_the_list(browser: Any, demo: Demo) -> None:
    from playwright.sync_api import expect

    context = _context(browser, 1920, 1080)
    page = context.new_page()
    _login(page, demo, "operator")
    page.goto(demo.base + "/alerts")
    lead = page.locator("#alert-rows tr[data-group]").filter(has_text="Cần Thơ").first
    expect(lead).to_be_visible()
    count = int(lead.get_attribute("data-count") or 0)
    assert count >= 2
    key = lead.get_attribute("data-group")
    members = page.locator(f"#alert-rows tr[data-member-of='{key}']")
    expect(members).to_have_count(count - 1)
    expect(members.first).to_be_hidden()  # folded under the worst member
    ranks = {"info": 1, "watch": 2, "warning": 3, "danger": 4, "emergency": 5}
    worst = ranks[lead.get_attribute("data-worst") or ""]  # the group's worst severity
    severities = members.evaluate_all("rows => rows.map(r => r.dataset.severity)")
    severities.append(lead.get_attribute("data-severity"))
    assert max(ranks[s] for s in severities) == worst
    lead.locator("button[data-toggle-group]").click()
    expect(members.first).to_be_visible()
    # The live reload of the rows keeps the group open.
    page.evaluate("document.body.dispatchEvent(new CustomEvent('taydo:alert', {detail: {}}))")
    page.wait_for_timeout(800)
    expect(page.locator(f"#alert-rows tr[data-member-of='{key}']").first).to_be_visible()
    _shot(page, "alerts-grouped")
    # Acknowledging the group acknowledges every member.
    with page.expect_navigation():
        page.locator(f"button[data-ack-group='{key}']").click()
    rows = page.locator(
        f"#alert-rows tr[data-group='{key}'], #alert-rows tr[data-member-of='{key}']"
    )
    expect(rows.first).to_be_attached()
    states = rows.evaluate_all("rows => rows.map(r => r.dataset.state)")
    assert states and all(s == "acknowledged" for s in states), states
    context.close()
