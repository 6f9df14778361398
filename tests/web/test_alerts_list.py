"""The operators' alerts list (issue 16, item 8) through HTTP: sorting, acknowledging from
the list one by one and in bulk (journalled, announced on the bus), csv/xlsx export read
back, the "unseen" state of an alarm that cleared by itself, the confirmation asked before
resolving while the condition holds, and the assignee picked from a list."""

from __future__ import annotations

import csv
import io
import re
import time
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from taydo.alerts.models import Alert
from taydo.auth.models import AuditEntry
from taydo.core import clock
from taydo.core.db import Database
from taydo.core.runtime import runtime_of

CAN_THO = "urn:ngsi-ld:WaterObserved:can-tho"
CAI_RANG = "urn:ngsi-ld:WaterObserved:cai-rang"
QUIET = "urn:ngsi-ld:WaterObserved:quiet"
HTML = {"Accept": "text/html"}


def _as(headers: dict[str, str]) -> dict[str, str]:
    return {**HTML, **headers}


def _ids(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr data-alert="(\d+)"', page)]


def _cleared_by_itself(database: Database, alert_id: int) -> None:
    """What the engine does when the condition clears: resolved by the system."""
    with database.session() as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        alert.state, alert.open_key = "resolved", None
        alert.resolved_at, alert.resolved_by = clock.now(), "system"


def _listen(client: TestClient) -> list[dict[str, Any]]:
    heard: list[dict[str, Any]] = []
    bus = runtime_of(client.app).bus  # type: ignore[arg-type]

    async def handler(event: Any) -> None:
        heard.append(event.data)

    async def subscribe() -> Any:
        return bus.subscribe("alerts.transition", handler)

    client.portal.call(subscribe)  # type: ignore[union-attr]
    return heard


def _wait(condition: Any) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.02)


def test_the_list_sorts_by_severity_time_station_and_area(  # type: ignore[no-untyped-def]
    client, headers_for, stations, open_alert
) -> None:
    watch = open_alert(CAN_THO, "watch")
    danger = open_alert(CAI_RANG, "danger", agency="SXD")
    viewer = _as(headers_for("viewer"))
    assert _ids(client.get("/alerts", headers=viewer).text) == [danger, watch]  # newest first
    assert _ids(client.get("/alerts?sort=severity", headers=viewer).text) == [danger, watch]
    by_station = client.get("/alerts?sort=station", headers=viewer).text
    assert _ids(by_station) == [danger, watch]  # "cai-rang" before "can-tho"
    assert 'value="station" selected' in by_station
    # the live reload of the rows keeps the order and the filters
    rows = client.get("/alerts/rows?sort=severity&severity=watch", headers=viewer).text
    assert _ids(rows) == [watch]
    # an unknown order falls back to the default, never a 500
    assert client.get("/alerts?sort=%27;drop", headers=viewer).status_code == 200
    assert 'id="select-all"' not in client.get("/alerts", headers=viewer).text  # no acting


def test_ack_from_the_list_and_in_bulk_is_journalled_and_announced(  # type: ignore[no-untyped-def]
    client, database: Database, headers_for, stations, open_alert
) -> None:
    first, second, third = (open_alert(CAN_THO), open_alert(CAI_RANG), open_alert(QUIET))
    operator = _as(headers_for("operator"))
    viewer = _as(headers_for("viewer"))
    page = client.get("/alerts?sort=severity", headers=operator).text
    assert f'action="/alerts/{first}/acknowledge"' in page and 'form="bulk-ack"' in page
    heard = _listen(client)

    one = client.post(
        f"/alerts/{first}/acknowledge",
        data={"back": "/alerts?sort=severity"},
        headers=operator,
        follow_redirects=False,
    )
    assert one.status_code == 303 and one.headers["location"] == "/alerts?sort=severity"
    evil = client.post(
        f"/alerts/{second}/acknowledge",
        data={"back": "https://evil.example/"},
        headers=viewer,
        follow_redirects=False,
    )
    assert evil.status_code == 403  # a viewer may not act

    bulk = client.post(
        "/alerts/acknowledge",
        data={"ids": [str(second), str(third), str(first)], "back": "//evil.example"},
        headers=operator,
        follow_redirects=False,
    )
    assert bulk.status_code == 303 and bulk.headers["location"] == "/alerts"  # no open redirect
    _wait(lambda: {a["id"] for a in heard} == {first, second, third})
    assert all(a["state"] == "acknowledged" for a in heard)
    with database.session() as session:
        states = {a.id: a.state for a in session.scalars(select(Alert))}
        journalled = session.scalars(
            select(AuditEntry.object_id).where(AuditEntry.action == "alert.acknowledged")
        ).all()
    assert states == {first: "acknowledged", second: "acknowledged", third: "acknowledged"}
    assert sorted(journalled) == sorted(str(i) for i in (first, second, third))
    # bad input: a clear 4xx, not a 500
    assert client.post("/alerts/acknowledge", data={"ids": "x"}, headers=operator).status_code in (
        400,
        422,
    )
    too_many = client.post(
        "/alerts/acknowledge", data={"ids": [str(i) for i in range(1, 300)]}, headers=operator
    )
    assert too_many.status_code == 422


