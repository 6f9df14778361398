"""Through the real ingest path: POST /api/v1/observations → commit → engine → alert.

Needs the observations domain (writer, HTTP gateway); skipped where it is not installed."""

from __future__ import annotations

from datetime import timedelta

from taydo.alerts.runtime import AlertingRuntime
from taydo.catalog.models import Agency, Entity, Metric
from taydo.core import clock
from taydo.core.runtime import runtime_of
from taydo.rules.service import parse_rule, save_rules
from tests.alerts.conftest import ALARM_RULE, WATER, wait_for

AIR = "urn:ngsi-ld:AirQualityObserved:CanTho-NinhKieu"
HOUR = 3_600_000


def test_posted_observations_raise_and_clear_an_alert(catalog, client, headers_for) -> None:
    op = headers_for("operator")
    base = clock.now_ms() - 10 * 60_000
    answer = client.post(
        "/api/v1/observations",
        json=[{"entity_id": WATER, "metric": "height", "ts": base, "value": 2.25}],
        headers=op,
    )
    assert answer.status_code == 200, answer.text
    alert = wait_for(lambda: client.get("/api/v1/alerts", headers=op).json())[0]
    assert alert["level"] == "bd3" and alert["value"] == 2.25
    client.post(
        "/api/v1/observations",
        json=[{"entity_id": WATER, "metric": "height", "ts": base + 60_000, "value": 1.0}],
        headers=op,
    )
    wait_for(
        lambda: (
            client.get(f"/api/v1/alerts/{alert['id']}", headers=op).json()["state"] == "resolved"
        )
    )


def test_vn_aqi_is_derived_stored_and_alerted_on(database, catalog, headers_for, settings) -> None:
    from fastapi.testclient import TestClient

    from taydo.app import create_app

    now = clock.now()
    other = AIR + "-2"  # a second station in the same batches: their AQI series come together
    with database.session() as s:
        agency = s.query(Agency).filter_by(code="SNNMT").one()
        for entity_id in (AIR, other):
            entity = Entity(
                entity_id=entity_id,
                type="AirQualityObserved",
                name=f"Trạm không khí {entity_id[-5:]}",
                agency_id=agency.id,
                area_code="31117",
                attributes={},
                tags=[],
                created_at=now,
                updated_at=now,
            )
            s.add(entity)
            s.flush()
            s.add(Metric(entity_pk=entity.id, name="pm25", unit="ug/m3"))
    save_rules(
        database,
        [
            parse_rule(
                {
                    "code": "air-quality-aqi",
                    "kind": "threshold",
                    "name": "Chất lượng không khí",
                    "metric": "aqi",
                    "target": {"types": ["AirQualityObserved"]},
                    "levels": [
                        {"code": "poor", "label": "AQI Kém", "value": 101, "severity": "watch"},
                        {"code": "bad", "label": "AQI Xấu", "value": 151},
                    ],
                }
            )
        ],
    )
    op = headers_for("operator")
    start = clock.now_ms() - 3 * HOUR
    start -= start % HOUR
    with TestClient(create_app(settings, database=database)) as client:
        for hour in range(3):
            answer = client.post(
                "/api/v1/observations",
                headers=op,
                json=[
                    {"entity_id": AIR, "metric": "pm25", "ts": start + hour * HOUR, "value": 90.0},
                    {"entity_id": other, "metric": "pm25", "ts": start + hour * HOUR, "value": 9.0},
                ],
            )
            assert answer.status_code == 200, answer.text
        alert = wait_for(
            lambda: client.get(
                "/api/v1/alerts", headers=op, params={"rule": "air-quality-aqi"}
            ).json()
        )[0]
        assert alert["level"] == "bad"  # NowCast 90 µg/m³ → VN_AQI 157

        def stored_aqi(entity_id: str) -> list[dict]:
            query = {"entity_id": entity_id}
            latest = client.get("/api/v1/latest", params=query, headers=op).json()
            return [item for item in latest if item["metric"] == "aqi"]

        aqi = wait_for(lambda: stored_aqi(AIR))
        assert aqi[0]["value"] == 157  # stored like any measured metric
        assert wait_for(lambda: stored_aqi(other))[0]["value"] == 18  # 9 µg/m³: 9 × 50 / 25


def _height_poster(client, headers: dict[str, str], base: int):  # type: ignore[no-untyped-def]
    """post(offset, value): one water height of WATER at ``base + offset`` ms, answered 200."""

    def post(offset: int, value: float) -> None:
        answer = client.post(
            "/api/v1/observations",
            json=[{"entity_id": WATER, "metric": "height", "ts": base + offset, "value": value}],
            headers=headers,
        )
        assert answer.status_code == 200, answer.text

    return post


