"""POST /api/v1/observations: answers, per-item rejections, quarantine, limits, scope."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from taydo.core import clock
from taydo.core.db import Database
from taydo.core.runtime import runtime_of
from taydo.ingest.validate import REASON_UNKNOWN_SERIES
from tests.ingest.conftest import MakeSeries

URL = "/api/v1/observations"
E1 = "urn:ngsi-ld:WaterObserved:CT-1"


def stored(database: Database) -> list[tuple]:
    with database.engine.connect() as connection:
        return [
            tuple(r)
            for r in connection.execute(
                text(
                    "SELECT series_id, ts, value, quality FROM observations ORDER BY series_id, ts"
                )
            )
        ]


def quarantined(database: Database) -> list[tuple]:
    with database.engine.connect() as connection:
        return [
            tuple(r)
            for r in connection.execute(
                text("SELECT source, reason, raw, agency_code, status FROM quarantine ORDER BY id")
            )
        ]


@pytest.fixture
def sid(series_of: MakeSeries) -> int:
    return series_of("CT-1", {"height": (-5.0, 10.0)})["height"]


def test_valid_items_are_stored_after_commit(client, database, headers_for, sid) -> None:  # type: ignore[no-untyped-def]
    headers = headers_for("operator")
    body = [
        {"entity_id": E1, "metric": "height", "ts": "2026-11-27T10:00:00+07:00", "value": 1.25},
        {"entity_id": E1, "metric": "height", "ts": 1795748460000, "value": 2, "quality": 3},
        {"entity_id": E1, "metric": "height", "ts": "2026-11-27T03:02:00Z", "value": -1.5},
    ]
    answer = client.post(URL, json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 3, "duplicates": 0, "rejected": []}
    assert stored(database) == [
        (sid, 1795748400000, 1.25, 0),
        (sid, 1795748460000, 2.0, 3),
        (sid, 1795748520000, -1.5, 0),
    ]
    again = client.post(URL, json=body, headers=headers).json()
    assert again == {"accepted": 0, "duplicates": 3, "rejected": []}
    assert len(stored(database)) == 3


BAD_ITEMS = [
    (
        {"entity_id": "urn:ngsi-ld:WaterObserved:NOPE", "metric": "height", "ts": 1, "value": 1},
        "unknown entity",
    ),
    ({"entity_id": E1, "metric": "salinity", "ts": 1, "value": 1}, "unknown entity"),
    (
        {"entity_id": E1, "metric": "height", "ts": 1795748400000, "value": "1.5"},
        "must be a number",
    ),
    ({"entity_id": E1, "metric": "height", "ts": 1795748400000, "value": True}, "must be a number"),
    ({"entity_id": E1, "metric": "height", "ts": 1795748400000, "value": None}, "must be a number"),
    (
        {"entity_id": E1, "metric": "height", "ts": 1795748400000, "value": 11},
        "outside the valid range",
    ),
    (
        {"entity_id": E1, "metric": "height", "ts": "2026-11-27T10:00:00", "value": 1},
        "no time zone",
    ),
    ({"entity_id": E1, "metric": "height", "ts": "yesterday", "value": 1}, "ISO 8601"),
    ({"entity_id": E1, "metric": "height", "ts": -5, "value": 1}, "before 1970"),
    ({"entity_id": E1, "metric": "height", "value": 1}, "missing field 'ts'"),
    ({"entity_id": E1, "ts": 1, "value": 1}, "missing field 'metric'"),
    (
        {"entity_id": E1, "metric": "height", "ts": 1795748400000, "value": 1, "quality": -1},
        "quality",
    ),
    ([1, 2], "JSON object"),
    ("text", "JSON object"),
]


def test_each_bad_item_is_rejected_and_quarantined(client, database, headers_for, sid) -> None:  # type: ignore[no-untyped-def]
    good = {"entity_id": E1, "metric": "height", "ts": 1795748400000, "value": 1.0}
    future = {
        "entity_id": E1,
        "metric": "height",
        "ts": clock.now_ms() + 2 * 86_400_000,
        "value": 1,
    }
    items = [good, *(item for item, _ in BAD_ITEMS), future]
    answer = client.post(URL, json=items, headers=headers_for("operator"))
    assert answer.status_code == 200
    result = answer.json()
    assert result["accepted"] == 1
    reasons = {r["index"]: r["reason"] for r in result["rejected"]}
    assert sorted(reasons) == list(range(1, len(items)))
    for position, (_item, expected) in enumerate(BAD_ITEMS, start=1):
        assert expected in reasons[position], (position, reasons[position])
    assert "more than a day in the future" in reasons[len(items) - 1]
    assert stored(database) == [(sid, 1795748400000, 1.0, 0)]
    rows = quarantined(database)
    assert len(rows) == len(items) - 1
    assert all(r[0] == "http" and r[4] == "pending" for r in rows)
    assert [r[1] for r in rows] == [reasons[i] for i in sorted(reasons)]
    assert json.loads(rows[0][2]) == BAD_ITEMS[0][0]
    assert rows[5][3] == "SNNMT"  # a known series' bad value is filed under its agency


def test_nan_infinity_and_huge_exponents_reject_only_their_items(
    client, database, headers_for, sid
) -> None:  # type: ignore[no-untyped-def]
    body = (
        b'[{"entity_id": "%s", "metric": "height", "ts": 1795748400000, "value": NaN},'
        b' {"entity_id": "%s", "metric": "height", "ts": 1795748401000, "value": Infinity},'
        b' {"entity_id": "%s", "metric": "height", "ts": 1795748402000, "value": -1e999},'
        b' {"entity_id": "%s", "metric": "height", "ts": 1795748403000, "value": 1e999},'
        b' {"entity_id": "%s", "metric": "height", "ts": 1795748404000, "value": 4.5}]'
    ) % ((E1.encode(),) * 5)
    answer = client.post(
        URL, content=body, headers={**headers_for("operator"), "content-type": "application/json"}
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["accepted"] == 1
    assert [r["index"] for r in result["rejected"]] == [0, 1, 2, 3]
    assert all("finite" in r["reason"] for r in result["rejected"])
    assert stored(database) == [(sid, 1795748404000, 4.5, 0)]
    assert [r[2].count("NaN") + r[2].count("Infinity") for r in quarantined(database)] == [
        1,
        1,
        1,
        1,
    ]


@pytest.mark.parametrize(
    "body",
    [b"", b"[", b"{not json}", b'[{"entity_id": }]', b"\xff\xfe[]", b"[1,]"],
)
def test_malformed_json_is_a_400_with_a_reason(client, headers_for, body: bytes) -> None:  # type: ignore[no-untyped-def]
    answer = client.post(URL, content=body, headers=headers_for("operator"))
    assert answer.status_code == 400
    assert "malformed JSON" in answer.json()["error"]


def test_a_body_that_is_not_an_array_is_a_422(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    answer = client.post(URL, json={"entity_id": E1}, headers=headers_for("operator"))
    assert answer.status_code == 422
    assert "JSON array" in answer.json()["error"]


def test_too_many_items_or_bytes_is_a_413(client, database, headers_for, sid) -> None:  # type: ignore[no-untyped-def]
    headers = headers_for("operator")
    settings = runtime_of(client.app).settings
    item = {"entity_id": E1, "metric": "height", "ts": 1795748400000, "value": 1.0}
    answer = client.post(URL, json=[item] * (settings.max_batch_items + 1), headers=headers)
    assert answer.status_code == 413
    assert "items" in answer.json()["error"]
    big = b"[" + b" " * settings.max_request_bytes + b"]"
    answer = client.post(URL, content=big, headers=headers)
    assert answer.status_code == 413
    assert "bytes" in answer.json()["error"]

    def chunks():  # type: ignore[no-untyped-def]
        yield b"["
        for _ in range(settings.max_request_bytes // 65536 + 2):
            yield b" " * 65536
        yield b"]"

    answer = client.post(URL, content=chunks(), headers=headers)  # chunked: no Content-Length
    assert answer.status_code == 413
    assert stored(database) == []


def test_an_officer_writes_only_their_agencies_series(
    client, database, headers_for, series_of: MakeSeries
) -> None:  # type: ignore[no-untyped-def]
    series_of("CT-1", {"height": (None, None)}, agency="SNNMT")
    series_of("HG-1", {"height": (None, None)}, agency="SXD")
    officer = headers_for("agency_officer", ["SNNMT"])
    body = [
        {
            "entity_id": "urn:ngsi-ld:WaterObserved:HG-1",
            "metric": "height",
            "ts": 1795748400000,
            "value": 1,
        },
        {
            "entity_id": "urn:ngsi-ld:WaterObserved:NOPE",
            "metric": "height",
            "ts": 1795748400000,
            "value": 1,
        },
        {"entity_id": E1, "metric": "height", "ts": 1795748400000, "value": 1},
    ]
    result = client.post(URL, json=body, headers=officer).json()
    assert result["accepted"] == 1
    # Out of scope reads exactly like unknown: nothing says the other series exists.
    assert [r["reason"] for r in result["rejected"]] == [REASON_UNKNOWN_SERIES] * 2
    assert [r[3] for r in quarantined(database)] == ["SNNMT", "SNNMT"]
    viewer = client.post(URL, json=body, headers=headers_for("viewer"))
    assert viewer.status_code == 403
    assert client.post(URL, json=body).status_code == 401


def test_one_app_served_on_two_loops_at_once_stores_from_both(
    app, database, headers_for, sid
) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    headers = headers_for("operator")
    item = {"entity_id": E1, "metric": "height", "value": 1.0}
    with TestClient(app) as first, TestClient(app) as second:
        assert (
            second.post(URL, json=[{**item, "ts": 1795748400000}], headers=headers).json()[
                "accepted"
            ]
            == 1
        )
        assert (
            first.post(URL, json=[{**item, "ts": 1795748460000}], headers=headers).json()[
                "accepted"
            ]
            == 1
        )
    assert [row[1] for row in stored(database)] == [1795748400000, 1795748460000]
