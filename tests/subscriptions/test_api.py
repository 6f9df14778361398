"""``/ngsi-ld/v1/subscriptions`` from the text of ETSI GS CIM 009 v1.8 §5.8 (create, update,
retrieve, query, delete) and §5.2.12 (the Subscription data type): what is accepted, what is
refused and with which ProblemDetails type."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taydo.ingest.ngsild.errors import NgsiError
from taydo.subscriptions.schemas import check_subscription

BASE = "/ngsi-ld/v1/subscriptions"
ERR = "https://uri.etsi.org/ngsi-ld/errors/"
SDM_URL = "https://raw.githubusercontent.com/smart-data-models/dataModel.WaterQuality/master/context.jsonld"


def subscription(**members: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "Subscription",
        "entities": [{"type": "WaterObserved"}],
        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/notify"}},
    }
    body.update(members)
    return {k: v for k, v in body.items() if v is not None}


@pytest.fixture
def admin(headers_for):  # type: ignore[no-untyped-def]
    return headers_for("admin")


def created(client, headers, body) -> str:  # type: ignore[no-untyped-def]
    answer = client.post(BASE, json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return str(answer.headers["location"])


def test_create_retrieve_query_update_delete(client, admin) -> None:  # type: ignore[no-untyped-def]
    body = subscription(
        id="urn:ngsi-ld:Subscription:song-hau-1",
        subscriptionName="Mực nước sông Hậu",
        watchedAttributes=["height"],
        q="height>2.5",
        throttling=5,
        notification={
            "attributes": ["height", "name"],
            "format": "keyValues",
            "endpoint": {
                "uri": "https://iot.cantho.gov.vn/notify",
                "accept": "application/ld+json",
                "receiverInfo": [
                    {"key": "Authorization", "value": "Bearer bí-mật"},
                    {"key": "Fiware-Service", "value": "cantho"},
                ],
            },
        },
    )
    location = created(client, admin, body)
    assert location == f"{BASE}/urn:ngsi-ld:Subscription:song-hau-1"

    got = client.get(location, headers=admin)
    assert got.status_code == 200
    sub = got.json()
    assert sub["id"] == "urn:ngsi-ld:Subscription:song-hau-1"
    assert sub["subscriptionName"] == "Mực nước sông Hậu"
    assert sub["status"] == "active" and sub["isActive"] is True
    assert sub["watchedAttributes"] == ["height"] and sub["q"] == "height>2.5"
    assert sub["throttling"] == 5
    notification = sub["notification"]
    assert notification["format"] == "keyValues"
    assert notification["attributes"] == ["height", "name"]
    assert notification["timesSent"] == 0
    assert notification["endpoint"]["accept"] == "application/ld+json"
    # The credential is never shown again; the other header is.
    assert notification["endpoint"]["receiverInfo"] == [
        {"key": "Authorization", "value": "********"},
        {"key": "Fiware-Service", "value": "cantho"},
    ]
    assert "bí-mật" not in got.text
    assert got.headers["link"].startswith("<")  # application/json: the context in a Link

    # Pause it (§5.2.12 isActive): the status follows.
    patched = client.patch(location, json={"isActive": False}, headers=admin)
    assert patched.status_code == 204
    sub = client.get(location, headers=admin).json()
    assert sub["status"] == "paused" and sub["isActive"] is False
    # A PATCH of the endpoint alone keeps the other notification members.
    patched = client.patch(
        location,
        json={"notification": {"endpoint": {"uri": "http://127.0.0.1:9/other"}}},
        headers=admin,
    )
    assert patched.status_code == 204
    sub = client.get(location, headers=admin).json()
    assert sub["notification"]["endpoint"]["uri"] == "http://127.0.0.1:9/other"
    assert sub["notification"]["format"] == "keyValues"

    created(client, admin, subscription())
    listed = client.get(BASE, params={"count": "true", "limit": 1}, headers=admin)
    assert listed.status_code == 200
    assert listed.headers["ngsild-results-count"] == "2"
    assert [s["id"] for s in listed.json()] == ["urn:ngsi-ld:Subscription:song-hau-1"]
    second = client.get(BASE, params={"offset": 1}, headers=admin).json()
    assert len(second) == 1 and second[0]["id"].startswith("urn:ngsi-ld:Subscription:")

    assert client.delete(location, headers=admin).status_code == 204
    gone = client.get(location, headers=admin)
    assert gone.status_code == 404
    assert gone.json()["type"] == ERR + "ResourceNotFound"
    assert client.delete(location, headers=admin).status_code == 404


def test_same_id_twice_is_already_exists(client, admin) -> None:  # type: ignore[no-untyped-def]
    body = subscription(id="urn:ngsi-ld:Subscription:twice")
    created(client, admin, body)
    again = client.post(BASE, json=body, headers=admin)
    assert again.status_code == 409
    assert again.json()["type"] == ERR + "AlreadyExists"


@pytest.mark.parametrize(
    ("body", "kind", "status"),
    [
        (subscription(type="Entity"), "BadRequestData", 400),
        (subscription(type=None), "BadRequestData", 400),
        (subscription(id="không phải URI"), "BadRequestData", 400),
        (subscription(entities=None), "BadRequestData", 400),  # neither entities nor watched
        (subscription(entities=[]), "BadRequestData", 400),
        (subscription(entities=[{"id": "urn:ngsi-ld:X:1"}]), "BadRequestData", 400),  # no type
        (subscription(entities=[{"type": "T", "idPattern": "(["}]), "BadRequestData", 400),
        (subscription(watchedAttributes=[]), "BadRequestData", 400),
        (subscription(watchedAttributes=["a b"]), "BadRequestData", 400),
        (subscription(watchedAttributes=["h", "h"]), "BadRequestData", 400),
        (subscription(throttling=0), "BadRequestData", 400),
        (subscription(throttling="5"), "BadRequestData", 400),
        (subscription(timeInterval=-1), "BadRequestData", 400),
        (subscription(timeInterval=10, throttling=5), "BadRequestData", 400),
        (subscription(timeInterval=10, watchedAttributes=["h"]), "BadRequestData", 400),
        (subscription(expiresAt="2020-01-01T00:00:00Z"), "BadRequestData", 400),
        (subscription(expiresAt="ngày mai"), "BadRequestData", 400),
        (subscription(isActive="yes"), "BadRequestData", 400),
        (subscription(q="height>>2"), "BadRequestData", 400),
        (
            subscription(geoQ={"georel": "near;maxDistance==100", "geometry": "Point"}),
            "BadRequestData",
            400,
        ),
        (
            subscription(geoQ={"georel": "within", "geometry": "Polygon", "coordinates": [[1, 2]]}),
            "BadRequestData",
            400,
        ),
        (subscription(status="active"), "BadRequestData", 400),
        (subscription(notification=None), "BadRequestData", 400),
        (subscription(notification={"format": "normalized"}), "BadRequestData", 400),
        (subscription(notification={"endpoint": {}}), "BadRequestData", 400),
        (subscription(notification={"endpoint": {"uri": "not a uri"}}), "BadRequestData", 400),
        (
            subscription(notification={"endpoint": {"uri": "ftp://broker/topic"}}),
            "OperationNotSupported",
            422,
        ),
        (
            subscription(notification={"endpoint": {"uri": "http://h/", "accept": "text/plain"}}),
            "BadRequestData",
            400,
        ),
        (
            subscription(notification={"format": "compact", "endpoint": {"uri": "http://h/"}}),
            "BadRequestData",
            400,
        ),
        (
            subscription(notification={"attributes": [], "endpoint": {"uri": "http://h/"}}),
            "BadRequestData",
            400,
        ),
        (
            subscription(notification={"timesSent": 3, "endpoint": {"uri": "http://h/"}}),
            "BadRequestData",
            400,
        ),
        (
            subscription(
                notification={
                    "endpoint": {
                        "uri": "http://h/",
                        "receiverInfo": [{"key": "Host", "value": "x"}],
                    }
                }
            ),
            "BadRequestData",
            400,
        ),
        (
            subscription(
                notification={
                    "endpoint": {
                        "uri": "http://h/",
                        "receiverInfo": [{"key": "X-A", "value": "a\r\nb"}],
                    }
                }
            ),
            "BadRequestData",
            400,
        ),
        (
            subscription(
                notification={"endpoint": {"uri": "http://h/", "receiverInfo": {"key": "X"}}}
            ),
            "BadRequestData",
            400,
        ),
        (subscription(scopeQ="/Cần Thơ"), "OperationNotSupported", 422),
        ([subscription()], "BadRequestData", 400),
    ],
)
def test_refusals_are_problem_details(client, admin, body, kind, status) -> None:  # type: ignore[no-untyped-def]
    answer = client.post(BASE, json=body, headers=admin)
    assert answer.status_code == status, answer.text
    problem = answer.json()
    assert problem["type"] == ERR + kind
    assert problem["status"] == status and problem["detail"]
    assert (
        client.get(BASE, params={"count": "true"}, headers=admin).headers["ngsild-results-count"]
        == "0"
    )


def test_http_level_refusals(client, admin) -> None:  # type: ignore[no-untyped-def]
    text = client.post(BASE, content=b"{", headers={**admin, "Content-Type": "application/json"})
    assert text.status_code == 400 and text.json()["type"] == ERR + "InvalidRequest"
    plain = client.post(BASE, content=b"{}", headers={**admin, "Content-Type": "text/plain"})
    assert plain.status_code == 415
    # application/ld+json carries its context in the body, never beside a Link header.
    link = f'<{SDM_URL}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
    both = client.post(
        BASE,
        json={**subscription(), "@context": SDM_URL},
        headers={**admin, "Content-Type": "application/ld+json", "Link": link},
    )
    assert both.status_code == 400 and both.json()["type"] == ERR + "BadRequestData"
    missing = client.post(
        BASE, json=subscription(), headers={**admin, "Content-Type": "application/ld+json"}
    )
    assert missing.status_code == 400
    too_many = client.get(BASE, params={"limit": 5000}, headers=admin)
    assert too_many.status_code == 403 and too_many.json()["type"] == ERR + "TooManyResults"
    put = client.put(f"{BASE}/urn:ngsi-ld:Subscription:x", json={}, headers=admin)
    assert put.status_code == 405 and put.json()["type"] == ERR + "OperationNotSupported"
    assert "PATCH" in put.headers["allow"]
    nobody = client.post(BASE, json=subscription())
    assert nobody.status_code == 401
    assert client.get(f"{BASE}/urn:ngsi-ld:Subscription:none", headers=admin).status_code == 404


def test_patch_is_checked_as_a_whole(client, admin) -> None:  # type: ignore[no-untyped-def]
    location = created(client, admin, subscription(throttling=10))
    for fragment, kind in (
        ({"timeInterval": 60}, "BadRequestData"),  # with throttling: not both
        ({"id": "urn:ngsi-ld:Subscription:other"}, "BadRequestData"),
        ({"type": "Entity"}, "BadRequestData"),
        ({"expiresAt": "2001-01-01T00:00:00Z"}, "BadRequestData"),
        ({}, "BadRequestData"),
        ({"notification": {"endpoint": {"uri": "ftp://x/"}}}, "OperationNotSupported"),
    ):
        answer = client.patch(location, json=fragment, headers=admin)
        assert answer.json()["type"] == ERR + kind, (fragment, answer.text)
    assert client.get(location, headers=admin).json()["throttling"] == 10  # nothing changed
    # null removes a member (and then timeInterval may come in).
    assert client.patch(location, json={"throttling": None}, headers=admin).status_code == 204
    assert "throttling" not in client.get(location, headers=admin).json()
    missing = client.patch(
        f"{BASE}/urn:ngsi-ld:Subscription:none", json={"isActive": True}, headers=admin
    )
    assert missing.status_code == 404 and missing.json()["type"] == ERR + "ResourceNotFound"


def test_expiry_shows_in_status_and_renewal(client, admin) -> None:  # type: ignore[no-untyped-def]
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    location = created(client, admin, subscription(expiresAt=soon))
    assert client.get(location, headers=admin).json()["status"] == "active"
    import time

    time.sleep(1.2)
    assert client.get(location, headers=admin).json()["status"] == "expired"
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert client.patch(location, json={"expiresAt": later}, headers=admin).status_code == 204
    assert client.get(location, headers=admin).json()["status"] == "active"


def test_each_user_sees_only_their_own(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    mine, theirs = headers_for("operator"), headers_for("operator")
    location = created(client, mine, subscription())
    assert client.get(location, headers=theirs).status_code == 404
    assert client.patch(location, json={"isActive": False}, headers=theirs).status_code == 404
    assert client.delete(location, headers=theirs).status_code == 404
    assert client.get(BASE, headers=theirs).json() == []
    assert len(client.get(BASE, headers=mine).json()) == 1
    viewer = client.post(BASE, json=subscription(), headers=headers_for("viewer"))
    assert viewer.status_code == 403


def test_terms_in_a_context(client, admin) -> None:  # type: ignore[no-untyped-def]
    """The subscription's terms are read in its @context (body with ld+json, or Link)."""
    body = {**subscription(), "@context": SDM_URL}
    answer = client.post(BASE, json=body, headers={**admin, "Content-Type": "application/ld+json"})
    assert answer.status_code == 201, answer.text
    got = client.get(answer.headers["location"], headers={**admin, "Accept": "application/ld+json"})
    assert got.headers["content-type"].startswith("application/ld+json")
    assert "@context" in got.json()
    unknown = client.post(
        BASE,
        json={**subscription(), "@context": "http://127.0.0.1:9/no-such-context.jsonld"},
        headers={**admin, "Content-Type": "application/ld+json"},
    )
    assert unknown.status_code == 503
    assert unknown.json()["type"] == ERR + "LdContextNotAvailable"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
MEMBERS = st.sampled_from(
    [
        "entities",
        "watchedAttributes",
        "q",
        "geoQ",
        "throttling",
        "timeInterval",
        "expiresAt",
        "isActive",
        "notification",
        "id",
        "type",
        "lang",
        "status",
    ]
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=300)
@given(st.dictionaries(MEMBERS, JSON, max_size=6), st.booleans())
def test_fuzz_check_refuses_cleanly(members: dict[str, Any], base: bool) -> None:
    """Whatever arrives, the check answers with a subscription or an NgsiError, nothing else."""
    body = {**subscription(), **members} if base else members
    try:
        spec = check_subscription(body)
    except NgsiError as error:
        assert error.status in (400, 422)
    else:
        assert spec.document["type"] == "Subscription" and spec.uri
