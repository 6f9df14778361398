"""Entity-level members and the other attribute kinds (ETSI GS CIM 009 v1.8): scope and
scopeQ, multi-typed entities, LanguageProperty with ``lang``, JsonProperty, VocabProperty,
ListProperty — stored on catalog entities, numeric Properties still observations."""

from __future__ import annotations

from typing import Any

import pytest

from taydo.ingest.ngsild.errors import NgsiError
from taydo.ingest.ngsild.query import parse_scope_q

from .test_api import ERR

URL = "/ngsi-ld/v1/entities"
JSON = {"Content-Type": "application/json"}


def _make(client, auth, local: str, **members: Any) -> None:  # type: ignore[no-untyped-def]
    body = {"id": f"urn:ngsi-ld:Device:{local}", "type": "Device", **members}
    answer = client.post(URL, json=body, headers={**auth, **JSON})
    assert answer.status_code == 201, answer.text


def _ids(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [e["id"].rsplit(":", 1)[1] for e in answer.json()]


def test_scope_is_stored_queried_and_updated(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    _make(client, admin, "S1", scope="/CanTho/NinhKieu")
    _make(client, admin, "S2", scope=["/CanTho/CaiRang/Ward1", "/Flood"])
    _make(client, admin, "S3")
    got = client.get(f"{URL}/urn:ngsi-ld:Device:S2", headers=admin).json()
    assert got["scope"] == ["/CanTho/CaiRang/Ward1", "/Flood"]

    def scoped(expression: str) -> list[str]:
        return _ids(client.get(URL, params={"type": "Device", "scopeQ": expression},
                               headers=admin))  # fmt: skip

    assert scoped("/CanTho/NinhKieu") == ["S1"]
    assert scoped("/CanTho/#") == ["S1", "S2"]
    assert scoped("/CanTho/+/Ward1") == ["S2"]
    assert scoped("/#") == ["S1", "S2"]
    assert scoped("/CanTho/#;/Flood") == ["S2"]
    assert scoped("/CanTho/NinhKieu,/Flood") == ["S1", "S2"]
    assert scoped("/CanTho") == []
    assert _ids(client.get(URL, params={"scopeQ": "/Flood"}, headers=admin)) == ["S2"]
    # merge sets the scope, NGSI-LD Null removes it; replace without scope drops it
    patch = {"Content-Type": "application/merge-patch+json"}
    merged = client.patch(f"{URL}/urn:ngsi-ld:Device:S3", json={"scope": "/New"},
                          headers={**admin, **patch})  # fmt: skip
    assert merged.status_code == 204, merged.text
    assert scoped("/New") == ["S3"]
    client.patch(f"{URL}/urn:ngsi-ld:Device:S3", json={"scope": "urn:ngsi-ld:null"},
                 headers={**admin, **patch})  # fmt: skip
    assert scoped("/New") == []
    client.put(f"{URL}/urn:ngsi-ld:Device:S1", json={"type": "Device"}, headers={**admin, **JSON})
    assert "scope" not in client.get(f"{URL}/urn:ngsi-ld:Device:S1", headers=admin).json()
    body = {"type": "Query", "entities": [{"type": "Device"}], "scopeQ": "/Flood"}
    assert _ids(client.post("/ngsi-ld/v1/entityOperations/query", json=body,
                            headers=admin)) == ["S2"]  # fmt: skip
    for bad in ("Flood", "/a//b", "/a/#/b", "/a;", "(/a", "/a b"):
        refused = client.get(URL, params={"type": "Device", "scopeQ": bad}, headers=admin)
        assert (refused.status_code, refused.json()["type"]) == (400, ERR + "BadRequestData")
    for bad_scope in ("no-slash", ["/ok", 3], [], "/a//b"):
        wrong = client.post(
            URL,
            json={"id": "urn:ngsi-ld:Device:X", "type": "Device", "scope": bad_scope},
            headers={**admin, **JSON},
        )
        assert wrong.status_code == 400, bad_scope


def test_scope_q_grammar() -> None:
    test = parse_scope_q("(/a/#|/b);/c/+")
    assert test(["/a/x", "/c/d"]) and test(["/b", "/c/e"])
    assert not test(["/a/x"]) and not test(["/c/d"]) and not test([])
    with pytest.raises(NgsiError):
        parse_scope_q("(" * 40 + "/a" + ")" * 40)


def test_multi_typed_entities(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    body = {"id": "urn:ngsi-ld:Device:T1", "type": ["Device", "Sensor"]}
    assert client.post(URL, json=body, headers={**admin, **JSON}).status_code == 201
    got = client.get(f"{URL}/urn:ngsi-ld:Device:T1", headers=admin).json()
    assert got["type"] == ["Device", "Sensor"]
    assert _ids(client.get(URL, params={"type": "Device"}, headers=admin)) == ["T1"]
    # a merge adds a type; the others stay
    merged = client.patch(f"{URL}/urn:ngsi-ld:Device:T1", json={"type": "Actuator"},
                          headers={**admin, **JSON})  # fmt: skip
    assert merged.status_code == 204, merged.text
    got = client.get(f"{URL}/urn:ngsi-ld:Device:T1", headers=admin).json()
    assert got["type"] == ["Device", "Sensor", "Actuator"]
    picked = client.get(URL, params={"type": "Device", "q": "x"}, headers=admin)
    assert picked.json() == []
    for bad in ([], ["Device", 3], "bad name"):
        wrong = client.post(URL, json={"id": "urn:ngsi-ld:Device:T9", "type": bad},
                            headers={**admin, **JSON})  # fmt: skip
        assert wrong.status_code == 400, bad


def test_language_json_vocab_and_list_properties(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    members = {
        "label": {"type": "LanguageProperty",
                  "languageMap": {"vi": "Trạm đo mặn Cái Răng", "en": "Cai Rang salinity station"}},
        "config": {"type": "JsonProperty", "json": {"interval": 60, "bands": [1, 2]}},
        "category": {"type": "VocabProperty", "vocab": ["sensor", "actuator"]},
        "readings": {"type": "ListProperty", "valueList": [1.5, 2.5]},
        "salinity": {"type": "Property", "value": 3.5, "observedAt": "2026-12-01T01:00:00Z"},
    }  # fmt: skip
    _make(client, admin, "L1", **members)
    url = f"{URL}/urn:ngsi-ld:Device:L1"
    got = client.get(url, headers=admin).json()
    for name, attr in members.items():
        assert got[name] == attr, name
    english = client.get(url, params={"lang": "en"}, headers=admin).json()
    assert english["label"] == {"type": "Property", "value": "Cai Rang salinity station",
                                "lang": "en"}  # fmt: skip
    first = client.get(url, params={"lang": "fr,vi", "options": "keyValues"}, headers=admin)
    assert first.json()["label"] == "Trạm đo mặn Cái Răng"
    anything = client.get(url, params={"lang": "*", "options": "keyValues"}, headers=admin)
    assert anything.json()["label"] in members["label"]["languageMap"].values()
    kv = client.get(url, params={"options": "keyValues"}, headers=admin).json()
    assert kv["config"] == {"interval": 60, "bands": [1, 2]}
    assert kv["category"] == ["sensor", "actuator"] and kv["readings"] == [1.5, 2.5]
    # q looks into a language map and a JSON value; the numeric Property is an observation
    assert _ids(client.get(URL, params={"type": "Device", "q": 'label[vi]=="Trạm đo mặn Cái Răng"'},
                           headers=admin)) == ["L1"]  # fmt: skip
    assert _ids(client.get(URL, params={"type": "Device", "q": "config[interval]==60"},
                           headers=admin)) == ["L1"]  # fmt: skip
    history = client.get("/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:Device:L1",
                         params={"attrs": "salinity", "options": "temporalValues"},
                         headers=admin).json()  # fmt: skip
    assert [v[0] for v in history["salinity"]["values"]] == [3.5]
    for bad in (
        {"type": "LanguageProperty", "value": "x"},
        {"type": "JsonProperty"},
        {"type": "VocabProperty", "vocab": None},
        {"type": "ListProperty", "valueList": None},
    ):
        wrong = client.post(URL, json={"id": "urn:ngsi-ld:Device:L9", "type": "Device",
                                       "a": bad}, headers={**admin, **JSON})  # fmt: skip
        assert (wrong.status_code, wrong.json()["type"]) == (400, ERR + "BadRequestData"), bad
    refused = client.get(url, params={"lang": ","}, headers=admin)
    assert refused.status_code == 400


def test_multi_attributes_with_dataset_ids(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    level = [
        {"type": "Property", "value": 1.2, "observedAt": "2026-12-01T01:00:00Z"},
        {"type": "Property", "value": 1.4, "datasetId": "urn:ngsi-ld:Dataset:radar"},
        {"type": "Property", "value": 1.1, "datasetId": "urn:ngsi-ld:Dataset:manual"},
    ]
    _make(client, admin, "D1", waterLevel=level)
    url = f"{URL}/urn:ngsi-ld:Device:D1"
    got = client.get(url, headers=admin).json()
    assert got["waterLevel"] == level
    # the default instance alone is the observed series
    history = client.get("/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:Device:D1",
                         params={"attrs": "waterLevel", "options": "temporalValues"},
                         headers=admin).json()  # fmt: skip
    assert [v[0] for v in history["waterLevel"]["values"]] == [1.2]
    radar = client.get(url, params={"datasetId": "urn:ngsi-ld:Dataset:radar"}, headers=admin)
    assert radar.json()["waterLevel"] == level[1]
    default = client.get(url, params={"datasetId": "@none", "options": "keyValues"},
                         headers=admin)  # fmt: skip
    assert default.json()["waterLevel"] == 1.2
    # append overwrites the instance of the same datasetId and adds new ones
    appended = client.post(url + "/attrs", json={"waterLevel": {
        "type": "Property", "value": 1.5, "datasetId": "urn:ngsi-ld:Dataset:radar"}},
        headers={**admin, **JSON})  # fmt: skip
    assert appended.status_code == 204, appended.text
    values = [a["value"] for a in client.get(url, headers=admin).json()["waterLevel"]]
    assert values == [1.2, 1.5, 1.1]
    # update (PATCH attrs) does not make an instance that is not there
    missing = client.patch(url + "/attrs", json={"waterLevel": {
        "type": "Property", "value": 9, "datasetId": "urn:ngsi-ld:Dataset:none"}},
        headers={**admin, **JSON})  # fmt: skip
    assert missing.status_code == 207 and missing.json()["notUpdated"]
    # delete one instance, then every instance
    manual = {"datasetId": "urn:ngsi-ld:Dataset:manual"}
    one = client.delete(url + "/attrs/waterLevel", params=manual, headers=admin)
    assert one.status_code == 204, one.text
    values = [a["value"] for a in client.get(url, headers=admin).json()["waterLevel"]]
    assert values == [1.2, 1.5]
    again = client.delete(url + "/attrs/waterLevel", params=manual, headers=admin)
    assert (again.status_code, again.json()["type"]) == (404, ERR + "ResourceNotFound")
    every = client.delete(url + "/attrs/waterLevel", params={"deleteAll": "true"}, headers=admin)
    assert every.status_code == 204
    assert "waterLevel" not in client.get(url, headers=admin).json()
    for bad in (
        [{"type": "Property", "value": 1}, {"type": "Property", "value": 2}],  # two defaults
        [{"type": "Property", "value": 1, "datasetId": "urn:a:1"},
         {"type": "Property", "value": 2, "datasetId": "urn:a:1"}],  # same datasetId twice
        [{"type": "Property", "value": 1, "datasetId": "not a uri"}],
        [],
        [3],
    ):  # fmt: skip
        wrong = client.post(URL, json={"id": "urn:ngsi-ld:Device:D9", "type": "Device",
                                       "a": bad}, headers={**admin, **JSON})  # fmt: skip
        assert (wrong.status_code, wrong.json()["type"]) == (400, ERR + "BadRequestData"), bad
