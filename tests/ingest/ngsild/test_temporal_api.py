"""The NGSI-LD Temporal API (ETSI GS CIM 009 v1.8 §5.6.11–5.6.16, §5.7.3–5.7.4), written
from the spec's text: each operation's success answer and its error cases, against a real
database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from taydo.core.db import Database

from .conftest import LD, SDM, SDM_URL

WQ = SDM_URL.format(repo="dataModel.WaterQuality")
ENV = SDM_URL.format(repo="dataModel.Environment")
LINK_WQ = {
    "Link": f'<{WQ}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
}
LINK_ENV = {
    "Link": f'<{ENV}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
}
ERR = "https://uri.etsi.org/ngsi-ld/errors/"
BASE = "/ngsi-ld/v1/temporal/entities"
EID = "urn:ngsi-ld:WaterQualityObserved:TW1"


def at(hour: int, minute: int = 0, day: int = 20) -> str:
    return f"2026-11-{day:02d}T{hour:02d}:{minute:02d}:00Z"


def history(values: list[tuple[str, float]], name: str = "salinity") -> dict[str, Any]:
    return {
        name: [
            {"type": "Property", "value": v, "observedAt": when, "unitCode": "PPT"}
            for when, v in values
        ]
    }


def temporal_entity(entity_id: str = EID, **attrs: Any) -> dict[str, Any]:
    return {"id": entity_id, "type": "WaterQualityObserved", **attrs, "@context": [WQ]}


@pytest.fixture
def auth(headers_for) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return headers_for("admin")


def read(client, auth, entity_id: str = EID, **params: Any) -> Any:  # type: ignore[no-untyped-def]
    got = client.get(f"{BASE}/{entity_id}", params=params, headers={**auth, **LINK_WQ})
    assert got.status_code in (200, 206), got.text
    return got


def values(client, auth, entity_id: str = EID, name: str = "salinity") -> list[Any]:  # type: ignore[no-untyped-def]
    body = read(client, auth, entity_id, options="temporalValues").json()
    return body.get(name, {}).get("values", [])


def create(client, auth, body: dict[str, Any]) -> Any:  # type: ignore[no-untyped-def]
    return client.post(BASE, json=body, headers={**auth, **LD})


# -- §5.6.11 Create or Update Temporal Representation of an Entity ----------------------


def test_create_then_update_temporal_representation(client, auth) -> None:  # type: ignore[no-untyped-def]
    first = history([(at(1), 2.0), (at(3), 4.0), (at(2), 3.0)])  # any order
    created = create(client, auth, temporal_entity(**first))
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"{BASE}/{EID}"
    assert values(client, auth) == [[2.0, at(1)], [3.0, at(2)], [4.0, at(3)]]
    # The entity exists (current state: the newest instance), as the catalog's entity.
    current = client.get(
        f"/ngsi-ld/v1/entities/{EID}", params={"options": "keyValues"}, headers={**auth, **LINK_WQ}
    )
    assert current.status_code == 200 and current.json()["salinity"] == 4.0
    # The same id again: instances added, 204 (the existing ones stay, a repeat is kept once).
    again = create(client, auth, temporal_entity(**history([(at(3), 4.0), (at(4), 5.0)])))
    assert again.status_code == 204, again.text
    assert [v for v, _ in values(client, auth)] == [2.0, 3.0, 4.0, 5.0]
    # Each instance carries a stable instanceId.
    instances = read(client, auth, attrs="salinity").json()["salinity"]
    ids = [i["instanceId"] for i in instances]
    assert len(set(ids)) == 4 and all(i.startswith("urn:ngsi-ld:Instance:") for i in ids)
    assert [i["instanceId"] for i in read(client, auth, attrs="salinity").json()["salinity"]] == ids


def test_create_temporal_refusals(client, auth, headers_for) -> None:  # type: ignore[no-untyped-def]
    def refused(body: Any, status: int, kind: str, headers: dict[str, str] | None = None) -> None:
        answer = client.post(BASE, json=body, headers=headers or {**auth, **LD})
        assert answer.status_code == status, answer.text
        assert answer.json()["type"] == ERR + kind

    refused({"type": "T", **history([(at(1), 1.0)]), "@context": [WQ]}, 400, "BadRequestData")
    refused({"id": EID, **history([(at(1), 1.0)]), "@context": [WQ]}, 400, "BadRequestData")
    refused({"id": "not a uri", "type": "T", "@context": [WQ]}, 400, "BadRequestData")
    no_time = {"salinity": [{"type": "Property", "value": 1.0}, {"type": "Property", "value": 2}]}
    refused(temporal_entity(**no_time), 400, "BadRequestData")
    dataset = {
        "salinity": [{"type": "Property", "value": 1, "observedAt": at(1), "datasetId": "urn:x:1"}]
    }
    refused(temporal_entity(**dataset), 422, "OperationNotSupported")
    refused(temporal_entity(salinity=[]), 400, "BadRequestData")
    refused(temporal_entity(salinity=[5]), 400, "BadRequestData")
    refused([temporal_entity()], 400, "BadRequestData")
    bad_time = {"salinity": [{"type": "Property", "value": 1, "observedAt": "yesterday"}]}
    refused(temporal_entity(**bad_time), 400, "BadRequestData")
    not_json = client.post(BASE, content=b"{", headers={**auth, **LD})
    assert not_json.status_code == 400 and not_json.json()["type"] == ERR + "InvalidRequest"
    nobody = client.post(BASE, json=temporal_entity(**history([(at(1), 1.0)])), headers=LD)
    assert nobody.status_code == 401
    reader = {**headers_for("operator"), **LD}
    refused_write = client.post(
        BASE, json=temporal_entity(**history([(at(1), 1.0)])), headers=reader
    )
    assert refused_write.status_code == 403
    # Nothing of the refused bodies was stored.
    assert client.get(f"{BASE}/{EID}", headers=auth).status_code == 404


def test_values_outside_the_valid_range_are_quarantined(client, auth) -> None:  # type: ignore[no-untyped-def]
    assert create(client, auth, temporal_entity(**history([(at(1), 2.0)]))).status_code == 201
    metric = client.put(
        f"/api/v1/entities/{EID}/metrics/salinity",
        json={"name": "salinity", "unit": "PPT", "min_valid": 0, "max_valid": 40},
        headers=auth,
    )
    assert metric.status_code == 200, metric.text
    added = create(client, auth, temporal_entity(**history([(at(2), 99.0), (at(3), 3.0)])))
    assert added.status_code == 204
    assert values(client, auth) == [[2.0, at(1)], [3.0, at(3)]]
    quarantined = client.get("/api/v1/quarantine", params={"source": "ngsi-ld"}, headers=auth)
    assert quarantined.status_code == 200, quarantined.text
    text = json.dumps(quarantined.json(), ensure_ascii=False)
    assert "99.0" in text and "salinity" in text
    from taydo.core.runtime import runtime_of
    from taydo.ingest.counts import GatewayCounts

    counts = runtime_of(client.app).get(GatewayCounts)
    assert counts.rejected["ngsi-ld"] == 1 and counts.accepted["ngsi-ld"] >= 2


# -- §5.6.12 Add Attributes to Temporal Representation ---------------------------------------


def test_add_attributes(client, auth) -> None:  # type: ignore[no-untyped-def]
    assert create(client, auth, temporal_entity(**history([(at(1), 2.0)]))).status_code == 201
    url = f"{BASE}/{EID}/attrs"
    body = {**history([(at(1), 28.0), (at(2), 29.0)], "temperature"), "@context": [WQ]}
    added = client.post(url, json=body, headers={**auth, **LD})
    assert added.status_code == 204, added.text
    assert values(client, auth, name="temperature") == [[28.0, at(1)], [29.0, at(2)]]
    missing = client.post(
        f"{BASE}/urn:ngsi-ld:WaterQualityObserved:nope/attrs", json=body, headers={**auth, **LD}
    )
    assert missing.status_code == 404 and missing.json()["type"] == ERR + "ResourceNotFound"
    other = client.post(url, json={**body, "id": "urn:x:other"}, headers={**auth, **LD})
    assert other.status_code == 400
    empty = client.post(url, json={"@context": [WQ]}, headers={**auth, **LD})
    assert empty.status_code == 400 and empty.json()["type"] == ERR + "BadRequestData"


# -- §5.6.13 Delete Attribute from Temporal Representation ----------------------------------


def test_delete_attribute_history(client, auth) -> None:  # type: ignore[no-untyped-def]
    attrs = {
        **history([(at(1), 2.0), (at(2), 3.0)]),
        **history([(at(1), 28.0)], "temperature"),
    }
    assert create(client, auth, temporal_entity(**attrs)).status_code == 201
    url = f"{BASE}/{EID}/attrs/salinity"
    with_dataset = client.delete(url, params={"datasetId": "urn:x:ds"}, headers={**auth, **LINK_WQ})
    assert with_dataset.status_code == 404
    assert with_dataset.json()["type"] == ERR + "ResourceNotFound"
    gone = client.delete(url, headers={**auth, **LINK_WQ})
    assert gone.status_code == 204, gone.text
    body = read(client, auth).json()
    assert "salinity" not in body and body["temperature"][0]["value"] == 28.0
    # The rollups follow: an aggregation over the whole range finds nothing.
    summed = read(client, auth, aggrMethods="totalCount", aggrPeriodDuration="PT1H").json()
    assert "salinity" not in summed and summed["temperature"]["totalCount"][0][0] == 1
    unknown = client.delete(f"{BASE}/{EID}/attrs/nothing", headers={**auth, **LINK_WQ})
    assert unknown.status_code == 404
    all_sets = client.delete(
        f"{BASE}/{EID}/attrs/temperature", params={"deleteAll": "true"}, headers={**auth, **LINK_WQ}
    )
    assert all_sets.status_code == 204
    assert "temperature" not in read(client, auth).json()


# -- §5.6.14 Modify Attribute instance / §5.6.15 Delete Attribute instance -------------------


def test_modify_and_delete_an_instance_fix_the_rollups(client, auth) -> None:  # type: ignore[no-untyped-def]
    points = [(at(1, 0), 2.0), (at(1, 20), 9.0), (at(1, 40), 4.0), (at(2, 10), 6.0)]
    assert create(client, auth, temporal_entity(**history(points))).status_code == 201
    instances = read(client, auth, attrs="salinity").json()["salinity"]
    nine = next(i["instanceId"] for i in instances if i["value"] == 9.0)
    four = next(i["instanceId"] for i in instances if i["value"] == 4.0)
    window = {"timerel": "between", "timeAt": at(0), "endTimeAt": at(3)}
    aggr = {"aggrMethods": "max,sum,totalCount,avg", "aggrPeriodDuration": "PT1H", **window}

    def hour_one() -> dict[str, Any]:
        body = read(client, auth, attrs="salinity", **aggr).json()["salinity"]
        return {m: body[m][0][0] for m in ("max", "sum", "totalCount", "avg")}

    assert hour_one() == {"max": 9.0, "sum": 15.0, "totalCount": 3, "avg": 5.0}
    url = f"{BASE}/{EID}/attrs/salinity"
    deleted = client.delete(f"{url}/{nine}", headers={**auth, **LINK_WQ})
    assert deleted.status_code == 204, deleted.text
    assert hour_one() == {"max": 4.0, "sum": 6.0, "totalCount": 2, "avg": 3.0}
    again = client.delete(f"{url}/{nine}", headers={**auth, **LINK_WQ})
    assert again.status_code == 404 and again.json()["type"] == ERR + "ResourceNotFound"
    patch = {"type": "Property", "value": 1.5}
    modified = client.patch(f"{url}/{four}", json=patch, headers={**auth, **LINK_WQ})
    assert modified.status_code == 204, modified.text
    assert hour_one() == {"max": 2.0, "sum": 3.5, "totalCount": 2, "avg": 1.75}
    assert [v for v, _ in values(client, auth)] == [2.0, 1.5, 6.0]
    # Refusals: not a number, another time, an instance id never given, another attribute's.
    for body, status in (
        ({"value": "high"}, 400),
        ({"value": True}, 400),
        ({"value": 3, "observedAt": at(5)}, 400),
        ([1], 400),
    ):
        answer = client.patch(f"{url}/{four}", json=body, headers={**auth, **LINK_WQ})
        assert answer.status_code == status, (body, answer.text)
    for instance in ("urn:ngsi-ld:Instance:999999-1", "whatever", nine):
        answer = client.patch(f"{url}/{instance}", json=patch, headers={**auth, **LINK_WQ})
        assert answer.status_code == 404, (instance, answer.text)
        assert answer.json()["type"] == ERR + "ResourceNotFound"
    missing = client.delete(
        f"{BASE}/urn:ngsi-ld:X:none/attrs/salinity/{four}", headers={**auth, **LINK_WQ}
    )
    assert missing.status_code == 404


def test_modify_and_delete_in_packed_hours(client, auth, database: Database) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime

    from taydo.observations.compaction import compact_database

    points = [(at(1, 0), 2.0), (at(1, 30), 8.0), (at(2, 0), 3.0), (at(3, 0), 4.0)]
    assert create(client, auth, temporal_entity(**history(points))).status_code == 201
    three = int(datetime.fromisoformat("2026-11-20T03:00:00+00:00").timestamp() * 1000)
    assert compact_database(database, three).points == 3
    instances = read(client, auth, attrs="salinity").json()["salinity"]
    by_value = {i["value"]: i["instanceId"] for i in instances}
    url = f"{BASE}/{EID}/attrs/salinity"
    assert client.delete(f"{url}/{by_value[8.0]}", headers={**auth, **LINK_WQ}).status_code == 204
    patched = client.patch(
        f"{url}/{by_value[3.0]}", json={"value": 7.0}, headers={**auth, **LINK_WQ}
    )
    assert patched.status_code == 204
    assert values(client, auth) == [[2.0, at(1)], [7.0, at(2)], [4.0, at(3)]]
    day = read(client, auth, attrs="salinity", aggrMethods="max,totalCount").json()["salinity"]
    assert day["max"][0][0] == 7.0 and day["totalCount"][0][0] == 3


# -- §5.6.16 Delete Temporal Representation of an Entity -------------------------------------


def test_delete_temporal_representation(client, auth) -> None:  # type: ignore[no-untyped-def]
    attrs = {**history([(at(1), 2.0)]), **history([(at(1), 28.0)], "temperature")}
    assert create(client, auth, temporal_entity(**attrs)).status_code == 201
    gone = client.delete(f"{BASE}/{EID}", headers=auth)
    assert gone.status_code == 204, gone.text
    body = read(client, auth).json()
    assert set(body) == {"id", "type"}
    # The entity's current state stays (DELETE /entities/{id} removes the entity).
    assert client.get(f"/ngsi-ld/v1/entities/{EID}", headers=auth).status_code == 200
    missing = client.delete(f"{BASE}/urn:ngsi-ld:X:none", headers=auth)
    assert missing.status_code == 404 and missing.json()["type"] == ERR + "ResourceNotFound"
    assert client.delete(f"{BASE}/not-a-uri", headers=auth).status_code == 400


def test_agency_scope(client, headers_for, agency) -> None:  # type: ignore[no-untyped-def]
    agency("STNMT")
    agency("SXD")
    officer = headers_for("agency_officer", ["STNMT"])
    other = headers_for("agency_officer", ["SXD"])
    assert create(client, officer, temporal_entity(**history([(at(1), 2.0)]))).status_code == 201
    # Another agency's officer: the entity does not exist for them.
    stranger = create(client, other, temporal_entity(**history([(at(2), 3.0)])))
    assert stranger.status_code == 409
    assert client.delete(f"{BASE}/{EID}", headers=other).status_code == 404
    assert client.get(f"{BASE}/{EID}", headers=other).status_code == 404
    assert values(client, officer) == [[2.0, at(1)]]


# -- §5.7.3 reads: aggregation, lastN, temporalValues, pagination ---------------------------


def test_aggregation_from_rollups_and_from_points_agree(client, auth) -> None:  # type: ignore[no-untyped-def]
    points = [(at(h, m), float(h * 10 + m // 15)) for h in range(0, 6) for m in (0, 15, 30, 45)]
    assert create(client, auth, temporal_entity(**history(points))).status_code == 201
    methods = "totalCount,sum,avg,min,max"
    window = {"timerel": "between", "timeAt": at(0), "endTimeAt": at(6)}
    from_rollups = read(client, auth, aggrMethods=methods, aggrPeriodDuration="PT2H", **window)
    body = from_rollups.json()["salinity"]
    assert body["totalCount"] == [[8, at(0), at(2)], [8, at(2), at(4)], [8, at(4), at(6)]]
    assert body["max"][0][0] == 13.0 and body["min"][2][0] == 40.0
    assert body["avg"][1][0] == pytest.approx((20 + 21 + 22 + 23 + 30 + 31 + 32 + 33) / 8)
    # The same answers computed from the points (a method the rollups cannot give forces it).
    from_points = read(
        client, auth, aggrMethods=methods + ",sumsq", aggrPeriodDuration="PT2H", **window
    ).json()["salinity"]
    for method in methods.split(","):
        assert from_points[method] == body[method]
    assert from_points["sumsq"][0][0] == pytest.approx(
        sum(v * v for v in (0, 1, 2, 3, 10, 11, 12, 13))
    )
    # One period over the whole range by default (P0D); stddev, distinctCount.
    whole = read(client, auth, aggrMethods="stddev,distinctCount,totalCount", **window).json()
    assert whole["salinity"]["totalCount"] == [[24, at(0), at(6)]]
    assert whole["salinity"]["distinctCount"][0][0] == 24
    assert whole["salinity"]["stddev"][0][0] > 0
    # A period that does not fit the rollups (20 minutes) is computed from the points.
    minutes = read(client, auth, aggrMethods="totalCount", aggrPeriodDuration="PT20M", **window)
    counts = minutes.json()["salinity"]["totalCount"]
    assert sum(c[0] for c in counts) == 24 and counts[0] == [2, at(0), at(0, 20)]
    # lastN with aggregation: the last N periods.
    last = read(client, auth, aggrMethods="max", aggrPeriodDuration="PT1H", lastN=2, **window)
    assert [p[0] for p in last.json()["salinity"]["max"]] == [43.0, 53.0]
    # The query form answers the same per entity.
    query = client.get(
        BASE,
        params={
            "type": "WaterQualityObserved",
            "aggrMethods": methods,
            "aggrPeriodDuration": "PT2H",
            **window,
        },
        headers={**auth, **LINK_WQ},
    )
    assert query.status_code == 200 and query.json()[0]["salinity"]["max"] == body["max"]


def test_aggregation_refusals(client, auth) -> None:  # type: ignore[no-untyped-def]
    assert create(client, auth, temporal_entity(**history([(at(1), 2.0)]))).status_code == 201
    for params in (
        {"aggrMethods": "median"},
        {"aggrMethods": ""},
        {"aggrMethods": "avg", "aggrPeriodDuration": "one hour"},
        {"aggrMethods": "avg", "aggrPeriodDuration": "P1M"},
        {"aggrMethods": "avg", "aggrPeriodDuration": "PT"},
        {"aggrPeriodDuration": "PT1H"},
        {"options": "aggregatedValues"},
    ):
        answer = client.get(f"{BASE}/{EID}", params=params, headers={**auth, **LINK_WQ})
        assert answer.status_code == 400, (params, answer.text)
        assert answer.json()["type"] == ERR + "BadRequestData"


def test_last_n_and_pagination(client, auth, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from taydo.ingest.ngsild import temporal

    points = [(at(1, m), float(m)) for m in range(0, 50, 5)]  # 10 instances
    assert create(client, auth, temporal_entity(**history(points))).status_code == 201
    newest = read(client, auth, attrs="salinity", lastN=3).json()["salinity"]
    assert [i["value"] for i in newest] == [35.0, 40.0, 45.0]
    monkeypatch.setattr(temporal, "MAX_INSTANCES", 4)
    page = read(client, auth, attrs="salinity", options="temporalValues")
    assert page.status_code == 206
    assert page.headers["content-range"] == f"date-time {at(1, 0)}-{at(1, 15)}/*"
    assert [v for v, _ in page.json()["salinity"]["values"]] == [0.0, 5.0, 10.0, 15.0]
    # The next page starts after the last instant of this one.
    following = read(
        client, auth, attrs="salinity", options="temporalValues", timerel="after",
        timeAt="2026-11-20T01:15:00.001Z",
    )  # fmt: skip
    assert [v for v, _ in following.json()["salinity"]["values"]] == [20.0, 25.0, 30.0, 35.0]
    small = read(client, auth, attrs="salinity", lastN=2)
    assert small.status_code == 200 and "content-range" not in small.headers
    counted = client.get(
        BASE, params={"type": "WaterQualityObserved", "count": "true", "lastN": 1},
        headers={**auth, **LINK_WQ},
    )  # fmt: skip
    assert counted.headers["ngsild-results-count"] == "1"


# -- the rules see temporal writes, and history raises no alert for the past -----------------


def test_history_is_judged_by_its_newest_value_only(client, auth, headers_for) -> None:  # type: ignore[no-untyped-def]
    rule = {
        "kind": "threshold",
        "name": "Độ mặn cao",
        "metric": "salinity",
        "target": {"types": ["WaterQualityObserved"]},
        "levels": [{"code": "high", "label": "Mặn", "value": 4}],
    }
    put = client.put("/api/v1/rules/salinity-high", json=rule, headers=auth)
    assert put.status_code in (200, 201), put.text
    past = "urn:ngsi-ld:WaterQualityObserved:PAST"
    now = "urn:ngsi-ld:WaterQualityObserved:NOW"
    # A high value in the past, the series ending low: no alert — neither when the entity is
    # created with it nor when it is added to an attribute that has a history already.
    body = temporal_entity(past, **history([(at(1), 1.0), (at(2), 9.0), (at(3), 1.0)]))
    assert create(client, auth, body).status_code == 201
    body = temporal_entity(past, **history([(at(4), 9.5), (at(5), 1.0)]))
    assert create(client, auth, body).status_code == 204
    # The same history ending high: the alert the rule must give (the control).
    body = temporal_entity(now, **history([(at(1), 1.0), (at(2), 1.0), (at(3), 9.0)]))
    assert create(client, auth, body).status_code == 201
    operator = headers_for("operator")
    deadline = time.monotonic() + 15
    alerts: list[Any] = []
    while time.monotonic() < deadline:
        alerts = client.get("/api/v1/alerts", headers=operator).json()
        if alerts:
            break
        time.sleep(0.05)
    text = json.dumps(alerts)
    assert now in text, alerts
    assert past not in text


# -- a FIWARE-style flow with the Smart Data Models examples ---------------------------------


def test_fiware_flow_with_smart_data_models(client, auth) -> None:  # type: ignore[no-untyped-def]
    """Create a WaterObserved and an AirQualityObserved from the Smart Data Models examples,
    write their history through the Temporal API, read it back aggregated per hour."""
    water = json.loads((SDM / "WaterObserved/examples/example-normalized.jsonld").read_text())
    air = json.loads((SDM / "AirQualityObserved/examples/example-normalized.jsonld").read_text())
    for example in (water, air):
        created = client.post("/ngsi-ld/v1/entities", json=example, headers={**auth, **LD})
        assert created.status_code == 201, created.text
    flows = [(at(8, m), 10.0 + m / 10) for m in range(0, 60, 10)] + [(at(9, 0), 20.0)]
    append = {**history(flows, "flow"), "@context": water["@context"]}
    url = f"{BASE}/{water['id']}/attrs"
    assert client.post(url, json=append, headers={**auth, **LD}).status_code == 204
    no2 = [(at(8, m), 60.0 + m) for m in (0, 30)]
    air_hist = {**history(no2, "no2"), "@context": air["@context"]}
    air_url = f"{BASE}/{air['id']}/attrs"
    assert client.post(air_url, json=air_hist, headers={**auth, **LD}).status_code == 204
    got = client.get(
        f"{BASE}/{water['id']}",
        params={
            "attrs": "flow",
            "aggrMethods": "avg,max,totalCount",
            "aggrPeriodDuration": "PT1H",
            "timerel": "between",
            "timeAt": at(8),
            "endTimeAt": at(10),
        },
        headers={**auth, **LINK_ENV},
    )
    assert got.status_code == 200, got.text
    flow = got.json()["flow"]
    assert flow["totalCount"] == [[6, at(8), at(9)], [1, at(9), at(10)]]
    assert flow["max"][0][0] == 15.0 and flow["avg"][1][0] == 20.0
    air_got = client.get(
        f"{BASE}/{air['id']}", params={"attrs": "no2", "lastN": 1}, headers={**auth, **LINK_ENV}
    )
    assert [i["value"] for i in air_got.json()["no2"]] == [90.0]
