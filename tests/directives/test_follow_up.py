"""Following up a directive: the IOC operator who tasked an agency from an incident accepts or
returns the agency's reported completion, as a leader may on any directive; another operator,
a viewer or an officer may not, through the API or the console; cancelling stays with leaders;
each decision is in the audit journal under the one who took it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from taydo.auth import journal
from taydo.core import clock
from taydo.core.access import GRANTS
from taydo.core.db import Database
from taydo.core.plugins import Pack
from taydo.incidents.service import load_incidents_pack
from tests.directives.conftest import part
from tests.incidents.conftest import PACK_DATA


def _incident_directive(client: TestClient, operator: dict[str, str]) -> int:
    """An incident of SXD opened by ``operator``, who tasks SXD from it: the directive id."""
    created = client.post(
        "/api/v1/incidents",
        json={"type": "tidal-flooding", "title": "Ngập đường 30/4", "agency_code": "SXD"},
        headers=operator,
    )
    assert created.status_code == 201, created.text
    issued = client.post(
        f"/api/v1/incidents/{created.json()['id']}/directives",
        json={
            "title": "Bơm tiêu nước đường 30/4",
            "agencies": ["SXD"],
            "due_at": (clock.now() + timedelta(hours=4)).isoformat(),
        },
        headers=operator,
    )
    assert issued.status_code == 201, issued.text
    return int(issued.json()["id"])


@pytest.fixture
def people(headers_for: Any, database: Database) -> dict[str, dict[str, str]]:
    load_incidents_pack(database, Pack("cantho", "Cần Thơ", PACK_DATA))  # the incident types
    return {
        "operator": headers_for("operator"),
        "other_operator": headers_for("operator"),
        "leader": headers_for("leader"),
        "viewer": headers_for("viewer"),
        "sxd": headers_for("agency_officer", ["SXD"]),
        "snnmt": headers_for("agency_officer", ["SNNMT"]),
    }


def _complete(client: TestClient, did: int, officer: dict[str, str]) -> None:
    done = client.post(
        f"/api/v1/directives/{did}/assignments/SXD/complete",
        json={"note": "Đã bơm tiêu xong"},
        headers=officer,
    )
    assert done.status_code == 200, done.text


def test_every_role_that_issues_may_also_follow_up_its_own() -> None:
    """The routes' gate is directives:incident: it must hold for every directives:issue role."""
    for role, granted in GRANTS.items():
        if "directives:issue" in granted:
            assert "directives:incident" in granted, role


def test_the_operator_who_issued_accepts_or_returns_and_no_one_else_below_a_leader(
    client: TestClient, database: Database, people: dict[str, dict[str, str]], issue: Any
) -> None:
    did = _incident_directive(client, people["operator"])
    shown = client.get(f"/api/v1/directives/{did}", headers=people["operator"]).json()
    assert shown["issued_by"].startswith("operator-") and shown["incident_id"] is not None
    _complete(client, did, people["sxd"])
    base = f"/api/v1/directives/{did}/assignments/SXD"

    # Another operator, a viewer, the agency itself, another agency: refused, even with a
    # body that would not validate (the refusal comes before the body is read).
    for who, status in [("other_operator", 403), ("viewer", 403), ("sxd", 403), ("snnmt", 403)]:
        for action, body in [("accept", {}), ("return", {"reason": "Chưa đạt"}), ("return", {})]:
            answer = client.post(f"{base}/{action}", json=body, headers=people[who])
            assert answer.status_code == status, (who, action, answer.text)
    refused = client.post(f"{base}/accept", json={}, headers=people["other_operator"])
    assert "issued this directive" in refused.json()["error"]
    assert (
        part(client.get(f"/api/v1/directives/{did}", headers=people["leader"]).json(), "SXD")[
            "status"
        ]
        == "done"
    )

    # The operator who asked for the work sends it back, then accepts the second report.
    returned = client.post(
        f"{base}/return", json={"reason": "Còn ngập điểm trũng"}, headers=people["operator"]
    )
    assert returned.status_code == 200, returned.text
    assert part(returned.json(), "SXD")["status"] == "in_progress"
    assert client.post(f"{base}/return", json={}, headers=people["operator"]).status_code == 422
    _complete(client, did, people["sxd"])
    accepted = client.post(f"{base}/accept", json={"note": "Đạt"}, headers=people["operator"])
    assert accepted.status_code == 200, accepted.text
    assert part(accepted.json(), "SXD")["status"] == "accepted"
    assert accepted.json()["status"] == "completed"
    # Bad input stays a clear error: an agency not assigned, a directive that does not exist.
    other = _incident_directive(client, people["operator"])
    assert (
        client.post(
            f"/api/v1/directives/{other}/assignments/SNNMT/accept",
            json={},
            headers=people["operator"],
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/api/v1/directives/987654/assignments/SXD/accept", json={}, headers=people["operator"]
        ).status_code
        == 404
    )

    entries = journal.query(database, action="directive.*").items
    decided = [
        (e["action"], e["actor"])
        for e in entries
        if e["action"] in ("directive.accepted", "directive.returned")
    ]
    operator = shown["issued_by"]
    assert sorted(decided) == [("directive.accepted", operator), ("directive.returned", operator)]

    # Cancelling stays with the leaders, even for one's own directive.
    cancel = client.post(
        f"/api/v1/directives/{other}/cancel", json={"reason": "Trùng"}, headers=people["operator"]
    )
    assert cancel.status_code == 403


