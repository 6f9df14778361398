"""Live-stream resume across processes (issue 15): a browser connected to one process loses
its connection, transitions happen (judged by whichever process holds the station's shard),
and it reconnects — through the proxy — to another process with ``Last-Event-ID``: it
receives exactly what it missed, once, in order, because every process heard every
transition through the bus and keeps it in its replay buffer under the same id."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from taydo.core import clock
from tests.alerts.conftest import make_catalog, wait_for
from tests.cluster.conftest import Cluster
from tests.cluster.test_exactly_once import KING_TIDE, MIN, history, send

pytestmark = [pytest.mark.postgres, pytest.mark.cluster]


def _events(lines: Iterator[str], wanted: int) -> list[tuple[str, str, dict[str, Any]]]:
    out: list[tuple[str, str, dict[str, Any]]] = []
    kind, event_id, data = "message", "", ""
    for line in lines:
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("id: "):
            event_id = line[4:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line == "" and data:
            out.append((kind, event_id, json.loads(data)))
            kind, event_id, data = "message", "", ""
            if len(out) == wanted:
                return out
    raise AssertionError(f"the stream ended after {out}")


def test_a_client_resumes_on_another_process_and_sees_each_missed_transition_once(
    cluster: Cluster,
) -> None:
    make_catalog(cluster.database)
    first, second = cluster.start(2)
    start = clock.now_ms() - len(KING_TIDE) * MIN
    send(first, cluster.admin, start, KING_TIDE[0])
    send(first, cluster.admin, start + MIN, KING_TIDE[1])  # fired (revision 1)
    wait_for(lambda: len(history(cluster)) == 1, timeout=30)

    # On the first process: the hello names the present, the fired transition.
    with httpx.stream("GET", f"{first.url}/api/v1/stream", headers=cluster.admin) as answer:
        ((kind, last_id, _data),) = _events(answer.iter_lines(), 1)
    assert kind == "hello" and last_id.endswith(".1")
    alert_id = last_id.split(".")[0]

    # While away: escalated, escalated, eased — sent to both processes.
    for step in (2, 3, 4):
        send((first, second)[step % 2], cluster.admin, start + step * MIN, KING_TIDE[step])
        wait_for(lambda s=step: len(history(cluster)) == s, timeout=30)

    # The second process heard them through the bus: its "now" is the last of them.
    def head_of_second() -> str:
        with httpx.stream("GET", f"{second.url}/api/v1/stream", headers=cluster.admin) as answer:
            ((_kind, head, _data),) = _events(answer.iter_lines(), 1)
        return head

    wait_for(lambda: head_of_second() == f"{alert_id}.4", timeout=30)

    # Resuming there replays what the client missed, once each, in order.
    with httpx.stream(
        "GET", f"{second.url}/api/v1/stream", headers={**cluster.admin, "Last-Event-ID": last_id}
    ) as answer:
        events = _events(answer.iter_lines(), 4)
    assert events[0][0] == "hello" and events[0][2] == {"resumed": True}
    assert [(kind, event_id) for kind, event_id, _d in events[1:]] == [
        ("alert", f"{alert_id}.{revision}") for revision in (2, 3, 4)
    ]
    assert [data["level"] for _k, _i, data in events[1:]] == ["bd2", "bd3", "bd2"]
