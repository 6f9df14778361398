"""The quarantine API: review, filter, fix-and-replay, discard; agency officers see their own."""

from __future__ import annotations

import json

from sqlalchemy import text

from taydo.ingest import quarantine
from tests.ingest.conftest import make_series

TS = 1_767_225_600_000


def _seed(database) -> dict[str, int]:  # type: ignore[no-untyped-def]
    ids = make_series(database, "Q-1")
    make_series(database, "Q-2", agency="SYT")
    quarantine.put(
        database,
        "http",
        "value 99 is outside the valid range",
        {"entity_id": "urn:ngsi-ld:WaterObserved:Q-1", "metric": "height", "ts": TS, "value": 99},
        agency_code="SNNMT",
    )
    quarantine.put(
        database,
        "mqtt",
        "không phải JSON / not JSON",
        {"topic": "taydo/SYT/Q-2/attrs", "payload": "{height: 1"},
        agency_code="SYT",
    )
    return ids


def _stored(database, series_id: int) -> list[tuple[int, float]]:  # type: ignore[no-untyped-def]
    with database.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT ts, value FROM observations WHERE series_id = :s ORDER BY ts"),
            {"s": series_id},
        )
        return [(int(a), float(b)) for a, b in rows]


def _journal(database) -> list[str]:  # type: ignore[no-untyped-def]
    with database.engine.connect() as connection:
        return [r[0] for r in connection.execute(text("SELECT action FROM audit_journal"))]


def test_list_filter_and_scope(client, database, headers_for) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    operator = headers_for("operator")
    listing = client.get("/api/v1/quarantine", headers=operator).json()
    assert listing["total"] == 2
    assert {item["source"] for item in listing["items"]} == {"http", "mqtt"}
    only_mqtt = client.get("/api/v1/quarantine?source=mqtt", headers=operator).json()
    assert [i["agency"] for i in only_mqtt["items"]] == ["SYT"]
    by_reason = client.get("/api/v1/quarantine?reason=valid%20range", headers=operator).json()
    assert [i["source"] for i in by_reason["items"]] == ["http"]

    officer = headers_for("agency_officer", ["SYT"])
    mine = client.get("/api/v1/quarantine", headers=officer).json()
    assert mine["total"] == 1 and mine["items"][0]["agency"] == "SYT"
    other_id = by_reason["items"][0]["id"]
    # another agency's entry answers as if it did not exist
    assert client.get(f"/api/v1/quarantine/{other_id}", headers=officer).status_code == 404
    assert client.post(f"/api/v1/quarantine/{other_id}/discard", headers=officer).status_code == 404
    assert client.get("/api/v1/quarantine").status_code == 401


def test_fix_and_replay_an_item(client, database, headers_for) -> None:  # type: ignore[no-untyped-def]
    ids = _seed(database)
    officer = headers_for("agency_officer", ["SNNMT"])
    (entry,) = client.get("/api/v1/quarantine?source=http", headers=officer).json()["items"]
    detail = client.get(f"/api/v1/quarantine/{entry['id']}", headers=officer).json()
    assert detail["raw"]["value"] == 99

    unchanged = client.post(f"/api/v1/quarantine/{entry['id']}/replay", headers=officer)
    assert unchanged.status_code == 422
    assert "valid range" in json.dumps(unchanged.json(), ensure_ascii=False)
    assert _stored(database, ids["height"]) == []

    fixed = dict(detail["raw"], value=9.9)
    answer = client.post(
        f"/api/v1/quarantine/{entry['id']}/replay", headers=officer, json={"raw": fixed}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 1
    assert answer.json()["entry"]["status"] == "replayed"
    assert _stored(database, ids["height"]) == [(TS, 9.9)]
    again = client.post(f"/api/v1/quarantine/{entry['id']}/replay", headers=officer)
    assert again.status_code == 409
    assert "quarantine.replay" in _journal(database)


def test_fix_and_replay_an_mqtt_message_and_discard(client, database, headers_for) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    ids = make_series(database, "Q-3", agency="SYT")
    operator = headers_for("operator")
    (entry,) = client.get("/api/v1/quarantine?source=mqtt", headers=operator).json()["items"]
    raw = {"topic": "taydo/SYT/Q-3/attrs", "payload": json.dumps({"height": 1.5, "ts": TS})}
    answer = client.post(
        f"/api/v1/quarantine/{entry['id']}/replay", headers=operator, json={"raw": raw}
    )
    assert answer.status_code == 200, answer.text
    assert _stored(database, ids["height"]) == [(TS, 1.5)]

    (http_entry,) = client.get("/api/v1/quarantine?source=http", headers=operator).json()["items"]
    gone = client.post(
        f"/api/v1/quarantine/{http_entry['id']}/discard",
        headers=operator,
        json={"note": "trạm hỏng cảm biến"},
    )
    assert gone.status_code == 200 and gone.json()["status"] == "discarded"
    assert {"quarantine.replay", "quarantine.discard"} <= set(_journal(database))
    pending = client.get("/api/v1/quarantine?status=pending", headers=operator).json()
    assert pending["total"] == 0
    viewer = headers_for("viewer")
    assert (
        client.post(f"/api/v1/quarantine/{http_entry['id']}/discard", headers=viewer).status_code
        == 403
    )


def test_hostile_raw_inputs_are_kept_and_shown(client, database, headers_for) -> None:  # type: ignore[no-untyped-def]
    """What a gateway kept is shown back without a 500 (issue 18, #3): a raw line of runaway
    nesting, a lone surrogate, NUL, a value nested deeper than JSON can be written back."""
    deep: object = 1
    for _ in range(5_000):
        deep = [deep]
    raws = ["[" * 100_000, '"h\\ud800"', "h\ud800", "x\x00y", {"value": deep}]
    assert quarantine.put_many(database, [("file:x.jsonl", "r", raw) for raw in raws]) == 5
    admin = headers_for("admin")
    listed = client.get("/api/v1/quarantine", headers=admin)
    assert listed.status_code == 200 and listed.json()["total"] == 5
    shown = []
    for item in listed.json()["items"]:
        answer = client.get(f"/api/v1/quarantine/{item['id']}", headers=admin)
        assert answer.status_code == 200, answer.text[:300]
        shown.append(answer.json()["raw"])
    assert "[" * 100_000 in shown and '"h\\ud800"' in shown and "h\\ud800" in shown
    assert "x\\u0000y" in shown
    assert any(
        isinstance(raw, dict) and "nested deeper than 64 levels" in str(raw) for raw in shown
    )
