"""The rules timer is one process's duty in a cluster (issue 15): a silent station raises one
absence episode, not one per process, and it ends when any process hears the station again;
a composite rule whose members are judged by the station's shard holder fires once, on the
timer's holder."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text

from taydo.core import clock
from taydo.rules.service import parse_rule, save_rules
from tests.alerts.conftest import make_catalog, wait_for
from tests.cluster.conftest import Cluster
from tests.cluster.test_exactly_once import send

pytestmark = [pytest.mark.postgres, pytest.mark.cluster]

MIN = 60_000


def history(cluster: Cluster, rule: str) -> list[tuple[int, str]]:
    with cluster.database.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT a.id, e.event FROM alert_events e JOIN alerts a ON a.id = e.alert_id "
                "WHERE a.rule_code = :rule ORDER BY e.id"
            ),
            {"rule": rule},
        )
        return [(int(row[0]), row[1]) for row in rows]


def test_absence_and_composite_rules_fire_once_across_three_processes(
    cluster: Cluster,
) -> None:
    make_catalog(cluster.database)
    save_rules(
        cluster.database,
        [
            parse_rule(
                {
                    "code": "station-silent",
                    "kind": "absence",
                    "name": "Trạm mất tín hiệu",
                    "metric": "height",
                    "interval": "2s",
                    "factor": 1,
                }
            ),
            parse_rule(
                {
                    "code": "rise",
                    "kind": "rate",
                    "name": "Lên nhanh",
                    "metric": "height",
                    "window": "1h",
                    "change": 0.1,
                }
            ),
            parse_rule(
                {
                    "code": "flood-risk",
                    "kind": "composite",
                    "name": "Rủi ro ngập",
                    "rules": ["water-level-alarm", "rise"],
                    "window": "3h",
                    "risk_level": 3,
                    "severity": "danger",
                }
            ),
        ],
    )
    nodes = cluster.start(3)
    start = clock.now_ms() - 10 * MIN
    send(nodes[0], cluster.admin, start, 1.8)  # Báo động 1
    send(nodes[1], cluster.admin, start + MIN, 2.0)  # Báo động 2, risen 0.2 within the hour
    risk = wait_for(lambda: history(cluster, "flood-risk"), timeout=30)
    # Silent for 2 s: one absence episode, from the one process holding the timer.
    silent = wait_for(lambda: history(cluster, "station-silent"), timeout=30)
    send(nodes[2], cluster.admin, start + 2 * MIN, 2.0)  # heard again, on a third process
    wait_for(lambda: len(history(cluster, "station-silent")) >= 2, timeout=30)
    # Checked through the API of every process: the same single episodes everywhere.
    for node in nodes:
        alerts = httpx.get(
            f"{node.url}/api/v1/alerts", params={"rule": "flood-risk"}, headers=cluster.admin
        ).json()
        assert len(alerts) == 1 and alerts[0]["state"] == "firing"
    assert risk == [(risk[0][0], "fired")]
    assert history(cluster, "flood-risk") == risk
    episode = silent[0][0]
    assert history(cluster, "station-silent")[:2] == [(episode, "fired"), (episode, "cleared")]
