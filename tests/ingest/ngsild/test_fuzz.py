"""Fuzzing every NGSI-LD write endpoint: random JSON, bytes, huge and deep input.

Whatever arrives, the answer is never a server error and every refusal is ProblemDetails.
The one 5xx the spec itself prescribes — 503 LdContextNotAvailable for an @context the
server cannot get — is allowed, and only with that error type.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.ingest.conftest import REQUEST_DEADLINE

from .conftest import LD

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
KINDS = st.sampled_from(
    [
        "Property",
        "Relationship",
        "GeoProperty",
        "LanguageProperty",
        "JsonProperty",
        "ListProperty",
        "VocabProperty",
        "string",
        "",
    ]
)
ATTRIBUTE = st.fixed_dictionaries(
    {"type": KINDS},
    optional={
        "value": JSON,
        "object": JSON,
        "observedAt": JSON,
        "unitCode": JSON,
        "languageMap": JSON,
        "json": JSON,
        "valueList": JSON,
        "vocab": JSON,
        "datasetId": JSON,
        "sub": JSON,
    },
)
ENTITY_ID = st.one_of(
    st.just("urn:ngsi-ld:Thing:fuzz"),
    st.builds(lambda s: f"urn:ngsi-ld:Thing:{s}", st.text(max_size=20)),
    st.text(max_size=30),
    JSON,
)
ENTITY = st.fixed_dictionaries(
    {"id": ENTITY_ID, "type": st.one_of(st.just("Thing"), st.text(max_size=20), JSON)},
    optional={
        "@context": st.one_of(
            st.just([]),
            st.just("https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"),
            JSON,
        ),
        "temperature": st.one_of(ATTRIBUTE, JSON),
        "location": st.one_of(ATTRIBUTE, JSON),
        "dateObserved": st.one_of(ATTRIBUTE, JSON),
    },
).flatmap(
    lambda e: st.dictionaries(st.text(max_size=15), st.one_of(ATTRIBUTE, JSON), max_size=3).map(
        lambda extra: {**extra, **e}
    )
)
RAW = st.one_of(
    st.binary(max_size=200),
    st.just(b"[" * 5000 + b"]" * 5000),
    st.just(b'{"id": "urn:a:b", "type": "T", "x": {"type": "Property", "value": 1e400}}'),
    st.just(
        b'{"id": "urn:a:b", "type": "T", "x": {"type": "Property", "value": '
        b"123456789012345678901234567890}}"
    ),
    st.just(b'{"id": "urn:a:b", "type": "T", "x": {"type": "Property", "value": "\xff\xfe"}}'),
    st.just(b'{"id": "urn:a:b\\u0000", "type": "T\\u0000"}'),
    st.just(
        b'{"id": "urn:a:b", "type": "T", "x": {"type": "Property", "value": "'
        + b"a" * 1_000_000
        + b'"}}'
    ),
    st.just(
        b'{"id": "urn:a:b", "type": "T", "x": {"type": "Property", "value": '
        + b"[" * 900
        + b"]" * 900
        + b"}}"
    ),
    # Hostile JSON (issue 18, #3): runaway nesting, bad UTF-8, lone UTF-16 surrogates.
    st.just(b"[" * 100_000),
    st.integers(60, 50_000).map(
        lambda n: (
            b'{"id": "urn:a:b", "type": "T", "x": {"type": "Property", "value": '
            + b"[" * n
            + b"]" * n
            + b"}}"
        )
    ),
    st.integers(0xD800, 0xDFFF).map(
        lambda code: f'{{"id": "urn:a:b", "type": "T", "h\\u{code:04x}": 1}}'.encode()
    ),
    st.integers(0xD800, 0xDBFF).map(
        lambda code: (
            '{"id": "urn:a:b", "type": "T", "x": {"type": "Property", '
            f'"value": "h\\u{code:04x}"}}}}'
        ).encode()
    ),
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/ld+json",
        "application/json",
        "text/plain",
        "application/json; charset=utf-8",
        "",
        "multipart/form-data",
    ]
)
TARGETS = st.sampled_from(
    [
        ("POST", "/ngsi-ld/v1/entities"),
        ("POST", "/ngsi-ld/v1/entityOperations/create"),
        ("POST", "/ngsi-ld/v1/entityOperations/upsert"),
        ("POST", "/ngsi-ld/v1/entityOperations/update"),
        ("POST", "/ngsi-ld/v1/entityOperations/delete"),
        ("PATCH", "/ngsi-ld/v1/entities/urn:ngsi-ld:Thing:fuzz/attrs"),
        ("POST", "/ngsi-ld/v1/entities/urn:ngsi-ld:Thing:fuzz/attrs"),
        ("PATCH", "/ngsi-ld/v1/entities/urn:ngsi-ld:Thing:fuzz/attrs/temperature"),
        ("DELETE", "/ngsi-ld/v1/entities/urn:ngsi-ld:Thing:fuzz/attrs/temperature"),
        ("DELETE", "/ngsi-ld/v1/entities/urn:ngsi-ld:Thing:fuzz"),
    ]
)
BODY = st.one_of(
    ENTITY.map(lambda e: ("json", e)),
    st.lists(ENTITY, max_size=3).map(lambda e: ("json", e)),
    JSON.map(lambda e: ("json", e)),
    RAW.map(lambda b: ("raw", b)),
)


def _check(response: Any) -> None:
    status = response.status_code
    if status < 400:
        assert status in (200, 201, 204, 207), status
        return
    body = response.json()
    assert {"type", "title", "status", "detail"} <= set(body), body
    assert body["status"] == status
    if status >= 500:
        assert (status, body["type"]) == (
            503,
            "https://uri.etsi.org/ngsi-ld/errors/LdContextNotAvailable",
        ), body


KEPT = {
    "id": "urn:ngsi-ld:Sentinel:giữ-nguyên",
    "type": "Sentinel",
    "mucNuoc": {"type": "Property", "value": 1.25},
}


@settings(
    max_examples=250,
    deadline=REQUEST_DEADLINE,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(target=TARGETS, body=BODY, content_type=CONTENT_TYPES)
# The inputs (18, #3), always among the examples.
@example(("POST", "/ngsi-ld/v1/entities"), ("raw", b"[" * 100_000), "application/json")
@example(
    ("POST", "/ngsi-ld/v1/entityOperations/upsert"),
    ("raw", b'[{"id": "urn:a:b", "type": "T", "x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}]"),
    "application/json",
)
@example(
    ("POST", "/ngsi-ld/v1/entities"),
    ("raw", b'{"id": "urn:a:b", "type": "T", "x": {"type": "Property", "value": "\xff"}}'),
    "application/json",
)
@example(
    ("POST", "/ngsi-ld/v1/entities"),
    ("raw", b'{"id": "urn:a:b", "type": "T", "h\\ud800": {"type": "Property", "value": 1}}'),
    "application/json",
)
def test_write_endpoints_never_fail_with_a_server_error(
    client, headers_for, target, body, content_type
) -> None:  # type: ignore[no-untyped-def]
    auth = _auth(client, headers_for)
    kept_url = "/ngsi-ld/v1/entities/" + KEPT["id"]
    if client.get(kept_url, headers=auth).status_code == 404:
        created = client.post("/ngsi-ld/v1/entities", json=KEPT, headers=auth)
        assert created.status_code == 201, created.text
    method, url = target
    kind, payload = body
    content = json.dumps(payload).encode() if kind == "json" else payload
    headers = {**auth, "Content-Type": content_type} if content_type else dict(auth)
    response = client.request(method, url, content=content, headers=headers)
    _check(response)
    # Whatever the fuzzed request did, an entity it did not name is still there, unchanged.
    assert client.get(kept_url, headers=auth).json()["mucNuoc"]["value"] == 1.25


_AUTH: dict[int, dict[str, str]] = {}


def _auth(client: Any, headers_for: Any) -> dict[str, str]:
    # One admin per test client (hypothesis reuses the function's fixtures across examples).
    key = id(client)
    if key not in _AUTH:
        _AUTH[key] = headers_for("admin")
    return _AUTH[key]


def test_a_valid_entity_passes_the_same_checks(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    # The checker above accepts success; make sure a valid write really succeeds.
    auth = headers_for("admin")
    entity = {
        "id": "urn:ngsi-ld:Thing:ok",
        "type": "Thing",
        "temperature": {"type": "Property", "value": 30.5},
        "@context": [],
    }
    response = client.post("/ngsi-ld/v1/entities", json=entity, headers={**auth, **LD})
    assert response.status_code == 201
    _check(response)


QUERY_TEXT = st.one_of(
    st.text(max_size=60),
    st.text(alphabet='abc()|;=!<>"., 0123456789[]:-', max_size=60),
)


@settings(
    max_examples=200,
    deadline=REQUEST_DEADLINE,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    q=QUERY_TEXT,
    georel=st.one_of(st.none(), QUERY_TEXT),
    coordinates=QUERY_TEXT,
    timerel=st.one_of(st.none(), st.sampled_from(["before", "after", "between"]), QUERY_TEXT),
    time_at=st.one_of(st.none(), QUERY_TEXT),
)
def test_query_parameters_never_fail_with_a_server_error(
    client, headers_for, q, georel, coordinates, timerel, time_at
) -> None:  # type: ignore[no-untyped-def]
    thing = {
        "id": "urn:ngsi-ld:Thing:q",
        "type": "Thing",
        "@context": [],
        "a": {"type": "Property", "value": 1.5},
        "b": {"type": "Property", "value": "x"},
        "c": {"type": "Property", "value": {"a": [1, "2"]}},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [1, 2]}},
    }
    auth = _auth(client, headers_for)
    client.post("/ngsi-ld/v1/entities", json=thing, headers={**auth, **LD})  # 201, then 409
    params = {"type": "Thing", "q": q, "geometry": "Point", "coordinates": coordinates}
    if georel is not None:
        params["georel"] = georel
    response = client.get("/ngsi-ld/v1/entities", params=params, headers=auth)
    _check(response)
    # The temporal query takes the same selection, plus a time window.
    window = {"timerel": timerel, "timeAt": time_at, "endTimeAt": time_at}
    params.update({k: v for k, v in window.items() if v is not None})
    _check(client.get("/ngsi-ld/v1/temporal/entities", params=params, headers=auth))


def test_an_id_beyond_latin_1_gets_a_percent_encoded_location(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    answer = client.post(
        "/ngsi-ld/v1/entities",
        json={"id": "urn:ngsi-ld:Thing:Cần-Thơ‗1", "type": "Thing"},
        headers={**headers_for("admin"), "Content-Type": "application/json"},
    )
    assert answer.status_code == 201, answer.text
    location = answer.headers["location"]
    assert location == "/ngsi-ld/v1/entities/urn:ngsi-ld:Thing:C%E1%BA%A7n-Th%C6%A1%E2%80%971"
    assert client.get(location, headers=headers_for("admin")).status_code == 200
