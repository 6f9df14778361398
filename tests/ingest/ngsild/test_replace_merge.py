"""Replace Entity (PUT /entities/{id}) and Merge Entity (PATCH /entities/{id}), ETSI GS CIM
009 §5.6.17–5.6.18, on the catalog and the observation store."""

from __future__ import annotations

from .conftest import LD
from .test_api import LINK_WQ, station

ERR = "https://uri.etsi.org/ngsi-ld/errors/"
URL = "/ngsi-ld/v1/entities/urn:ngsi-ld:WaterQualityObserved:M1"
MERGE = {"Content-Type": "application/merge-patch+json"}


def _created(client, headers) -> None:  # type: ignore[no-untyped-def]
    answer = client.post("/ngsi-ld/v1/entities", json=station("M1"), headers={**headers, **LD})
    assert answer.status_code == 201, answer.text


def _read(client, headers) -> dict:  # type: ignore[no-untyped-def]
    answer = client.get(URL, params={"options": "keyValues"}, headers={**headers, **LINK_WQ})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_merge_adds_overwrites_and_deletes_with_ngsi_ld_null(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    _created(client, admin)
    merged = client.patch(
        URL,
        json={
            "pH": {"type": "Property", "value": 6.5},
            "temperature": {"type": "Property", "value": "urn:ngsi-ld:null"},
            "turbidity": {"type": "Property", "value": 3},
            "salinity": {"type": "Property", "value": 7.25, "observedAt": "2026-11-27T02:00:00Z"},
        },
        headers={**admin, **LINK_WQ, **MERGE},
    )
    assert merged.status_code == 204, merged.text
    entity = _read(client, admin)
    assert entity["pH"] == 6.5 and entity["turbidity"] == 3 and entity["salinity"] == 7.25
    assert "temperature" not in entity
    assert entity["name"] == "Trạm M1" and entity["refDevice"] == "urn:ngsi-ld:Device:M1"
    # a numeric value with its time is an observation too: the history holds both
    history = client.get(
        "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:WaterQualityObserved:M1",
        params={"attrs": "salinity", "options": "temporalValues"},
        headers={**admin, **LINK_WQ},
    ).json()
    assert [v[0] for v in history["salinity"]["values"]] == [2.5, 7.25]
    # plain application/json is accepted too
    again = client.patch(
        URL, json={"pH": {"type": "Property", "value": 7}}, headers={**admin, **LINK_WQ}
    )
    assert again.status_code == 204 and _read(client, admin)["pH"] == 7


def test_replace_keeps_only_the_bodys_attributes(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    _created(client, admin)
    replaced = client.put(
        URL,
        json={"type": "WaterQualityObserved", "pH": {"type": "Property", "value": 8.1}},
        headers={**admin, **LINK_WQ, "Content-Type": "application/json"},
    )
    assert replaced.status_code == 204, replaced.text
    entity = _read(client, admin)
    assert entity["pH"] == 8.1
    assert not {"salinity", "temperature", "name", "refDevice"} & set(entity)


def test_replace_and_merge_refuse_what_they_must(client, headers_for, agency) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    body = {"pH": {"type": "Property", "value": 6.5}}
    for method in ("PUT", "PATCH"):
        missing = client.request(method, URL, json=body, headers={**admin, **LINK_WQ})
        assert missing.status_code == 404 and missing.json()["type"] == ERR + "ResourceNotFound"
    agency("STNMT")
    agency("SXD")
    _created(client, headers_for("agency_officer", ["STNMT"]))
    theirs = {**headers_for("agency_officer", ["SXD"]), **LINK_WQ}
    for method in ("PUT", "PATCH"):
        hidden = client.request(method, URL, json=body, headers=theirs)
        assert hidden.status_code == 404, hidden.text
        other_id = client.request(
            method, URL, json={**body, "id": "urn:ngsi-ld:X:2"}, headers={**admin, **LINK_WQ}
        )
        assert other_id.status_code == 400 and other_id.json()["type"] == ERR + "BadRequestData"
        not_json = client.request(
            method, URL, content=b"pH=1", headers={**admin, "Content-Type": "text/plain"}
        )
        assert not_json.status_code == 415
    merge_on_put = client.put(URL, json=body, headers={**admin, **LINK_WQ, **MERGE})
    assert merge_on_put.status_code == 415  # merge-patch is for PATCH only
    viewer = client.patch(URL, json=body, headers={**headers_for("viewer"), **LINK_WQ})
    assert viewer.status_code == 403
