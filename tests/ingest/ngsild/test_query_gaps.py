"""Gaps of the entity API closed from ETSI GS CIM 009 v1.8: Replace Attribute (§5.6.19),
a query by any type of a multi-typed entity (§4.16), ``idPattern`` and the ``~=``
operator (§4.9)."""

from __future__ import annotations

from typing import Any

from .conftest import LD
from .test_api import ERR, LINK_WQ, station

URL = "/ngsi-ld/v1/entities"
OPS = "/ngsi-ld/v1/entityOperations"
JSON = {"Content-Type": "application/json"}


def _problem(answer: Any, status: int, kind: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["type"] == ERR + kind, answer.text


def test_replace_attribute_replaces_the_whole_attribute(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    made = client.post(URL, json=station("R1", salinity=2.0), headers={**admin, **LD})
    assert made.status_code == 201, made.text
    wq = {**admin, **LINK_WQ}
    url = f"{URL}/urn:ngsi-ld:WaterQualityObserved:R1"
    replaced = client.put(
        f"{url}/attrs/salinity",
        json={"type": "Property", "value": 6.5, "observedAt": "2026-11-27T02:00:00Z"},
        headers=wq,
    )
    assert replaced.status_code == 204, replaced.text
    got = client.get(url, headers=wq).json()
    # replaced, not merged: the unitCode the old attribute had is gone
    assert got["salinity"]["value"] == 6.5 and "unitCode" not in got["salinity"]
    assert got["salinity"]["observedAt"] == "2026-11-27T02:00:00Z"
    # the other attributes stay
    assert got["pH"]["value"] == 7.1 and got["refDevice"]["object"].endswith(":R1")
    # a Property may become a Relationship
    kind = client.put(f"{url}/attrs/pH", json={"type": "Relationship", "object": "urn:ngsi-ld:X:1"},
                      headers=wq)  # fmt: skip
    assert kind.status_code == 204, kind.text
    assert client.get(url, headers=wq).json()["pH"] == {"type": "Relationship",
                                                        "object": "urn:ngsi-ld:X:1"}  # fmt: skip
    # the numeric value written is an observation, as on every write path
    history = client.get("/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:WaterQualityObserved:R1",
                         params={"attrs": "salinity"}, headers=wq).json()  # fmt: skip
    assert 6.5 in [i["value"] for i in history["salinity"]]


def test_replace_attribute_errors(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    client.post(URL, json=station("R2"), headers={**admin, **LD})
    wq = {**admin, **LINK_WQ}
    url = f"{URL}/urn:ngsi-ld:WaterQualityObserved:R2"
    attr = {"type": "Property", "value": 1}
    # the attribute must exist (append is POST …/attrs), so must the entity
    _problem(client.put(f"{url}/attrs/turbidity", json=attr, headers=wq), 404, "ResourceNotFound")
    _problem(client.put(f"{URL}/urn:ngsi-ld:WaterQualityObserved:NONE/attrs/pH", json=attr,
                        headers=wq), 404, "ResourceNotFound")  # fmt: skip
    # an instance with a datasetId that the attribute does not have: not found either
    with_dataset = {**attr, "datasetId": "urn:ngsi-ld:Dataset:absent"}
    _problem(client.put(f"{url}/attrs/pH", json=with_dataset, headers=wq), 404, "ResourceNotFound")
    # not an attribute
    for bad in ([1, 2], "text", {}, {"type": "Property", "value": "urn:ngsi-ld:null"},
                {"type": "Property"}, {"type": "Relationship", "object": 3}):  # fmt: skip
        _problem(client.put(f"{url}/attrs/pH", json=bad, headers=wq), 400, "BadRequestData")
    not_json = client.put(f"{url}/attrs/pH", content=b"{nope", headers={**wq, **JSON})
    _problem(not_json, 400, "InvalidRequest")
    # readers may not replace; nothing changed by any refusal
    reader = client.put(f"{url}/attrs/pH", json=attr, headers={**headers_for("viewer"), **LINK_WQ})
    assert reader.status_code == 403
    assert client.get(url, headers=wq).json()["pH"]["value"] == 7.1


def test_replace_attribute_instance_by_dataset_id(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    gps = {"type": "Property", "value": 2, "datasetId": "urn:ngsi-ld:Dataset:gps"}
    body = {"id": "urn:ngsi-ld:Device:D1", "type": "Device",
            "speed": [{"type": "Property", "value": 1}, gps]}  # fmt: skip
    assert client.post(URL, json=body, headers={**admin, **JSON}).status_code == 201
    url = f"{URL}/urn:ngsi-ld:Device:D1"
    put = client.put(f"{url}/attrs/speed",
                     json={"type": "Property", "value": 9, "datasetId": "urn:ngsi-ld:Dataset:gps"},
                     headers=admin)  # fmt: skip
    assert put.status_code == 204, put.text
    speeds = client.get(url, headers=admin).json()["speed"]
    shown = sorted((s.get("datasetId") or "", s["value"]) for s in speeds)
    assert shown == [("", 1), ("urn:ngsi-ld:Dataset:gps", 9)]


def _ids(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.text
    return sorted(e["id"].rsplit(":", 1)[1] for e in answer.json())


def test_a_query_by_any_type_finds_a_multi_typed_entity(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")

    def make(local: str, kind: Any) -> None:
        body = {"id": f"urn:ngsi-ld:Thing:{local}", "type": kind,
                "level": {"type": "Property", "value": 1.5}}  # fmt: skip
        assert client.post(URL, json=body, headers={**admin, **JSON}).status_code == 201

    make("M1", ["Device", "Sensor"])
    make("M2", "Sensor")
    make("M3", ["Actuator", "Device"])
    make("M4", "Device")

    def by_type(kind: str) -> list[str]:
        return _ids(client.get(URL, params={"type": kind}, headers=admin))

    # §4.16: an entity is an entity of each of its types
    assert by_type("Sensor") == ["M1", "M2"]
    assert by_type("Device") == ["M1", "M3", "M4"]
    assert by_type("Actuator") == ["M3"]
    assert by_type("Sensor,Actuator") == ["M1", "M2", "M3"]
    # counted once however many of its types match
    counted = client.get(URL, params={"type": "Sensor,Device", "count": "true"}, headers=admin)
    assert counted.headers["NGSILD-Results-Count"] == "4"
    # POST /entityOperations/query and the temporal query select alike
    body = {"type": "Query", "entities": [{"type": "Actuator"}]}
    assert _ids(client.post(f"{OPS}/query", json=body, headers=admin)) == ["M3"]
    temporal = client.get("/ngsi-ld/v1/temporal/entities", params={"type": "Sensor"},
                          headers=admin)  # fmt: skip
    assert _ids(temporal) == ["M1", "M2"]
    # a merge adds a type: found by it; a replace sets the types: no longer found by the old
    merged = client.patch(f"{URL}/urn:ngsi-ld:Thing:M4", json={"type": "Gateway"},
                          headers={**admin, **JSON})  # fmt: skip
    assert merged.status_code == 204, merged.text
    assert by_type("Gateway") == ["M4"]
    replaced = client.put(f"{URL}/urn:ngsi-ld:Thing:M1", json={"type": ["Device", "Camera"]},
                          headers={**admin, **JSON})  # fmt: skip
    assert replaced.status_code == 204, replaced.text
    assert by_type("Sensor") == ["M2"] and by_type("Camera") == ["M1"]
    # a deleted entity is no longer found by any of its types; nor is a purged one
    assert client.delete(f"{URL}/urn:ngsi-ld:Thing:M3", headers=admin).status_code == 204
    assert by_type("Actuator") == []
    assert client.delete(URL, params={"type": "Camera"}, headers=admin).status_code == 204
    assert by_type("Device") == ["M4"]
    # created again with one type, it is not found by the types it had
    make("M1", "Device")
    assert by_type("Camera") == []


def test_types_discovery_counts_every_type(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    body = {"id": "urn:ngsi-ld:Thing:V1", "type": ["Device", "Sensor"],
            "level": {"type": "Property", "value": 3}}  # fmt: skip
    assert client.post(URL, json=body, headers={**admin, **JSON}).status_code == 201
    listed = client.get("/ngsi-ld/v1/types", headers=admin).json()
    assert {"Device", "Sensor"} <= set(listed["typeList"])
    sensor = client.get("/ngsi-ld/v1/types/Sensor", headers=admin)
    assert sensor.status_code == 200, sensor.text
    assert sensor.json()["entityCount"] == 1
    assert "level" in {a["attributeName"] for a in sensor.json()["attributeDetails"]}


def test_id_pattern_selects_by_regular_expression(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    for local in ("CT01", "CT02", "CT10", "HG01"):
        made = client.post(URL, json=station(local), headers={**admin, **LD})
        assert made.status_code == 201, made.text
    wq = {**admin, **LINK_WQ}

    def by_pattern(pattern: str, **more: str) -> list[str]:
        return _ids(client.get(URL, params={"idPattern": pattern, **more}, headers=wq))

    assert by_pattern("CT0[1-9]$") == ["CT01", "CT02"]
    assert by_pattern("^urn:ngsi-ld:WaterQualityObserved:(CT|HG)01$") == ["CT01", "HG01"]
    assert by_pattern(".*", type="WaterQualityObserved") == ["CT01", "CT02", "CT10", "HG01"]
    assert by_pattern(":HG", q="salinity>1") == ["HG01"]
    assert by_pattern("nothing") == []
    # id takes precedence over idPattern
    assert by_pattern(":HG", id="urn:ngsi-ld:WaterQualityObserved:CT10") == ["CT10"]
    # POST /entityOperations/query: an EntitySelector's idPattern; temporal query alike
    body = {"type": "Query",
            "entities": [{"idPattern": "CT1", "type": "WaterQualityObserved"}]}  # fmt: skip
    assert _ids(client.post(f"{OPS}/query", json=body, headers=wq)) == ["CT10"]
    temporal = client.get("/ngsi-ld/v1/temporal/entities", params={"idPattern": "02$"},
                          headers=wq)  # fmt: skip
    assert _ids(temporal) == ["CT02"]
    # purge by idPattern
    assert client.delete(URL, params={"idPattern": "^urn:ngsi-ld:WaterQualityObserved:HG"},
                         headers=wq).status_code == 204  # fmt: skip
    assert by_pattern(".") == ["CT01", "CT02", "CT10"]
    # what needs backtracking or is not a pattern: 400; a pattern too long: 403
    for bad in ("(?=CT)", "(a)\\1", "a**", "(CT", "CT)", "[z-a]", "", "x{300}"):
        _problem(client.get(URL, params={"idPattern": bad}, headers=wq), 400, "BadRequestData")
    _problem(client.get(URL, params={"idPattern": "a" * 600}, headers=wq), 403, "TooComplexQuery")
    # a pattern that makes a backtracking engine take exponential time answers at once
    assert by_pattern("^(a+)+$") == []


def test_pattern_operator_in_q(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    for local in ("P1", "P2", "P3"):
        client.post(URL, json=station(local), headers={**admin, **LD})
    wq = {**admin, **LINK_WQ}
    client.patch(f"{URL}/urn:ngsi-ld:WaterQualityObserved:P3/attrs",
                 json={"name": {"type": "Property", "value": "Cống Cái Răng"}},
                 headers=wq)  # fmt: skip

    def matching(q: str) -> list[str]:
        return _ids(client.get(URL, params={"type": "WaterQualityObserved", "q": q}, headers=wq))

    assert matching('name~="^Trạm P[12]$"') == ["P1", "P2"]
    assert matching('name!~="^Trạm"') == ["P3"]
    assert matching('name~="Răng";salinity>1') == ["P3"]
    assert matching('name~="P1"|name~="Cống"') == ["P1", "P3"]
    # a number does not match a pattern (nor fails to)
    assert matching('salinity~="2"') == [] and matching('salinity!~="x"') == []
    for bad in ('name~="(?!x)"', "name~=", 'name~="a{2,1}"'):
        _problem(client.get(URL, params={"type": "WaterQualityObserved", "q": bad}, headers=wq),
                 400, "BadRequestData")  # fmt: skip


def test_migration_indexes_the_types_of_entities_already_stored(  # type: ignore[no-untyped-def]
    client, headers_for, database
) -> None:
    from alembic import command

    from taydo.core import migrate

    admin = headers_for("admin")
    body = {"id": "urn:ngsi-ld:Thing:OLD", "type": ["Device", "Sensor"]}
    assert client.post(URL, json=body, headers={**admin, **JSON}).status_code == 201
    # back to the schema before the index: the entity's types are only in its attributes
    command.downgrade(migrate.alembic_config(database), "i4_ngsild_sources")
    migrate.upgrade(database)
    found = client.get(URL, params={"type": "Sensor"}, headers=admin)
    assert _ids(found) == ["OLD"]


def test_concise_answers(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    made = client.post(URL, json=station("C1", salinity=3.0), headers={**admin, **LD})
    assert made.status_code == 201, made.text
    wq = {**admin, **LINK_WQ}
    url = f"{URL}/urn:ngsi-ld:WaterQualityObserved:C1"
    got = client.get(url, params={"options": "concise"}, headers=wq)
    assert got.status_code == 200, got.text
    body = got.json()
    # §4.5: the type is implied by the member holding the value; a bare value when nothing
    # else is there
    assert body["type"] == "WaterQualityObserved"
    assert body["pH"] == 7.1 and body["name"] == "Trạm C1"
    assert body["salinity"] == {"value": 3.0, "unitCode": "PPT",
                                "observedAt": "2026-11-27T01:00:00Z"}  # fmt: skip
    assert body["refDevice"] == {"object": "urn:ngsi-ld:Device:C1"}
    assert body["location"] == {"type": "Point", "coordinates": [105.78, 10.03]}
    # queries (GET and POST) answer alike
    listed = client.get(URL, params={"type": "WaterQualityObserved", "options": "concise"},
                        headers=wq).json()  # fmt: skip
    assert listed == [body]
    posted = client.post(f"{OPS}/query", params={"options": "concise"},
                         json={"type": "Query", "entities": [{"type": "WaterQualityObserved"}]},
                         headers=wq).json()  # fmt: skip
    assert posted == [body]
    both = client.get(url, params={"options": "concise,keyValues"}, headers=wq)
    _problem(both, 400, "BadRequestData")
