"""A notification e-mail names its area and agency ("Phường Cái Khế (31117)"), read from the
geography and the catalog when it is sent, through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from taydo.alerts.notify import Notifier
from taydo.catalog.models import Agency
from taydo.core.db import Database
from taydo.geo.models import Area


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Controller, Mailbox]]:
    mailbox = Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield controller, mailbox
    finally:
        controller.stop()


def _places(database: Database) -> None:
    with database.session() as session:
        session.add(Area(code="92", name="Thành phố Cần Thơ", kind="thành phố", level=1))
        session.flush()
        session.add(
            Area(code="31117", name="Phường Cái Khế", kind="phường", level=2, parent_code="92")
        )
        session.add(Agency(code="SXD", name="Sở Xây dựng", name_en="", kind="so"))


def _sent(database: Database, smtp: tuple[Controller, Mailbox], payload: dict[str, Any]) -> str:
    controller, mailbox = smtp
    channel = {
        "config": {
            "host": "127.0.0.1",
            "port": controller.server.sockets[0].getsockname()[1],
            "sender": "ioc@cantho.gov.vn",
            "to": ["sxd@cantho.gov.vn"],
        },
        "secret": None,
    }
    Notifier(database)._email({"id": 1, "event": "fired", "payload": payload}, channel)
    mail = email.message_from_bytes(mailbox.messages[-1], policy=email.policy.default)
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def test_the_alert_and_the_message_name_their_area_and_agency(
    database: Database,
    smtp: tuple[Controller, Mailbox],
) -> None:
    _places(database)
    alert = {
        "title": "Nguy cơ ngập — Phường Cái Khế",
        "title_en": "Flood risk — Phường Cái Khế",
        "area_code": "31117",
        "agency_code": "SXD",
        "value": 2.1,
        "started_at": "2026-12-04T01:00:00+00:00",
    }
    text = _sent(database, smtp, {"event": "fired", "alert": alert})
    assert "Khu vực / Area: Phường Cái Khế (31117)" in text
    assert "Cơ quan / Agency: Sở Xây dựng (SXD)" in text
    message = {"title": "Chỉ đạo mới", "body": "…", "area_code": "31117", "agency_code": "SXD"}
    text = _sent(database, smtp, {"message": message})
    assert "Khu vực / Area: Phường Cái Khế (31117)  Cơ quan / Agency: Sở Xây dựng (SXD)" in text
    # a code nothing names is shown as itself, no code as "—"
    unknown = {**alert, "area_code": "99999", "agency_code": None}
    text = _sent(database, smtp, {"event": "fired", "alert": unknown})
    assert "Khu vực / Area: 99999  Cơ quan / Agency: —" in text