def test_a_leader_follows_up_any_directive_and_an_operator_only_their_own(
    client: TestClient, people: dict[str, dict[str, str]], issue: Any
) -> None:
    theirs = _incident_directive(client, people["operator"])
    leaders = issue(["SXD"])["id"]
    for did in (theirs, leaders):
        _complete(client, did, people["sxd"])
    answer = client.post(
        f"/api/v1/directives/{leaders}/assignments/SXD/accept", json={}, headers=people["operator"]
    )
    assert answer.status_code == 403, answer.text
    for did in (theirs, leaders):
        answer = client.post(
            f"/api/v1/directives/{did}/assignments/SXD/accept", json={}, headers=people["leader"]
        )
        assert answer.status_code == 200, answer.text


def _html(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Accept": "text/html"}


def test_the_issuing_operator_reviews_from_the_directive_page(
    client: TestClient, people: dict[str, dict[str, str]]
) -> None:
    did = _incident_directive(client, people["operator"])
    page = f"/directives/{did}"
    before = client.get(page, headers=_html(people["operator"]))
    assert before.status_code == 200 and 'data-action="accept"' not in before.text  # not done
    _complete(client, did, people["sxd"])

    for who in ("operator", "leader"):
        shown = client.get(page, headers=_html(people[who])).text
        assert 'data-action="accept"' in shown and 'data-action="return"' in shown, who
    for who in ("other_operator", "viewer", "sxd"):
        shown = client.get(page, headers=_html(people[who]))
        assert shown.status_code == 200 and 'data-action="accept"' not in shown.text, who

    # Another operator posting the form anyway: the page says why, nothing changes.
    refused = client.post(
        f"{page}/assignments/SXD/accept",
        data={"note": ""},
        headers=_html(people["other_operator"]),
        follow_redirects=False,
    )
    assert refused.status_code == 422 and "người đã giao chỉ đạo này" in refused.text
    assert (
        part(client.get(f"/api/v1/directives/{did}", headers=people["leader"]).json(), "SXD")[
            "status"
        ]
        == "done"
    )

    returned = client.post(
        f"{page}/assignments/SXD/return",
        data={"reason": "Thiếu ảnh hiện trường"},
        headers=_html(people["operator"]),
        follow_redirects=False,
    )
    assert returned.status_code == 303, returned.text
    _complete(client, did, people["sxd"])
    accepted = client.post(
        f"{page}/assignments/SXD/accept",
        data={"note": "Đạt"},
        headers=_html(people["operator"]),
        follow_redirects=False,
    )
    assert accepted.status_code == 303, accepted.text
    final = client.get(f"/api/v1/directives/{did}", headers=people["operator"]).json()
    assert final["status"] == "completed" and part(final, "SXD")["status"] == "accepted"
