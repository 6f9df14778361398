"""The directive stream over real Server-Sent Events (uvicorn, httpx): an officer hears the
changes of directives assigned to their agencies and nothing of the others'."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx

from taydo.app import create_app
from taydo.core import clock
from taydo.core.db import Database
from taydo.core.runtime import runtime_of
from taydo.core.settings import Settings
from taydo.directives.runtime import DirectivesRuntime
from tests.serving import serve_in_thread


def _wait(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)
    return found


def test_an_officer_hears_only_their_agencies_directives(
    settings: Settings, database: Database, agencies: list[str], headers_for: Any
) -> None:
    app = create_app(settings, database=database)
    officer = headers_for("agency_officer", ["SNNMT"])
    leader = headers_for("leader")
    events: list[dict[str, Any]] = []
    with serve_in_thread(app, log_level="error") as base:

        def listen() -> None:
            with httpx.stream(
                "GET", f"{base}/api/v1/directives/stream", headers=officer, timeout=30
            ) as answer:
                assert answer.headers["content-type"].startswith("text/event-stream")
                kind = ""
                for line in answer.iter_lines():
                    if line.startswith("event:"):
                        kind = line.split(":", 1)[1].strip()
                    elif line.startswith("data:") and kind == "directive":
                        events.append(json.loads(line.split(":", 1)[1]))
                        if events[-1]["agency_codes"] == ["SNNMT"]:
                            return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        _wait(lambda: runtime_of(app).get(DirectivesRuntime).hub.clients)
        due = (clock.now() + timedelta(days=1)).isoformat()
        for agencies_ in (["SXD"], ["SNNMT"]):  # the first is not theirs: never heard
            body = {"title": "Kiểm tra", "agencies": agencies_, "due_at": due}
            answer = httpx.post(f"{base}/api/v1/directives", json=body, headers=leader)
            assert answer.status_code == 201, answer.text
        listener.join(15)
    assert [e["agency_codes"] for e in events] == [["SNNMT"]]
    assert events[0]["url"] == f"/directives/{events[0]['id']}" and events[0]["status"] == "open"
