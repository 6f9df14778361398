"""What runs in the server: reminders to agencies through the alerts outbox, the bus events,
the incident link heard on ``incidents.changed``, the queue's scoped live feed, and the
console pages of operators and agencies."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from taydo.alerts.models import Outbox
from taydo.alerts.routing import Matchers, RouteIn, save_routes
from taydo.citizen.models import CitizenReport
from taydo.citizen.runtime import ReportFeed
from taydo.citizen.service import NewReport, act, create_report, due_for_reminder, reopen
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.bus import Event
from taydo.core.db import Database
from taydo.core.runtime import runtime_of
from tests.citizen.conftest import IN_CAI_RANG, IN_NINH_KIEU

FLOOD = {"do-sau": "bap-chan"}


def _wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_agencies_are_reminded_once_before_the_due_time(citizen_db: Database) -> None:
    save_routes(
        citizen_db,
        [RouteIn(code="sxd", match=Matchers(agencies=["SXD"]), channels=["sxd-hook"])],
    )
    soon = create_report(citizen_db, NewReport("o-ga", *IN_NINH_KIEU))[0]  # SXD, due in 72 h
    late = create_report(citizen_db, NewReport("den-duong", *IN_NINH_KIEU))[0]
    other = create_report(citizen_db, NewReport("rac-thai", *IN_NINH_KIEU))[0]  # the ward's
    with citizen_db.session() as session:
        for report_id, due in ((soon["id"], 1), (late["id"], -1), (other["id"], 1)):
            row = session.get(CitizenReport, report_id)
            assert row is not None
            row.due_at = clock.now() + timedelta(hours=due)
    first = due_for_reminder(citizen_db, before_h=0.5)
    assert [r["id"] for r, _e in first] == [late["id"]]  # the only one due within 30 min
    with citizen_db.session() as session:
        sent = {
            (row.event, row.payload["message"]["extra"]["report_id"], row.channel_code)
            for row in session.scalars(select(Outbox))
        }
    assert sent == {("citizen.overdue", late["id"], "sxd-hook")}
    reminded = due_for_reminder(citizen_db, before_h=2)
    assert {r["id"] for r, _e in reminded} == {soon["id"], other["id"]}
    with citizen_db.session() as session:
        rows = list(session.scalars(select(Outbox).order_by(Outbox.id)))
    # the ward's report has no route to carry it (no channel listens to UBND-NINHKIEU)
    assert [(r.event, r.payload["message"]["link"]) for r in rows] == [
        ("citizen.overdue", f"/citizen/reports/{late['id']}"),
        ("citizen.due_soon", f"/citizen/reports/{soon['id']}"),
    ]
    assert due_for_reminder(citizen_db, before_h=2) == []  # once per report
    # closed, reopened: reminded again
    act(citizen_db, Principal("op", "operator"), soon["id"], "closed", note="xong")
    reopen(citizen_db, soon["token"], days=7)
    with citizen_db.session() as session:
        row = session.get(CitizenReport, soon["id"])
        assert row is not None
        row.due_at = clock.now() + timedelta(hours=1)
    assert [r["id"] for r, _e in due_for_reminder(citizen_db, before_h=2)] == [soon["id"]]


def test_bus_events_and_the_incident_link(citizen_client: TestClient, post_report: Any) -> None:
    runtime = runtime_of(citizen_client.app)
    heard: list[Event] = []

    async def listen(event: Event) -> None:
        heard.append(event)

    citizen_client.portal.call(  # type: ignore[union-attr]
        lambda: runtime.bus.subscribe("citizen.report.*", listen)
    )
    created = post_report("ngap-nuoc", *IN_NINH_KIEU, **{"attribute[do-sau]": "bap-chan"})
    report_id = int(created["service_request_id"])
    _wait_for(lambda: any(e.subject == "citizen.report.created" for e in heard))
    event = next(e for e in heard if e.subject == "citizen.report.created").data
    assert event == {
        "id": report_id,
        "service_code": "ngap-nuoc",
        "title": "Ngập nước",
        "status": "open",
        "agency_code": "UBND-NINHKIEU",
        "area_code": "31135",
        "lat": IN_NINH_KIEU[0],
        "lon": IN_NINH_KIEU[1],
        "requested_at": event["requested_at"],
        "url": f"/citizen/reports/{report_id}",
    }
    # incidents links the report: the status page shows it
    citizen_client.portal.call(  # type: ignore[union-attr]
        runtime.bus.publish,
        "incidents.changed",
        {
            "id": 7,
            "code": "SC-7",
            "type": "ngap-trieu",
            "status": "new",
            "severity": "warning",
            "area_code": "31135",
            "agency_code": None,
            "report_ids": [report_id],
            "alert_ids": [],
            "url": "/incidents/7",
        },
    )
    page = f"/citizen/r/{created['token']}"
    _wait_for(lambda: 'id="incident">#7<' in citizen_client.get(page).text)


def test_the_queue_feed_is_scoped_to_the_viewers_agencies() -> None:
    async def scenario() -> list[bytes]:
        feed = ReportFeed()
        officer = Principal("nk", "agency_officer", agencies=frozenset({"UBND-NINHKIEU"}))

        async def never() -> bool:
            return False

        stream = feed.events(officer, never)
        assert await anext(stream) == b"retry: 2000\n\n"
        waiting = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0)
        await feed.on_event(Event("citizen.report.created", {"id": 1, "agency_code": "SXD"}))
        await feed.on_event(
            Event("citizen.report.created", {"id": 2, "agency_code": "UBND-NINHKIEU"})
        )
        first = await asyncio.wait_for(waiting, 5)
        feed.close()
        await stream.aclose()
        return [first]

    (chunk,) = asyncio.run(scenario())
    assert chunk.startswith(b"event: citizen\ndata: ") and b'"id":2' in chunk


def test_operator_and_agency_pages(
    citizen_client: TestClient, post_report: Any, headers_for: Any
) -> None:
    ours = post_report("ngap-nuoc", *IN_NINH_KIEU, **{"attribute[do-sau]": "bap-chan"})
    theirs = post_report("ngap-nuoc", *IN_CAI_RANG, **{"attribute[do-sau]": "bap-chan"})
    twin = post_report("ngap-nuoc", *IN_NINH_KIEU, **{"attribute[do-sau]": "bap-chan"})
    officer = headers_for("agency_officer", ["UBND-NINHKIEU"])
    queue = citizen_client.get("/citizen/reports", headers=officer)
    assert queue.status_code == 200
    assert f'data-report="{ours["service_request_id"]}"' in queue.text
    assert f'data-report="{theirs["service_request_id"]}"' not in queue.text
    # the twin is flagged in the queue, both ways
    assert f"Có thể trùng: #{twin['service_request_id']}" in queue.text
    assert f"Có thể trùng: #{ours['service_request_id']}" in queue.text
    rows = citizen_client.get("/citizen/reports", headers={**officer, "HX-Request": "true"})
    assert rows.text.lstrip().startswith("<tr")  # the live reload's fragment
    detail = citizen_client.get(f"/citizen/reports/{ours['service_request_id']}", headers=officer)
    assert detail.status_code == 200 and f"Gộp vào #{twin['service_request_id']}" in detail.text
    assert (
        citizen_client.get(
            f"/citizen/reports/{theirs['service_request_id']}", headers=officer
        ).status_code
        == 404
    )
    # merge the twin into ours from its page, then close ours with a note
    merged = citizen_client.post(
        f"/citizen/reports/{twin['service_request_id']}/merge",
        data={"into": ours["service_request_id"]},
        headers=officer,
        follow_redirects=False,
    )
    assert merged.status_code == 303
    refused = citizen_client.post(
        f"/citizen/reports/{ours['service_request_id']}/status",
        data={"status": "closed"},
        headers=officer,
    )
    assert refused.status_code == 422 and "cần ghi chú" in refused.text
    closed = citizen_client.post(
        f"/citizen/reports/{ours['service_request_id']}/status",
        data={"status": "closed", "note": "Đã bơm hết nước"},
        headers=officer,
        follow_redirects=False,
    )
    assert closed.status_code == 303
    public = citizen_client.get(f"/citizen/r/{ours['token']}")
    assert "Đã xử lý xong" in public.text and "Đã bơm hết nước" in public.text
    english = citizen_client.get(f"/citizen/r/{ours['token']}", cookies={"taydo_lang": "en"})
    assert english.status_code == 200
    form = citizen_client.get("/citizen/report")
    assert form.status_code == 200 and "Ngập nước" in form.text
    assert citizen_client.get("/citizen/r/not-a-token").status_code == 404
    anonymous = citizen_client.get(
        "/citizen/reports", headers={"Accept": "text/html"}, follow_redirects=False
    )
    assert anonymous.status_code == 303 and "/login" in anonymous.headers["location"]


def test_the_forms_map_gets_the_ward_outlines(citizen_client: TestClient) -> None:
    answer = citizen_client.get("/citizen/areas.geojson")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/geo+json")
    wards = {f["properties"]["code"]: f for f in answer.json()["features"]}
    assert set(wards) == {"31135", "31186"}  # only wards with an outline
    assert wards["31135"]["geometry"]["type"] == "Polygon"
