"""Discovery (ETSI GS CIM 009 §5.7.5–5.7.10): types and attributes the broker holds, in the
caller's context and scope."""

from __future__ import annotations

from .conftest import LD
from .test_api import LINK_WQ, station

ERR = "https://uri.etsi.org/ngsi-ld/errors/"
SALINITY_IRI_PART = "salinity"


def _load(client, headers) -> None:  # type: ignore[no-untyped-def]
    for local, salinity in (("D1", 2.0), ("D2", 6.5)):
        created = client.post(
            "/ngsi-ld/v1/entities", json=station(local, salinity=salinity), headers=headers
        )
        assert created.status_code == 201, created.text
    plain = {
        "id": "urn:ngsi-ld:Pump:P1",
        "type": "Pump",
        "status": {"type": "Property", "value": "on"},
    }
    created = client.post(
        "/ngsi-ld/v1/entities",
        json=plain,
        headers={**headers, "Content-Type": "application/json"},
    )
    assert created.status_code == 201, created.text


def test_types_and_their_attributes(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    _load(client, {**admin, **LD})
    read = {**admin, **LINK_WQ}

    listed = client.get("/ngsi-ld/v1/types", headers=read).json()
    assert listed["type"] == "EntityTypeList"
    assert set(listed["typeList"]) == {"WaterQualityObserved", "Pump"}

    detailed = client.get("/ngsi-ld/v1/types", params={"details": "true"}, headers=read).json()
    by_name = {t["typeName"]: t for t in detailed}
    water = by_name["WaterQualityObserved"]
    assert water["type"] == "EntityType" and water["id"].startswith("http")
    assert {"salinity", "temperature", "refDevice", "location"} <= set(water["attributeNames"])
    assert by_name["Pump"]["attributeNames"] == ["status"]

    info = client.get("/ngsi-ld/v1/types/WaterQualityObserved", headers=read).json()
    assert info["type"] == "EntityTypeInfo" and info["entityCount"] == 2
    kinds = {a["attributeName"]: a["attributeTypes"] for a in info["attributeDetails"]}
    assert kinds["salinity"] == ["Property"]
    assert kinds["refDevice"] == ["Relationship"]
    assert kinds["location"] == ["GeoProperty"]
    # the same type asked for by its full IRI, without a context
    by_iri = client.get(f"/ngsi-ld/v1/types/{water['id']}", headers=admin)
    assert by_iri.status_code == 200 and by_iri.json()["entityCount"] == 2

    missing = client.get("/ngsi-ld/v1/types/KhongCo", headers=read)
    assert missing.status_code == 404 and missing.json()["type"] == ERR + "ResourceNotFound"


def test_attributes_and_where_they_occur(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    _load(client, {**admin, **LD})
    read = {**admin, **LINK_WQ}

    listed = client.get("/ngsi-ld/v1/attributes", headers=read).json()
    assert listed["type"] == "AttributeList"
    assert {"salinity", "refDevice", "status"} <= set(listed["attributeList"])

    salinity = client.get("/ngsi-ld/v1/attributes/salinity", headers=read).json()
    assert salinity["type"] == "Attribute" and salinity["attributeCount"] == 2
    assert salinity["attributeTypes"] == ["Property"]
    assert salinity["typeNames"] == ["WaterQualityObserved"]

    detailed = client.get("/ngsi-ld/v1/attributes", params={"details": "true"}, headers=read)
    status = {a["attributeName"]: a for a in detailed.json()}["status"]
    assert status["attributeCount"] == 1 and status["typeNames"] == ["Pump"]

    missing = client.get("/ngsi-ld/v1/attributes/khongCo", headers=read)
    assert missing.status_code == 404 and missing.json()["type"] == ERR + "ResourceNotFound"


def test_an_officer_discovers_only_their_agencies(client, headers_for, agency) -> None:  # type: ignore[no-untyped-def]
    agency("STNMT")
    agency("SXD")
    _load(client, {**headers_for("agency_officer", ["STNMT"]), **LD})
    theirs = {**headers_for("agency_officer", ["SXD"]), **LINK_WQ}
    assert client.get("/ngsi-ld/v1/types", headers=theirs).json()["typeList"] == []
    assert client.get("/ngsi-ld/v1/attributes", headers=theirs).json()["attributeList"] == []
    hidden = client.get("/ngsi-ld/v1/types/WaterQualityObserved", headers=theirs)
    assert hidden.status_code == 404
    assert client.get("/ngsi-ld/v1/types", headers=headers_for("viewer")).status_code == 200
