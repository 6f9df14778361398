"""Messages that are not alerts go through the alerts' routes, outbox and senders."""

from __future__ import annotations

import email
import email.policy
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from taydo.alerts.messages import Message, enqueue_message
from taydo.alerts.models import Outbox
from taydo.app import create_app
from tests.alerts.conftest import wait_for
from tests.alerts.test_notify import Receiver, smtp  # noqa: F401  (fixture)

OVERDUE = Message(
    kind="directive.overdue",
    title="Chỉ đạo quá hạn: Khơi thông cống Cái Khế",
    title_en="Directive overdue: clear the Cái Khế culvert",
    body="Hạn 02/12/2026 17:00 đã qua.",
    link="/directives/7",
    agency_code="SXD",
    area_code="31117",
    severity="warning",
)


def test_a_message_reaches_the_channels_of_the_routes_that_carry_it(
    settings,
    database,
    headers_for,
    smtp,  # noqa: F811
) -> None:
    controller, mailbox = smtp
    hook, other = Receiver(), Receiver()
    admin = headers_for("admin")
    try:
        with TestClient(create_app(settings, database=database)) as client:
            channels = {
                "sxd-hook": {"kind": "webhook", "config": {"url": hook.url}},
                "kttv-hook": {"kind": "webhook", "config": {"url": other.url}},
                "sxd-mail": {
                    "kind": "email",
                    "config": {
                        "host": "127.0.0.1",
                        "port": controller.server.sockets[0].getsockname()[1],
                        "to": ["sxd@cantho.gov.vn"],
                    },
                },
            }
            for code, body in channels.items():
                put = client.put(
                    f"/api/v1/notify/channels/{code}", json={"code": code, **body}, headers=admin
                )
                assert put.status_code == 200, put.text
            routes = [
                {
                    "code": "sxd",
                    "match": {"agencies": ["SXD"]},
                    "channels": ["sxd-hook", "sxd-mail"],
                },
                {"code": "kttv", "match": {"agencies": ["KTTV"]}, "channels": ["kttv-hook"]},
                # about particular rules: carries alerts only, never a message
                {"code": "rule", "match": {"rules": ["tide-bd3"]}, "channels": ["kttv-hook"]},
                {"code": "danger", "match": {"min_severity": "danger"}, "channels": ["kttv-hook"]},
                # a second route to the same channel: still one delivery
                {"code": "all-sxd", "match": {"areas": ["31117"]}, "channels": ["sxd-hook"]},
            ]
            assert (
                client.put("/api/v1/notify/routes", json=routes, headers=admin).status_code == 200
            )

            with database.session() as session:
                assert enqueue_message(session, OVERDUE) == 2

            wait_for(lambda: hook.requests and mailbox.messages)
            headers, body = hook.requests[0]
            assert headers["X-Taydo-Event"] == "directive.overdue"
            sent = json.loads(body)["message"]
            assert sent["title"] == OVERDUE.title and sent["link"] == "/directives/7"
            mail = email.message_from_bytes(mailbox.messages[0], policy=email.policy.default)
            assert "Chỉ đạo quá hạn" in str(mail["Subject"])
            assert "Khơi thông cống Cái Khế" in mail.get_content()
            assert other.requests == []
            with database.session() as session:
                rows = session.scalars(select(Outbox)).all()
                assert sorted(r.channel_code for r in rows) == ["sxd-hook", "sxd-mail"]
                assert all(r.alert_id is None for r in rows)
    finally:
        hook.close()
        other.close()


def test_a_message_without_a_route_queues_nothing(database) -> None:
    with database.session() as session:
        assert enqueue_message(session, OVERDUE) == 0


@pytest.mark.parametrize("kind", ["", "x" * 25])
def test_a_message_kind_fits_the_outbox(kind: str) -> None:
    with pytest.raises(ValueError):
        Message(kind=kind, title="t", title_en="t")
