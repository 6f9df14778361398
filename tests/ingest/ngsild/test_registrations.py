"""Context source registrations and their subscriptions (ETSI GS CIM 009 v1.8 §5.9, §5.11):
stored, retrieved, queried, updated and deleted, with the spec's validation and errors."""

from __future__ import annotations

from typing import Any

import pytest

from taydo.ingest.ngsild.errors import NgsiError
from taydo.ingest.ngsild.registrations import validate_registration, validate_subscription

from .test_api import ERR

REGS = "/ngsi-ld/v1/csourceRegistrations"
SUBS = "/ngsi-ld/v1/csourceSubscriptions"
JSON = {"Content-Type": "application/json"}


def registration(local: str, **more: Any) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:ContextSourceRegistration:{local}",
        "type": "ContextSourceRegistration",
        "information": [
            {"entities": [{"type": "WeatherObserved"}], "propertyNames": ["temperature"]}
        ],
        "endpoint": "http://weather.example.org/ngsi-ld",
        **more,
    }


def subscription(local: str, **more: Any) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:Subscription:{local}",
        "type": "Subscription",
        "entities": [{"type": "WeatherObserved"}],
        "notification": {"endpoint": {"uri": "http://listener.example.org/notify"}},
        **more,
    }


def test_registrations_crud_and_query(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = {**headers_for("admin"), **JSON}
    made = client.post(REGS, json=registration("R1", mode="inclusive"), headers=admin)
    assert made.status_code == 201, made.text
    assert made.headers["location"] == f"{REGS}/urn:ngsi-ld:ContextSourceRegistration:R1"
    other = registration("R2")
    other["information"] = [{"relationshipNames": ["refDevice"]}]
    assert client.post(REGS, json=other, headers=admin).status_code == 201
    again = client.post(REGS, json=registration("R1"), headers=admin)
    assert (again.status_code, again.json()["type"]) == (409, ERR + "AlreadyExists")
    # no id: the broker makes one
    anonymous = {k: v for k, v in registration("x").items() if k != "id"}
    generated = client.post(REGS, json=anonymous, headers=admin)
    assert generated.status_code == 201 and "urn:ngsi-ld:" in generated.headers["location"]

    got = client.get(f"{REGS}/urn:ngsi-ld:ContextSourceRegistration:R1", headers=admin)
    assert got.status_code == 200
    assert got.json()["endpoint"] == "http://weather.example.org/ngsi-ld"
    assert got.json()["mode"] == "inclusive"

    def ids(**params: Any) -> list[str]:
        answer = client.get(REGS, params=params, headers=admin)
        assert answer.status_code == 200, answer.text
        return [r["id"].rsplit(":", 1)[1] for r in answer.json()]

    weather = ids(type="WeatherObserved")
    assert len(weather) == 2 and weather[0] == "R1"  # R1 and the one with a made id
    assert ids(attrs="refDevice") == ["R2"]
    assert ids(id="urn:ngsi-ld:ContextSourceRegistration:R2") == ["R2"]
    counted = client.get(REGS, params={"limit": 1, "count": "true"}, headers=admin)
    assert counted.headers["NGSILD-Results-Count"] == "3" and len(counted.json()) == 1

    patched = client.patch(
        f"{REGS}/urn:ngsi-ld:ContextSourceRegistration:R1",
        json={"endpoint": "http://other.example.org", "description": "Trạm khí tượng"},
        headers=admin,
    )
    assert patched.status_code == 204, patched.text
    got = client.get(f"{REGS}/urn:ngsi-ld:ContextSourceRegistration:R1", headers=admin).json()
    assert got["endpoint"] == "http://other.example.org" and got["description"] == "Trạm khí tượng"
    broken = client.patch(f"{REGS}/urn:ngsi-ld:ContextSourceRegistration:R1",
                          json={"mode": "sideways"}, headers=admin)  # fmt: skip
    assert (broken.status_code, broken.json()["type"]) == (400, ERR + "BadRequestData")

    gone = client.delete(f"{REGS}/urn:ngsi-ld:ContextSourceRegistration:R1", headers=admin)
    assert gone.status_code == 204
    for method in ("GET", "DELETE", "PATCH"):
        missing = client.request(method, f"{REGS}/urn:ngsi-ld:ContextSourceRegistration:R1",
                                 json={"mode": "inclusive"}, headers=admin)  # fmt: skip
        assert (missing.status_code, missing.json()["type"]) == (404, ERR + "ResourceNotFound")
    viewer = headers_for("viewer")
    assert client.get(REGS, headers=viewer).status_code == 200
    refused = client.post(REGS, json=registration("R9"), headers={**viewer, **JSON})
    assert refused.status_code == 403 and refused.json()["status"] == 403


def test_csource_subscriptions_crud(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = {**headers_for("admin"), **JSON}
    made = client.post(SUBS, json=subscription("S1"), headers=admin)
    assert made.status_code == 201, made.text
    got = client.get(f"{SUBS}/urn:ngsi-ld:Subscription:S1", headers=admin).json()
    assert got["status"] == "active" and got["isActive"] is True
    paused = client.patch(f"{SUBS}/urn:ngsi-ld:Subscription:S1", json={"isActive": False},
                          headers=admin)  # fmt: skip
    assert paused.status_code == 204
    assert client.get(f"{SUBS}/urn:ngsi-ld:Subscription:S1", headers=admin).json()["status"] == (
        "paused"
    )
    listed = client.get(SUBS, params={"type": "WeatherObserved"}, headers=admin).json()
    assert [s["id"] for s in listed] == ["urn:ngsi-ld:Subscription:S1"]
    bad = subscription("S2", notification={"endpoint": {"uri": "ftp://x.example.org"}})
    refused = client.post(SUBS, json=bad, headers=admin)
    assert (refused.status_code, refused.json()["type"]) == (400, ERR + "BadRequestData")
    assert client.delete(f"{SUBS}/urn:ngsi-ld:Subscription:S1", headers=admin).status_code == 204
    assert client.get(f"{SUBS}/urn:ngsi-ld:Subscription:S1", headers=admin).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"type": "Registration"},
        registration("a", information=[]),
        registration("a", information=[{}]),
        registration("a", information=[{"entities": [{"id": "urn:x:1"}]}]),  # no type
        registration(
            "a", information=[{"entities": [{"type": "T", "id": "urn:x:1", "idPattern": ".*"}]}]
        ),
        registration("a", information=[{"propertyNames": []}]),
        registration("a", endpoint="not a uri"),
        registration("a", id="not a uri"),
        registration("a", expiresAt="2001-01-01T00:00:00Z"),
        registration("a", expiresAt="tomorrow"),
        registration("a", mode="sideways"),
        registration(
            "a",
            observationInterval={
                "startAt": "2026-01-02T00:00:00Z",
                "endAt": "2026-01-01T00:00:00Z",
            },
        ),
        registration("a", location={"type": "Point", "coordinates": [500, 0]}),
        registration("a", contextSourceInfo=[{"key": "k"}]),
    ],
)
def test_invalid_registrations_are_bad_request_data(body: Any) -> None:
    with pytest.raises(NgsiError) as raised:
        validate_registration(body)
    assert raised.value.kind == "BadRequestData"


@pytest.mark.parametrize(
    "body",
    [
        {"type": "Subscription"},
        subscription("a", type="ContextSourceRegistration"),
        {k: v for k, v in subscription("a").items() if k != "entities"},
        {k: v for k, v in subscription("a").items() if k != "notification"},
        subscription("a", notification={}),
        subscription("a", notification={"endpoint": {"uri": "x"}}),
        subscription("a", q="temperature>>"),
        subscription("a", isActive="yes"),
        subscription("a", throttling=-1),
        subscription("a", watchedAttributes=["a"], timeInterval=5),
        subscription(
            "a", notification={"endpoint": {"uri": "http://x.example.org"}, "format": "xml"}
        ),
    ],
)
def test_invalid_csource_subscriptions_are_bad_request_data(body: Any) -> None:
    with pytest.raises(NgsiError) as raised:
        validate_subscription(body)
    assert raised.value.kind == "BadRequestData"