def test_an_alarm_that_cleared_unacknowledged_stays_until_someone_sees_it(  # type: ignore[no-untyped-def]
    client, database: Database, headers_for, stations, open_alert
) -> None:
    blip = open_alert(CAN_THO)
    seen = open_alert(CAI_RANG)
    operator = _as(headers_for("operator"))
    client.post(f"/alerts/{seen}/acknowledge", headers=operator)
    _cleared_by_itself(database, blip)
    _cleared_by_itself(database, seen)  # acknowledged before it cleared: not "unseen"
    page = client.get("/alerts", headers=operator).text
    assert _ids(page) == [blip]
    assert "Đã tự hết — chưa ai xem" in page and 'data-unseen="1"' in page
    assert f'action="/alerts/{blip}/acknowledge"' in page
    detail = client.get(f"/alerts/{blip}", headers=operator).text
    assert 'id="acknowledge"' in detail and "Đã xem" in detail
    done = client.post(f"/alerts/{blip}/acknowledge", headers=operator, follow_redirects=False)
    assert done.status_code == 303
    assert _ids(client.get("/alerts", headers=operator).text) == []
    with database.session() as session:
        alert = session.get(Alert, blip)
        assert alert is not None
        assert alert.state == "resolved" and alert.acked_by is not None  # stays resolved
    again = client.post(f"/alerts/{blip}/acknowledge", headers=operator)
    assert again.status_code == 422  # nothing left to acknowledge


def test_resolving_while_the_condition_holds_asks_first(  # type: ignore[no-untyped-def]
    client, database: Database, headers_for, stations, open_alert
) -> None:
    alert = open_alert(CAN_THO)
    operator = _as(headers_for("operator"))
    asked = client.post(f"/alerts/{alert}/resolve", data={"note": "đã kiểm tra"}, headers=operator)
    assert asked.status_code == 200  # a question, not a failure
    assert "Điều kiện cảnh báo vẫn còn" in asked.text and "2.35" in asked.text
    assert 'id="resolve-anyway"' in asked.text and 'name="confirmed" value="true"' in asked.text
    with database.session() as session:
        stored = session.get(Alert, alert)
        assert stored is not None and stored.state == "firing"
    done = client.post(
        f"/alerts/{alert}/resolve",
        data={"note": "đã kiểm tra", "confirmed": "true"},
        headers=operator,
        follow_redirects=False,
    )
    assert done.status_code == 303
    with database.session() as session:
        stored = session.get(Alert, alert)
        assert stored is not None and stored.state == "resolved"


def test_the_assignee_is_picked_from_people_and_agencies(  # type: ignore[no-untyped-def]
    client, database: Database, headers_for, stations, open_alert
) -> None:
    from taydo.auth.displays import create_display
    from taydo.auth.service import create_user

    create_user(database, "trucban", "operator", full_name="Trực ban")
    create_display(database, "tuong-1")
    alert = open_alert(CAN_THO)
    operator = _as(headers_for("operator"))
    page = client.get(f"/alerts/{alert}", headers=operator).text
    assert '<select name="assignee"' in page and 'name="assignee" value=' not in page
    assert '<option value="trucban"' in page and "Trực ban (trucban)" in page
    assert '<option value="DKTTV"' in page and "Đài Khí tượng Thủy văn (DKTTV)" in page
    assert 'value="tuong-1"' not in page  # a wall screen is no one to give work to
    client.post(f"/alerts/{alert}/assign", data={"assignee": "trucban"}, headers=operator)
    assert (
        '<option value="trucban" selected>' in client.get(f"/alerts/{alert}", headers=operator).text
    )
    refused = client.post(f"/alerts/{alert}/assign", data={"assignee": "<b>x"}, headers=operator)
    assert refused.status_code == 422
    client.post(f"/alerts/{alert}/assign", data={"assignee": ""}, headers=operator)
    with database.session() as session:
        stored = session.get(Alert, alert)
        assert stored is not None and stored.assignee is None


