from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from taydo.core.bus import Event
from taydo.core.db import Database
from taydo.core.runtime import runtime_of

Headers = Callable[..., dict[str, str]]
WATER = "urn:ngsi-ld:WaterObserved:CT-NINHKIEU"


def _entity(local: str = "NEW-1", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "entity_id": f"urn:ngsi-ld:WaterObserved:{local}",
        "name": "Trạm Bình Thủy",
        "agency": "SNNMT",
        "metrics": [{"name": "height", "unit": "MTR", "min_valid": -5, "max_valid": 10}],
    }
    body.update(extra)
    return body


@pytest.fixture
def api(loaded: Database, client: TestClient) -> TestClient:
    return client


def test_reading_the_catalog_needs_a_login(api: TestClient, headers_for: Headers) -> None:
    assert api.get("/api/v1/entities").status_code == 401
    response = api.get("/api/v1/entities", headers=headers_for("viewer"))
    assert response.status_code == 200
    assert response.json()["total"] == 3


def test_entity_crud_round_trip(api: TestClient, headers_for: Headers) -> None:
    admin = headers_for("admin")
    created = api.post(
        "/api/v1/entities",
        json=_entity(lon=105.75, lat=10.05, tags=["tide"], attributes={"river": "Bình Thủy"}),
        headers=admin,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["type"] == "WaterObserved"
    assert body["agency"] == "SNNMT"
    assert body["metrics"][0]["unit_symbol"] == "m"
    assert isinstance(body["metrics"][0]["series_id"], int)

    entity_url = "/api/v1/entities/urn:ngsi-ld:WaterObserved:NEW-1"
    assert api.get(entity_url, headers=admin).json()["attributes"] == {"river": "Bình Thủy"}

    patched = api.patch(
        entity_url, json={"name": "Trạm Bình Thủy mới", "area_code": "31135"}, headers=admin
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Trạm Bình Thủy mới"
    assert patched.json()["area_name"] == "Phường Ninh Kiều"

    metric = api.put(
        f"{entity_url}/metrics/flow", json={"name": "flow", "unit": "MQS"}, headers=admin
    )
    assert metric.status_code == 201
    again = api.put(
        f"{entity_url}/metrics/flow",
        json={"name": "flow", "unit": "MQS", "min_valid": 0},
        headers=admin,
    )
    assert again.status_code == 200
    assert again.json()["series_id"] == metric.json()["series_id"]
    names = [m["name"] for m in api.get(entity_url, headers=admin).json()["metrics"]]
    assert names == ["flow", "height"]

    assert api.delete(f"{entity_url}/metrics/flow", headers=admin).status_code == 204
    assert api.delete(entity_url, headers=admin).status_code == 204
    assert api.get(entity_url, headers=admin).status_code == 404


def test_list_filters_and_pages(api: TestClient, headers_for: Headers) -> None:
    viewer = headers_for("viewer")

    def ids(**params: Any) -> list[str]:
        response = api.get("/api/v1/entities", params=params, headers=viewer)
        assert response.status_code == 200, response.text
        return [e["entity_id"] for e in response.json()["items"]]

    assert ids(type="WaterObserved") == [WATER]
    assert ids(agency="SNNMT") == [
        "urn:ngsi-ld:AirQualityObserved:AQ-CAIRANG",
        "urn:ngsi-ld:WaterQualityObserved:SAL-CAIRANG",
    ]
    assert ids(dataset="salinity") == ["urn:ngsi-ld:WaterQualityObserved:SAL-CAIRANG"]
    assert ids(tag="tide") == [WATER]
    assert ids(tag="no-such-tag") == []
    assert ids(area="31135") == [WATER]
    # A province covers its wards and communes.
    assert len(ids(area="92")) == 2
    page = api.get("/api/v1/entities", params={"limit": 2, "offset": 2}, headers=viewer).json()
    assert (page["total"], page["limit"], page["offset"], len(page["items"])) == (3, 2, 2, 1)
    assert api.get("/api/v1/entities?limit=0", headers=viewer).status_code == 422
    assert api.get("/api/v1/entities?limit=5000", headers=viewer).status_code == 422


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"entity_id": "WaterObserved:1"}, "urn:ngsi-ld:<Type>:<local-id>"),
        ({"entity_id": "urn:ngsi-ld:WaterObserved:a/b"}, "urn:ngsi-ld:<Type>:<local-id>"),
        ({"entity_id": "urn:ngsi-ld:Water Observed:1"}, "urn:ngsi-ld:<Type>:<local-id>"),
        ({"type": "AirQualityObserved"}, "differs from the Type"),
        ({"lon": 105.7}, "both lon and lat"),
        ({"lon": 205.0, "lat": 10.0}, "less than or equal to 180"),
        ({"agency": "NOPE"}, "no agency with code 'NOPE'"),
        ({"dataset": "nope"}, "no dataset with code 'nope'"),
        ({"area_code": "77777"}, "no area with code '77777'"),
        ({"metrics": [{"name": "h", "min_valid": 5, "max_valid": 1}]}, "min_valid"),
        ({"metrics": [{"name": "h"}, {"name": "h"}]}, "appears twice"),
        ({"metrics": [{"name": "1h"}]}, "pattern"),
        ({"colour": "red"}, "Extra inputs"),
        ({"name": ""}, "at least 1 character"),
    ],
)
def test_bad_entities_get_a_clear_reason(
    api: TestClient, headers_for: Headers, change: dict[str, Any], reason: str
) -> None:
    response = api.post("/api/v1/entities", json=_entity(**change), headers=headers_for("admin"))
    assert response.status_code == 422, response.text
    assert reason in response.text


