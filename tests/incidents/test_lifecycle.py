"""Incidents through the API: from an alert with its SOP instantiated (conditions applied),
status changes and reopening, internal notes kept from other agencies, permissions, bad input."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.incidents.conftest import WARD, make_alert


def _create(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    answer = client.post("/api/v1/incidents", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_an_alert_becomes_an_incident_with_its_sop_and_both_ways_links(
    pack, client, headers_for
) -> None:
    alert = make_alert(pack, "water-level-alarm", severity="warning")
    operator = headers_for("operator")
    created = _create(client, operator, type="tidal-flooding", alert_id=alert["id"])
    assert created["code"].startswith("SC-") and created["status"] == "new"
    assert created["title"] == alert["title"] and created["area_code"] == WARD
    assert created["severity"] == "warning" and created["due_at"] is not None

    found = client.get(f"/api/v1/incidents/{created['id']}", headers=operator).json()
    steps = [s["code"] for s in found["steps"]]
    # warning: the traffic step (min warning) applies, the evacuation (min danger) does not
    assert steps == ["verify", "forecast", "warn-ward", "traffic", "pumps", "report"]
    assert found["steps"][0]["due_at"] is not None and found["steps"][-1]["due_at"] is None
    assert {"kind": "alert", "ref": str(alert["id"])}.items() <= found["links"][0].items()
    assert found["timeline"][0]["action"] == "incident.created"

    # the other way: the alert's incidents
    by_alert = client.get(f"/api/v1/incidents?alert_id={alert['id']}", headers=operator).json()
    assert [i["id"] for i in by_alert] == [created["id"]]
    page = client.get(
        f"/incidents?alert_id={alert['id']}", headers=operator, follow_redirects=False
    )
    assert page.status_code == 303 and page.headers["location"] == f"/incidents/{created['id']}"

    danger = make_alert(pack, "water-level-alarm", severity="danger")
    severe = _create(client, operator, type="tidal-flooding", alert_id=danger["id"])
    severe_steps = client.get(f"/api/v1/incidents/{severe['id']}", headers=operator).json()
    assert "evacuate" in [s["code"] for s in severe_steps["steps"]]


def test_steps_are_completed_with_their_data_and_the_status_moves_and_reopens(
    pack, client, headers_for
) -> None:
    operator = headers_for("operator")
    created = _create(client, operator, type="tidal-flooding", title="Ngập Ninh Kiều")
    incident = client.get(f"/api/v1/incidents/{created['id']}", headers=operator).json()
    verify = incident["steps"][0]
    url = f"/api/v1/incidents/{created['id']}/steps/{verify['id']}/complete"

    missing = client.post(url, json={"data": {}}, headers=operator)
    assert missing.status_code == 422 and "water_level_m" in missing.json()["error"]
    wrong = client.post(url, json={"data": {"water_level_m": "high"}}, headers=operator)
    assert wrong.status_code == 422
    done = client.post(url, json={"data": {"water_level_m": 2.05}}, headers=operator)
    assert done.status_code == 200 and done.json()["status"] == "in_progress"
    again = client.post(url, json={"data": {"water_level_m": 2.05}}, headers=operator)
    assert again.status_code == 422

    step = client.get(f"/api/v1/incidents/{created['id']}", headers=operator).json()["steps"][0]
    assert step["status"] == "done" and step["data"] == {"water_level_m": 2.05}
    assert step["done_by"] and step["done_at"]

    status = f"/api/v1/incidents/{created['id']}/status"
    assert client.post(status, json={"status": "closed"}, headers=operator).status_code == 422
    resolved = client.post(
        status, json={"status": "resolved", "note": "rút nước"}, headers=operator
    )
    assert resolved.json()["status"] == "resolved" and resolved.json()["resolved_at"]
    closed = client.post(status, json={"status": "closed"}, headers=operator).json()
    assert closed["status"] == "closed" and closed["closed_at"]
    reopened = client.post(status, json={"status": "reopen", "note": "ngập lại"}, headers=operator)
    assert reopened.status_code == 200
    assert reopened.json()["status"] == "in_progress" and reopened.json()["closed_at"] is None
    actions = [
        e["action"]
        for e in client.get(f"/api/v1/incidents/{created['id']}", headers=operator).json()[
            "timeline"
        ]
    ]
    assert actions == [
        "incident.created",
        "incident.step_done",
        "incident.status",
        "incident.status",
        "incident.reopened",
    ]


def test_internal_notes_are_kept_from_another_agencys_officer(pack, client, headers_for) -> None:
    operator = headers_for("operator")
    created = _create(client, operator, type="tidal-flooding", title="Ngập", agency_code="SXD")
    iid = created["id"]
    assign = client.post(
        f"/api/v1/incidents/{iid}/assign",
        json={"agency_code": "SXD", "assignees": ["agency:CATP"]},
        headers=operator,
    )
    assert assign.json()["status"] == "dispatched"
    responsible = headers_for("agency_officer", ["SXD"])
    helper = headers_for("agency_officer", ["CATP"])
    stranger = headers_for("agency_officer", ["SYT"])

    secret = "Máy bơm số 3 hỏng, chưa báo chí"
    note = client.post(
        f"/api/v1/incidents/{iid}/notes",
        json={"body": secret, "internal": True},
        headers=responsible,
    )
    assert note.status_code == 201, note.text
    client.post(f"/api/v1/incidents/{iid}/notes", json={"body": "Đã phân luồng"}, headers=helper)

    seen_by_helper = client.get(f"/api/v1/incidents/{iid}", headers=helper)
    assert seen_by_helper.status_code == 200
    assert secret not in seen_by_helper.text
    assert [n["body"] for n in seen_by_helper.json()["notes"]] == ["Đã phân luồng"]
    refused = client.post(
        f"/api/v1/incidents/{iid}/notes", json={"body": "x", "internal": True}, headers=helper
    )
    assert refused.status_code == 422

    for reader in (responsible, operator):
        body = client.get(f"/api/v1/incidents/{iid}", headers=reader).json()
        assert secret in [n["body"] for n in body["notes"]]
    assert client.get(f"/api/v1/incidents/{iid}", headers=stranger).status_code == 404
    assert client.get("/api/v1/incidents", headers=stranger).json() == []
    assert [i["id"] for i in client.get("/api/v1/incidents", headers=helper).json()] == [iid]
    page = client.get(f"/incidents/{iid}", headers=helper)
    assert page.status_code == 200 and secret not in page.text


def test_permissions(pack, client, headers_for) -> None:
    viewer = headers_for("viewer")
    operator = headers_for("operator")
    body = {"type": "fire", "title": "Cháy chợ"}
    assert client.post("/api/v1/incidents", json=body).status_code == 401
    assert client.post("/api/v1/incidents", json=body, headers=viewer).status_code == 403
    assert client.get("/api/v1/incidents", headers=viewer).status_code == 200
    sop = client.get("/api/v1/incident-sops/fire", headers=viewer).json()
    assert (
        client.put(
            "/api/v1/incident-sops/fire",
            json={k: v for k, v in sop.items() if k != "source"},
            headers=operator,
        ).status_code
        == 403
    )
    admin = headers_for("admin")
    sop["steps"] = sop["steps"][:2]
    del sop["source"]
    saved = client.put("/api/v1/incident-sops/fire", json=sop, headers=admin)
    assert saved.status_code == 200 and saved.json()["changed"] is True
    officer = headers_for("agency_officer", ["CATP"])
    mine = _create(client, officer, type="fire", title="Cháy nhà", agency_code="SYT")
    assert mine["agency_code"] == "CATP"  # an officer opens incidents for their own agency
    steps = client.get(f"/api/v1/incidents/{mine['id']}", headers=officer).json()["steps"]
    assert len(steps) == 2


def test_bad_input_gets_a_clear_4xx(pack, client, headers_for) -> None:
    operator = headers_for("operator")
    admin = headers_for("admin")
    cases = [
        ({"type": "volcano", "title": "x"}, "volcano"),
        ({"type": "fire", "title": "x", "lat": 10.0}, "lat"),
        ({"type": "fire", "title": "x", "severity": "apocalyptic"}, "severity"),
        ({"type": "fire", "report_ids": [424242]}, "424242"),
        ({"type": "fire", "alert_id": 2**62}, "no alert"),
        ({"type": "fire", "title": "x", "started_at": "yesterday"}, "started_at"),
        ({"type": "fire", "title": "x", "surprise": 1}, "surprise"),
    ]
    for body, reason in cases:
        answer = client.post("/api/v1/incidents", json=body, headers=operator)
        assert 400 <= answer.status_code < 500, (body, answer.text)
        assert reason in answer.text, (body, answer.text)
    assert client.get("/api/v1/incidents/999999", headers=operator).status_code == 404
    assert client.get(f"/api/v1/incidents/{2**64}", headers=operator).status_code == 422
    bad_sop = {"type": "fire", "name": "Cháy", "steps": [{"code": "a", "title": "Bước"}]}
    answer = client.put("/api/v1/incident-sops/fire", json=bad_sop, headers=admin)
    assert answer.status_code == 422 and "role or agency" in answer.text
    bad_rule = {
        "code": "x",
        "type": "fire",
        "title": "Cháy",
        "require": [{"alert_rules": ["a"], "report_services": ["b"]}],
    }
    answer = client.put("/api/v1/incident-correlations/x", json=bad_rule, headers=admin)
    assert answer.status_code == 422
    bad_sla = [
        {"type": "fire", "severity": "*", "hours": 1},
        {"type": "fire", "severity": "*", "hours": 2},
    ]
    assert client.put("/api/v1/incident-sla", json=bad_sla, headers=admin).status_code == 422


def test_citizen_reports_become_an_incident_with_their_snapshot(pack, client, headers_for) -> None:
    from taydo.incidents.service import remember_report
    from tests.incidents.conftest import report_event

    remember_report(pack, report_event(11))
    remember_report(pack, report_event(12))
    operator = headers_for("operator")
    created = _create(client, operator, type="citizen-report", report_ids=[11, 12])
    assert created["title"] == "Ngập đường 11" and created["area_code"] == WARD
    assert created["lat"] == 10.034 and created["agency_code"] == "UBND-NINHKIEU"
    links = client.get(f"/api/v1/incidents/{created['id']}", headers=operator).json()["links"]
    assert [(link["kind"], link["ref"]) for link in links] == [("report", "11"), ("report", "12")]
    assert links[0]["snapshot"]["url"] == "/citizen/reports/11"


def test_the_live_stream_reaches_only_the_agencies_concerned() -> None:
    from taydo.core.access import Principal
    from taydo.incidents.stream import IncidentHub

    hub = IncidentHub()
    operator = hub.connect(Principal("op", "operator"))
    responsible = hub.connect(Principal("sxd", "agency_officer", frozenset({"SXD"})))
    assigned = hub.connect(Principal("catp", "agency_officer", frozenset({"CATP"})))
    stranger = hub.connect(Principal("syt", "agency_officer", frozenset({"SYT"})))
    one = hub.connect(Principal("op2", "operator"), incident_id=8)
    hub.publish({"id": 7, "agency_code": "SXD", "assigned_agencies": ["SXD", "CATP"]})
    assert [len(c.queue) for c in (operator, responsible, assigned, stranger, one)] == [
        1,
        1,
        1,
        0,
        0,
    ]


def test_an_agency_officer_completes_only_their_agencys_steps(pack, client, headers_for) -> None:
    operator = headers_for("operator")
    created = _create(client, operator, type="tidal-flooding", title="Ngập", agency_code="SXD")
    client.post(
        f"/api/v1/incidents/{created['id']}/assign",
        json={"agency_code": "SXD", "assignees": ["agency:CATP"]},
        headers=operator,
    )
    steps = {
        s["code"]: s["id"]
        for s in client.get(f"/api/v1/incidents/{created['id']}", headers=operator).json()["steps"]
    }
    police = headers_for("agency_officer", ["CATP"])

    def complete(code: str, who: dict[str, str]) -> Any:
        return client.post(
            f"/api/v1/incidents/{created['id']}/steps/{steps[code]}/complete",
            json={"data": {}},
            headers=who,
        )

    assert complete("traffic", police).status_code == 200  # CATP's own step
    refused = complete("pumps", police)  # SXD's step
    assert refused.status_code == 422 and "SXD" in refused.json()["error"]
    assert complete("warn-ward", police).status_code == 200  # an officers' step
    assert complete("pumps", operator).status_code == 200  # operators stand in for anyone


def test_the_console_form_opens_an_incident_from_citizen_reports(pack, client, headers_for) -> None:
    from taydo.incidents.service import remember_report
    from tests.incidents.conftest import report_event

    remember_report(pack, report_event(21))
    operator = headers_for("operator")
    form = client.get("/incidents/new?report_id=21", headers=operator)
    assert form.status_code == 200 and 'name="report_ids" value="21"' in form.text
    sent = client.post(
        "/incidents/new",
        data={"type": "citizen-report", "report_ids": "21"},
        headers=operator,
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    page = client.get(sent.headers["location"], headers=operator)
    assert "Ngập đường 21" in page.text and "/citizen/reports/21" in page.text
    refused = client.post(
        "/incidents/new", data={"type": "volcano", "title": "x"}, headers=operator
    )
    assert refused.status_code == 422 and "volcano" in refused.text
