"""The rest of the entity API (ETSI GS CIM 009 v1.8): purge (DELETE /entities), Query
Entities via POST (/entityOperations/query), Batch Entity Merge (/entityOperations/merge),
pick/omit, orderBy, lang, Accept: application/geo+json and "urn:ngsi-ld:null" as delete."""

from __future__ import annotations

from typing import Any

from .conftest import LD
from .test_api import ERR, LINK_WQ, WQ, station

URL = "/ngsi-ld/v1/entities"
OPS = "/ngsi-ld/v1/entityOperations"
GEO = {"Accept": "application/geo+json"}


def _stations(client, auth: dict[str, str], *specs: tuple[str, float, float]) -> None:  # type: ignore[no-untyped-def]
    made = [station(local, salinity=salinity, lon=lon) for local, salinity, lon in specs]
    answer = client.post(f"{OPS}/create", json=made, headers={**auth, **LD})
    assert answer.status_code == 201, answer.text


def _ids(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [e["id"].rsplit(":", 1)[1] for e in answer.json()]


def test_purge_deletes_what_the_query_selects(client, headers_for, agency) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    _stations(client, admin, ("P1", 0.5, 105.7), ("P2", 4.0, 105.8), ("P3", 8.0, 105.9))
    wq = {**admin, **LINK_WQ}
    gone = client.delete(
        URL, params={"type": "WaterQualityObserved", "q": "salinity>1"}, headers=wq
    )
    assert gone.status_code == 204, gone.text
    left = client.get(URL, params={"type": "WaterQualityObserved"}, headers=wq)
    assert _ids(left) == ["P1"]
    # nothing to purge is no error; a purge with no restriction at all is refused
    assert client.delete(URL, params={"type": "Nothing"}, headers=wq).status_code == 204
    bare = client.delete(URL, headers=wq)
    assert (bare.status_code, bare.json()["type"]) == (400, ERR + "BadRequestData")
    only_attrs = client.delete(URL, params={"attrs": "salinity"}, headers=wq)
    assert only_attrs.status_code == 400
    # readers may not purge; an officer purges only their agency's entities
    reader = client.delete(URL, params={"type": "WaterQualityObserved"}, headers={
        **headers_for("viewer"), **LINK_WQ})  # fmt: skip
    assert reader.status_code == 403 and reader.json()["status"] == 403
    agency("STNMT")
    officer = headers_for("agency_officer", ["STNMT"])
    _stations(client, officer, ("P4", 1.0, 105.7))
    mine = client.delete(
        URL, params={"type": "WaterQualityObserved"}, headers={**officer, **LINK_WQ}
    )
    assert mine.status_code == 204
    assert _ids(client.get(URL, params={"type": "WaterQualityObserved"}, headers=wq)) == ["P1"]


def test_query_via_post_answers_as_get(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    _stations(client, admin, ("B1", 0.5, 105.78), ("B2", 4.0, 105.79), ("B3", 8.0, 106.3))
    wq = {**admin, **LINK_WQ}
    body = {"type": "Query", "entities": [{"type": "WaterQualityObserved"}], "q": "salinity>1"}
    posted = client.post(f"{OPS}/query", json=body, headers=wq)
    got = client.get(URL, params={"type": "WaterQualityObserved", "q": "salinity>1"}, headers=wq)
    assert _ids(posted) == ["B2", "B3"] and posted.json() == got.json()
    # selectors: id and type together; geoQ; attrs; paging and count in the URL
    one = {"type": "Query", "entities": [
        {"id": "urn:ngsi-ld:WaterQualityObserved:B3", "type": "WaterQualityObserved"},
        {"id": "urn:ngsi-ld:WaterQualityObserved:B1", "type": "WaterQualityObserved"}]}  # fmt: skip
    assert _ids(client.post(f"{OPS}/query", json=one, headers=wq)) == ["B1", "B3"]
    near = {
        "type": "Query",
        "entities": [{"type": "WaterQualityObserved"}],
        "geoQ": {
            "georel": "near;maxDistance==2000",
            "geometry": "Point",
            "coordinates": [105.781, 10.031],
        },
    }
    assert _ids(client.post(f"{OPS}/query", json=near, headers=wq)) == ["B1", "B2"]
    counted = client.post(
        f"{OPS}/query", json={**body, "attrs": ["salinity"]},
        params={"limit": 1, "count": "true", "options": "keyValues"}, headers=wq,
    )  # fmt: skip
    assert counted.headers["NGSILD-Results-Count"] == "2"
    assert counted.json() == [
        {"id": "urn:ngsi-ld:WaterQualityObserved:B2", "type": "WaterQualityObserved",
         "salinity": 4.0}]  # fmt: skip
    # JSON-LD body carries its own context
    ld = client.post(f"{OPS}/query", json={**body, "@context": [WQ]},
                     headers={**admin, **LD})  # fmt: skip
    assert _ids(ld) == ["B2", "B3"]
    for bad, kind in (
        ({"entities": [{"type": "T"}]}, "BadRequestData"),  # no "type": "Query"
        ({"type": "Query"}, "BadRequestData"),  # nothing restricts it
        ({"type": "Query", "entities": []}, "BadRequestData"),
        ({"type": "Query", "entities": [{"id": "not a uri", "type": "T"}]}, "BadRequestData"),
        ({"type": "Query", "entities": [{"id": "urn:x:1"}]}, "BadRequestData"),  # no type
        ({"type": "Query", "q": "salinity>>"}, "BadRequestData"),
        ({"type": "Query", "q": "a", "bogus": 1}, "BadRequestData"),
        ({"type": "Query", "geoQ": {"georel": "near"}}, "BadRequestData"),
        ({"type": "Query", "entities": [{"idPattern": "(?=x)", "type": "T"}]},
         "BadRequestData"),  # look-ahead: not a pattern matched in linear time
        ([1, 2], "BadRequestData"),
    ):  # fmt: skip
        refused = client.post(f"{OPS}/query", json=bad, headers=wq)
        assert refused.json()["type"] == ERR + kind, (bad, refused.text)
        assert refused.status_code in (400, 422)
    assert client.post(f"{OPS}/query", json=body).status_code == 401


def test_batch_merge_merges_each_and_reports_failures(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    _stations(client, admin, ("M1", 1.0, 105.7), ("M2", 2.0, 105.8))
    wq = {**admin, **LINK_WQ}
    merged = client.post(
        f"{OPS}/merge",
        json=[
            {"id": "urn:ngsi-ld:WaterQualityObserved:M1", "pH": {"type": "Property", "value": 6}},
            {"id": "urn:ngsi-ld:WaterQualityObserved:M2",
             "name": {"type": "Property", "value": "urn:ngsi-ld:null"}},
        ],
        headers=wq,
    )  # fmt: skip
    assert merged.status_code == 204, merged.text
    kv = {"options": "keyValues"}
    one = client.get(f"{URL}/urn:ngsi-ld:WaterQualityObserved:M1", params=kv, headers=wq).json()
    assert one["pH"] == 6 and one["salinity"] == 1.0 and one["name"] == "Trạm M1"
    two = client.get(f"{URL}/urn:ngsi-ld:WaterQualityObserved:M2", params=kv, headers=wq).json()
    assert "name" not in two and two["salinity"] == 2.0
    partly = client.post(
        f"{OPS}/merge",
        json=[
            {"id": "urn:ngsi-ld:WaterQualityObserved:M1", "pH": {"type": "Property", "value": 7}},
            {"id": "urn:ngsi-ld:WaterQualityObserved:none", "pH": {"type": "Property", "value": 7}},
            {"id": "bad id"},
        ],
        headers=wq,
    )  # fmt: skip
    assert partly.status_code == 207, partly.text
    result = partly.json()
    assert result["success"] == ["urn:ngsi-ld:WaterQualityObserved:M1"]
    kinds = {e["entityId"]: e["error"]["type"] for e in result["errors"]}
    assert kinds["urn:ngsi-ld:WaterQualityObserved:none"] == ERR + "ResourceNotFound"
    assert kinds["bad id"] == ERR + "BadRequestData"
    empty = client.post(f"{OPS}/merge", json=[], headers=wq)
    assert (empty.status_code, empty.json()["type"]) == (400, ERR + "BadRequestData")


def test_null_deletes_in_attribute_updates(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    _stations(client, admin, ("N1", 1.0, 105.7))
    wq = {**admin, **LINK_WQ}
    url = f"{URL}/urn:ngsi-ld:WaterQualityObserved:N1"
    patched = client.patch(
        url + "/attrs",
        json={"pH": {"type": "Property", "value": "urn:ngsi-ld:null"},
              "refDevice": {"type": "Relationship", "object": "urn:ngsi-ld:null"},
              "temperature": {"type": "Property", "value": 30}},
        headers=wq,
    )  # fmt: skip
    assert patched.status_code == 204, patched.text
    got = client.get(url, params={"options": "keyValues"}, headers=wq).json()
    assert "pH" not in got and "refDevice" not in got and got["temperature"] == 30
    appended = client.post(
        url + "/attrs", json={"name": {"type": "Property", "value": "urn:ngsi-ld:null"}},
        headers=wq,
    )  # fmt: skip
    assert appended.status_code == 204
    assert "name" not in client.get(url, params={"options": "keyValues"}, headers=wq).json()


def test_pick_and_omit_project_the_answer(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    _stations(client, admin, ("K1", 1.0, 105.7))
    wq = {**admin, **LINK_WQ}
    url = f"{URL}/urn:ngsi-ld:WaterQualityObserved:K1"
    picked = client.get(url, params={"pick": "id,salinity", "options": "keyValues"}, headers=wq)
    assert picked.json() == {"id": "urn:ngsi-ld:WaterQualityObserved:K1", "salinity": 1.0}
    omitted = client.get(url, params={"omit": "type,location,name,refDevice,pH,temperature"},
                         headers=wq).json()  # fmt: skip
    assert set(omitted) == {"id", "salinity"}
    listed = client.get(URL, params={"type": "WaterQualityObserved", "pick": "pH"}, headers=wq)
    assert listed.json() == [{"pH": {"type": "Property", "value": 7.1}}]
    both = client.get(url, params={"pick": "id", "omit": "type"}, headers=wq)
    assert (both.status_code, both.json()["type"]) == (400, ERR + "BadRequestData")
    assert client.get(url, params={"pick": ","}, headers=wq).status_code == 400


def test_order_by_sorts_every_match_missing_last(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    _stations(client, admin, ("O1", 4.0, 105.7), ("O2", 0.5, 105.8), ("O3", 8.0, 105.9))
    wq = {**admin, **LINK_WQ}
    client.delete(f"{URL}/urn:ngsi-ld:WaterQualityObserved:O3/attrs/salinity", headers=wq)
    client.post(f"{URL}/urn:ngsi-ld:WaterQualityObserved:O2/attrs",
                json={"pH": {"type": "Property", "value": 8.0}}, headers=wq)  # fmt: skip

    def order(value: str, **more: Any) -> list[str]:
        params = {"type": "WaterQualityObserved", "orderBy": value, **more}
        return _ids(client.get(URL, params=params, headers=wq))

    assert order("salinity") == ["O2", "O1", "O3"]  # O3 has no salinity: last
    assert order("!salinity") == ["O1", "O2", "O3"]  # still last when descending
    assert order("pH,!id") == ["O3", "O1", "O2"]  # ties broken by the next term
    assert order("!id") == ["O3", "O2", "O1"]
    assert order("salinity", limit=1, offset=1) == ["O1"]  # the page is cut after sorting
    body = {"type": "Query", "entities": [{"type": "WaterQualityObserved"}]}
    posted = client.post(f"{OPS}/query", json=body, params={"orderBy": "!salinity"}, headers=wq)
    assert _ids(posted) == ["O1", "O2", "O3"]
    for bad in ("", "!", "a;b", "a," * 9 + "a"):
        refused = client.get(URL, params={"type": "WaterQualityObserved", "orderBy": bad},
                             headers=wq)  # fmt: skip
        assert refused.status_code == 400, bad


def test_geojson_answers_for_retrieve_and_query(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    _stations(client, admin, ("G1", 1.0, 105.7), ("G2", 2.0, 105.8))
    wq = {**admin, **LINK_WQ}
    one = client.get(f"{URL}/urn:ngsi-ld:WaterQualityObserved:G1", headers={**wq, **GEO})
    assert one.status_code == 200, one.text
    assert one.headers["content-type"].startswith("application/geo+json")
    feature = one.json()
    assert feature["type"] == "Feature" and feature["id"].endswith(":G1")
    assert feature["geometry"] == {"type": "Point", "coordinates": [105.7, 10.03]}
    assert feature["properties"]["type"] == "WaterQualityObserved"
    assert feature["properties"]["salinity"]["value"] == 1.0
    assert feature["@context"]
    many = client.get(
        URL, params={"type": "WaterQualityObserved", "options": "keyValues", "pick": "salinity"},
        headers={**wq, **GEO},
    ).json()  # fmt: skip
    assert many["type"] == "FeatureCollection" and len(many["features"]) == 2
    assert many["features"][1]["properties"] == {"salinity": 2.0}
    assert many["features"][1]["geometry"]["coordinates"] == [105.8, 10.03]
    # geometryProperty naming an attribute that is not a geometry gives a null geometry
    other = client.get(f"{URL}/urn:ngsi-ld:WaterQualityObserved:G1",
                       params={"geometryProperty": "name"}, headers={**wq, **GEO})  # fmt: skip
    assert other.json()["geometry"] is None
    # JSON is still preferred when the client lists it first; an Accept nothing meets is 406
    both = client.get(
        f"{URL}/urn:ngsi-ld:WaterQualityObserved:G1",
        headers={**wq, "Accept": "application/json, application/geo+json"},
    )
    assert both.json()["type"] == "WaterQualityObserved"
    refused = client.get(f"{URL}/urn:ngsi-ld:WaterQualityObserved:G1",
                         headers={**wq, "Accept": "text/csv"})  # fmt: skip
    assert refused.status_code == 406


def test_join_inline_and_flat_follow_relationships(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    json_ = {**admin, "Content-Type": "application/json"}
    chain = [
        {"id": "urn:ngsi-ld:Building:B", "type": "Building",
         "name": {"type": "Property", "value": "UBND phường Ninh Kiều"}},
        {"id": "urn:ngsi-ld:Device:D", "type": "Device",
         "controlledAsset": {"type": "Relationship", "object": "urn:ngsi-ld:Building:B"}},
        {"id": "urn:ngsi-ld:Sensor:S", "type": "Sensor",
         "refDevice": {"type": "Relationship", "object": "urn:ngsi-ld:Device:D"},
         "self": {"type": "Relationship", "object": "urn:ngsi-ld:Sensor:S"}},
    ]  # fmt: skip
    assert client.post(f"{OPS}/create", json=chain, headers=json_).status_code == 201
    url = f"{URL}/urn:ngsi-ld:Sensor:S"
    one = client.get(url, params={"join": "inline"}, headers=admin).json()
    device = one["refDevice"]["entity"]
    assert device["id"] == "urn:ngsi-ld:Device:D"
    assert device["controlledAsset"] == {"type": "Relationship", "object": "urn:ngsi-ld:Building:B"}
    assert "entity" not in one["self"]  # no loop back to itself
    two = client.get(url, params={"join": "inline", "joinLevel": 2, "options": "keyValues"},
                     headers=admin).json()  # fmt: skip
    assert two["refDevice"]["controlledAsset"]["name"] == "UBND phường Ninh Kiều"
    flat = client.get(url, params={"join": "flat", "joinLevel": 2}, headers=admin).json()
    assert [e["id"] for e in flat] == [
        "urn:ngsi-ld:Sensor:S",
        "urn:ngsi-ld:Device:D",
        "urn:ngsi-ld:Building:B",
    ]
    listed = client.get(URL, params={"type": "Sensor", "join": "flat"}, headers=admin).json()
    assert [e["id"] for e in listed] == ["urn:ngsi-ld:Sensor:S", "urn:ngsi-ld:Device:D"]
    for bad in ({"join": "sideways"}, {"join": "inline", "joinLevel": 0},
                {"joinLevel": 2}, {"join": "flat", "joinLevel": 99}):  # fmt: skip
        refused = client.get(url, params=bad, headers=admin)
        assert (refused.status_code, refused.json()["type"]) == (400, ERR + "BadRequestData"), bad