def test_changed_alarm_levels_apply_to_the_next_value(catalog, client, headers_for) -> None:
    """A catalog change reaches the running engine: new alarm levels judge the next value."""
    op = headers_for("operator")
    admin = headers_for("admin")
    post = _height_poster(client, op, clock.now_ms() - 10 * 60_000)
    post(0, 1.5)  # below Báo động 1 (1.7): no alert
    changed = client.patch(
        f"/api/v1/entities/{WATER}",
        json={"attributes": {"alarm_levels": {"1": 1.2, "2": 1.4, "3": 1.6}}},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    post(60_000, 1.5)  # the same height is now above the new Báo động 2
    alert = wait_for(lambda: client.get("/api/v1/alerts", headers=op).json())[0]
    assert alert["level"] == "bd2"


def test_an_entity_created_over_ngsi_ld_is_alerted_on_from_its_first_value(
    catalog, client, headers_for
) -> None:
    """The writer hands the series index the new entity's series (nothing reads them back):
    the engine still knows the entity's type and agency, and its first value alerts."""
    op = headers_for("operator")
    officer = headers_for("agency_officer", ["SNNMT"])
    when = clock.now().replace(microsecond=0) - timedelta(minutes=5)
    new = "urn:ngsi-ld:WaterQualityObserved:SocTrang-New"
    answer = client.post(
        "/ngsi-ld/v1/entityOperations/upsert",
        json=[
            {
                "id": new,
                "type": "WaterQualityObserved",
                "salinity": {
                    "type": "Property",
                    "value": 5.5,
                    "unitCode": "G42",
                    "observedAt": when.isoformat().replace("+00:00", "Z"),
                },
            }
        ],
        headers=officer,
    )
    assert answer.status_code == 201, answer.text
    alert = wait_for(lambda: client.get("/api/v1/alerts", headers=op).json())[0]
    assert alert["level"] == "danger-4ppt" and alert["value"] == 5.5
    assert alert["entity_id"] == new and alert["agency_code"] == "SNNMT"


def test_a_rule_that_starts_reading_alarm_levels_applies_to_known_series(
    database, catalog, headers_for, settings
) -> None:
    """Entity attributes are read only for metrics whose rule levels name them; a rule
    changed to read them brings them in before it judges the next value."""
    from fastapi.testclient import TestClient

    from taydo.app import create_app

    fixed = {
        **ALARM_RULE,
        "levels": [
            {**level, "attribute": None, "value": 10.0 + n}
            for n, level in enumerate(ALARM_RULE["levels"])
        ],
    }
    save_rules(database, [parse_rule(fixed)])
    op = headers_for("operator")
    admin = headers_for("admin")
    base = clock.now_ms() - 10 * 60_000
    with TestClient(create_app(settings, database=database)) as client:

        def post(offset: int, value: float) -> None:
            answer = client.post(
                "/api/v1/observations",
                json=[
                    {"entity_id": WATER, "metric": "height", "ts": base + offset, "value": value}
                ],
                headers=op,
            )
            assert answer.status_code == 200, answer.text

        # A catalog change makes the engine forget the station, then learn it again from its
        # next value, while no level reads attributes.
        changed = client.patch(f"/api/v1/entities/{WATER}", json={"name": "Trạm"}, headers=admin)
        assert changed.status_code == 200, changed.text
        wait_for(
            lambda: not runtime_of(client.app).get(AlertingRuntime).catalog.known(catalog[WATER])
        )
        post(0, 1.5)
        wait_for(lambda: runtime_of(client.app).get(AlertingRuntime).catalog.known(catalog[WATER]))
        put = client.put(f"/api/v1/rules/{ALARM_RULE['code']}", json=ALARM_RULE, headers=admin)
        assert put.status_code == 200, put.text
        # The change reaches the engine over the bus (rules.changed), beside the committed
        # values, not before the answer: a value posted at once could be judged by the old
        # levels. Wait until the engine holds the new ones (found as a flaky failure).
        engine = runtime_of(client.app).get(AlertingRuntime).engine
        wanted = parse_rule(ALARM_RULE).levels
        wait_for(lambda: engine.rules[ALARM_RULE["code"]].levels == wanted)
        post(60_000, 2.25)  # above the station's own Báo động 3 (2.1)
        alert = wait_for(lambda: client.get("/api/v1/alerts", headers=op).json())[0]
        assert alert["level"] == "bd3"


def test_alarm_levels_changed_over_ngsi_ld_apply_to_the_next_value(
    catalog, client, headers_for
) -> None:
    """An integrator updates a station's alarm levels with an NGSI-LD PATCH (no series, type
    or place changes): the running engine judges the next value by the new levels."""
    op = headers_for("operator")
    post = _height_poster(client, op, clock.now_ms() - 10 * 60_000)
    post(0, 1.5)  # below Báo động 1 (1.7): no alert
    levels = {"type": "Property", "value": {"1": 1.2, "2": 1.4, "3": 1.6}}
    changed = client.patch(
        f"/ngsi-ld/v1/entities/{WATER}/attrs",
        json={"alarm_levels": levels},
        headers=headers_for("admin"),
    )
    assert changed.status_code == 204, changed.text
    post(60_000, 1.5)  # the same height is now above the new Báo động 2
    alert = wait_for(lambda: client.get("/api/v1/alerts", headers=op).json())[0]
    assert alert["level"] == "bd2"
