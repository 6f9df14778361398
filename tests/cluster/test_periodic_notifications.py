"""Periodic NGSI-LD notifications (``timeInterval``) in a cluster: real ``taydo serve``
processes on one PostgreSQL and one NATS. One process holds the ``subscriptions.periodic``
duty, so each period is notified once, not once per process; when that process stops, another
takes the duty over and the cadence goes on."""

from __future__ import annotations

import itertools
from datetime import datetime

import httpx
import pytest

from tests.alerts.conftest import WATER, make_catalog
from tests.cluster.conftest import Cluster
from tests.subscriptions.conftest import Receiver, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.cluster]


def _times(receiver: Receiver) -> list[datetime]:
    return sorted(datetime.fromisoformat(n["body"]["notifiedAt"]) for n in receiver.received)


def test_each_period_notified_once_and_the_duty_moves_on(cluster: Cluster) -> None:
    make_catalog(cluster.database)
    receiver = Receiver()
    receiver.start()
    try:
        nodes = cluster.start(2)
        answer = httpx.post(
            f"{nodes[0].url}/ngsi-ld/v1/subscriptions",
            json={
                "type": "Subscription",
                "entities": [{"id": WATER, "type": "WaterObserved"}],
                "timeInterval": 1,
                "notification": {"endpoint": {"uri": receiver.url}},
            },
            headers=cluster.admin,
            timeout=30,
        )
        assert answer.status_code == 201, answer.text
        wait_for(lambda: len(receiver.received) >= 5, "five periods", 60)
        held = "lease subscriptions.periodic: held by"
        holder = wait_for(
            lambda: [n for n in nodes if held in n.log.read_text(errors="replace")], "the holder"
        )
        assert len(holder) == 1, "two processes hold the periodic duty"
        holder[0].terminate()  # the one that sends: another must take over
        before = len(receiver.received)
        wait_for(lambda: len(receiver.received) >= before + 4, "periods after a node stops", 90)
        assert all([e["id"] for e in n["body"]["data"]] == [WATER] for n in list(receiver.received))
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(_times(receiver))]
        # Two processes each sending every period would leave gaps near 0.
        assert all(gap >= 0.9 for gap in gaps), gaps
    finally:
        receiver.stop()
