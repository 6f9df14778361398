"""A directive from issue to acceptance over HTTP, on SQLite and PostgreSQL: every step is
scoped, journalled and published on the bus."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi.testclient import TestClient

from taydo.auth import journal
from taydo.core.db import Database
from taydo.core.runtime import runtime_of
from tests.directives.conftest import PDF, part, png


def test_issue_acknowledge_progress_complete_accept(
    client: TestClient, database: Database, headers_for: Any, issue: Any
) -> None:
    heard: list[dict[str, Any]] = []

    async def listen(event: Any) -> None:
        heard.append(event.data)

    runtime = runtime_of(client.app)
    client.portal.call(_subscribe, runtime, listen)  # type: ignore[attr-defined]

    officer = headers_for("agency_officer", ["SNNMT"])
    directive = issue(["SNNMT", "SXD"], priority="high", kpi_code="ngap-xu-ly", incident_id=42)
    did = directive["id"]
    assert directive["status"] == "open" and directive["incident_id"] == 42
    assert [p["status"] for p in directive["assignments"]] == ["assigned", "assigned"]

    base = f"/api/v1/directives/{did}/assignments/SNNMT"
    answer = client.post(f"{base}/ack", headers=officer)
    assert answer.status_code == 200, answer.text
    assert part(answer.json(), "SNNMT")["status"] == "acknowledged"
    # An officer sees their own agency's part only (and every agency's code).
    assert [p["agency_code"] for p in answer.json()["assignments"]] == ["SNNMT"]
    assert answer.json()["agency_codes"] == ["SNNMT", "SXD"]

    photo = client.post(
        f"{base}/files", files={"file": ("hiện trường.png", png(), "image/png")}, headers=officer
    )
    assert photo.status_code == 201, photo.text
    assert photo.json()["media_type"] == "image/png"
    answer = client.post(
        f"{base}/progress",
        json={"percent": 40, "note": "Đã nạo vét 200 m", "files": [photo.json()["id"]]},
        headers=officer,
    )
    assert answer.status_code == 200, answer.text
    assert part(answer.json(), "SNNMT")["percent"] == 40
    assert part(answer.json(), "SNNMT")["status"] == "in_progress"

    report = client.post(
        f"{base}/files", files={"file": ("bien-ban.pdf", PDF, "application/pdf")}, headers=officer
    )
    assert report.status_code == 201, report.text
    answer = client.post(
        f"{base}/complete",
        json={"note": "Hoàn thành nạo vét", "files": [report.json()["id"]]},
        headers=officer,
    )
    assert answer.status_code == 200, answer.text
    done = part(answer.json(), "SNNMT")
    assert done["status"] == "done" and done["percent"] == 100 and done["on_time"] is True

    accepted = client.post(f"{base}/accept", json={"note": "Đạt"}, headers=issue.headers)
    assert accepted.status_code == 200, accepted.text
    assert part(accepted.json(), "SNNMT")["status"] == "accepted"
    assert accepted.json()["status"] == "open"  # SXD still owes its part

    sxd = headers_for("agency_officer", ["SXD"])
    rejected = client.post(
        f"/api/v1/directives/{did}/assignments/SXD/reject",
        json={"reason": "Không thuộc thẩm quyền"},
        headers=sxd,
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "completed"  # nobody owes anything now

    full = client.get(f"/api/v1/directives/{did}", headers=issue.headers).json()
    snnmt = part(full, "SNNMT")
    assert [r["kind"] for r in snnmt["reports"]] == ["progress", "completion"]
    assert sorted(f["media_type"] for f in snnmt["files"]) == ["application/pdf", "image/png"]
    assert [e["action"] for e in full["timeline"]] == [
        "issued",
        "acknowledged",
        "file",
        "progress",
        "file",
        "completed",
        "accepted",
        "rejected",
    ]
    entries = journal.query(database, action="directive.*").items
    assert len(entries) == 8 and all(e["object_id"] == str(did) for e in entries)
    assert journal.verify(database).ok

    _wait(lambda: len(heard) >= 6)
    assert heard[0] == {
        "id": did,
        "status": "open",
        "agency_codes": ["SNNMT", "SXD"],
        "due_at": directive["due_at"],
        "incident_id": 42,
        "kpi_code": "ngap-xu-ly",
        "url": f"/directives/{did}",
    }
    assert heard[-1]["status"] == "completed"


def test_a_returned_completion_goes_back_to_the_agency(
    client: TestClient, headers_for: Any, issue: Any
) -> None:
    officer = headers_for("agency_officer", ["SXD"])
    did = issue(["SXD"])["id"]
    base = f"/api/v1/directives/{did}/assignments/SXD"
    assert client.post(f"{base}/complete", json={"note": "Xong"}, headers=officer).is_success
    returned = client.post(
        f"{base}/return", json={"reason": "Thiếu ảnh hiện trường"}, headers=issue.headers
    )
    assert returned.status_code == 200, returned.text
    again = part(returned.json(), "SXD")
    assert again["status"] == "in_progress" and again["reason"] == "Thiếu ảnh hiện trường"
    assert again["done_at"] is None
    # Accepting what is not reported is refused with the reason, not a 500.
    refused = client.post(f"{base}/accept", json={}, headers=issue.headers)
    assert refused.status_code == 409 and refused.json()["error"]


def test_bad_input_gets_a_clear_refusal(client: TestClient, issue: Any) -> None:
    leader = issue.headers
    for body, status in (
        ({"title": "x", "agencies": ["SNNMT"], "due_at": "2020-01-01T00:00:00Z"}, 422),
        ({"title": "x", "agencies": ["NOPE"], "due_at": "2099-01-01T00:00:00Z"}, 422),
        ({"title": "x", "agencies": [], "due_at": "2099-01-01T00:00:00Z"}, 422),
        ({"title": "x", "agencies": ["SNNMT"], "due_at": "2099-01-01T00:00:00"}, 422),
        (
            {"title": "x", "agencies": ["SNNMT"], "due_at": "2099-12-01T00:00Z", "priority": "p"},
            422,
        ),
    ):
        answer = client.post("/api/v1/directives", json=body, headers=leader)
        assert answer.status_code == status, (body, answer.text)
        assert answer.json()["error"]
    did = issue(["SNNMT"])["id"]
    assert client.get("/api/v1/directives/999999", headers=leader).status_code == 404
    assert client.get(f"/api/v1/directives/{did}", headers=leader).status_code == 200
    listed = client.get("/api/v1/directives", params={"status": "weird"}, headers=leader)
    assert listed.status_code == 422


async def _subscribe(runtime: Any, handler: Any) -> None:
    runtime.bus.subscribe("directives.changed", handler)


def _wait(condition: Any, timeout: float = 5.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


__all__ = ["asyncio"]


def test_two_officers_completing_at_once_complete_it_once(
    client: TestClient, database: Database, issue: Any
) -> None:
    import threading

    from taydo.core.access import Principal
    from taydo.core.errors import Conflict
    from taydo.directives import service

    did = issue(["SXD"])["id"]
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def complete(number: int) -> None:
        officer = Principal(f"sxd-{number}", "agency_officer", frozenset({"SXD"}))
        barrier.wait()
        try:
            service.complete(database, officer, did, "SXD", note=f"Xong ({number})")
            outcomes.append("done")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=complete, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "done"]
    shown = service.get_directive(database, None, did)
    assert [r["kind"] for r in part(shown, "SXD")["reports"]] == ["completion"]
