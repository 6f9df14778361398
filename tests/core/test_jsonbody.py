"""Hostile JSON bodies get a clear 4xx in the API's error shape on every route (issue 18, #3):
422 on the routes FastAPI decodes (as it documents them), 400 from the ingest gateway.

Each input here was a 500 on ``POST /api/v1/observations`` or slipped through FastAPI's own
decoding (``json.loads``) to fail later: runaway nesting, bytes that are not UTF-8, a lone
UTF-16 surrogate in a name, a value nested past what ``json.dumps`` can write back.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from taydo.core.jsonbody import MAX_DEPTH, MalformedJSON, loads

OPEN_BRACKETS = b"[" * 100_000
DEEP_VALUE = b'{"name": ' + b"[" * 50_000 + b"1" + b"]" * 50_000 + b"}"
BAD_UTF8 = b'{"name": "Tr\xff\xfe m"}'
LONE_SURROGATE = b'{"name": "h\\ud800"}'
LONE_LOW_SURROGATE = b'{"name": "h\\udc00x"}'
TOO_DEEP_FOR_US = b'{"name": ' + b"[" * 200 + b"]" * 200 + b"}"  # json would read it
HOSTILE = {
    "100,000 [": OPEN_BRACKETS,
    "50,000-deep value": DEEP_VALUE,
    "invalid UTF-8": BAD_UTF8,
    "lone surrogate": LONE_SURROGATE,
    "lone low surrogate": LONE_LOW_SURROGATE,
    "200-deep value": TOO_DEEP_FOR_US,
}


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
def test_loads_refuses_hostile_bodies_with_a_short_reason(body: bytes) -> None:
    with pytest.raises(MalformedJSON) as refused:
        loads(body)
    assert refused.value.status_code == 400
    assert refused.value.message.startswith("JSON không hợp lệ / malformed JSON: ")
    assert len(refused.value.message) < 300  # the input is never echoed


def test_loads_keeps_what_the_ingest_gateway_relies_on() -> None:
    # Non-standard numbers decode (the items holding them are refused one by one), so do
    # integers of any size and surrogate pairs written as escapes.
    value = loads(
        b'[NaN, Infinity, -Infinity, 1e999, 123456789012345678901234567890, "\\ud83d\\ude00"]'
    )
    assert value[4] == 123456789012345678901234567890 and value[5] == "😀"
    with pytest.raises(MalformedJSON):
        loads(b"[NaN]", allow_nonfinite=False)
    assert loads(b'{"a": "x\\u0000"}') == {"a": "x\x00"}
    with pytest.raises(MalformedJSON, match="NUL"):
        loads(b'{"a": "x\\u0000"}', allow_nul=False)
    nested = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert loads(nested) is not None
    with pytest.raises(MalformedJSON, match=f"deeper than {MAX_DEPTH}"):
        loads(b"[" + nested + b"]")
    assert loads(b"[" * 500 + b"]" * 500, max_depth=None) is not None  # the ingest hot path


@settings(
    max_examples=300,
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.binary(max_size=400))
@example(b"\xef\xbb\xbf[]")
@example(b'"\\ud800\\ud800"')
@example(b"-")
@example(b"1" * 5000)
def test_loads_answers_any_bytes_with_a_value_or_a_clear_refusal(data: bytes) -> None:
    try:
        value = loads(data)
    except MalformedJSON as refused:
        assert len(refused.message) < 300
        return
    # What it accepts, every store can write: JSON (with NaN) and UTF-8 text.
    json.dumps(value).encode("utf-8")


# -- through the app: every JSON body route, SQLite and PostgreSQL ----------------------------

ROUTES = [
    ("POST", "/api/v1/agencies"),
    ("POST", "/api/v1/entities"),
    ("PUT", "/api/v1/notify/routes"),
    ("PUT", "/api/v1/datasets/NOPE/column-mapping"),
    ("POST", "/api/v1/silences"),
    ("POST", "/api/v1/auth/login"),
]


@pytest.mark.parametrize("route", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_every_json_route_answers_hostile_bodies_with_422(client, headers_for, route) -> None:  # type: ignore[no-untyped-def]
    method, path = route
    headers = {**headers_for("admin"), "Content-Type": "application/json"}
    for name, body in HOSTILE.items():
        answer = client.request(method, path, content=body, headers=headers)
        assert answer.status_code == 422, (name, answer.status_code, answer.text[:300])
        error = answer.json()["error"]
        assert error.startswith("JSON không hợp lệ / malformed JSON"), (name, error)
    # NUL in a string: no route stores it (PostgreSQL refuses NUL in text).
    answer = client.request(method, path, content=b'{"code": "A\\u0000"}', headers=headers)
    assert answer.status_code == 422 and "NUL" in answer.json()["error"]


def test_a_valid_body_still_reaches_the_route(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    headers = headers_for("admin")
    body = {"code": "SXD", "name": "Sở Xây dựng", "kind": "department"}
    answer = client.post(
        "/api/v1/agencies",
        content=json.dumps(body),
        headers={**headers, "Content-Type": "application/json; charset=utf-8"},
    )
    assert answer.status_code in (200, 201), answer.text
    # A large body (decoded off the event loop) is replayed unchanged too.
    big = {**body, "code": "SGT", "name": "Sở Giao thông vận tải", "note": "x" * 100_000}
    answer = client.post("/api/v1/agencies", json=big, headers=headers)
    assert answer.status_code < 500, answer.text


def _count(database, table: str) -> int:  # type: ignore[no-untyped-def]
    with database.engine.connect() as connection:
        return connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_the_ingest_gateway_refuses_hostile_bodies_and_keeps_nothing_of_them(
    client, database, headers_for
) -> None:  # type: ignore[no-untyped-def]
    headers = headers_for("operator")
    hostile = {
        **HOSTILE,
        "lone surrogate in a metric name": (
            b'[{"entity_id": "urn:ngsi-ld:WaterObserved:CT-1", "metric": "h\\ud800",'
            b' "ts": 1790000000000, "value": 1}]'
        ),
    }
    for name, body in hostile.items():
        if name == "200-deep value":
            continue  # read by the gateway (no depth walk there): the item is refused below
        answer = client.post("/api/v1/observations", content=body, headers=headers)
        assert answer.status_code == 400, (name, answer.status_code, answer.text[:300])
        assert answer.json()["error"].startswith("JSON không hợp lệ / malformed JSON")
    assert _count(database, "quarantine") == 0


def test_a_deeply_nested_item_is_quarantined_clipped(client, database, headers_for) -> None:  # type: ignore[no-untyped-def]
    item = b'{"entity_id": "x", "metric": "m", "ts": 1, "value": ' + b"[" * 900 + b"]" * 900
    answer = client.post(
        "/api/v1/observations", content=b"[" + item + b"}]", headers=headers_for("operator")
    )
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["rejected"]) == 1
    with database.engine.connect() as connection:
        raw = connection.execute(text("SELECT raw FROM quarantine")).scalar_one()
    assert "nested deeper than 64 levels" in raw and raw.startswith('{"entity_id": "x"')
