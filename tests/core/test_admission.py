"""Admission control: a class over its budget is shed with 503 + Retry-After before any work,
and the other classes keep answering (issue 18, item 9). Over real HTTP (uvicorn)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi import FastAPI

from taydo.app import create_app
from taydo.core.admission import Gate, route_class
from taydo.core.db import Database
from taydo.core.runtime import runtime_of
from taydo.core.settings import Settings
from tests.serving import serve_in_thread


@pytest.mark.parametrize(
    ("method", "path", "accept", "expected"),
    [
        ("POST", "/api/v1/observations", "", "ingest"),
        ("POST", "/ngsi-ld/v1/entityOperations/upsert", "", "ingest"),
        ("POST", "/api/v1/datasets/X/uploads", "", "ingest"),
        ("POST", "/data/upload", "text/html", "ingest"),
        ("GET", "/ngsi-ld/v1/entities", "", "query"),
        ("GET", "/api/v1/alerts", "", "query"),
        ("POST", "/api/v1/silences", "", "query"),
        ("GET", "/api/v1/stream", "text/event-stream", "stream"),
        ("GET", "/", "text/html", "console"),
        ("GET", "/static/app.css", "", "console"),
        ("POST", "/login", "", "login"),
        ("POST", "/api/v1/auth/login", "", "login"),
        ("GET", "/healthz", "", "health"),
        ("GET", "/metrics", "", "health"),
    ],
)
def test_every_request_falls_in_a_class(method: str, path: str, accept: str, expected: str) -> None:
    assert route_class(method, path, accept) == expected


def test_the_gate_bounds_requests_and_bytes() -> None:
    settings = Settings(  # type: ignore[call-arg]
        admission_ingest_requests=2, admission_ingest_bytes=1000, _env_file=None
    )
    gate = Gate.from_settings(settings)
    assert gate.try_enter("ingest", 2000)  # alone, even larger than the byte budget
    assert not gate.try_enter("ingest", 10)  # bytes full
    gate.leave("ingest", 2000)
    assert gate.try_enter("ingest", 600) and not gate.try_enter("ingest", 600)
    assert gate.try_enter("ingest", 400)
    assert not gate.try_enter("ingest", 0)  # requests full
    assert gate.try_enter("login", 100)  # another class is untouched
    assert gate.shed["ingest"] == 3 and gate.in_flight["ingest"] == 2


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@pytest.fixture
def served(database: Database) -> Iterator[tuple[FastAPI, int]]:
    settings = Settings(  # type: ignore[call-arg]
        database_url=database.url,
        dev=True,
        observations_pack_after_hours=0,
        admission_ingest_requests=1,
        admission_retry_after_s=7,
        _env_file=None,
    )
    app = create_app(settings, database=database)
    with serve_in_thread(app) as base:
        yield app, int(base.rsplit(":", 1)[1])


def test_an_ingest_flood_is_shed_while_login_and_console_answer(
    served: tuple[FastAPI, int], headers_for
) -> None:  # type: ignore[no-untyped-def]
    app, port = served
    gate = runtime_of(app).get(Gate)
    token = headers_for("operator")["Authorization"]
    body = b"[]"
    # A slow sender holds the one ingest slot: headers sent, body not yet.
    slow = socket.create_connection(("127.0.0.1", port))
    slow.sendall(
        b"POST /api/v1/observations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Authorization: {token}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    )
    _wait_for(lambda: gate.in_flight["ingest"] == 1, "the slow request to be admitted")
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base, timeout=10) as client:
        shed = client.post("/api/v1/observations", content=body, headers={"Authorization": token})
        assert shed.status_code == 503
        assert shed.headers["retry-after"] == "7"
        assert shed.json()["details"] == {"route_class": "ingest", "retry_after": 7}
        assert shed.headers["x-content-type-options"] == "nosniff"
        # The other classes answer meanwhile.
        assert client.get("/login").status_code == 200
        assert client.get("/api/v1/auth/me", headers={"Authorization": token}).status_code == 200
        # The slow request finishes; the slot is free again.
        slow.sendall(body)
        answer = slow.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        slow.close()
        _wait_for(lambda: gate.in_flight["ingest"] == 0, "the slot to be released")
        again = client.post("/api/v1/observations", content=body, headers={"Authorization": token})
        assert again.status_code == 200, again.text
    assert gate.shed["ingest"] == 1 and gate.admitted["ingest"] == 2


def test_ingest_yields_while_a_login_is_in_flight() -> None:
    settings = Settings(admission_ingest_requests=32, _env_file=None)  # type: ignore[call-arg]
    gate = Gate.from_settings(settings)
    for _ in range(2):
        assert gate.try_enter("ingest", 0)
    assert gate.try_enter("login", 0)
    # 32 // 16 = 2 ingest slots while someone logs in: the third is shed …
    assert not gate.try_enter("ingest", 0)
    gate.leave("login", 0)
    # … and the whole budget is back once the login is done.
    assert gate.try_enter("ingest", 0)


def test_memory_goes_back_once_the_server_is_quiet(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from taydo.core import admission, memory

    assert memory.give_back() is True  # glibc here: malloc_trim is there and runs
    trimmed = threading.Event()

    def give_back() -> bool:
        trimmed.set()
        return True

    monkeypatch.setattr(admission, "give_back", give_back)
    monkeypatch.setattr(admission, "TRIM_EVERY_S", 0.0)
    monkeypatch.setattr(admission, "TRIM_AFTER_BYTES", 1)
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200  # no body: no burst yet
        assert client.post("/api/v1/observations", content=b"[]").status_code == 401
        assert trimmed.wait(10), "no trim after the server went quiet"
