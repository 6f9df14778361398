"""The live stream's event ids and ``Last-Event-ID`` resume (issue 15): the replay buffer
alone, then a real server and a real SSE client that disconnects, misses transitions, and
reconnects."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from taydo.alerts.stream import ReplayBuffer, StreamFilter, StreamHub
from taydo.app import create_app
from tests.alerts.conftest import WATER, wait_for
from tests.serving import serve_in_thread


def _alert(alert_id: int, revision: int, agency: str = "KTTV") -> dict[str, Any]:
    return {"id": alert_id, "revision": revision, "severity": "danger", "agency_code": agency}


async def _drain(hub: StreamHub, client: Any) -> list[bytes]:
    """Every frame the client has queued (after its opening), without waiting for more."""
    frames = []
    stream = hub.events(client, lambda: asyncio.sleep(0, result=True), heartbeat_s=0.01)
    async for chunk in stream:
        frames.append(chunk)
        if not client.queue:
            break
    await stream.aclose()
    return frames


def _ids(frames: list[bytes]) -> list[str]:
    return [
        line.split(b": ", 1)[1].decode()
        for frame in frames
        for line in frame.split(b"\n")
        if line.startswith(b"id: ") and b"event: alert" in frame
    ]


def test_a_client_that_resumes_gets_each_missed_transition_once_in_order() -> None:
    async def scenario() -> tuple[list[bytes], list[bytes], list[bytes]]:
        hub = StreamHub(queue_size=100, replay_size=100)
        hub.publish_alert(_alert(1, 1))
        first = hub.connect(StreamFilter())  # fresh: its hello names the present
        opening = first.opening
        hub.disconnect(first)
        for alert in (_alert(1, 2), _alert(2, 1), _alert(9, 1, agency="SNNMT"), _alert(1, 3)):
            hub.publish_alert(alert)
        hub.publish_alert(_alert(2, 1))  # a duplicate delivery (bus redelivery) is dropped
        last_seen = opening.split(b"id: ")[1].split(b"\n")[0].decode()
        officer = StreamFilter(agencies=frozenset({"KTTV"}))
        resumed = hub.connect(officer, last_event_id=last_seen)
        frames = await _drain(hub, resumed)
        # An id this process never heard (another process's start, or before a restart).
        lost = hub.connect(StreamFilter(), last_event_id="start-elsewhere")
        return [opening], frames, [lost.opening]

    (opening,), frames, (lost,) = asyncio.run(scenario())
    assert opening.startswith(b"id: 1.1\nevent: hello")
    assert b'"resumed": true' in frames[0]
    # The officer's scope holds on replay: SNNMT's alert 9 is not theirs.
    assert _ids(frames) == ["1.2", "2.1", "1.3"]
    assert lost.startswith(b"id: 1.3\nevent: resync")


def test_the_start_marker_and_an_evicted_id_ask_for_a_resync() -> None:
    buffer = ReplayBuffer(size=3)
    start = buffer.head
    assert start.startswith("start-") and buffer.after(start) == []
    for revision in range(1, 4):
        assert buffer.add(f"7.{revision}", {"id": 7}, b"{}")
    assert [event_id for event_id, _a, _d in buffer.after(start) or []] == ["7.1", "7.2", "7.3"]
    assert not buffer.add("7.3", {"id": 7}, b"{}")  # heard already
    buffer.add("7.4", {"id": 7}, b"{}")  # 7.1 falls out
    assert buffer.after("7.1") is None and buffer.after(start) is None
    assert [event_id for event_id, _a, _d in buffer.after("7.2") or []] == ["7.3", "7.4"]
    assert buffer.after("7.4") == [] and buffer.head == "7.4"


def test_a_stream_ends_when_its_session_is_ended_or_expires() -> None:
    async def scenario() -> tuple[bytes, bytes]:
        hub = StreamHub()
        revoked = hub.connect(StreamFilter(), keys=frozenset({"user:5"}))
        assert hub.end(["user:5"], "revoked") == 1
        ended = b"".join([chunk async for chunk in hub.events(revoked, _never)])
        expiring = hub.connect(StreamFilter(), expires_ms=int(time.time() * 1000) + 50)
        expired = b"".join([chunk async for chunk in hub.events(expiring, _never)])
        return ended, expired

    ended, expired = asyncio.run(scenario())
    assert ended.endswith(b'event: expired\ndata: {"reason":"revoked"}\n\n')
    assert expired.endswith(b'event: expired\ndata: {"reason": "session expired"}\n\n')


async def _never() -> bool:
    return False


# -- a real server ----------------------------------------------------------------------------


@pytest.fixture
def server(catalog, settings, database) -> Iterator[str]:  # type: ignore[no-untyped-def]
    app = create_app(settings, database=database)
    with serve_in_thread(app, log_level="error") as base:
        yield base


def _events(lines: Iterator[str], wanted: int) -> list[tuple[str, str, dict[str, Any]]]:
    """(event, id, data) of the next ``wanted`` events (comments and retry hints skipped)."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    kind, event_id, data = "message", "", b""
    for line in lines:
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("id: "):
            event_id = line[4:]
        elif line.startswith("data: "):
            data = line[6:].encode()
        elif line == "" and data:
            out.append((kind, event_id, orjson.loads(data)))
            kind, event_id, data = "message", "", b""
            if len(out) == wanted:
                return out
    raise AssertionError(f"the stream ended after {out}")


