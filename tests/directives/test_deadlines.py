"""Deadlines: a reminder before the due time, the overdue flag with its notification (through
the alerts outbox, routed by agency), both once; the on-time counts the KPI engine reads."""

from __future__ import annotations

import email
import email.policy
import socket
import time
from datetime import timedelta
from typing import Any

from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import select

from taydo.alerts.models import Outbox
from taydo.auth import journal
from taydo.core import clock
from taydo.core.db import Database
from taydo.core.runtime import runtime_of
from taydo.directives import on_time_counts
from taydo.directives.runtime import DirectivesRuntime
from tests.directives.conftest import Clock, part


def _route_agencies_to_a_channel(client: TestClient, admin: dict[str, str]) -> None:
    # A webhook nobody listens on: the deliveries stay queued, which is what is checked here.
    channel = {"code": "snnmt-hook", "kind": "webhook", "config": {"url": "http://127.0.0.1:9/"}}
    assert client.put("/api/v1/notify/channels/snnmt-hook", json=channel, headers=admin).is_success
    routes = [{"code": "snnmt", "match": {"agencies": ["SNNMT"]}, "channels": ["snnmt-hook"]}]
    assert client.put("/api/v1/notify/routes", json=routes, headers=admin).is_success


def _queued(database: Database) -> list[tuple[str, dict[str, Any]]]:
    with database.session() as session:
        rows = session.scalars(select(Outbox).order_by(Outbox.id)).all()
        return [(row.event, row.payload["message"]) for row in rows]


def test_reminded_before_the_deadline_then_flagged_overdue_and_notified_once(
    client: TestClient,
    database: Database,
    headers_for: Any,
    issue: Any,
    moved_clock: Clock,
) -> None:
    _route_agencies_to_a_channel(client, headers_for("admin"))
    directive = issue(["SNNMT", "SXD"], hours=30)
    did = directive["id"]
    assert [e for e, _m in _queued(database)] == ["directive.assigned"]  # SXD has no route
    live = runtime_of(client.app).get(DirectivesRuntime)

    assert live.check() == []  # 30 h ahead: not yet within the 24 h reminder
    moved_clock.advance(timedelta(hours=7))
    assert live.check() == []  # reminded, not changed
    events = [e for e, _m in _queued(database)]
    assert events == ["directive.assigned", "directive.due_soon"]
    assert live.check() == []
    assert [e for e, _m in _queued(database)] == events  # once

    moved_clock.advance(timedelta(hours=24))  # now 1 h past the deadline
    changed = live.check()
    assert [d["id"] for d in changed] == [did]
    assert {p["agency_code"]: p["overdue"] for p in changed[0]["assignments"]} == {
        "SNNMT": True,
        "SXD": True,
    }
    kind, message = _queued(database)[-1]
    assert kind == "directive.overdue"
    assert message["agency_code"] == "SNNMT" and message["link"] == f"/directives/{did}"
    assert message["title"].startswith("Quá hạn:") and message["severity"] == "warning"
    assert live.check() == []  # flagged once
    assert len(_queued(database)) == 3

    leader = issue.headers
    shown = client.get(f"/api/v1/directives/{did}", headers=leader).json()
    assert shown["overdue"] is True and part(shown, "SNNMT")["overdue_flagged_at"]
    listed = client.get("/api/v1/directives", params={"overdue": True}, headers=leader).json()
    assert [d["id"] for d in listed] == [did]
    overdue_entries = journal.query(database, action="directive.overdue").items
    assert sorted(e["summary"]["agency"] for e in overdue_entries) == ["SNNMT", "SXD"]

    # Late work still finishes, and counts as late.
    officer = headers_for("agency_officer", ["SNNMT"])
    base = f"/api/v1/directives/{did}/assignments/SNNMT"
    done = client.post(f"{base}/complete", json={"note": "Xong muộn"}, headers=officer).json()
    assert part(done, "SNNMT")["on_time"] is False and part(done, "SNNMT")["overdue"] is False


