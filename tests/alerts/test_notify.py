"""Notifications through real local servers: HTTP receivers in threads, aiosmtpd for email."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import select

from taydo.alerts.models import Outbox
from taydo.app import create_app
from taydo.catalog.series import SeriesIndex
from taydo.core import clock
from taydo.core.runtime import runtime_of
from tests.alerts.conftest import SALT, WATER, publish, wait_for

SECRET = "webhook-key-không-lộ"


class Receiver:
    """A real HTTP server: records requests; answers ``status`` after ``delay`` seconds."""

    def __init__(self, status: int = 200, delay: float = 0.0) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(delay)
                receiver.requests.append((dict(self.headers), body))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.block_on_close = False
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
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


@pytest.fixture
def fast_settings(settings):
    return settings.model_copy(update={"notify_backoff_s": 0.05, "webhook_timeout_s": 60.0})


def test_slow_down_or_failing_receivers_never_hold_back_others(
    catalog, fast_settings, database, headers_for, smtp
) -> None:
    controller, mailbox = smtp
    good, slow, broken = Receiver(), Receiver(delay=30), Receiver(status=500)
    admin = headers_for("admin")
    op = headers_for("operator")
    try:
        with TestClient(create_app(fast_settings, database=database)) as client:
            channels = {
                "slow": {"kind": "webhook", "config": {"url": slow.url}},
                "down": {
                    "kind": "webhook",
                    "config": {"url": "http://127.0.0.1:9/none"},
                    "max_attempts": 2,
                },
                "broken": {"kind": "webhook", "config": {"url": broken.url}, "max_attempts": 3},
                "good": {"kind": "webhook", "config": {"url": good.url}, "secret": SECRET},
                "mail": {
                    "kind": "email",
                    "secret": "smtp-pass-bí-mật",
                    "config": {
                        "host": "127.0.0.1",
                        "port": controller.server.sockets[0].getsockname()[1],
                        "sender": "ioc@cantho.gov.vn",
                        "to": ["kttv@cantho.gov.vn"],
                    },
                },
            }
            for code, body in channels.items():
                put = client.put(
                    f"/api/v1/notify/channels/{code}", json={"code": code, **body}, headers=admin
                )
                assert put.status_code == 200, put.text
            listed = client.get("/api/v1/notify/channels", headers=admin)
            assert SECRET not in listed.text and "smtp-pass" not in listed.text
            assert {c["code"]: c["has_secret"] for c in listed.json()}["good"] is True
            routes = [{"code": "all", "channels": ["slow", "down", "broken", "good", "mail"]}]
            assert (
                client.put("/api/v1/notify/routes", json=routes, headers=admin).status_code == 200
            )

            publish(client, [(catalog[WATER], 60_000, 2.5)])
            wait_for(lambda: good.requests and mailbox.messages)
            headers, body = good.requests[0]
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            assert headers["X-Taydo-Signature"] == expected
            payload = json.loads(body)
            assert payload["event"] == "fired" and payload["alert"]["level"] == "bd3"
            mail = email.message_from_bytes(mailbox.messages[0], policy=email.policy.default)
            assert "Báo động 3" in str(mail["Subject"]) and mail["To"] == "kttv@cantho.gov.vn"

            def dead() -> set[str]:
                with database.session() as s:
                    return set(
                        s.scalars(select(Outbox.channel_code).where(Outbox.status == "dead"))
                    )

            wait_for(lambda: dead() == {"down", "broken"})
            assert len(broken.requests) == 3  # retried, then dead-lettered
            # while the slow receiver still holds its request, new alerts are recorded and
            # delivered to the healthy channels
            publish(client, [(catalog[SALT], 60_000, 9.0)])
            wait_for(lambda: len(good.requests) == 2 and len(mailbox.messages) == 2)
            assert len(client.get("/api/v1/alerts", headers=op).json()) == 2
            assert slow.requests == []  # still waiting on the first one
    finally:
        for receiver in (good, slow, broken):
            receiver.close()


def test_silenced_alerts_are_recorded_but_not_notified(catalog, client, headers_for) -> None:
    admin = headers_for("admin")
    op = headers_for("operator")
    client.put(
        "/api/v1/notify/channels/hook",
        headers=admin,
        json={"code": "hook", "kind": "webhook", "config": {"url": "http://127.0.0.1:9/"}},
    )
    client.put("/api/v1/notify/routes", headers=admin, json=[{"code": "r", "channels": ["hook"]}])
    until = (clock.now() + timedelta(hours=2)).isoformat()
    silence = client.post(
        "/api/v1/silences",
        headers=op,
        json={
            "kind": "maintenance",
            "match": {"rules": ["salinity-rice"]},
            "ends_at": until,
            "reason": "Bảo trì trạm đo mặn",
        },
    )
    assert silence.status_code == 201, silence.text
    officer = headers_for("agency_officer", ["SNNMT"])
    refused = client.post(
        "/api/v1/silences",
        headers=officer,
        json={"match": {"agencies": ["KTTV"]}, "ends_at": until, "reason": "không phải của tôi"},
    )
    assert refused.status_code == 403
    publish(
        client, [(runtime_of(client.app).get(SeriesIndex).get(SALT, "salinity").series_id, 1, 9.0)]
    )
    alert = wait_for(lambda: client.get("/api/v1/alerts", headers=op).json())[0]
    assert alert["silenced"] is True and alert["state"] == "firing"
    db = runtime_of(client.app).db
    with db.session() as s:
        assert s.scalars(select(Outbox)).all() == []


def test_dead_letters_are_shown_and_sent_again_once_the_channel_exists(
    catalog, fast_settings, database, headers_for
) -> None:
    """A route names a channel nobody has created yet (as the Cần Thơ pack's routes do): its
    deliveries are dead-lettered, listed with the reason, shown on the alert, and sent — once —
    after an administrator creates the channel and asks for them again."""
    receiver = Receiver()
    admin = headers_for("admin")
    op = headers_for("operator")
    try:
        with TestClient(create_app(fast_settings, database=database)) as client:
            routes = [{"code": "kttv", "channels": ["kttv-hook"]}]
            assert client.put("/api/v1/notify/routes", json=routes, headers=admin).is_success

            def missing() -> list[str]:
                listed = client.get("/api/v1/notify/routes", headers=admin).json()
                return [c for route in listed for c in route["missing_channels"]]

            assert missing() == ["kttv-hook"]  # said before any alert is lost to it
            publish(client, [(catalog[WATER], 60_000, 2.5)])

            def dead() -> list[dict]:
                answer = client.get(
                    "/api/v1/notify/outbox", params={"status": "dead"}, headers=admin
                )
                assert answer.status_code == 200, answer.text
                return answer.json()

            letters = wait_for(dead)
            assert [(d["channel"], d["event"], d["attempts"]) for d in letters] == [
                ("kttv-hook", "fired", 1)
            ]
            assert "no such channel" in letters[0]["last_error"]
            alert_id = letters[0]["alert_id"]
            detail = client.get(f"/api/v1/alerts/{alert_id}", headers=op).json()
            assert [d["status"] for d in detail["deliveries"]] == ["dead"]
            page = client.get(f"/alerts/{alert_id}", headers=op)
            assert page.status_code == 200 and "kttv-hook" in page.text
            assert "Gửi thất bại" in page.text
            # Only those who manage channels see the whole outbox or send it again.
            assert client.get("/api/v1/notify/outbox", headers=op).status_code == 403
            retry = {"channel": "kttv-hook"}
            assert (
                client.post("/api/v1/notify/outbox/retry", json=retry, headers=op).status_code
                == 403
            )
            assert (
                client.post("/api/v1/notify/outbox/retry", json={}, headers=admin).status_code
                == 422
            )
            for params in ({"status": "lost"}, {"offset": -1}, {"limit": 0}):
                bad = client.get("/api/v1/notify/outbox", params=params, headers=admin)
                assert bad.status_code == 422, params

            channel = {"code": "kttv-hook", "kind": "webhook", "config": {"url": receiver.url}}
            assert client.put(
                "/api/v1/notify/channels/kttv-hook", json=channel, headers=admin
            ).is_success
            assert missing() == []
            answer = client.post("/api/v1/notify/outbox/retry", json=retry, headers=admin)
            assert answer.status_code == 200 and answer.json() == {"queued": [letters[0]["id"]]}
            wait_for(lambda: receiver.requests)
            sent = wait_for(
                lambda: [
                    d
                    for d in client.get(
                        "/api/v1/notify/outbox", params={"alert_id": alert_id}, headers=admin
                    ).json()
                    if d["status"] == "sent"
                ]
            )
            assert sent[0]["attempts"] == 1 and sent[0]["sent_at"]
            assert json.loads(receiver.requests[0][1])["alert"]["id"] == alert_id
            # Asked again: a sent delivery is never sent twice.
            again = client.post(
                "/api/v1/notify/outbox/retry", json={"ids": [letters[0]["id"]]}, headers=admin
            )
            assert again.json() == {"queued": []}
            # Then something that must be sent: once it has arrived, the notifier has worked
            # its outbox after the retry (it sends in order), and the first letter was not in it.
            publish(client, [(catalog[WATER], 120_000, 1.0)])
            wait_for(lambda: len(receiver.requests) >= 2)
            events = [json.loads(body)["event"] for _headers, body in receiver.requests]
            assert events == ["fired", "resolved"]
            deliveries = client.get(
                "/api/v1/notify/outbox", params={"alert_id": alert_id}, headers=admin
            ).json()
            assert sorted((d["event"], d["status"], d["attempts"]) for d in deliveries) == [
                ("fired", "sent", 1),
                ("resolved", "sent", 1),
            ]
            journal = client.get(
                "/api/v1/audit", params={"object_type": "channel"}, headers=admin
            ).json()["items"]
            retries = [e for e in journal if e["action"] == "notify.retry"]
            assert [e["summary"]["queued"] for e in reversed(retries)] == [[letters[0]["id"]], []]
    finally:
        receiver.close()
