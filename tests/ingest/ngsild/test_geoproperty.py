"""Geo-queries on a GeoProperty other than ``location`` (``geoproperty``, CIM 009 §4.10):
Query Entities, the batch query, purge, the Temporal API; ``georel=overlaps``; bad
geo-queries are 400 BadRequestData."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taydo.ingest.ngsild.query import GEOMETRY_TYPES, GEORELS

ERR = "https://uri.etsi.org/ngsi-ld/errors/"
BASE = "/ngsi-ld/v1/entities"
KIND = "FloodSensor"


def square(lon: float, lat: float, side: float) -> list[list[list[float]]]:
    return [
        [[lon, lat], [lon + side, lat], [lon + side, lat + side], [lon, lat + side], [lon, lat]]
    ]


FAR = square(106.5, 9.5, 0.2)  # a box around Cái Răng's south, far from Ninh Kiều
FAR_TEXT = json.dumps(FAR)


def geo(value: Any) -> dict[str, Any]:
    return {"type": "GeoProperty", "value": value}


def point(lon: float, lat: float) -> dict[str, Any]:
    return geo({"type": "Point", "coordinates": [lon, lat]})


def polygon(coordinates: Any) -> dict[str, Any]:
    return geo({"type": "Polygon", "coordinates": coordinates})


ENTITIES = [
    {  # located in Ninh Kiều, observes a square inside FAR
        "id": "urn:ngsi-ld:FloodSensor:A",
        "type": KIND,
        "location": point(105.78, 10.03),
        "observationSpace": polygon(square(106.55, 9.55, 0.05)),
        "level": {"type": "Property", "value": 1.0, "observedAt": "2026-11-20T01:00:00Z"},
    },
    {  # located inside FAR, observes a square in Ninh Kiều
        "id": "urn:ngsi-ld:FloodSensor:B",
        "type": KIND,
        "location": point(106.6, 9.6),
        "observationSpace": polygon(square(105.75, 10.0, 0.05)),
        "level": {"type": "Property", "value": 2.0, "observedAt": "2026-11-20T01:00:00Z"},
    },
    {  # located inside FAR, a custom GeoProperty that overlaps FAR's corner
        "id": "urn:ngsi-ld:FloodSensor:C",
        "type": KIND,
        "location": point(106.65, 9.65),
        "floodZone": polygon(square(106.6, 9.6, 0.2)),
        "level": {"type": "Property", "value": 3.0, "observedAt": "2026-11-20T01:00:00Z"},
    },
]


@pytest.fixture
def auth(client, headers_for) -> dict[str, str]:  # type: ignore[no-untyped-def]
    headers = headers_for("admin")
    made = client.post("/ngsi-ld/v1/entityOperations/create", json=ENTITIES, headers=headers)
    assert made.status_code == 201, made.text
    return headers


def ids(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.text
    return sorted(e["id"].rsplit(":", 1)[1] for e in answer.json())


def test_query_entities_on_any_geoproperty(client, auth) -> None:  # type: ignore[no-untyped-def]
    def query(georel: str = "within", **more: Any) -> list[str]:
        params = {"type": KIND, "georel": georel, "geometry": "Polygon", "coordinates": FAR_TEXT}
        return ids(client.get(BASE, params={**params, **more}, headers=auth))

    assert query() == ["B", "C"]  # location, as before
    assert query(geoproperty="location") == ["B", "C"]
    assert query(geoproperty="observationSpace") == ["A"]
    assert query("intersects", geoproperty="observationSpace") == ["A"]
    assert query("disjoint", geoproperty="observationSpace") == ["B"]  # C has none
    assert query("overlaps", geoproperty="floodZone") == ["C"]
    assert query(geoproperty="floodZone") == []  # overlaps, not within
    assert query("overlaps") == []  # points never overlap a polygon
    assert query(geoproperty="operationSpace") == []  # nobody has one
    assert query(geoproperty="level") == []  # not a geometry
    near = {"georel": "near;maxDistance==3000", "geometry": "Point"}
    center = {"coordinates": "[106.575,9.575]"}
    found = client.get(
        BASE, params={"type": KIND, **near, **center, "geoproperty": "observationSpace"},
        headers=auth,
    )  # fmt: skip
    assert ids(found) == ["A"]
    found = client.get(BASE, params={"type": KIND, **near, **center}, headers=auth)
    assert ids(found) == []  # no location within 3 km of that point


def test_batch_query_and_temporal_query_on_a_geoproperty(client, auth) -> None:  # type: ignore[no-untyped-def]
    geo_q = {"geometry": "Polygon", "coordinates": FAR, "georel": "within"}
    body = {"type": "Query", "entities": [{"type": KIND}], "geoQ": geo_q}
    assert ids(client.post("/ngsi-ld/v1/entityOperations/query", json=body, headers=auth)) == [
        "B",
        "C",
    ]
    body["geoQ"] = {**geo_q, "geoproperty": "observationSpace"}
    answer = client.post("/ngsi-ld/v1/entityOperations/query", json=body, headers=auth)
    assert ids(answer) == ["A"]
    params = {
        "type": KIND, "georel": "within", "geometry": "Polygon", "coordinates": FAR_TEXT,
        "geoproperty": "observationSpace", "timerel": "after", "timeAt": "2026-11-01T00:00:00Z",
    }  # fmt: skip
    temporal = client.get("/ngsi-ld/v1/temporal/entities", params=params, headers=auth)
    assert ids(temporal) == ["A"]
    body = {"type": "Query", "entities": [{"type": KIND}], "geoQ": geo_q}
    body["geoQ"] = {**geo_q, "geoproperty": "floodZone", "georel": "overlaps"}
    body["temporalQ"] = {"timerel": "after", "timeAt": "2026-11-01T00:00:00Z"}
    temporal = client.post("/ngsi-ld/v1/temporal/entityOperations/query", json=body, headers=auth)
    assert ids(temporal) == ["C"]


def test_purge_by_a_geoproperty(client, auth) -> None:  # type: ignore[no-untyped-def]
    params = {
        "type": KIND, "georel": "within", "geometry": "Polygon", "coordinates": FAR_TEXT,
        "geoproperty": "observationSpace",
    }  # fmt: skip
    assert client.delete(BASE, params=params, headers=auth).status_code == 204
    assert ids(client.get(BASE, params={"type": KIND}, headers=auth)) == ["B", "C"]


@pytest.mark.parametrize(
    "params",
    [
        {"georel": "touches"},
        {"georel": "overlapping"},
        {"georel": "within;maxDistance==5"},
        {"georel": "near;maxDistance==-1", "geometry": "Point", "coordinates": "[106,9]"},
        {"georel": "near;farAway==1", "geometry": "Point", "coordinates": "[106,9]"},
        {"geometry": "Circle"},
        {"coordinates": "[[106.5,9.5]"},
        {"coordinates": "[[[1,2],[3]]]"},
        {"coordinates": '"text"'},
        {"coordinates": "[[[200,9],[201,9],[201,10],[200,9]]]"},
        {"geometry": None},
        {"coordinates": None},
        {"geoproperty": "flood zone"},
        {"geoproperty": "zone;drop"},
        {"geoproperty": ""},
        {"georel": None, "geometry": None, "coordinates": None, "geoproperty": "floodZone"},
    ],
)
def test_a_bad_geo_query_is_400(client, auth, params: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    base = {"type": KIND, "georel": "within", "geometry": "Polygon", "coordinates": FAR_TEXT}
    merged = {k: v for k, v in {**base, **params}.items() if v is not None}
    answer = client.get(BASE, params=merged, headers=auth)
    assert answer.status_code == 400, answer.text
    assert answer.json()["type"] == ERR + "BadRequestData"
    body = {"type": "Query", "entities": [{"type": KIND}], "geoQ": {
        k: v for k, v in merged.items() if k in ("georel", "geometry", "coordinates", "geoproperty")
    }}  # fmt: skip
    if body["geoQ"]:
        answer = client.post("/ngsi-ld/v1/entityOperations/query", json=body, headers=auth)
        assert answer.status_code == 400, answer.text
        assert answer.json()["type"] == ERR + "BadRequestData"


GEO_TEXT = st.text(alphabet='[]{},.-0123456789eE ;=nearmxDistcwhiglopsv"', max_size=40)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    georel=st.one_of(st.sampled_from(GEORELS), GEO_TEXT),
    geometry=st.one_of(st.sampled_from(GEOMETRY_TYPES), GEO_TEXT),
    coordinates=GEO_TEXT,
    geoproperty=st.one_of(
        st.none(), st.sampled_from(["observationSpace", "floodZone"]), st.text(max_size=20)
    ),
)
def test_any_geo_query_is_answered_or_refused_with_400(  # type: ignore[no-untyped-def]
    client, auth, georel: str, geometry: str, coordinates: str, geoproperty: str | None
) -> None:
    params = {"type": KIND, "georel": georel, "geometry": geometry, "coordinates": coordinates}
    if geoproperty is not None:
        params["geoproperty"] = geoproperty
    answer = client.get(BASE, params=params, headers=auth)
    assert answer.status_code in (200, 400), answer.text
    if answer.status_code == 400:
        assert answer.json()["type"] == ERR + "BadRequestData"