def test_on_time_counts_and_rates(
    client: TestClient, database: Database, headers_for: Any, issue: Any, moved_clock: Clock
) -> None:
    start = clock.now()
    snnmt = headers_for("agency_officer", ["SNNMT"])
    sxd = headers_for("agency_officer", ["SXD"])
    early = issue(["SNNMT", "SXD"], hours=10)["id"]
    late = issue(["SNNMT"], hours=20)["id"]
    rejected = issue(["SXD"], hours=20)["id"]
    later = issue(["SNNMT"], hours=500)["id"]  # not due in the period: counts nowhere

    def finish(did: int, agency: str, headers: dict[str, str]) -> None:
        base = f"/api/v1/directives/{did}/assignments/{agency}"
        assert client.post(f"{base}/complete", json={"note": "Xong"}, headers=headers).is_success
        assert client.post(f"{base}/accept", json={}, headers=issue.headers).is_success

    finish(early, "SNNMT", snnmt)  # on time
    reject = f"/api/v1/directives/{rejected}/assignments/SXD/reject"
    assert client.post(reject, json={"reason": "Sai đơn vị"}, headers=sxd).is_success
    moved_clock.advance(timedelta(hours=30))  # both deadlines passed; SXD never finished early
    finish(late, "SNNMT", snnmt)  # late
    end = clock.now() + timedelta(seconds=1)

    with database.session() as session:
        assert on_time_counts(session, start=start, end=end) == (1, 3)
        assert on_time_counts(session, start=start, end=end, agency_code="SNNMT") == (1, 2)
        assert on_time_counts(session, start=start, end=end, agency_code="SXD") == (0, 1)
        # Before anything was due or done: nothing counted.
        assert on_time_counts(session, start=start - timedelta(days=2), end=start) == (0, 0)

    rates = client.get("/api/v1/directives/rates", headers=issue.headers).json()
    by_agency = {r["agency_code"]: r for r in rates}
    assert by_agency["SNNMT"]["on_time"] == 1 and by_agency["SNNMT"]["counted"] == 2
    assert by_agency["SNNMT"]["rate"] == 0.5 and by_agency["SNNMT"]["open"] == 1
    assert by_agency["SXD"]["rate"] == 0.0 and by_agency["SXD"]["overdue"] == 1
    assert later
    # An officer sees their own agencies' rates only.
    mine = client.get("/api/v1/directives/rates", headers=snnmt).json()
    assert [r["agency_code"] for r in mine] == ["SNNMT"]


class _Mailbox:
    """What a real SMTP server (aiosmtpd) received."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


def _subjects(mailbox: _Mailbox) -> list[str]:
    return [
        str(email.message_from_bytes(m, policy=email.policy.default)["Subject"])
        for m in mailbox.messages
    ]


def _wait(condition: Any, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not delivered in time"
        time.sleep(0.05)


def test_the_reminder_and_the_overdue_notice_arrive_by_email_through_the_outbox(
    client: TestClient, database: Database, headers_for: Any, issue: Any, moved_clock: Clock
) -> None:
    """End to end: an agency's route to an email channel, a real SMTP server; the reminder
    before the deadline and the overdue notice after it are delivered, each once."""
    mailbox = _Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        admin = headers_for("admin")
        channel = {
            "code": "snnmt-mail",
            "kind": "email",
            "config": {
                "host": "127.0.0.1",
                "port": port,
                "sender": "ioc@cantho.gov.vn",
                "to": ["vanphong@snnmt.cantho.gov.vn"],
            },
        }
        put = client.put("/api/v1/notify/channels/snnmt-mail", json=channel, headers=admin)
        assert put.status_code == 200, put.text
        routes = [{"code": "snnmt", "match": {"agencies": ["SNNMT"]}, "channels": ["snnmt-mail"]}]
        assert client.put("/api/v1/notify/routes", json=routes, headers=admin).is_success
        did = issue(["SNNMT"], hours=30, title="Báo cáo độ mặn trạm Đại Ngãi")["id"]
        _wait(lambda: len(mailbox.messages) == 1)
        live = runtime_of(client.app).get(DirectivesRuntime)

        moved_clock.advance(timedelta(hours=7))  # 23 h left: within the 24 h reminder
        live.check()
        _wait(lambda: len(mailbox.messages) == 2)
        moved_clock.advance(timedelta(hours=24))  # 1 h past the deadline
        assert [d["id"] for d in live.check()] == [did]
        _wait(lambda: len(mailbox.messages) == 3)
        live.check()  # nothing new to say
        time.sleep(0.5)
        subjects = _subjects(mailbox)
        assert len(subjects) == 3, subjects
        assert "Báo cáo độ mặn trạm Đại Ngãi" in subjects[0]
        assert subjects[1].count("Sắp đến hạn") == 1 and subjects[2].count("Quá hạn") == 1
        mail = email.message_from_bytes(mailbox.messages[2], policy=email.policy.default)
        assert mail["To"] == "vanphong@snnmt.cantho.gov.vn"
        assert f"/directives/{did}" in mail.get_body(preferencelist=("plain",)).get_content()
        with database.session() as session:
            rows = session.scalars(select(Outbox).order_by(Outbox.id)).all()
            assert [(r.event, r.status) for r in rows] == [
                ("directive.assigned", "sent"),
                ("directive.due_soon", "sent"),
                ("directive.overdue", "sent"),
            ]
    finally:
        controller.stop()