def test_a_browser_that_reconnects_with_last_event_id_sees_what_it_missed_once(
    server: str, database, headers_for
) -> None:  # type: ignore[no-untyped-def]
    operator = headers_for("operator")
    http = httpx.Client(base_url=server, headers=operator, timeout=15)
    stored = http.post(
        "/api/v1/observations",
        json=[
            {"entity_id": WATER, "metric": "height", "ts": int(time.time() * 1000), "value": 2.5}
        ],
    )
    assert stored.status_code == 200, stored.text
    alert = wait_for(lambda: http.get("/api/v1/alerts", params={"active": True}).json())[0]

    # Connected, it hears the alert fire; then the connection drops.
    with http.stream("GET", "/api/v1/stream") as response:
        lines = response.iter_lines()
        ((kind, last_id, hello),) = _events(lines, 1)
    assert kind == "hello" and hello == {"resumed": False}
    assert last_id == f"{alert['id']}.{alert['revision']}"

    # While it is away, three hand actions (each published by the API after its commit).
    number = alert["id"]
    assert http.post(f"/api/v1/alerts/{number}/ack", json={"note": ""}).status_code == 200
    assert (
        http.post(f"/api/v1/alerts/{number}/assign", json={"assignee": "Tổ 3"}).status_code == 200
    )
    done = http.post(f"/api/v1/alerts/{number}/resolve", json={"note": "Nước đã rút"})
    assert done.status_code == 200
    assert done.json()["revision"] == alert["revision"] + 3

    # EventSource resends the last id it saw: it receives the three, in order, each once.
    with http.stream("GET", "/api/v1/stream", headers={"Last-Event-ID": last_id}) as response:
        lines = response.iter_lines()
        events = _events(lines, 4)
    assert events[0] == ("hello", "", {"resumed": True})
    assert [(kind, event_id) for kind, event_id, _d in events[1:]] == [
        ("alert", f"{number}.{alert['revision'] + step}") for step in (1, 2, 3)
    ]
    assert [data["state"] for _k, _i, data in events[1:]] == [
        "acknowledged",
        "acknowledged",
        "resolved",
    ]

    # An id from before a restart (or too old): the client is told to resync.
    with http.stream("GET", "/api/v1/stream", params={"since": "start-gone"}) as response:
        lines = response.iter_lines()
        ((kind, event_id, data),) = _events(lines, 1)
    assert kind == "resync" and data == {"reason": "unknown event id"}
    assert event_id == f"{number}.{alert['revision'] + 3}"  # where to go on from


def test_revoking_a_display_ends_its_open_stream_at_once(server: str, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = httpx.Client(base_url=server, headers=headers_for("admin"), timeout=15)
    code = admin.post("/api/v1/displays", json={"username": "wall-1"}).json()["code"]
    screen = httpx.Client(base_url=server, timeout=15)
    assert screen.post("/display", data={"code": code}).status_code in (200, 303)
    with screen.stream("GET", "/api/v1/stream") as response:
        assert response.status_code == 200
        lines = response.iter_lines()
        ((kind, _id, _data),) = _events(lines, 1)
        assert kind == "hello"
        assert admin.delete("/api/v1/displays/wall-1").status_code == 204
        ((kind, _id, data),) = _events(lines, 1)
    assert (kind, data) == ("expired", {"reason": "revoked"})
    assert screen.get("/api/v1/stream").status_code == 401  # and it cannot come back


def test_logging_out_or_disabling_the_account_ends_its_streams(
    server: str, database, headers_for
) -> None:  # type: ignore[no-untyped-def]
    from taydo.auth.service import create_user

    admin = httpx.Client(base_url=server, headers=headers_for("admin"), timeout=15)
    for name in ("trực-ban-1", "trực-ban-2"):
        create_user(database, name, "operator", password="Mật-khẩu-đủ-dài-42")
    streams = []
    for name in ("trực-ban-1", "trực-ban-2"):
        browser = httpx.Client(base_url=server, timeout=15)
        login = browser.post(
            "/api/v1/auth/login", json={"username": name, "password": "Mật-khẩu-đủ-dài-42"}
        )
        assert login.status_code == 200, login.text
        streams.append((browser, login.json()["csrf_token"]))

    (first, csrf), (second, _csrf) = streams
    with first.stream("GET", "/api/v1/stream") as response:
        lines = response.iter_lines()
        assert _events(lines, 1)[0][0] == "hello"
        assert first.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
        assert _events(lines, 1)[0][::2] == ("expired", {"reason": "logged out"})

    with second.stream("GET", "/api/v1/stream") as response:
        lines = response.iter_lines()
        assert _events(lines, 1)[0][0] == "hello"
        patched = admin.patch("/api/v1/users/trực-ban-2", json={"disabled": True})
        assert patched.status_code == 200, patched.text
        assert _events(lines, 1)[0][::2] == ("expired", {"reason": "account changed"})
    assert second.get("/api/v1/stream").status_code == 401
