"""Who may do what with directives: every route with a real directive, each role; an agency
officer sees and acts only on directives and parts of their own agencies."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from taydo.auth import journal
from taydo.core.access import GRANTS, api_routes
from taydo.core.db import Database
from tests.directives.conftest import png

ROLES = ("admin", "leader", "operator", "agency_officer", "viewer")


def _routes(client: TestClient, did: int, file_id: int) -> list[tuple[str, str, str, Any]]:
    """(method, path, permission, request keywords) of every directive route."""
    part = f"/api/v1/directives/{did}/assignments/SNNMT"
    photo = {"files": {"file": ("a.png", png(), "image/png")}}
    found = [
        ("GET", "/api/v1/directives", "directives:read", {}),
        ("GET", "/api/v1/directives/choices", "directives:read", {}),
        ("GET", "/api/v1/directives/rates", "directives:read", {}),
        ("GET", f"/api/v1/directives/{did}", "directives:read", {}),
        ("GET", f"/api/v1/directives/files/{file_id}", "directives:read", {}),
        ("POST", "/api/v1/directives", "directives:issue", {"json": {}}),
        ("POST", f"/api/v1/directives/{did}/cancel", "directives:issue", {"json": {}}),
        ("POST", f"/api/v1/directives/{did}/files", "directives:issue", photo),
        ("POST", f"{part}/accept", "directives:issue", {"json": {}}),
        ("POST", f"{part}/return", "directives:issue", {"json": {}}),
        ("POST", f"{part}/ack", "directives:act", {}),
        ("POST", f"{part}/reject", "directives:act", {"json": {}}),
        ("POST", f"{part}/progress", "directives:act", {"json": {}}),
        ("POST", f"{part}/complete", "directives:act", {"json": {}}),
        ("POST", f"{part}/files", "directives:act", photo),
    ]
    declared = {
        (method, route.path)
        for route in api_routes(client.app)
        if route.path.startswith("/api/v1/directives")
        for method in route.methods
    }
    # The stream is checked by tests/core/test_access_matrix.py (it never ends by itself).
    assert len(declared) == len(found) + 1, "a directive route is missing from this test"
    return found


def test_every_route_declares_and_enforces_its_permission(
    client: TestClient, headers_for: Any, issue: Any
) -> None:
    did = issue(["SNNMT"])["id"]
    officer = headers_for("agency_officer", ["SNNMT"])
    file_id = client.post(
        f"/api/v1/directives/{did}/assignments/SNNMT/files",
        files={"file": ("a.png", png(), "image/png")},
        headers=officer,
    ).json()["id"]
    callers = {
        role: headers_for(role, ["SNNMT"] if role == "agency_officer" else None) for role in ROLES
    }
    for method, path, permission, keywords in _routes(client, did, file_id):
        anonymous = client.request(method, path, **keywords)
        assert anonymous.status_code == 401, (method, path)
        for role, headers in callers.items():
            answer = client.request(method, path, headers=headers, **keywords)
            assert answer.status_code < 500, (role, method, path, answer.text)
            if permission in GRANTS[role]:
                assert answer.status_code not in (401, 403), (role, method, path, answer.text)
            else:
                assert answer.status_code == 403, (role, method, path, answer.text)


def test_an_officer_sees_and_acts_only_on_their_agencies(
    client: TestClient, database: Database, headers_for: Any, issue: Any
) -> None:
    theirs = issue(["SXD"], title="Sửa cầu Cái Răng")["id"]
    shared = issue(["SNNMT", "SXD"], title="Nạo vét kênh")["id"]
    snnmt = headers_for("agency_officer", ["SNNMT"])

    listed = client.get("/api/v1/directives", headers=snnmt).json()
    assert [d["id"] for d in listed] == [shared]
    assert all(p["agency_code"] == "SNNMT" for d in listed for p in d["assignments"])
    assert client.get(f"/api/v1/directives/{theirs}", headers=snnmt).status_code == 404
    assert client.get("/api/v1/directives", params={"agency": "SXD"}, headers=snnmt).json() == []

    # Acting on another agency's directive: as if it did not exist.
    for action in ("ack", "progress", "complete", "reject"):
        body = {"percent": 5, "note": "x", "reason": "x"}
        fields = {k: v for k, v in body.items() if k in _FIELDS[action]}
        answer = client.post(
            f"/api/v1/directives/{theirs}/assignments/SXD/{action}",
            json=fields or None,
            headers=snnmt,
        )
        assert answer.status_code == 404, (action, answer.text)
        # On a directive shared with them, another agency's part is refused outright.
        answer = client.post(
            f"/api/v1/directives/{shared}/assignments/SXD/{action}",
            json=fields or None,
            headers=snnmt,
        )
        assert answer.status_code == 403, (action, answer.text)
    entries = journal.query(database, action="directive.*").items
    assert {e["action"] for e in entries} == {"directive.issued"}  # nothing else happened


_FIELDS = {
    "ack": (),
    "progress": ("percent", "note"),
    "complete": ("note",),
    "reject": ("reason",),
}


@pytest.mark.parametrize("role", ["operator", "viewer", "agency_officer"])
def test_only_leaders_issue(client: TestClient, headers_for: Any, role: str) -> None:
    body = {"title": "x", "agencies": ["SNNMT"], "due_at": "2099-01-01T00:00:00Z"}
    answer = client.post(
        "/api/v1/directives",
        json=body,
        headers=headers_for(role, ["SNNMT"] if role == "agency_officer" else None),
    )
    assert answer.status_code == 403
