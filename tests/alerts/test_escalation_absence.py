"""Re-notification and escalation chains, absence on the timer, composite risk levels."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from taydo.alerts.models import Alert, Outbox
from taydo.alerts.runtime import AlertingRuntime
from taydo.app import create_app
from taydo.core import clock
from taydo.core.runtime import runtime_of
from taydo.rules.service import parse_rule, save_rules
from tests.alerts.conftest import SALT, WATER, publish, wait_for


def outbox(database) -> list[tuple[str, str]]:
    with database.session() as s:
        return [(r.event, r.channel_code) for r in s.scalars(select(Outbox).order_by(Outbox.id))]


def age(database, minutes: int) -> None:
    """Pretend the open alerts fired (and were last notified) ``minutes`` ago."""
    past = clock.now() - timedelta(minutes=minutes)
    with database.session() as s:
        s.execute(update(Alert).values(started_at=past, last_notified_at=past))


def test_unacknowledged_alerts_are_renotified_then_escalated(
    catalog, client, database, headers_for
) -> None:
    admin = headers_for("admin")
    op = headers_for("operator")
    route = {
        "code": "duty",
        "channels": ["duty"],
        "renotify": "10m",
        "escalation": [
            {"after": "30m", "channels": ["leaders"]},
            {"after": "2h", "channels": ["director"]},
        ],
    }
    assert client.put("/api/v1/notify/routes", json=[route], headers=admin).status_code == 200
    publish(client, [(catalog[WATER], 60_000, 2.0)])
    alert = wait_for(lambda: client.get("/api/v1/alerts", headers=op).json())[0]
    notifier = runtime_of(client.app).get(AlertingRuntime).notifier
    assert outbox(database) == [("fired", "duty")]
    assert notifier.renotify() == 0  # nothing is due yet
    age(database, 31)
    assert notifier.renotify() == 2
    assert outbox(database)[1:] == [("renotify", "duty"), ("escalation", "leaders")]
    assert notifier.renotify() == 0  # just re-notified; the next step is at 2 h
    client.post(f"/api/v1/alerts/{alert['id']}/ack", json={}, headers=op)
    age(database, 180)
    assert notifier.renotify() == 0  # acknowledged: no more reminders or escalation


def test_silent_stations_and_datasets_raise_absence_alerts(
    settings, database, catalog, headers_for
) -> None:
    save_rules(
        database,
        [
            parse_rule(
                {
                    "code": "station-silent",
                    "kind": "absence",
                    "name": "Trạm mất tín hiệu",
                    "factor": 3,
                }
            ),
            parse_rule(
                {
                    "code": "dataset-silent",
                    "kind": "absence",
                    "name": "Ngừng cập nhật",
                    "scope": "dataset",
                    "factor": 3,
                    "severity": "danger",
                }
            ),
        ],
    )
    op = headers_for("operator")
    with TestClient(create_app(settings, database=database)) as client:
        runtime = runtime_of(client.app).get(AlertingRuntime)
        runtime.engine.started_ms = clock.now_ms() - 10 * 60_000  # silent for 10 minutes
        publish(client, [(catalog[SALT], 1, 0.2)])  # the salinity station (5 min) speaks
        wait_for(lambda: catalog[SALT] in runtime.engine._last_seen)
        client.portal.call(runtime.check_now)
        fired = client.get("/api/v1/alerts", headers=op, params={"active": "true"}).json()
        targets = {(a["rule"], a["target"]) for a in fired}
        assert targets == {("station-silent", WATER), ("dataset-silent", "dataset:water-level")}
        publish(client, [(catalog[WATER], 2, 1.0)])
        wait_for(
            lambda: client.get("/api/v1/alerts", headers=op, params={"active": "true"}).json() == []
        )


def test_high_water_rising_fast_raises_the_ward_risk_level(
    settings, database, catalog, headers_for
) -> None:
    save_rules(
        database,
        [
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
                    "public": True,
                }
            ),
        ],
    )
    op = headers_for("operator")
    with TestClient(create_app(settings, database=database)) as client:
        publish(client, [(catalog[WATER], 0, 1.5), (catalog[WATER], 1_800_000, 1.8)])
        risk = wait_for(
            lambda: client.get("/api/v1/alerts", headers=op, params={"rule": "flood-risk"}).json()
        )[0]
        assert risk["target"] == "area:31117" and risk["risk_level"] == 3
        assert risk["risk_label"]["colour"] == "#ff9800"  # orange: Decision 18/2021/QĐ-TTg
        assert "Cấp độ 3" in risk["title"]
        choices = client.get("/api/v1/alerts/choices", headers=op).json()
        assert [c["code"] for c in choices["risk_level"]] == ["1", "2", "3", "4", "5"]


def test_a_failed_write_of_an_alert_is_raised_again_by_the_next_value(
    catalog, client, database, headers_for
) -> None:
    op = headers_for("operator")
    series = catalog[WATER]
    with database.engine.begin() as connection:  # the database refuses alert writes
        connection.exec_driver_sql("ALTER TABLE alert_events RENAME TO alert_events_away")
    publish(client, [(series, 60_000, 2.5)])
    engine = runtime_of(client.app).get(AlertingRuntime).engine
    # evaluated (the series was seen) and then reverted (its state forgotten)
    wait_for(lambda: series in engine._last_seen and not engine._states)
    with database.engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE alert_events_away RENAME TO alert_events")
    assert client.get("/api/v1/alerts", headers=op).json() == []
    publish(client, [(series, 120_000, 2.5)])
    alert = wait_for(lambda: client.get("/api/v1/alerts", headers=op).json())[0]
    assert alert["level"] == "bd3" and alert["state"] == "firing"
