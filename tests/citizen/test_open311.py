"""Open311 GeoReport v2 over HTTP: services and definitions (JSON and XML), posting with an
API key or publicly with a rate limit, the spec's filters, tokens, and the spec's errors."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient

from tests.citizen.conftest import IN_CAI_RANG, IN_NINH_KIEU

FIXTURES = Path("/work/shared/fixtures/open311")


def _schema(name: str) -> dict[str, Any]:
    """A schema of open311/schema-validation (its ``$ref: request.json`` resolved by hand)."""
    data = json.loads((FIXTURES / name).read_text())
    if data.get("type") == "array":
        item = json.loads((FIXTURES / data["items"]["$ref"]).read_text())
        data = {"type": "array", "items": item, "minItems": 0}
    return data  # type: ignore[no-any-return]


needs_fixtures = pytest.mark.skipif(not FIXTURES.is_dir(), reason="Open311 fixtures absent")


@needs_fixtures
def test_services_and_definitions_match_the_official_schemas(citizen_client: TestClient) -> None:
    services = citizen_client.get("/open311/v2/services.json").json()
    jsonschema.validate(services, _schema("services.json"))
    codes = {s["service_code"] for s in services}
    assert {"ngap-nuoc", "rac-thai", "den-duong", "o-ga", "cay-xanh", "sat-lo"} <= codes
    flood = next(s for s in services if s["service_code"] == "ngap-nuoc")
    assert flood["service_name"] == "Ngập nước" and flood["metadata"] is True
    english = citizen_client.get(
        "/open311/v2/services.json", headers={"Accept-Language": "en"}
    ).json()
    assert next(s for s in english if s["service_code"] == "ngap-nuoc")["service_name"] == (
        "Flooding"
    )
    definition = citizen_client.get("/open311/v2/services/ngap-nuoc.json").json()
    jsonschema.validate(definition, _schema("service-definition.json"))
    depth = definition["attributes"][0]
    assert depth["code"] == "do-sau" and depth["required"] is True
    assert depth["values"][0]["key"] == "mat-ca-chan"


def test_xml_answers_follow_the_spec(citizen_client: TestClient) -> None:
    answer = citizen_client.get("/open311/v2/services.xml")
    assert answer.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(answer.content)
    assert root.tag == "services"
    assert {s.findtext("service_code") for s in root.findall("service")} >= {"ngap-nuoc"}
    definition = ET.fromstring(citizen_client.get("/open311/v2/services/ngap-nuoc.xml").content)
    assert definition.tag == "service_definition"
    values = definition.findall("attributes/attribute/values/value")
    assert values and values[0].findtext("key") == "mat-ca-chan"
    error = citizen_client.get("/open311/v2/services/nope.xml")
    assert error.status_code == 404
    assert ET.fromstring(error.content).findtext("error/code") == "404"


@needs_fixtures
def test_post_then_read_back_by_id_list_and_token(
    citizen_client: TestClient, post_report: Any
) -> None:
    created = post_report(
        "ngap-nuoc",
        *IN_NINH_KIEU,
        **{"attribute[do-sau]": "dau-goi", "description": "Ngập sâu đường 30/4", "email": "a@b.vn"},
    )
    assert set(created) >= {"service_request_id", "token", "service_notice"}
    request_id = created["service_request_id"]
    listed = citizen_client.get("/open311/v2/requests.json").json()
    jsonschema.validate(listed, _schema("requests.json"))
    mine = next(r for r in listed if r["service_request_id"] == request_id)
    assert mine["status"] == "open" and mine["agency_responsible"] == "Cơ quan UBND-NINHKIEU"
    assert "email" not in json.dumps(listed)  # the contact is never public
    one = citizen_client.get(f"/open311/v2/requests/{request_id}.json").json()
    assert len(one) == 1 and one[0]["service_request_id"] == request_id
    assert (
        citizen_client.get(f"/open311/v2/request/{request_id}.json").json()["lat"]
        == (IN_NINH_KIEU[0])
    )
    token = citizen_client.get(f"/open311/v2/tokens/{created['token']}.json").json()
    assert token == {"service_request_id": request_id, "token": created["token"]}
    xml = ET.fromstring(citizen_client.get(f"/open311/v2/requests/{request_id}.xml").content)
    assert xml.tag == "service_requests" and xml.findtext("request/status") == "open"


def test_the_spec_filters(citizen_client: TestClient, post_report: Any) -> None:
    flood = post_report("ngap-nuoc", *IN_NINH_KIEU, **{"attribute[do-sau]": "bap-chan"})
    light = post_report("den-duong", *IN_CAI_RANG)
    pothole = post_report("o-ga", *IN_CAI_RANG)
    database = citizen_client.app.state.runtime.db  # type: ignore[attr-defined]
    from taydo.citizen.service import act
    from taydo.core.access import Principal

    act(
        database,
        Principal("op", "operator"),
        int(pothole["service_request_id"]),
        "closed",
        note="đã vá",
    )

    def ids(**params: str) -> set[str]:
        answer = citizen_client.get("/open311/v2/requests.json", params=params)
        assert answer.status_code == 200, answer.text
        return {r["service_request_id"] for r in answer.json()}

    every = {
        flood["service_request_id"],
        light["service_request_id"],
        pothole["service_request_id"],
    }
    assert ids() == every
    assert ids(service_code="den-duong") == {light["service_request_id"]}
    assert ids(status="closed") == {pothole["service_request_id"]}
    assert ids(status="open") == every - {pothole["service_request_id"]}
    assert ids(status="open,closed") == every
    wanted = f"{flood['service_request_id']},{light['service_request_id']}"
    # a list of ids overrides every other filter (the spec)
    assert ids(service_request_id=wanted, service_code="o-ga") == {
        flood["service_request_id"],
        light["service_request_id"],
    }
    assert ids(start_date="2000-01-01T00:00:00Z", end_date="2000-02-01T00:00:00Z") == set()
    assert ids(start_date="2020-01-01T00:00:00+07:00") == every
    for bad in (
        {"start_date": "yesterday"},
        {"status": "pending"},
        {"service_request_id": "1,abc"},
        {"start_date": "2020-01-01T00:00:00Z", "end_date": "2020-06-01T00:00:00Z"},  # > 90 days
    ):
        answer = citizen_client.get("/open311/v2/requests.json", params=bad)
        assert answer.status_code == 400, bad
        assert answer.json()[0]["code"] == 400 and answer.json()[0]["description"]


def test_errors_come_in_the_spec_format(citizen_client: TestClient, post_report: Any) -> None:
    def error(answer: Any, status: int) -> str:
        assert answer.status_code == status, answer.text
        body = answer.json()
        assert isinstance(body, list) and body[0]["code"] == status
        return str(body[0]["description"])

    error(citizen_client.get("/open311/v2/services/nope.json"), 404)
    error(citizen_client.get("/open311/v2/requests/12345.json"), 404)
    error(citizen_client.get("/open311/v2/tokens/nope.json"), 404)
    error(citizen_client.get("/open311/v2/services.csv"), 400)
    error(citizen_client.get("/open311/v2/services.json?jurisdiction_id=hanoi.gov.vn"), 404)
    assert (
        citizen_client.get("/open311/v2/services.json?jurisdiction_id=cantho.gov.vn").status_code
        == 200
    )
    post = "/open311/v2/requests.json"
    error(citizen_client.post(post, data={"service_code": "ngap-nuoc", "api_key": "x"}), 403)
    assert "do-sau" in error(
        citizen_client.post(
            post,
            data={
                "service_code": "ngap-nuoc",
                "lat": 10.03,
                "long": 105.78,
                "api_key": _key(citizen_client),
            },
        ),
        400,
    )
    assert "lat" in error(
        citizen_client.post(post, data={"service_code": "khac", "api_key": _key(citizen_client)}),
        400,
    )
    error(
        citizen_client.post(
            post,
            data={"service_code": "nope", "lat": 10, "long": 105, "api_key": _key(citizen_client)},
        ),
        404,
    )
    error(
        citizen_client.post(
            post,
            data={
                "service_code": "khac",
                "lat": "north",
                "long": 105,
                "api_key": _key(citizen_client),
            },
        ),
        400,
    )


def _key(client: TestClient) -> str:
    from taydo.citizen.service import create_key

    return create_key(client.app.state.runtime.db, "t", actor="t")[1]  # type: ignore[attr-defined]


def test_public_posting_is_rate_limited_per_address(citizen_client: TestClient) -> None:
    report = {"service_code": "khac", "lat": IN_NINH_KIEU[0], "long": IN_NINH_KIEU[1]}
    # citizen_public_posts_per_minute=3 in these tests
    for _ in range(3):
        assert citizen_client.post("/open311/v2/requests.json", data=report).status_code == 200
    refused = citizen_client.post("/open311/v2/requests.json", data=report)
    assert refused.status_code == 429 and refused.json()[0]["code"] == 429
    # a registered app is not limited
    with_key = {**report, "api_key": _key(citizen_client)}
    assert citizen_client.post("/open311/v2/requests.json", data=with_key).status_code == 200


def test_api_keys_are_stored_hashed_and_revocable(
    citizen_client: TestClient, headers_for: Any
) -> None:
    admin = headers_for("admin")
    made = citizen_client.post("/api/v1/citizen/keys", json={"name": "Cần Thơ 1022"}, headers=admin)
    assert made.status_code == 201
    key = made.json()["key"]
    listed = citizen_client.get("/api/v1/citizen/keys", headers=admin).json()
    assert key not in json.dumps(listed)
    database = citizen_client.app.state.runtime.db  # type: ignore[attr-defined]
    with database.engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT key_hash FROM citizen_api_keys").scalars().all()
    assert key not in stored
    report = {"service_code": "khac", "lat": 10.03, "long": 105.78, "api_key": key}
    assert citizen_client.post("/open311/v2/requests.json", data=report).status_code == 200
    revoked = citizen_client.delete(f"/api/v1/citizen/keys/{made.json()['id']}", headers=admin)
    assert revoked.json()["revoked"] is True
    assert citizen_client.post("/open311/v2/requests.json", data=report).status_code == 403
    operator = headers_for("operator")
    assert citizen_client.get("/api/v1/citizen/keys", headers=operator).status_code == 403


def test_operator_api_acts_and_scopes(
    citizen_client: TestClient, post_report: Any, headers_for: Any
) -> None:
    ours = post_report("ngap-nuoc", *IN_NINH_KIEU, **{"attribute[do-sau]": "bap-chan"})
    theirs = post_report("ngap-nuoc", *IN_CAI_RANG, **{"attribute[do-sau]": "bap-chan"})
    officer = headers_for("agency_officer", ["UBND-NINHKIEU"])
    queue = citizen_client.get("/api/v1/citizen/reports", headers=officer).json()
    assert [str(r["id"]) for r in queue] == [ours["service_request_id"]]
    assert (
        citizen_client.get(
            f"/api/v1/citizen/reports/{theirs['service_request_id']}", headers=officer
        ).status_code
        == 404
    )
    path = f"/api/v1/citizen/reports/{ours['service_request_id']}/status"
    assert citizen_client.post(path, json={"status": "closed"}, headers=officer).status_code == 422
    done = citizen_client.post(path, json={"status": "closed", "note": "đã bơm"}, headers=officer)
    assert done.status_code == 200 and done.json()["status"] == "closed"
    viewer = headers_for("viewer")
    assert citizen_client.get("/api/v1/citizen/reports", headers=viewer).status_code == 403
    assert citizen_client.get("/api/v1/citizen/reports").status_code == 401
    near = citizen_client.get(
        "/api/v1/citizen/duplicates",
        params={"service_code": "ngap-nuoc", "lat": IN_CAI_RANG[0], "lon": IN_CAI_RANG[1]},
    ).json()
    assert [str(d["id"]) for d in near] == [theirs["service_request_id"]]


def test_nul_characters_are_refused_not_sent_to_the_database(
    citizen_client: TestClient, headers_for: Any
) -> None:
    """PostgreSQL refuses NUL in text: it must never reach a query (a 500 there)."""
    for path in (
        "/open311/v2/services/a%00b.json",
        "/open311/v2/requests.json?service_code=a%00b",
        "/open311/v2/tokens/a%00b.json",
        "/citizen/r/a%00b",
    ):
        answer = citizen_client.get(path)
        assert answer.status_code in (400, 404), (path, answer.status_code)
    answer = citizen_client.post(
        "/open311/v2/requests.json",
        data={"service_code": "kh\x00ac", "lat": 10.03, "long": 105.78, "api_key": "k\x00"},
    )
    assert answer.status_code in (400, 403, 404)
    for field in ("service_code", "description", "address_string", "attribute[x]", "email"):
        fields = {
            "service_code": "khac",
            "lat": 10.03,
            "long": 105.78,
            "api_key": _key(citizen_client),
            field: "a\x00b",
        }
        answer = citizen_client.post("/open311/v2/requests.json", data=fields)
        assert answer.status_code in (400, 404), (field, answer.text)
    near = citizen_client.get(
        "/api/v1/citizen/duplicates", params={"service_code": "a\x00", "lat": 10, "lon": 105}
    )
    assert near.status_code == 400
    queue = citizen_client.get(
        "/api/v1/citizen/reports", params={"agency": "a\x00"}, headers=headers_for("operator")
    )
    assert queue.status_code == 400


def test_an_api_key_name_must_be_printable(citizen_client: TestClient, headers_for: Any) -> None:
    admin = headers_for("admin")
    for name in ("a\x00b", "tab\there", ""):
        answer = citizen_client.post("/api/v1/citizen/keys", json={"name": name}, headers=admin)
        assert answer.status_code == 422, name


def test_open311_never_looks_up_a_caller_and_is_matched_first(
    citizen_client: TestClient, post_report: Any
) -> None:
    """Open311 routes are matched before every other router's and never resolve a caller
    (no credential lookup, no hop to the thread pool): a cookie or bearer is not read."""
    runtime = citizen_client.app.state.runtime  # type: ignore[attr-defined]
    looked_up: list[str] = []
    previous = runtime.authenticate

    def counting(request: Any) -> Any:
        looked_up.append(request.url.path)
        return previous(request)

    runtime.authenticate = counting
    try:
        created = post_report("o-ga", *IN_NINH_KIEU)
        listed = citizen_client.get(
            "/open311/v2/requests.json", headers={"Authorization": "Bearer nonsense"}
        )
        assert listed.status_code == 200
        assert created["service_request_id"] in {r["service_request_id"] for r in listed.json()}
        assert looked_up == []
        # Control: a console API route does look the caller up through the same function.
        citizen_client.get("/api/v1/citizen/reports")
        assert looked_up == ["/api/v1/citizen/reports"]
    finally:
        runtime.authenticate = previous
    # The first included router (FastAPI's own OpenAPI route comes before it).
    routers = [
        r.original_router
        for r in citizen_client.app.router.routes  # type: ignore[attr-defined]
        if hasattr(r, "original_router")
    ]
    assert routers[0].prefix == "/open311/v2"