def test_export_csv_and_xlsx_of_the_filtered_list(  # type: ignore[no-untyped-def]
    client, database: Database, headers_for, stations, open_alert
) -> None:
    from openpyxl import load_workbook

    from taydo.geo.models import Area

    danger = open_alert(CAN_THO, "danger")
    open_alert(CAI_RANG, "watch", agency="SXD")
    with database.session() as session:
        session.add(Area(code="92", name="Thành phố Cần Thơ", kind="thành phố", level=1))
        session.flush()
        session.add(
            Area(code="31117", name="Phường Cái Khế", kind="phường", level=2, parent_code="92")
        )
        stored = session.get(Alert, danger)
        assert stored is not None
        stored.title = '=HYPERLINK("http://evil.example","bấm")'
        stored.area_code = "31117"
    viewer = _as(headers_for("viewer"))
    page = client.get("/alerts?severity=danger", headers=viewer).text
    assert 'href="/alerts/export.xlsx?severity=danger' in page

    got = client.get("/alerts/export.csv?severity=danger", headers=viewer)
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    assert "attachment" in got.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert table[0][:4] == ["Mã", "Mức độ", "Cảnh báo", "Trạng thái"]
    assert len(table) == 2 and table[1][0] == str(danger) and table[1][1] == "Nguy hiểm"
    assert table[1][2].startswith("'=HYPERLINK")  # text, not a live formula
    assert table[1][3] == "Đang cảnh báo"
    # an area and an agency by name, their codes beside them (every export's convention)
    named = dict(zip(table[0], table[1], strict=True))
    assert named["Khu vực"] == "Phường Cái Khế" and named["Mã khu vực"] == "31117"
    assert named["Cơ quan"] == "Đài Khí tượng Thủy văn" and named["Mã cơ quan"] == "DKTTV"

    book = client.get("/alerts/export.xlsx?severity=danger", headers=viewer)
    assert book.status_code == 200
    sheet = load_workbook(io.BytesIO(book.content)).active
    assert sheet is not None
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][:3] == ["Mã", "Mức độ", "Cảnh báo"]
    assert len(values) == 2 and values[1][0] == danger and values[1][5] == 2.35
    row = dict(zip(values[0], values[1], strict=True))
    assert (row["Khu vực"], row["Mã khu vực"]) == ("Phường Cái Khế", "31117")
    assert (row["Cơ quan"], row["Mã cơ quan"]) == ("Đài Khí tượng Thủy văn", "DKTTV")
    cell = sheet.cell(row=2, column=3)
    assert cell.data_type == "s" and cell.value == '=HYPERLINK("http://evil.example","bấm")'
    assert client.get("/alerts/export.pdf", headers=viewer).status_code == 404
    assert client.get("/alerts/export.csv").status_code in (401, 303)


def test_an_officer_acks_and_exports_only_their_agencies_alerts(  # type: ignore[no-untyped-def]
    client, database: Database, headers_for, stations, open_alert
) -> None:
    theirs = open_alert(CAI_RANG, agency="SXD")
    other = open_alert(CAN_THO, agency="DKTTV")
    officer = _as(headers_for("agency_officer", ["SXD"]))
    assert _ids(client.get("/alerts", headers=officer).text) == [theirs]
    client.post("/alerts/acknowledge", data={"ids": [str(theirs), str(other)]}, headers=officer)
    with database.session() as session:
        states = {a.id: a.state for a in session.scalars(select(Alert))}
    assert states == {theirs: "acknowledged", other: "firing"}
    exported = client.get("/alerts/export.csv", headers=officer).content.decode("utf-8-sig")
    assert [row[0] for row in csv.reader(io.StringIO(exported))][1:] == [str(theirs)]


@given(st.text(max_size=60))
def test_the_way_back_after_an_action_is_always_the_list(back: str) -> None:
    from urllib.parse import urlsplit

    from taydo.alerts.pages import _back

    to = _back(back)
    assert to == "/alerts" or to.startswith("/alerts?")
    parts = urlsplit(to)
    assert not parts.scheme and not parts.netloc and parts.path == "/alerts"