def test_nan_and_malformed_json_are_refused(api: TestClient, headers_for: Headers) -> None:
    admin = {**headers_for("admin"), "Content-Type": "application/json"}
    body = (
        '{"entity_id": "urn:ngsi-ld:WaterObserved:N", "name": "n", "agency": "SNNMT",'
        ' "metrics": [{"name": "height", "max_valid": NaN}]}'
    )
    assert api.post("/api/v1/entities", content=body, headers=admin).status_code == 422
    assert api.post("/api/v1/entities", content="{not json", headers=admin).status_code == 422


def test_duplicate_entity_is_a_conflict(api: TestClient, headers_for: Headers) -> None:
    response = api.post(
        "/api/v1/entities",
        json=_entity("CT-NINHKIEU", agency="DKTTV"),
        headers=headers_for("admin"),
    )
    assert response.status_code == 409
    assert "exists" in response.json()["error"]


def test_officer_writes_only_their_agencies(api: TestClient, headers_for: Headers) -> None:
    officer = headers_for("agency_officer", ["SNNMT"])
    # Own agency: allowed.
    own = api.post("/api/v1/entities", json=_entity("OWN"), headers=officer)
    assert own.status_code == 201, own.text
    # Creating for another agency: refused with the reason.
    other = api.post("/api/v1/entities", json=_entity("OTHER", agency="SXD"), headers=officer)
    assert other.status_code == 403
    assert "SXD" in other.json()["error"]
    # Filing into another agency's dataset is refused too.
    foreign_dataset = api.post(
        "/api/v1/entities", json=_entity("DS", dataset="water-level"), headers=officer
    )
    assert foreign_dataset.status_code == 403
    # Changing or deleting another agency's entity answers as if it did not exist.
    missing = api.patch(
        "/api/v1/entities/urn:ngsi-ld:WaterObserved:NOPE", json={"name": "x"}, headers=officer
    )
    foreign = api.patch(f"/api/v1/entities/{WATER}", json={"name": "x"}, headers=officer)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["error"].replace(WATER, "?") == missing.json()["error"].replace(
        "urn:ngsi-ld:WaterObserved:NOPE", "?"
    )
    assert api.delete(f"/api/v1/entities/{WATER}", headers=officer).status_code == 404
    assert (
        api.put(
            f"/api/v1/entities/{WATER}/metrics/flow", json={"name": "flow"}, headers=officer
        ).status_code
        == 404
    )
    # Moving an own entity to another agency is refused.
    moved = api.patch(
        "/api/v1/entities/urn:ngsi-ld:WaterObserved:OWN", json={"agency": "SXD"}, headers=officer
    )
    assert moved.status_code == 403
    # The untouched entity still has its name.
    assert api.get(f"/api/v1/entities/{WATER}", headers=officer).json()["name"].startswith("Trạm")


