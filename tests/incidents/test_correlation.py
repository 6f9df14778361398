"""Correlation rules: signals of one ward make one incident and later ones join it; decisions
come from the database (a restart loses nothing); two processes hearing the same signal at
once still make one incident (PostgreSQL: the unique open key)."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select

from taydo.core import clock
from taydo.core.runtime import runtime_of
from taydo.incidents.models import Incident
from taydo.incidents.service import correlate, get_incident, list_incidents, remember_report
from tests.alerts.conftest import wait_for
from tests.conftest import POSTGRES_ONLY
from tests.incidents.conftest import OTHER_WARD, WARD, make_alert, report_event


def _count(database) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(Incident)) or 0)


def test_alarm_rise_and_flood_report_make_one_incident_later_signals_join(pack) -> None:
    database = pack
    alarm = make_alert(database, "water-level-alarm")
    assert correlate(database, "alert", alarm) == []  # one signal of three: not yet
    rising = make_alert(database, "water-level-rising-fast")
    assert correlate(database, "alert", rising) == []
    report = remember_report(database, report_event(501))
    assert report is not None
    events = correlate(database, "report", report)
    assert len(events) == 1
    event = events[0]
    assert event["type"] == "tidal-flooding" and event["area_code"] == WARD
    assert event["alert_ids"] == sorted([alarm["id"], rising["id"]]) and event["report_ids"] == [
        501
    ]
    incident = get_incident(database, None, event["id"])
    assert (
        incident["title"] == "Ngập do triều cường" and incident["correlation"] == "king-tide-flood"
    )
    assert incident["lat"] is not None and incident["steps"]

    # later: another report and another alarm of the ward join the open incident
    second = remember_report(database, report_event(502))
    joined = correlate(database, "report", second)
    assert [e["id"] for e in joined] == [event["id"]] and joined[0]["report_ids"] == [501, 502]
    again = make_alert(database, "water-level-alarm", severity="danger")
    joined = correlate(database, "alert", again)
    assert again["id"] in joined[0]["alert_ids"]
    # the same signal twice is one link
    correlate(database, "report", second)
    assert len(get_incident(database, None, event["id"])["links"]) == 5
    assert _count(database) == 1

    # another ward: its own signals, its own incident (none yet: only one signal there)
    elsewhere = remember_report(database, report_event(503, area=OTHER_WARD))
    assert correlate(database, "report", elsewhere) == []
    # signals outside the window do not count
    old = report_event(504, area=OTHER_WARD)
    old["requested_at"] = (clock.now() - timedelta(hours=5)).isoformat()
    remember_report(database, old)
    make_alert(
        database,
        "water-level-alarm",
        area=OTHER_WARD,
        state="resolved",
        started=clock.now() - timedelta(hours=6),
    )
    make_alert(database, "water-level-rising-fast", area=OTHER_WARD)
    assert correlate(database, "report", elsewhere) == []
    assert _count(database) == 1

    # once resolved, the next signal of the ward opens a new incident
    from taydo.incidents.schemas import StatusIn
    from taydo.incidents.service import change_status

    change_status(database, None, event["id"], StatusIn(status="resolved"))
    third = remember_report(database, report_event(505))
    fresh = correlate(database, "report", third)
    assert len(fresh) == 1 and fresh[0]["id"] != event["id"]


def test_correlation_runs_on_the_bus_of_a_running_app(pack, client, headers_for) -> None:
    runtime = runtime_of(client.app)
    bus = runtime.bus
    alarm = make_alert(pack, "water-level-alarm")
    rising = make_alert(pack, "water-level-rising-fast")
    heard: list[dict] = []

    async def listen(event) -> None:
        heard.append(event.data)

    async def subscribe():  # on the app's event loop
        return bus.subscribe("incidents.changed", listen)

    subscription = client.portal.call(subscribe)
    try:
        client.portal.call(bus.publish, "alerts.transition", alarm)
        client.portal.call(bus.publish, "alerts.transition", rising)
        client.portal.call(bus.publish, "citizen.report.created", report_event(601))
        found = wait_for(lambda: list_incidents(pack, None, limit=5))
        assert len(found) == 1 and found[0]["correlation"] == "king-tide-flood"
        wait_for(lambda: heard)
        assert heard[0]["report_ids"] == [601]
        # an update of the report refreshes the link's snapshot (no new incident)
        client.portal.call(
            bus.publish, "citizen.report.updated", report_event(601, status="closed")
        )
        wait_for(
            lambda: (
                get_incident(pack, None, found[0]["id"])["links"][-1]["snapshot"]["status"]
                == "closed"
            )
        )
        assert _count(pack) == 1
    finally:
        bus.unsubscribe(subscription)


@POSTGRES_ONLY
def test_two_processes_hearing_the_same_signals_make_one_incident(pack) -> None:
    database = pack
    make_alert(database, "water-level-alarm")
    make_alert(database, "water-level-rising-fast")
    report = remember_report(database, report_event(701))
    barrier = threading.Barrier(4)
    results: list[list[dict]] = []
    errors: list[BaseException] = []

    def judge() -> None:
        barrier.wait()
        try:
            results.append(correlate(database, "report", report))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=judge) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _count(database) == 1
    ids = {event["id"] for found in results for event in found}
    assert len(ids) == 1
    assert len(get_incident(database, None, ids.pop())["links"]) == 3


def test_an_incident_opened_by_hand_receives_later_signals_of_its_ward(pack) -> None:
    from taydo.incidents.schemas import IncidentIn
    from taydo.incidents.service import create

    database = pack
    incident, _event = create(
        database, None, IncidentIn(type="tidal-flooding", title="Ngập", area_code=WARD)
    )
    assert incident["correlation"] == "king-tide-flood"
    report = remember_report(database, report_event(801))
    joined = correlate(database, "report", report)
    assert [e["id"] for e in joined] == [incident["id"]] and joined[0]["report_ids"] == [801]
    # a second one by hand in the same ward holds no key: signals keep joining the first
    second, _event = create(
        database, None, IncidentIn(type="tidal-flooding", title="Ngập 2", area_code=WARD)
    )
    assert second["correlation"] is None
    assert _count(database) == 2


def test_alerts_raised_before_the_domain_listens_join_at_start(pack, app) -> None:
    """The alert runtime starts first and judges the backlog at once: a transition published
    before the incidents domain subscribed is judged from the database when it starts (the
    demo's rising-fast alarm of Ninh Kiều used to miss its open king-tide incident)."""
    from fastapi.testclient import TestClient

    from taydo.incidents.schemas import IncidentIn
    from taydo.incidents.service import create

    incident, _event = create(
        pack, None, IncidentIn(type="tidal-flooding", title="Ngập", area_code=WARD)
    )
    rising = make_alert(pack, "water-level-rising-fast")
    elsewhere = make_alert(pack, "water-level-rising-fast", area=OTHER_WARD)
    assert _alerts_of(pack, incident["id"]) == []
    with TestClient(app):
        linked = _alerts_of(pack, incident["id"])
        assert linked == [str(rising["id"])] and str(elsewhere["id"]) not in linked
    with TestClient(app):  # a second start judges again: still one link
        assert _alerts_of(pack, incident["id"]) == [str(rising["id"])]
    assert _count(pack) == 1


def _alerts_of(database, incident_id: int) -> list[str]:
    links = get_incident(database, None, incident_id)["links"]
    return [link["ref"] for link in links if link["kind"] == "alert"]
