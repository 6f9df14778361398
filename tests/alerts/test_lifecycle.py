"""Alert episodes through the running app: committed observations on the bus → alerts."""

from __future__ import annotations

from fastapi.testclient import TestClient

from taydo.alerts.runtime import AlertingRuntime
from taydo.app import create_app
from taydo.core import clock
from taydo.core.runtime import runtime_of
from tests.alerts.conftest import SALT, WATER, Judged, publish, wait_for

MIN = 60_000


def alerts(client: TestClient, headers: dict[str, str], **params: str) -> list[dict]:
    response = client.get("/api/v1/alerts", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_levels_raise_one_episode_with_history_then_resolve(catalog, client, headers_for) -> None:
    op = headers_for("operator")
    series = catalog[WATER]
    publish(client, [(series, 1 * MIN, 1.95)])
    fired = wait_for(lambda: alerts(client, op, active="true"))
    assert len(fired) == 1
    alert = fired[0]
    assert alert["level"] == "bd2" and alert["severity"] == "warning"
    assert alert["title"].startswith("Mực nước vượt báo động: Báo động 2 — Trạm thủy văn Cần Thơ")
    assert alert["area_code"] == "31117" and alert["agency_code"] == "KTTV"
    assert alert["severity_label"]["vi"] == "Cảnh báo"

    publish(client, [(series, 2 * MIN, 2.3)])
    wait_for(lambda: alerts(client, op, active="true")[0]["level"] == "bd3")
    publish(client, [(series, 3 * MIN, 1.2)])
    wait_for(lambda: alerts(client, op)[0]["state"] == "resolved")
    everything = alerts(client, op)
    assert len(everything) == 1  # one episode throughout
    detail = client.get(f"/api/v1/alerts/{alert['id']}", headers=op).json()
    assert [h["event"] for h in detail["history"]] == ["fired", "escalated", "cleared"]
    assert [h["level"] for h in detail["history"][:2]] == ["bd2", "bd3"]


def test_acknowledge_assign_and_resolve_by_hand(catalog, client, headers_for) -> None:
    op = headers_for("operator")
    publish(client, [(catalog[SALT], MIN, 5.0)])
    alert = wait_for(lambda: alerts(client, op, active="true"))[0]
    url = f"/api/v1/alerts/{alert['id']}"
    assert client.post(f"{url}/ack", json={"note": "đã nhận"}, headers=op).json()["state"] == (
        "acknowledged"
    )
    assert client.post(f"{url}/ack", json={}, headers=op).status_code == 422
    assert (
        client.post(f"{url}/assign", json={"assignee": "nva"}, headers=op).json()["assignee"]
        == "nva"
    )
    missing_note = client.post(f"{url}/resolve", json={"note": ""}, headers=op)
    assert missing_note.status_code == 422
    done = client.post(f"{url}/resolve", json={"note": "đã đóng cống"}, headers=op).json()
    assert done["state"] == "resolved" and done["resolved_by"].startswith("operator")
    history = client.get(url, headers=op).json()["history"]
    assert [h["event"] for h in history] == ["fired", "acknowledged", "assigned", "resolved"]
    journal = client.get(
        "/api/v1/audit",
        params={"object_type": "alert", "object_id": str(alert["id"])},
        headers=headers_for("admin"),
    ).json()["items"]
    assert [e["action"] for e in reversed(journal)] == [
        "alert.fire",
        "alert.acknowledged",
        "alert.assigned",
        "alert.resolved",
    ]
    assert journal[0]["summary"]["note"] == "đã đóng cống"


def test_agency_officers_see_and_act_only_on_their_agencies(catalog, client, headers_for) -> None:
    op = headers_for("operator")
    officer = headers_for("agency_officer", ["SNNMT"])
    publish(client, [(catalog[WATER], MIN, 2.5), (catalog[SALT], MIN, 6.0)])
    both = wait_for(lambda: len(alerts(client, op)) == 2 and alerts(client, op))
    mine = alerts(client, officer)
    assert [a["agency_code"] for a in mine] == ["SNNMT"]
    water = next(a for a in both if a["agency_code"] == "KTTV")
    assert client.get(f"/api/v1/alerts/{water['id']}", headers=officer).status_code == 404
    ack = client.post(f"/api/v1/alerts/{water['id']}/ack", json={}, headers=officer)
    assert ack.status_code == 404
    assert client.get("/api/v1/alerts/999999", headers=officer).status_code == 404
    viewer = headers_for("viewer")
    assert (
        client.post(f"/api/v1/alerts/{water['id']}/ack", json={}, headers=viewer).status_code == 403
    )
    assert client.get("/api/v1/alerts").status_code == 401


def test_alerts_filter_by_the_dataset_sector(catalog, client, headers_for) -> None:
    op = headers_for("operator")
    publish(client, [(catalog[WATER], MIN, 2.5), (catalog[SALT], MIN, 6.0)])
    wait_for(lambda: len(alerts(client, op)) == 2)
    farming = alerts(client, op, sector="agriculture")
    assert [(a["agency_code"], a["sector"]) for a in farming] == [("SNNMT", "agriculture")]
    assert alerts(client, op, sector="health") == []
    page = client.get("/alerts", params={"sector": "agriculture", "open": ""}, headers=op)
    assert page.status_code == 200
    assert "Trạm đo mặn Sóc Trăng" in page.text
    assert "Trạm thủy văn Cần Thơ" not in page.text


def test_a_restart_continues_the_open_episode_without_duplicates(
    settings, database, catalog, headers_for
) -> None:
    op = headers_for("operator")
    series = catalog[WATER]
    with TestClient(create_app(settings, database=database)) as first:
        publish(first, [(series, MIN, 2.0)])
        before = wait_for(lambda: alerts(first, op, active="true"))
    with TestClient(create_app(settings, database=database)) as second:
        publish(second, [(series, 2 * MIN, 2.0), (series, 3 * MIN, 1.95)])
        publish(second, [(catalog[SALT], 3 * MIN, 9.0)])  # a later, unrelated alert
        wait_for(lambda: len(alerts(second, op)) == 2)
        water = [a for a in alerts(second, op) if a["rule"] == "water-level-alarm"]
        assert [a["id"] for a in water] == [before[0]["id"]]
        assert water[0]["revision"] == 1  # nothing new happened to it
        publish(second, [(series, 4 * MIN, 1.0)])  # the condition clears after the restart
        wait_for(lambda: alerts(second, op, rule="water-level-alarm")[0]["state"] == "resolved")


def test_values_committed_but_never_judged_raise_their_alert_at_the_next_start(
    settings, database, catalog, headers_for
) -> None:
    """A crash between a commit and the rules: the next start judges the stored values, so
    Báo động 3 is raised at once (not with the next reading, minutes later), and an episode
    whose station dropped below every level meanwhile ends."""
    from taydo.observations.service import Point, write_points

    op = headers_for("operator")
    now = clock.now_ms()
    with TestClient(create_app(settings, database=database)) as first:
        publish(first, [(catalog[SALT], now - 5 * MIN, 6.0)])
        salt = wait_for(lambda: alerts(first, op, active="true"))
    # Stored while no rules ran: what a crashed server committed and never judged.
    write_points(
        database,
        [Point(catalog[WATER], now - 2 * MIN, 2.3), Point(catalog[SALT], now - 2 * MIN, 1.0)],
    )
    with TestClient(create_app(settings, database=database)) as second:
        water = wait_for(lambda: alerts(second, op, rule="water-level-alarm", active="true"))
        assert water[0]["level"] == "bd3" and water[0]["value"] == 2.3
        wait_for(lambda: alerts(second, op, rule="salinity-rice")[0]["state"] == "resolved")
        assert alerts(second, op, rule="salinity-rice")[0]["id"] == salt[0]["id"]
        revisions = {a["id"]: a["revision"] for a in alerts(second, op)}
    # Nothing new: no change. The start judges the stored values before the app serves
    # (the lifespan awaits it), so there is nothing to wait for.
    with TestClient(create_app(settings, database=database)) as third:
        assert {a["id"]: a["revision"] for a in alerts(third, op)} == revisions
        assert len(alerts(third, op, active="true")) == 1


def test_rules_api_validates_and_reloads_the_engine(catalog, client, headers_for) -> None:
    admin = headers_for("admin")
    op = headers_for("operator")
    bad = client.put("/api/v1/rules/x", json={"kind": "threshold", "name": "X"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["details"]["errors"]
    assert client.put("/api/v1/rules/x", json={}, headers=op).status_code == 403
    rule = {
        "kind": "threshold",
        "name": "Độ mặn thấp",
        "metric": "salinity",
        "levels": [{"code": "w", "label": "≥ 1‰", "value": 1, "severity": "watch"}],
    }
    assert client.put("/api/v1/rules/salt-watch", json=rule, headers=admin).status_code == 200
    assert client.get("/api/v1/rules/salt-watch", headers=op).json()["levels"][0]["value"] == 1
    wait_for(lambda: "salt-watch" in runtime_of(client.app).get(AlertingRuntime).engine.rules)
    publish(client, [(catalog[SALT], MIN, 1.5)])
    wait_for(lambda: alerts(client, op, rule="salt-watch"))
    used = client.delete("/api/v1/rules/nope", headers=admin)
    assert used.status_code == 404


def test_a_restart_does_not_restart_the_wait_of_a_for_threshold(
    settings, database, catalog, headers_for
) -> None:
    """A level that must hold 10 minutes first: 8 minutes of it before a restart count, so
    the alert fires when the 10 minutes are reached, not 10 minutes after the restart."""
    from taydo.rules.service import parse_rule, save_rules

    save_rules(
        database,
        [
            parse_rule(
                {
                    "code": "salt-held",
                    "kind": "threshold",
                    "name": "Độ mặn kéo dài",
                    "metric": "salinity",
                    "for": "10m",
                    "levels": [{"code": "high", "label": "≥ 4‰", "value": 4}],
                }
            )
        ],
    )
    op = headers_for("operator")
    start = clock.now_ms() - 9 * MIN

    def store(client: TestClient, points: list[tuple[int, float]]) -> None:
        body = [{"entity_id": SALT, "metric": "salinity", "ts": t, "value": v} for t, v in points]
        answer = client.post("/api/v1/observations", json=body, headers=op)
        assert answer.status_code == 200 and answer.json()["accepted"] == len(body), answer.text

    series = catalog[SALT]
    with TestClient(create_app(settings, database=database)) as first:
        judged = Judged(first)
        store(first, [(start + m * MIN, 5.0) for m in range(9)])  # 8 minutes held
        judged.wait(series, start + 8 * MIN)
        assert alerts(first, op, rule="salt-held") == []
    with TestClient(create_app(settings, database=database)) as second:
        judged = Judged(second)
        store(second, [(start + 9 * MIN, 5.0)])  # 9 minutes: still waiting
        judged.wait(series, start + 9 * MIN)
        assert alerts(second, op, rule="salt-held") == []
        store(second, [(start + 10 * MIN, 5.0)])  # 10 minutes since the first
        fired = wait_for(lambda: alerts(second, op, rule="salt-held"))
        assert fired[0]["level"] == "high"


def test_a_graceful_stop_judges_every_committed_batch_first(
    settings, database, catalog, headers_for, monkeypatch
) -> None:
    """Batches committed just before a stop are still judged: the runtime works through its
    queue before it closes (here 40 batches behind a slow handler, the alarm in the last)."""
    import asyncio

    from sqlalchemy import text

    from taydo.alerts.runtime import AlertingRuntime

    judge = AlertingRuntime._on_committed

    async def slowly(self, event):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.02)  # a runtime busy with a burst: 40 batches queue up
        await judge(self, event)

    monkeypatch.setattr(AlertingRuntime, "_on_committed", slowly)
    water = catalog[WATER]
    base = clock.now_ms() - 3_600_000
    with TestClient(create_app(settings, database=database)) as client:
        for batch in range(40):
            publish(client, [(water, base + (batch * 10 + i) * 1000, 1.0) for i in range(10)])
        publish(client, [(water, base + 500_000, 2.25)])  # above Báo động 3
    with database.engine.connect() as connection:
        fired = connection.execute(
            text("SELECT level FROM alerts WHERE rule_code = 'water-level-alarm'")
        ).all()
    assert [row[0] for row in fired] == ["bd3"]
