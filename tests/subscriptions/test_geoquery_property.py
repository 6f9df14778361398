"""A subscription's ``geoQ.geoproperty``: the geo-query is judged on that GeoProperty, not
on the entity's location (notifications to a real HTTP receiver)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from taydo.app import create_app
from tests.subscriptions.conftest import wait_for

ENTITY = "urn:ngsi-ld:FloodSensor:S1"
ZONE = [[[106.5, 9.5], [106.7, 9.5], [106.7, 9.7], [106.5, 9.7], [106.5, 9.5]]]


def test_geoq_on_observation_space(settings, database, headers_for, receiver) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    app = create_app(settings, database=database)
    with TestClient(app) as client:

        def subscribe(**geo: str) -> str:
            body = {
                "type": "Subscription",
                "entities": [{"type": "FloodSensor"}],
                "geoQ": {"georel": "within", "geometry": "Polygon", "coordinates": ZONE, **geo},
                "notification": {"endpoint": {"uri": receiver.url}},
            }
            made = client.post("/ngsi-ld/v1/subscriptions", json=body, headers=admin)
            assert made.status_code == 201, made.text
            return str(made.headers["location"]).rsplit("/", 1)[-1]

        on_space = subscribe(geoproperty="observationSpace")
        on_location = subscribe()
        stored = client.get(f"/ngsi-ld/v1/subscriptions/{on_space}", headers=admin).json()
        assert stored["geoQ"]["geoproperty"] == "observationSpace"
        space = [[[106.55, 9.55], [106.6, 9.55], [106.6, 9.6], [106.55, 9.6], [106.55, 9.55]]]
        for value in (1.0, 2.0):
            entity = {
                "id": ENTITY,
                "type": "FloodSensor",
                "location": {
                    "type": "GeoProperty",
                    "value": {"type": "Point", "coordinates": [105.78, 10.03]},
                },
                "observationSpace": {
                    "type": "GeoProperty",
                    "value": {"type": "Polygon", "coordinates": space},
                },
                "level": {"type": "Property", "value": value},
            }
            answer = client.post(
                "/ngsi-ld/v1/entityOperations/upsert", json=[entity], headers=admin
            )
            assert answer.status_code in (201, 204), answer.text

        def sent(sub_id: str) -> list[float]:
            return [
                e["level"]["value"]
                for r in list(receiver.received)
                if r["body"]["subscriptionId"] == sub_id
                for e in r["body"]["data"]
            ]

        wait_for(lambda: 2.0 in sent(on_space), "the notification on observationSpace")
        assert sent(on_location) == []  # the location is outside the zone
        bad = {
            "type": "Subscription",
            "entities": [{"type": "FloodSensor"}],
            "geoQ": {"georel": "within", "geometry": "Polygon", "coordinates": ZONE,
                     "geoproperty": 7},
            "notification": {"endpoint": {"uri": receiver.url}},
        }  # fmt: skip
        answer = client.post("/ngsi-ld/v1/subscriptions", json=bad, headers=admin)
        assert answer.status_code == 400, answer.text
