"""The temporal history of non-numeric attribute values (ETSI GS CIM 009 v1.8 §4.5.8–4.5.9
temporal representations, §4.5.19 aggregation, §5.6.11–5.6.16 temporal writes, §5.7.3–5.7.4
reads), written from the spec's text: texts, booleans, JSON, GeoProperties, Relationships and
LanguageProperties keep their instances like numbers do, against SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from taydo.core.db import Database
from taydo.ingest.ngsild import history as history_table

from .conftest import LD
from .test_temporal_api import BASE, EID, LINK_WQ, WQ, at, create, history, read, temporal_entity

ENTITIES = "/ngsi-ld/v1/entities"
UPSERT = "/ngsi-ld/v1/entityOperations/upsert"
QUERY = "/ngsi-ld/v1/temporal/entityOperations/query"


@pytest.fixture
def auth(headers_for) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return headers_for("admin")


def rows(database: Database) -> int:
    with database.engine.connect() as connection:
        found = connection.execute(select(func.count()).select_from(history_table.TABLE))
        return int(found.scalar_one())


def station(n: int, status: str, when: str) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:WaterQualityObserved:H{n}",
        "type": "WaterQualityObserved",
        "status": {"type": "Property", "value": status, "observedAt": when},
        "refDevice": {"type": "Relationship", "object": f"urn:ngsi-ld:Device:{n}"},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [105.7, 10]}},
        "salinity": {"type": "Property", "value": 1.0 + n, "observedAt": when},
        "@context": [WQ],
    }


def test_entity_writes_keep_the_history_of_changed_values(client, auth, database) -> None:  # type: ignore[no-untyped-def]
    made = client.post(ENTITIES, json=station(1, "ok", at(1)), headers={**auth, **LD})
    assert made.status_code == 201, made.text
    assert rows(database) == 3  # status, refDevice, location (salinity is a series)
    # An update with a new value: one more instance of that attribute only.
    url = f"{ENTITIES}/urn:ngsi-ld:WaterQualityObserved:H1/attrs"
    patch = {"status": {"type": "Property", "value": "alarm", "observedAt": at(2)}}
    assert client.patch(url, json=patch, headers={**auth, **LINK_WQ}).status_code == 204
    # Merge (PATCH /entities/{id}) and replace (PUT) append too.
    merge = {"refDevice": {"type": "Relationship", "object": "urn:ngsi-ld:Device:9"}}
    merged = client.patch(
        f"{ENTITIES}/urn:ngsi-ld:WaterQualityObserved:H1", json=merge, headers={**auth, **LINK_WQ}
    )
    assert merged.status_code == 204, merged.text
    assert rows(database) == 5
    body = read(client, auth, "urn:ngsi-ld:WaterQualityObserved:H1").json()
    assert [i["value"] for i in body["status"]] == ["ok", "alarm"]
    assert [i["observedAt"] for i in body["status"]] == [at(1), at(2)]
    assert [i["object"] for i in body["refDevice"]] == [
        "urn:ngsi-ld:Device:1",
        "urn:ngsi-ld:Device:9",
    ]
    # Observed at no time: kept at the time of the write, shown as its modifiedAt.
    assert all("modifiedAt" in i and "observedAt" not in i for i in body["refDevice"])
    ids = [i["instanceId"] for i in body["status"] + body["refDevice"] + body["location"]]
    assert len(set(ids)) == 5 and all(i.startswith("urn:ngsi-ld:Instance:h-") for i in ids)
    assert body["location"][0]["value"]["type"] == "Point"
    assert [i["value"] for i in body["salinity"]] == [2.0]  # numbers still from the series
    # A text where a number was: both histories, merged in time order.
    broken = {"salinity": {"type": "Property", "value": "sensor lỗi", "observedAt": at(3)}}
    assert client.patch(url, json=broken, headers={**auth, **LINK_WQ}).status_code == 204
    body = read(client, auth, "urn:ngsi-ld:WaterQualityObserved:H1", attrs="salinity").json()
    assert [i["value"] for i in body["salinity"]] == [2.0, "sensor lỗi"]
    newest = read(client, auth, "urn:ngsi-ld:WaterQualityObserved:H1", attrs="salinity", lastN=1)
    assert [i["value"] for i in newest.json()["salinity"]] == ["sensor lỗi"]


def test_a_batch_upsert_of_unchanged_entities_adds_no_instances(client, auth, database) -> None:  # type: ignore[no-untyped-def]
    batch = [station(n, "ok", at(1)) for n in range(5)]
    first = client.post(UPSERT, json=batch, headers={**auth, **LD})
    assert first.status_code == 201, first.text
    assert rows(database) == 15
    # The steady state of a feed: the same values (new numbers only): nothing appended.
    again = [{**station(n, "ok", at(1)), "salinity": {"type": "Property", "value": 9.0,
              "observedAt": at(2)}} for n in range(5)]  # fmt: skip
    assert client.post(UPSERT, json=again, headers={**auth, **LD}).status_code == 204
    assert rows(database) == 15
    # The same value observed at another time is a new instance; so is a new value.
    later = [station(0, "ok", at(3)), station(1, "down", at(1))]
    assert client.post(UPSERT, json=later, headers={**auth, **LD}).status_code == 204
    assert rows(database) == 17
    body = read(client, auth, "urn:ngsi-ld:WaterQualityObserved:H1", attrs="status").json()
    assert [i["value"] for i in body["status"]] == ["ok", "down"]


def test_a_new_entity_has_only_the_instances_it_was_created_with(client, auth, database) -> None:  # type: ignore[no-untyped-def]
    # A batch creating entities takes no "before" snapshot of them (they held nothing): each
    # non-numeric attribute gets exactly its one instance, no empty or earlier one. The
    # same new id named twice in one batch: the second operation sees the first's values.
    first, again = station(7, "ok", at(1)), station(7, "down", at(1))
    made = client.post(UPSERT, json=[station(6, "ok", at(1)), first, again], headers={**auth, **LD})
    assert made.status_code == 201, made.text
    assert rows(database) == 3 + 4  # H6: status, refDevice, location; H7: status twice
    body = read(client, auth, "urn:ngsi-ld:WaterQualityObserved:H6").json()
    assert [i["value"] for i in body["status"]] == ["ok"]
    assert [i["object"] for i in body["refDevice"]] == ["urn:ngsi-ld:Device:6"]
    assert len(body["location"]) == 1
    assert [i["value"] for i in body["salinity"]] == [7.0]  # the series, not the history
    body = read(client, auth, "urn:ngsi-ld:WaterQualityObserved:H7").json()
    assert [i["value"] for i in body["status"]] == ["ok", "down"]
    assert [i["object"] for i in body["refDevice"]] == ["urn:ngsi-ld:Device:7"]


def test_temporal_writes_of_non_numeric_instances(client, auth) -> None:  # type: ignore[no-untyped-def]
    body = temporal_entity(
        **history([(at(1), 2.0), (at(2), 3.0)]),
        status=[
            {"type": "Property", "value": "ok", "observedAt": at(1)},
            {"type": "Property", "value": "alarm", "observedAt": at(3)},
            {"type": "Property", "value": "ok", "observedAt": at(2)},
        ],
        online=[
            {"type": "Property", "value": True, "observedAt": at(1)},
            {"type": "Property", "value": False, "observedAt": at(2)},
        ],
        refDevice=[
            {"type": "Relationship", "object": "urn:ngsi-ld:Device:A", "observedAt": at(1)},
            {"type": "Relationship", "object": "urn:ngsi-ld:Device:B", "observedAt": at(2)},
        ],
        label=[
            {
                "type": "LanguageProperty",
                "languageMap": {"vi": "Trạm", "en": "Station"},
                "observedAt": at(1),
            },
        ],
        reading=[
            {
                "type": "JsonProperty",
                "json": {"raw": [1, 2]},
                "observedAt": at(1),
                "datasetId": "urn:ngsi-ld:Dataset:raw",
            },
            {
                "type": "JsonProperty",
                "json": {"raw": [3]},
                "observedAt": at(2),
                "datasetId": "urn:ngsi-ld:Dataset:raw",
            },
        ],
    )
    assert create(client, auth, body).status_code == 201
    # The current state is each attribute's newest instance.
    current = client.get(f"{ENTITIES}/{EID}", params={"options": "keyValues"},
                         headers={**auth, **LINK_WQ}).json()  # fmt: skip
    assert current["status"] == "alarm" and current["online"] is False
    got = read(client, auth).json()
    assert [i["value"] for i in got["status"]] == ["ok", "ok", "alarm"]  # in time order
    assert [i["value"] for i in got["online"]] == [True, False]
    assert got["label"][0]["languageMap"] == {"vi": "Trạm", "en": "Station"}
    assert [i["datasetId"] for i in got["reading"]] == ["urn:ngsi-ld:Dataset:raw"] * 2
    # The simplified representation: the member of each type (§4.5.9).
    simple = read(client, auth, options="temporalValues").json()
    assert simple["status"] == {
        "type": "Property", "values": [["ok", at(1)], ["ok", at(2)], ["alarm", at(3)]]
    }  # fmt: skip
    assert simple["refDevice"] == {
        "type": "Relationship",
        "objects": [["urn:ngsi-ld:Device:A", at(1)], ["urn:ngsi-ld:Device:B", at(2)]],
    }
    assert simple["label"]["languageMaps"] == [[{"vi": "Trạm", "en": "Station"}, at(1)]]
    assert simple["reading"]["jsons"] == [[{"raw": [1, 2]}, at(1)], [{"raw": [3]}, at(2)]]
    assert simple["salinity"]["values"] == [[2.0, at(1)], [3.0, at(2)]]
    # timerel and lastN apply as to numbers.
    window = read(client, auth, attrs="status", timerel="before", timeAt=at(3)).json()
    assert [i["observedAt"] for i in window["status"]] == [at(1), at(2)]
    newest = read(client, auth, attrs="status,salinity", lastN=1).json()
    assert [i["value"] for i in newest["status"]] == ["alarm"]
    assert [i["value"] for i in newest["salinity"]] == [3.0]
    # Sending the same instances again stores them once; appending adds new ones.
    assert create(client, auth, body).status_code == 204
    assert len(read(client, auth, attrs="status").json()["status"]) == 3
    more = {"status": [{"type": "Property", "value": "ok", "observedAt": at(4)}], "@context": [WQ]}
    added = client.post(f"{BASE}/{EID}/attrs", json=more, headers={**auth, **LD})
    assert added.status_code == 204, added.text
    assert len(read(client, auth, attrs="status").json()["status"]) == 4


def test_aggregating_non_numeric_values(client, auth) -> None:  # type: ignore[no-untyped-def]
    statuses = ["ok", "alarm", "ok", "down"]
    body = temporal_entity(status=[
        {"type": "Property", "value": v, "observedAt": at(1, 10 * k)}
        for k, v in enumerate(statuses)
    ])  # fmt: skip
    assert create(client, auth, body).status_code == 201
    window = {"timerel": "between", "timeAt": at(1), "endTimeAt": at(2)}
    got = read(client, auth, attrs="status", aggrMethods="totalCount,distinctCount,min,max,sum,avg",
               aggrPeriodDuration="PT1H", **window).json()["status"]  # fmt: skip
    assert got["totalCount"] == [[4, at(1), at(2)]]
    assert got["distinctCount"] == [[3, at(1), at(2)]]
    assert got["min"] == [["alarm", at(1), at(2)]] and got["max"] == [["ok", at(1), at(2)]]
    # sum and avg are for numbers only (§4.5.19): no value for texts.
    assert got["sum"] == [[None, at(1), at(2)]] and got["avg"] == [[None, at(1), at(2)]]
    half = read(client, auth, attrs="status", aggrMethods="totalCount",
                aggrPeriodDuration="PT30M", **window).json()["status"]  # fmt: skip
    assert half["totalCount"] == [[3, at(1), at(1, 30)], [1, at(1, 30), at(2)]]


def test_modify_and_delete_non_numeric_instances(client, auth) -> None:  # type: ignore[no-untyped-def]
    body = temporal_entity(
        **history([(at(1), 2.0)]),
        status=[{"type": "Property", "value": v, "observedAt": at(h)}
                for h, v in ((1, "ok"), (2, "alarm"), (3, "ok"))],
        reading=[
            {"type": "Property", "value": "a", "observedAt": at(1), "datasetId": "urn:x:a"},
            {"type": "Property", "value": "b", "observedAt": at(1), "datasetId": "urn:x:b"},
        ],
    )  # fmt: skip
    assert create(client, auth, body).status_code == 201
    instances = read(client, auth, attrs="status").json()["status"]
    alarm = instances[1]["instanceId"]
    url = f"{BASE}/{EID}/attrs/status"
    patched = client.patch(f"{url}/{alarm}", json={"type": "Property", "value": "warn"},
                           headers={**auth, **LINK_WQ})  # fmt: skip
    assert patched.status_code == 204, patched.text
    after = read(client, auth, attrs="status").json()["status"]
    assert [(i["value"], i["observedAt"]) for i in after] == [
        ("ok", at(1)), ("warn", at(2)), ("ok", at(3))
    ]  # fmt: skip
    moved = client.patch(f"{url}/{alarm}", json={"value": "x", "observedAt": at(5)},
                         headers={**auth, **LINK_WQ})  # fmt: skip
    assert moved.status_code == 400
    other = client.patch(f"{BASE}/{EID}/attrs/reading/{alarm}", json={"value": "x"},
                         headers={**auth, **LINK_WQ})  # fmt: skip
    assert other.status_code == 404  # an instance of another attribute
    assert client.delete(f"{url}/{alarm}", headers={**auth, **LINK_WQ}).status_code == 204
    assert client.delete(f"{url}/{alarm}", headers={**auth, **LINK_WQ}).status_code == 404
    assert len(read(client, auth, attrs="status").json()["status"]) == 2
    # Delete Attribute (§5.6.13): one datasetId's instances, then the default ones.
    one = client.delete(f"{BASE}/{EID}/attrs/reading", params={"datasetId": "urn:x:a"},
                        headers={**auth, **LINK_WQ})  # fmt: skip
    assert one.status_code == 204, one.text
    assert [i["datasetId"] for i in read(client, auth, attrs="reading").json()["reading"]] == [
        "urn:x:b"
    ]
    unknown = client.delete(f"{BASE}/{EID}/attrs/reading", params={"datasetId": "urn:x:zz"},
                            headers={**auth, **LINK_WQ})  # fmt: skip
    assert unknown.status_code == 404
    assert client.delete(url, headers={**auth, **LINK_WQ}).status_code == 204
    assert "status" not in read(client, auth).json()
    # Delete Temporal Representation (§5.6.16): every history, numbers and others.
    assert client.delete(f"{BASE}/{EID}", headers=auth).status_code == 204
    assert set(read(client, auth).json()) == {"id", "type"}


def test_queries_and_pagination_include_non_numeric_instances(client, auth, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from taydo.ingest.ngsild import temporal

    for n in (1, 2):
        body = temporal_entity(f"urn:ngsi-ld:WaterQualityObserved:Q{n}", status=[
            {"type": "Property", "value": f"s{k}", "observedAt": at(k)} for k in range(1, 5)
        ])  # fmt: skip
        assert create(client, auth, body).status_code == 201
    params = {"type": "WaterQualityObserved", "attrs": "status"}
    got = client.get(BASE, params=params, headers={**auth, **LINK_WQ})
    assert got.status_code == 200, got.text
    assert [len(e["status"]) for e in got.json()] == [4, 4]
    query = {"type": "Query", "entities": [{"type": "WaterQualityObserved"}], "attrs": ["status"],
             "temporalQ": {"timerel": "after", "timeAt": at(3)}}  # fmt: skip
    posted = client.post(QUERY, json=query, headers={**auth, **LINK_WQ})
    assert posted.status_code == 200, posted.text
    assert [[i["value"] for i in e["status"]] for e in posted.json()] == [["s3", "s4"]] * 2
    # A history longer than an answer holds is cut: 206 and the range it covers.
    monkeypatch.setattr(temporal, "MAX_INSTANCES", 3)
    cut = client.get(f"{BASE}/urn:ngsi-ld:WaterQualityObserved:Q1", headers={**auth, **LINK_WQ})
    assert cut.status_code == 206
    assert [i["value"] for i in cut.json()["status"]] == ["s1", "s2", "s3"]
    assert cut.headers["Content-Range"] == f"date-time {at(1)}-{at(3)}/*"


def test_refusals(client, auth) -> None:  # type: ignore[no-untyped-def]
    numbers = {"salinity": [{"type": "Property", "value": 1, "observedAt": at(1),
                             "datasetId": "urn:x:1"}]}  # fmt: skip
    refused = create(client, auth, temporal_entity(**numbers))
    assert refused.status_code == 422
    bad = {"status": [{"type": "Property", "value": "a", "observedAt": "yesterday"}]}
    assert create(client, auth, temporal_entity(**bad)).status_code == 400
    relation = {"refDevice": [{"type": "Relationship", "object": 5, "observedAt": at(1)}]}
    assert create(client, auth, temporal_entity(**relation)).status_code == 400
    assert client.get(f"{BASE}/{EID}", headers=auth).status_code == 404
    good = temporal_entity(status=[{"type": "Property", "value": "a", "observedAt": at(1)}])
    assert create(client, auth, good).status_code == 201
    instance = read(client, auth).json()["status"][0]["instanceId"]
    url = f"{BASE}/{EID}/attrs/status/{instance}"
    for body in ([1], {"type": "Relationship", "object": 7}, {"type": "Nope"}):
        answer = client.patch(url, json=body, headers={**auth, **LINK_WQ})
        assert answer.status_code == 400, (body, answer.text)
    missing = client.patch(f"{BASE}/{EID}/attrs/status/urn:ngsi-ld:Instance:h-999999",
                           json={"value": "b"}, headers={**auth, **LINK_WQ})  # fmt: skip
    assert missing.status_code == 404
