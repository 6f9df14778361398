"""The NGSI-LD API against a real database: entities, attributes, batches, queries, errors."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import select

from taydo.catalog.models import Entity, Metric
from taydo.core.db import Database
from taydo.core.runtime import runtime_of

from .conftest import LD, SDM_URL

WQ = SDM_URL.format(repo="dataModel.WaterQuality")
ENV = SDM_URL.format(repo="dataModel.Environment")
LINK_WQ = {
    "Link": f'<{WQ}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
}
ERR = "https://uri.etsi.org/ngsi-ld/errors/"


def station(
    local: str,
    *,
    salinity: float = 2.5,
    lon: float = 105.78,
    lat: float = 10.03,
    when: str = "2026-11-27T01:00:00Z",
) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:WaterQualityObserved:{local}",
        "type": "WaterQualityObserved",
        "salinity": {
            "type": "Property",
            "value": salinity,
            "unitCode": "PPT",
            "observedAt": when,
        },
        "temperature": {"type": "Property", "value": 29.5, "observedAt": when},
        "pH": {"type": "Property", "value": 7.1},
        "name": {"type": "Property", "value": f"Trạm {local}"},
        "refDevice": {"type": "Relationship", "object": f"urn:ngsi-ld:Device:{local}"},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}},
        "@context": [WQ],
    }


def admin(headers_for) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return headers_for("admin")


def upsert(client, auth: dict[str, str], entities: list[dict[str, Any]]) -> None:  # type: ignore[no-untyped-def]
    """Batch upsert merging attributes (``options=update``), as a sensor gateway sends."""
    answer = client.post(
        "/ngsi-ld/v1/entityOperations/upsert",
        json=entities,
        params={"options": "update"},
        headers=auth,
    )
    assert answer.status_code in (201, 204), answer.text


def test_create_then_retrieve_in_both_forms(client, headers_for, database: Database) -> None:  # type: ignore[no-untyped-def]
    auth = admin(headers_for)
    created = client.post("/ngsi-ld/v1/entities", json=station("CT01"), headers={**auth, **LD})
    assert created.status_code == 201, created.text
    assert (
        created.headers["location"] == "/ngsi-ld/v1/entities/urn:ngsi-ld:WaterQualityObserved:CT01"
    )

    got = client.get(
        "/ngsi-ld/v1/entities/urn:ngsi-ld:WaterQualityObserved:CT01", headers={**auth, **LINK_WQ}
    )
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["salinity"] == {
        "type": "Property",
        "value": 2.5,
        "unitCode": "PPT",
        "observedAt": "2026-11-27T01:00:00Z",
    }
    assert body["refDevice"] == {"type": "Relationship", "object": "urn:ngsi-ld:Device:CT01"}
    assert WQ in got.headers["link"]

    simple = client.get(
        "/ngsi-ld/v1/entities/urn:ngsi-ld:WaterQualityObserved:CT01",
        params={"options": "keyValues", "attrs": "salinity,location"},
        headers={**auth, **LINK_WQ},
    )
    assert simple.json() == {
        "id": "urn:ngsi-ld:WaterQualityObserved:CT01",
        "type": "WaterQualityObserved",
        "salinity": 2.5,
        "location": {"type": "Point", "coordinates": [105.78, 10.03]},
    }
    # The catalog sees the entity: its place, and a metric per observed numeric property.
    with database.session() as session:
        entity = session.scalars(select(Entity).where(Entity.entity_id.like("%CT01"))).one()
        assert (entity.lon, entity.lat, entity.name) == (105.78, 10.03, "Trạm CT01")
        assert entity.attributes["refDevice"] == "urn:ngsi-ld:Device:CT01"
        metrics = {m.name: m.unit for m in session.scalars(select(Metric))}
    assert metrics == {"salinity": "PPT", "temperature": ""}


def test_names_follow_the_callers_context(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    auth = admin(headers_for)
    client.post("/ngsi-ld/v1/entities", json=station("CT02"), headers={**auth, **LD})
    plain = client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:WaterQualityObserved:CT02", headers=auth)
    body = plain.json()
    # Without the model's context, its terms are answered as full IRIs; core terms stay short.
    assert body["type"] == "https://smartdatamodels.org/dataModel.WaterQuality/WaterQualityObserved"
    assert "https://smartdatamodels.org/dataModel.WaterQuality/salinity" in body
    assert "location" in body
    ld = client.get(
        "/ngsi-ld/v1/entities/urn:ngsi-ld:WaterQualityObserved:CT02",
        headers={**auth, **LINK_WQ, "Accept": "application/ld+json"},
    )
    assert ld.headers["content-type"].startswith("application/ld+json")
    assert ld.json()["@context"] == WQ
    assert ld.json()["salinity"]["value"] == 2.5


def test_errors_are_problem_details(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    auth = admin(headers_for)
    url = "/ngsi-ld/v1/entities"
    assert client.post(url, json=station("CT03"), headers={**auth, **LD}).status_code == 201
    again = client.post(url, json=station("CT03"), headers={**auth, **LD})
    assert (again.status_code, again.json()["type"]) == (409, ERR + "AlreadyExists")
    missing = client.get(url + "/urn:ngsi-ld:X:nope", headers=auth)
    assert (missing.status_code, missing.json()["type"]) == (404, ERR + "ResourceNotFound")
    wrong = client.post(url, content=b"<xml/>", headers={**auth, "Content-Type": "text/xml"})
    assert wrong.status_code == 415 and wrong.json()["status"] == 415
    no_ctx = {k: v for k, v in station("CT04").items() if k != "@context"}
    bad = client.post(url, json=no_ctx, headers={**auth, **LD})
    assert (bad.status_code, bad.json()["type"]) == (400, ERR + "BadRequestData")
    body_ctx = client.post(
        url, json=station("CT05"), headers={**auth, "Content-Type": "application/json"}
    )
    assert body_ctx.status_code == 400
    unknown = {**station("CT06"), "@context": ["https://example.org/ctx.jsonld"]}
    refused = client.post(url, json=unknown, headers={**auth, **LD})
    assert refused.status_code == 503
    assert refused.json()["type"] == ERR + "LdContextNotAvailable"
    assert "https://example.org/ctx.jsonld" in refused.json()["detail"]
    broken = client.post(url, content=b"{not json", headers={**auth, **LD})
    assert (broken.status_code, broken.json()["type"]) == (400, ERR + "InvalidRequest")
    anonymous = client.get(url + "/urn:ngsi-ld:X:nope")
    assert anonymous.status_code == 401 and "title" in anonymous.json()


def test_update_append_and_delete_attributes(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    auth = {**admin(headers_for), **LINK_WQ}
    client.post("/ngsi-ld/v1/entities", json=station("CT07"), headers={**admin(headers_for), **LD})
    url = "/ngsi-ld/v1/entities/urn:ngsi-ld:WaterQualityObserved:CT07"
    patched = client.patch(
        url + "/attrs", json={"pH": {"type": "Property", "value": 6.8}}, headers=auth
    )
    assert patched.status_code == 204, patched.text
    partly = client.patch(
        url + "/attrs",
        json={
            "pH": {"type": "Property", "value": 6.9},
            "turbidity": {"type": "Property", "value": 3},
        },
        headers=auth,
    )
    assert partly.status_code == 207
    assert partly.json()["notUpdated"][0]["attributeName"] == "turbidity"
    kept = client.post(
        url + "/attrs",
        params={"options": "noOverwrite"},
        json={
            "pH": {"type": "Property", "value": 1.0},
            "turbidity": {"type": "Property", "value": 3},
        },
        headers=auth,
    )
    assert kept.status_code == 207 and kept.json()["updated"] == ["turbidity"]
    values = client.get(url, params={"options": "keyValues"}, headers=auth).json()
    assert (values["pH"], values["turbidity"]) == (6.9, 3)
    assert client.delete(url + "/attrs/turbidity", headers=auth).status_code == 204
    assert "turbidity" not in client.get(url, headers=auth).json()
    assert client.delete(url, headers=auth).status_code == 204
    assert client.get(url, headers=auth).status_code == 404
    assert client.delete(url, headers=auth).status_code == 404


def test_batch_operations_report_per_entity(client, headers_for, database: Database) -> None:  # type: ignore[no-untyped-def]
    auth = {**admin(headers_for), **LD}
    ops = "/ngsi-ld/v1/entityOperations/"
    good = [station(f"B{i}") for i in range(3)]
    created = client.post(ops + "create", json=good, headers=auth)
    assert created.status_code == 201 and sorted(created.json()) == sorted(e["id"] for e in good)
    bad = {**station("B9"), "location": {"type": "GeoProperty", "value": {"type": "Point"}}}
    mixed = client.post(
        ops + "upsert", json=[station("B0", salinity=9.0), bad, station("B3")], headers=auth
    )
    assert mixed.status_code == 207
    result = mixed.json()
    assert sorted(result["success"]) == [
        "urn:ngsi-ld:WaterQualityObserved:B0",
        "urn:ngsi-ld:WaterQualityObserved:B3",
    ]
    assert result["errors"][0]["entityId"] == "urn:ngsi-ld:WaterQualityObserved:B9"
    assert result["errors"][0]["error"]["type"] == ERR + "BadRequestData"
    again = client.post(ops + "upsert", json=[station("B0", salinity=9.5)], headers=auth)
    assert again.status_code == 204
    update = client.post(
        ops + "update",
        json=[
            {
                "id": "urn:ngsi-ld:WaterQualityObserved:B1",
                "pH": {"type": "Property", "value": 8.0},
                "@context": [WQ],
            },
            {"id": "urn:ngsi-ld:X:none", "@context": [WQ], "pH": {"type": "Property", "value": 1}},
        ],
        headers=auth,
    )
    assert update.status_code == 207 and update.json()["errors"][0]["error"]["status"] == 404
    deleted = client.post(
        ops + "delete",
        json=["urn:ngsi-ld:WaterQualityObserved:B2"],
        headers={**auth, "Content-Type": "application/json"},
    )
    assert deleted.status_code == 204
    with database.session() as session:
        ids = set(session.scalars(select(Entity.entity_id)))
    assert ids == {f"urn:ngsi-ld:WaterQualityObserved:B{i}" for i in (0, 1, 3)}


def test_query_by_type_q_and_geometry(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    auth = {**admin(headers_for), **LINK_WQ}
    stations = [
        station("Q1", salinity=0.5, lon=105.78, lat=10.03),
        station("Q2", salinity=4.0, lon=105.79, lat=10.04),
        station("Q3", salinity=8.0, lon=106.30, lat=9.60),
    ]
    client.post(
        "/ngsi-ld/v1/entityOperations/create", json=stations, headers={**admin(headers_for), **LD}
    )
    url = "/ngsi-ld/v1/entities"

    def ids(**params: Any) -> list[str]:
        answer = client.get(url, params={"type": "WaterQualityObserved", **params}, headers=auth)
        assert answer.status_code == 200, answer.text
        return [e["id"].rsplit(":", 1)[1] for e in answer.json()]

    assert ids() == ["Q1", "Q2", "Q3"]
    assert ids(q="salinity>1") == ["Q2", "Q3"]
    assert ids(q="salinity>=4;salinity<8") == ["Q2"]
    assert ids(q="salinity<1|salinity==8") == ["Q1", "Q3"]
    assert ids(q="(salinity<1|salinity>7);pH==7.1") == ["Q1", "Q3"]
    assert ids(q='name=="Trạm Q2"') == ["Q2"]
    assert ids(q="salinity==0..4") == ["Q1", "Q2"]
    assert ids(q="refDevice==urn:ngsi-ld:Device:Q3") == ["Q3"]
    assert ids(q="turbidity") == []
    assert ids(
        georel="near;maxDistance==2000", geometry="Point", coordinates="[105.781,10.031]"
    ) == ["Q1", "Q2"]
    square = "[[[106.0,9.0],[107.0,9.0],[107.0,10.0],[106.0,10.0],[106.0,9.0]]]"
    assert ids(georel="within", geometry="Polygon", coordinates=square) == ["Q3"]
    assert ids(georel="intersects", geometry="Polygon", coordinates=square) == ["Q3"]
    assert ids(limit=1, offset=1) == ["Q2"]
    counted = client.get(
        url, params={"type": "WaterQualityObserved", "count": "true", "limit": 1}, headers=auth
    )
    assert counted.headers["NGSILD-Results-Count"] == "3"
    simple = client.get(
        url,
        params={
            "type": "WaterQualityObserved",
            "attrs": "salinity",
            "options": "keyValues",
            "q": "salinity>5",
        },
        headers=auth,
    )
    assert simple.json() == [
        {
            "id": "urn:ngsi-ld:WaterQualityObserved:Q3",
            "type": "WaterQualityObserved",
            "salinity": 8.0,
        }
    ]
    bad_q = client.get(
        url, params={"type": "WaterQualityObserved", "q": "salinity>>"}, headers=auth
    )
    assert bad_q.status_code == 400 and bad_q.json()["type"] == ERR + "BadRequestData"
    assert client.get(url, headers=auth).status_code == 400  # no restriction at all
    types = client.get("/ngsi-ld/v1/types", headers=auth).json()
    assert types["typeList"] == ["WaterQualityObserved"]


def test_temporal_values_come_from_the_observation_store(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    auth = {**admin(headers_for), **LD}
    for hour, value in ((1, 2.0), (2, 3.0), (3, 4.5)):
        upsert(client, auth, [station("T1", salinity=value, when=f"2026-11-27T0{hour}:00:00Z")])
    url = "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:WaterQualityObserved:T1"
    link = {**admin(headers_for), **LINK_WQ}
    got = client.get(
        url,
        params={"attrs": "salinity", "timerel": "after", "timeAt": "2026-11-27T01:30:00Z"},
        headers=link,
    )
    assert got.status_code == 200, got.text
    instances = got.json()["salinity"]
    assert all(i.pop("instanceId").startswith("urn:ngsi-ld:Instance:") for i in instances)
    assert instances == [
        {"type": "Property", "value": 3.0, "observedAt": "2026-11-27T02:00:00Z", "unitCode": "PPT"},
        {"type": "Property", "value": 4.5, "observedAt": "2026-11-27T03:00:00Z", "unitCode": "PPT"},
    ]
    compact = client.get(
        url,
        params={
            "attrs": "salinity",
            "options": "temporalValues",
            "timerel": "between",
            "timeAt": "2026-11-27T00:00:00Z",
            "endTimeAt": "2026-11-27T02:00:00Z",
        },
        headers=link,
    )
    assert compact.json()["salinity"]["values"] == [[2.0, "2026-11-27T01:00:00Z"]]


def test_temporal_query_over_many_entities(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    """``GET /temporal/entities``: the entities a query selects, each as its own temporal
    retrieval answers, with the page and count of ``GET /entities``."""
    auth = {**admin(headers_for), **LD}
    for hour, value in ((1, 2.0), (2, 3.0)):
        upsert(
            client,
            auth,
            [
                station(
                    local,
                    salinity=value + n,
                    lon=105.78 + n / 10,
                    when=f"2026-11-27T0{hour}:00:00Z",
                )
                for n, local in enumerate(("Q1", "Q2", "Q3"))
            ],
        )
    link = {**admin(headers_for), **LINK_WQ}
    window = {"timerel": "after", "timeAt": "2026-11-27T00:00:00Z", "attrs": "salinity"}
    got = client.get(
        "/ngsi-ld/v1/temporal/entities",
        params={"type": "WaterQualityObserved", "q": "salinity>3.5", "count": "true", **window},
        headers=link,
    )
    assert got.status_code == 200, got.text
    assert got.headers["NGSILD-Results-Count"] == "2"  # Q2 and Q3 now hold 4.0 and 5.0
    body = got.json()
    assert [e["id"].rsplit(":", 1)[1] for e in body] == ["Q2", "Q3"]
    assert [i["value"] for i in body[0]["salinity"]] == [3.0, 4.0]
    assert set(body[0]) == {"id", "type", "salinity"}  # attrs= limits the attributes
    for entity in body:  # exactly what the single-entity route answers
        one = client.get(
            f"/ngsi-ld/v1/temporal/entities/{entity['id']}", params=window, headers=link
        )
        assert one.json() == entity
    near = client.get(
        "/ngsi-ld/v1/temporal/entities",
        params={
            "type": "WaterQualityObserved",
            "georel": "near;maxDistance==5000",
            "geometry": "Point",
            "coordinates": "[105.78,10.03]",
            "options": "temporalValues",
            "lastN": "1",
            "limit": "1",
        },
        headers=link,
    )
    assert near.status_code == 200, near.text
    assert near.json()[0]["salinity"]["values"] == [[3.0, "2026-11-27T02:00:00Z"]]
    assert near.json()[0]["id"].endswith(":Q1")
    # The same refusals as GET /entities, as ProblemDetails.
    for params in ({}, {"type": "WaterQualityObserved", "limit": "5000"}):
        refused = client.get("/ngsi-ld/v1/temporal/entities", params=params, headers=link)
        assert refused.status_code in (400, 403), refused.text
        assert refused.json()["type"].startswith(ERR)
    assert client.get("/ngsi-ld/v1/temporal/entities", params={"type": "X"}).status_code == 401


def test_officers_write_and_see_only_their_agency(
    client, headers_for, agency, database: Database
) -> None:  # type: ignore[no-untyped-def]
    agency("STNMT")
    agency("SXD")
    mine = {**headers_for("agency_officer", ["STNMT"]), **LD}
    theirs = {**headers_for("agency_officer", ["SXD"]), **LD}
    assert client.post("/ngsi-ld/v1/entities", json=station("A1"), headers=mine).status_code == 201
    with database.session() as session:
        entity = session.scalars(select(Entity).where(Entity.entity_id.like("%A1"))).one()
        assert entity.agency_id is not None
    url = "/ngsi-ld/v1/entities/urn:ngsi-ld:WaterQualityObserved:A1"
    assert client.get(url, headers=mine).status_code == 200
    assert client.get(url, headers=theirs).status_code == 404  # as if it did not exist
    patch = client.patch(
        url + "/attrs",
        json={"pH": {"type": "Property", "value": 1}},
        headers={**theirs, **LINK_WQ, "Content-Type": "application/json"},
    )
    assert patch.status_code == 404
    assert client.delete(url, headers=theirs).status_code == 404
    listed = client.get(
        "/ngsi-ld/v1/entities",
        params={"type": "WaterQualityObserved"},
        headers={**theirs, **LINK_WQ},
    )
    assert listed.json() == []
    viewer = headers_for("viewer")
    refused = client.post("/ngsi-ld/v1/entities", json=station("A2"), headers={**viewer, **LD})
    assert refused.status_code == 403 and refused.json()["status"] == 403


def test_upsert_replaces_unless_asked_to_merge(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    auth = {**admin(headers_for), **LD}
    ops = "/ngsi-ld/v1/entityOperations/upsert"
    entity = station("U1")
    assert client.post(ops, json=[entity], headers=auth).status_code == 201
    smaller = {k: v for k, v in entity.items() if k != "pH"}
    merged = client.post(ops, json=[smaller], params={"options": "update"}, headers=auth)
    assert merged.status_code == 204
    url = "/ngsi-ld/v1/entities/urn:ngsi-ld:WaterQualityObserved:U1"
    link = {**admin(headers_for), **LINK_WQ}
    assert "pH" in client.get(url, headers=link).json()
    assert client.post(ops, json=[smaller], headers=auth).status_code == 204
    assert "pH" not in client.get(url, headers=link).json()


def test_accept_header_and_system_attributes(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    auth = admin(headers_for)
    client.post("/ngsi-ld/v1/entities", json=station("S1"), headers={**auth, **LD})
    url = "/ngsi-ld/v1/entities/urn:ngsi-ld:WaterQualityObserved:S1"
    refused = client.get(url, headers={**auth, "Accept": "text/html"})
    assert refused.status_code == 406 and refused.json()["status"] == 406
    body = client.get(url, params={"options": "sysAttrs"}, headers=auth).json()
    assert body["createdAt"].endswith("Z") and body["modifiedAt"] >= body["createdAt"]
    assert "createdAt" not in client.get(url, headers=auth).json()


def test_an_officer_of_several_agencies_names_the_owner(  # type: ignore[no-untyped-def]
    client, headers_for, agency, database: Database
) -> None:
    agency("STNMT")
    wanted = agency("SNN")
    officer = {**headers_for("agency_officer", ["SNN", "STNMT"]), **LD}
    foreign = client.post(
        "/ngsi-ld/v1/entities", json=station("G0"), headers={**officer, "Taydo-Agency": "SYT"}
    )
    assert foreign.status_code == 400
    created = client.post(
        "/ngsi-ld/v1/entities", json=station("G1"), headers={**officer, "Taydo-Agency": "SNN"}
    )
    assert created.status_code == 201
    with database.session() as session:
        owner = session.scalar(select(Entity.agency_id).where(Entity.entity_id.like("%G1")))
    assert owner == wanted


def test_every_write_is_in_the_audit_journal(client, headers_for, database: Database) -> None:  # type: ignore[no-untyped-def]
    from taydo.auth import journal

    auth = {**admin(headers_for), **LD}
    client.post(
        "/ngsi-ld/v1/entityOperations/create", json=[station("J1"), station("J2")], headers=auth
    )
    client.delete("/ngsi-ld/v1/entities/urn:ngsi-ld:WaterQualityObserved:J1", headers=auth)
    table = journal._journal  # the journal's own table
    with database.engine.connect() as connection:
        rows = connection.execute(
            select(table.c.action, table.c.object_id).order_by(table.c.id)
        ).all()
    assert [tuple(r) for r in rows if r[0].startswith("ngsild.")] == [
        ("ngsild.create", "batch"),
        ("ngsild.delete", "urn:ngsi-ld:WaterQualityObserved:J1"),
    ]


def test_an_entity_lands_in_the_ward_holding_its_location(  # type: ignore[no-untyped-def]
    client, headers_for, database: Database
) -> None:
    from taydo.geo import service as geo
    from taydo.geo.models import Area

    with database.session() as session:
        session.add(Area(code="92", name="Thành phố Cần Thơ", kind="thanh_pho", level=1))
        session.flush()
        session.add(
            Area(code="31117", name="Phường Ninh Kiều", kind="phuong", level=2, parent_code="92")
        )
    ring = [[105.70, 9.95], [105.85, 9.95], [105.85, 10.10], [105.70, 10.10], [105.70, 9.95]]
    geo.set_area_geometry(database, "31117", {"type": "Polygon", "coordinates": [ring]})
    auth = {**admin(headers_for), **LD}
    inside, outside = station("W1"), station("W2", lon=106.5, lat=9.2)
    client.post("/ngsi-ld/v1/entityOperations/create", json=[inside, outside], headers=auth)
    with database.session() as session:
        areas = {e: a for e, a in session.execute(select(Entity.entity_id, Entity.area_code))}
    assert areas == {inside["id"]: "31117", outside["id"]: None}


def test_impossible_values_go_to_quarantine_not_the_series(  # type: ignore[no-untyped-def]
    client, headers_for, database: Database
) -> None:
    from taydo.ingest.models import QuarantineEntry

    auth = {**admin(headers_for), **LD}
    ops = "/ngsi-ld/v1/entityOperations/upsert"
    assert client.post(ops, json=[station("V1")], headers=auth).status_code == 201
    with database.session() as session:
        metric = session.scalars(select(Metric).where(Metric.name == "salinity")).one()
        metric.min_valid, metric.max_valid = 0.0, 40.0
    later = station("V1", salinity=999.0, when="2026-11-27T02:00:00Z")
    assert client.post(ops, json=[later], headers=auth).status_code == 204
    with database.session() as session:
        entries = session.scalars(select(QuarantineEntry)).all()
        assert [(e.source, "salinity=999.0" in e.reason) for e in entries] == [("ngsi-ld", True)]
    temporal = client.get(
        "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:WaterQualityObserved:V1",
        params={"attrs": "salinity"},
        headers={**admin(headers_for), **LINK_WQ},
    )
    assert [i["value"] for i in temporal.json()["salinity"]] == [2.5]


def test_attribute_changes_alone_are_announced_with_their_names(app, client, headers_for) -> None:  # type: ignore[no-untyped-def]
    """A change of attribute values only (no series, type or place) is announced as
    ``catalog.attributes_changed`` with the names changed; observed values and writes that
    change nothing are not."""
    heard: list[Any] = []

    async def listen(event: Any) -> None:
        heard.append(event.data)

    async def subscribe() -> None:  # on the running app's event loop
        runtime_of(app).bus.subscribe("catalog.attributes_changed", listen)

    client.portal.call(subscribe)

    markers = iter(range(1_000))

    def announced() -> list[Any]:
        """Everything announced so far. A request publishes its announcement before it
        answers, and one subscription hears its events in order, so once a marker published
        after the request is heard, whatever the request announced has been heard too."""
        marker = {"entity_ids": [], "attributes": [], "marker": next(markers)}  # changes nothing
        client.portal.call(runtime_of(app).bus.publish, "catalog.attributes_changed", marker)
        deadline = time.monotonic() + 10
        while marker not in heard:
            assert time.monotonic() < deadline, "the marker was never heard"
            time.sleep(0.01)
        return [event for event in heard if "marker" not in event]

    auth = {**admin(headers_for), **LINK_WQ}
    url = "/ngsi-ld/v1/entities/urn:ngsi-ld:WaterQualityObserved:AT1"
    client.post("/ngsi-ld/v1/entities", json=station("AT1"), headers={**admin(headers_for), **LD})
    assert announced() == []  # a new entity is a catalog change, announced as such

    later = {"type": "Property", "value": 2.9, "observedAt": "2026-11-27T02:00:00Z"}
    same_ph = {"type": "Property", "value": 7.1}
    unchanged = client.patch(url + "/attrs", json={"salinity": later, "pH": same_ph}, headers=auth)
    assert unchanged.status_code == 204, unchanged.text
    assert announced() == []  # a new observed value and an unchanged pH change nothing

    renamed = {"type": "Property", "value": "Trạm Phong Điền"}
    changes = {"pH": {"type": "Property", "value": 6.5}, "name": renamed}
    assert client.patch(url + "/attrs", json=changes, headers=auth).status_code == 204
    assert client.delete(url + "/attrs/temperature", headers=auth).status_code == 204
    assert announced() == [
        {"entity_ids": ["urn:ngsi-ld:WaterQualityObserved:AT1"], "attributes": ["name", "pH"]},
        {"entity_ids": ["urn:ngsi-ld:WaterQualityObserved:AT1"], "attributes": ["temperature"]},
    ]


def test_concurrent_writes_to_one_entity_lose_nothing(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    """Writers that race on one entity are serialised: every appended attribute survives, and
    racing upserts of the same new entity create it once, each answered without error."""
    auth = {**admin(headers_for), **LD}
    ops = "/ngsi-ld/v1/entityOperations/upsert"
    new = station("RACE")
    with ThreadPoolExecutor(max_workers=6) as pool:
        created = list(pool.map(lambda _: client.post(ops, json=[new], headers=auth), range(6)))
    assert sorted(answer.status_code for answer in created) == [201] + [204] * 5

    url = "/ngsi-ld/v1/entities/urn:ngsi-ld:WaterQualityObserved:RACE"
    link = {**admin(headers_for), **LINK_WQ}

    def append(n: int) -> int:
        body = {f"note{n}": {"type": "Property", "value": n}}
        return int(client.post(url + "/attrs", json=body, headers=link).status_code)

    with ThreadPoolExecutor(max_workers=6) as pool:
        assert set(pool.map(append, range(24))) == {204}
    stored = client.get(url, params={"options": "keyValues"}, headers=link).json()
    assert {name for name in stored if name.startswith("note")} == {f"note{n}" for n in range(24)}


def test_temporal_retrieval_is_the_same_after_compaction(  # type: ignore[no-untyped-def]
    client, headers_for, database: Database
) -> None:
    from datetime import datetime

    from taydo.observations.compaction import compact_database

    auth = {**admin(headers_for), **LD}
    for when, value in (("01:00", 2.0), ("01:30", 2.5), ("02:00", 3.0), ("03:00", 4.5)):
        upsert(client, auth, [station("K1", salinity=value, when=f"2026-11-20T{when}:00Z")])
    url = "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:WaterQualityObserved:K1"
    link = {**admin(headers_for), **LINK_WQ}
    queries = [
        {},
        {"attrs": "salinity", "lastN": "3"},
        {"attrs": "salinity", "timerel": "after", "timeAt": "2026-11-20T01:15:00Z"},
        {
            "attrs": "salinity",
            "options": "temporalValues",
            "timerel": "between",
            "timeAt": "2026-11-20T01:30:00Z",
            "endTimeAt": "2026-11-20T03:00:00Z",
        },
    ]
    before = [client.get(url, params=q, headers=link).json() for q in queries]
    assert [i["value"] for i in before[1]["salinity"]] == [2.5, 3.0, 4.5]
    # Hours 01 and 02 are packed; 03 stays raw: answers mix both.
    three = int(datetime.fromisoformat("2026-11-20T03:00:00+00:00").timestamp() * 1000)
    assert compact_database(database, three).points == 6  # salinity and temperature
    assert [client.get(url, params=q, headers=link).json() for q in queries] == before
