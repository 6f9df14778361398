"""The console's directive screens: the tracker with rates and the issue form, a directive's
page with every part, the officer's "my directives" with the progress form (files included),
the leader's accept; Vietnamese first, English on request; officers scoped."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from taydo.core import clock
from tests.directives.conftest import jpeg


def _html(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Accept": "text/html"}


def test_a_directive_through_the_console(client: TestClient, headers_for: Any, issue: Any) -> None:
    leader = _html(issue.headers)
    officer = _html(headers_for("agency_officer", ["SNNMT"]))
    page = client.get("/directives", headers=leader)
    assert page.status_code == 200
    assert "Giao nhiệm vụ mới" in page.text and 'name="agencies" value="SXD"' in page.text

    # The form's deadline is wall-clock time in Cần Thơ (UTC+7).
    due = (clock.now() + timedelta(days=2)).astimezone(client.app.state.runtime.settings.tz)
    issued = client.post(
        "/directives",
        data={
            "title": "Ứng phó triều cường phường Ninh Kiều",
            "description": "Huy động lực lượng, kê kích hàng hóa",
            "agencies": ["SNNMT", "UBND-NINHKIEU"],
            "due_at": due.strftime("%Y-%m-%dT%H:%M"),
            "priority": "urgent",
            "incident_id": "7",
        },
        headers=leader,
        follow_redirects=False,
    )
    assert issued.status_code == 303, issued.text
    path = issued.headers["location"]
    did = int(path.rsplit("/", 1)[1])
    shown = client.get(f"/api/v1/directives/{did}", headers=issue.headers).json()
    assert shown["priority"] == "urgent" and shown["incident_id"] == 7
    assert shown["due_at"][:16] == due.astimezone(clock.now().tzinfo).isoformat()[:16]

    detail = client.get(path, headers=leader)
    assert detail.status_code == 200
    assert "Ứng phó triều cường" in detail.text and 'href="/incidents/7"' in detail.text
    assert 'id="part-SNNMT"' in detail.text and 'id="part-UBND-NINHKIEU"' in detail.text
    assert 'data-action="progress"' not in detail.text  # a leader does not report progress

    mine = client.get("/directives/mine", headers=officer)
    assert mine.status_code == 200 and "Ứng phó triều cường" in mine.text
    assert 'data-action="progress"' in mine.text
    reported = client.post(
        f"/directives/{did}/assignments/SNNMT/progress",
        data={"percent": "60", "note": "Đã kê 300 bao cát", "back": "/directives/mine"},
        files=[("files", ("bao-cat.jpg", jpeg(), "image/jpeg"))],
        headers=officer,
        follow_redirects=False,
    )
    assert reported.status_code == 303 and reported.headers["location"] == "/directives/mine"
    officer_view = client.get(path, headers=officer).text
    assert "Đã kê 300 bao cát" in officer_view and "bao-cat.jpg" in officer_view
    assert 'id="part-UBND-NINHKIEU"' not in officer_view  # another agency's part

    # A non-image "evidence" is refused on the page, with the reason, not a 500.
    refused = client.post(
        f"/directives/{did}/assignments/SNNMT/progress",
        data={"percent": "70"},
        files=[("files", ("x.jpg", b"not an image", "image/jpeg"))],
        headers=officer,
    )
    assert refused.status_code == 422 and "PDF" in refused.text

    done = client.post(
        f"/directives/{did}/assignments/SNNMT/progress",
        data={"percent": "100", "note": "Hoàn thành", "complete": "1"},
        headers=officer,
        follow_redirects=False,
    )
    assert done.status_code == 303
    review = client.get(path, headers=leader).text
    assert 'data-action="accept"' in review
    accepted = client.post(
        f"/directives/{did}/assignments/SNNMT/accept", headers=leader, follow_redirects=False
    )
    assert accepted.status_code == 303
    page = client.get("/directives", headers=leader).text
    rate = re.search(r'<tr data-agency="SNNMT">.*?class="num rate">([^<]*)<', page, re.S)
    assert rate is not None and rate.group(1) == "100%"


def test_the_pages_in_english_and_for_officers(
    client: TestClient, headers_for: Any, issue: Any
) -> None:
    did = issue(["SXD"], title="Sửa đèn tín hiệu")["id"]
    english = {**_html(issue.headers), "Cookie": "taydo_lang=en"}
    page = client.get("/directives", headers=english)
    assert "Directive tracker" in page.text and "On-time rate by agency" in page.text
    officer = _html(headers_for("agency_officer", ["SNNMT"]))
    assert client.get(f"/directives/{did}", headers=officer).status_code == 404
    assert "Sửa đèn tín hiệu" not in client.get("/directives", headers=officer).text
    viewer = _html(headers_for("viewer"))
    assert client.get("/directives/mine", headers=viewer).status_code == 403
    assert client.post("/directives", data={}, headers=viewer).status_code == 403
    anonymous = client.get("/directives", headers={"Accept": "text/html"}, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")


def test_the_tracker_pages_through_many_directives(
    client: TestClient, database: Any, headers_for: Any
) -> None:
    from taydo.core.access import Principal
    from taydo.directives import service
    from taydo.directives.pages import PAGE_SIZE

    leader = Principal("leader", "leader")
    for number in range(PAGE_SIZE + 3):
        service.issue(
            database,
            leader,
            title=f"Chỉ đạo thử số {number:03d}",
            agencies=["SXD"],
            due_at=clock.now() + timedelta(days=1, minutes=number),
        )
    headers = _html(headers_for("viewer"))
    first = client.get("/directives", headers=headers).text
    assert first.count("data-directive=") == PAGE_SIZE and "số 000" in first
    assert f"offset={PAGE_SIZE}" in first
    second = client.get(f"/directives?offset={PAGE_SIZE}", headers=headers).text
    assert second.count("data-directive=") == 3 and f"số {PAGE_SIZE + 2:03d}" in second
    assert client.get("/directives?offset=-1", headers=headers).status_code == 422