def test_officer_datasets_are_scoped(api: TestClient, headers_for: Headers) -> None:
    officer = headers_for("agency_officer", ["SYT"])
    dataset = {
        "code": "hospital-beds",
        "name": "Giường bệnh",
        "agency": "SYT",
        "pillar": "society",
        "sector": "health",
        "update_interval": "1h",
    }
    created = api.post("/api/v1/datasets", json=dataset, headers=officer)
    assert created.status_code == 201, created.text
    assert created.json()["update_interval_s"] == 3600
    assert created.json()["update_interval"] == "1h"
    assert (
        api.post(
            "/api/v1/datasets", json={**dataset, "code": "x", "agency": "SXD"}, headers=officer
        )
    ).status_code == 403
    assert (
        api.patch("/api/v1/datasets/water-level", json={"name": "x"}, headers=officer).status_code
        == 404
    )
    assert api.delete("/api/v1/datasets/water-level", headers=officer).status_code == 404
    changed = api.patch(
        "/api/v1/datasets/hospital-beds", json={"update_interval": "15m"}, headers=officer
    )
    assert changed.json()["update_interval_s"] == 900
    assert api.delete("/api/v1/datasets/hospital-beds", headers=officer).status_code == 204
    # A dataset that still has entities cannot be deleted.
    in_use = api.delete("/api/v1/datasets/water-level", headers=headers_for("admin"))
    assert in_use.status_code == 409


def test_agencies_need_catalog_admin(api: TestClient, headers_for: Headers) -> None:
    agency = {
        "code": "STC",
        "name": "Sở Tài chính thành phố Cần Thơ",
        "kind": "so",
        "area_code": "92",
    }
    officer = headers_for("agency_officer", ["SNNMT"])
    assert api.post("/api/v1/agencies", json=agency, headers=officer).status_code == 403
    assert (
        api.post("/api/v1/agencies", json=agency, headers=headers_for("operator")).status_code
        == 403
    )
    admin = headers_for("admin")
    created = api.post("/api/v1/agencies", json=agency, headers=admin)
    assert created.status_code == 201, created.text
    assert api.get("/api/v1/agencies/STC", headers=officer).json()["name"] == agency["name"]
    renamed = api.patch(
        "/api/v1/agencies/STC", json={"name_en": "Department of Finance"}, headers=admin
    )
    assert renamed.json()["name_en"] == "Department of Finance"
    assert api.post("/api/v1/agencies", json=agency, headers=admin).status_code == 409
    listed = api.get("/api/v1/agencies", params={"kind": "ubnd"}, headers=officer).json()
    assert [a["code"] for a in listed["items"]] == ["UBND-CAIRANG", "UBND-NINHKIEU"]
    assert api.delete("/api/v1/agencies/SNNMT", headers=admin).status_code == 409
    assert api.delete("/api/v1/agencies/STC", headers=admin).status_code == 204
    assert api.get("/api/v1/agencies/STC", headers=admin).status_code == 404


def test_changes_are_announced_on_the_bus(loaded: Database, app: Any, headers_for: Headers) -> None:
    heard: list[Any] = []

    async def listen(event: Event) -> None:
        heard.append(event.data)

    runtime_of(app).bus.subscribe("catalog.changed", listen)
    admin = headers_for("admin")
    with TestClient(app) as client:
        assert (
            client.post("/api/v1/entities", json=_entity("BUS"), headers=admin).status_code == 201
        )
        client.patch(f"/api/v1/entities/{WATER}", json={"tags": ["x"]}, headers=admin)
        # Reads announce nothing: a marker announced after the read is heard after anything
        # the read announced (a request announces before it answers; one subscriber hears
        # its events in order).
        client.get("/api/v1/entities", headers=admin)
        marker = {"entity_ids": ["urn:test:marker"]}  # an entity nobody has: changes nothing
        client.portal.call(runtime_of(app).bus.publish, "catalog.changed", marker)
        deadline = time.monotonic() + 10
        while marker not in heard:
            assert time.monotonic() < deadline, "the marker was never heard"
            time.sleep(0.01)
        heard.remove(marker)
    assert heard == [
        {"entity_ids": ["urn:ngsi-ld:WaterObserved:BUS"]},
        {"entity_ids": [WATER]},
    ]


def test_changes_leave_an_audit_trail(
    api: TestClient, headers_for: Headers, loaded: Database
) -> None:
    from taydo.auth import journal

    officer = headers_for("agency_officer", ["SNNMT"])
    api.post("/api/v1/entities", json=_entity("AUDIT"), headers=officer)
    api.patch(
        "/api/v1/entities/urn:ngsi-ld:WaterObserved:AUDIT", json={"name": "x"}, headers=officer
    )
    # A refused change leaves no entry.
    api.patch(f"/api/v1/entities/{WATER}", json={"name": "x"}, headers=officer)
    trail = journal.timeline(loaded, "entity", "urn:ngsi-ld:WaterObserved:AUDIT")
    assert [e["action"] for e in trail] == ["entity.create", "entity.update"]
    assert trail[0]["actor"].startswith("agency_officer-")
    assert trail[1]["summary"] == {"name": "x"}
    assert journal.timeline(loaded, "entity", WATER) == []
