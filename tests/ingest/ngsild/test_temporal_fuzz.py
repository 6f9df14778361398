"""Fuzzing the Temporal API: random temporal representations, instance ids and aggregation
parameters never get a server error, every refusal is ProblemDetails, and the stored
history of an entity the request did not name is unchanged."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ingest.conftest import REQUEST_DEADLINE
from tests.ingest.ngsild.test_fuzz import ATTRIBUTE, CONTENT_TYPES, JSON, RAW, _auth, _check

BASE = "/ngsi-ld/v1/temporal/entities"
KEPT_ID = "urn:ngsi-ld:Sentinel:lịch-sử"
KEPT = {
    "id": KEPT_ID,
    "type": "Sentinel",
    "mucNuoc": [
        {"type": "Property", "value": 1.25, "observedAt": "2026-11-20T01:00:00Z"},
        {"type": "Property", "value": 1.5, "observedAt": "2026-11-20T02:00:00Z"},
    ],
}
INSTANCE = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["Property", "Relationship", "x"]),
        "value": st.one_of(st.floats(), JSON),
    },
    optional={
        "observedAt": st.one_of(st.just("2026-11-20T03:00:00Z"), st.text(max_size=30), JSON),
        "unitCode": JSON,
        "instanceId": JSON,
        "datasetId": JSON,
    },
)
TEMPORAL = st.fixed_dictionaries(
    {"id": st.one_of(st.just("urn:ngsi-ld:Thing:tfuzz"), st.text(max_size=20), JSON)},
    optional={
        "type": st.one_of(st.just("Thing"), JSON),
        "temperature": st.one_of(st.lists(INSTANCE, max_size=4), INSTANCE, ATTRIBUTE, JSON),
        "level": st.lists(st.one_of(INSTANCE, JSON), max_size=3),
        "@context": st.one_of(st.just([]), JSON),
    },
)
TARGETS = st.sampled_from(
    [
        ("POST", BASE),
        ("POST", f"{BASE}/urn:ngsi-ld:Thing:tfuzz/attrs"),
        ("PATCH", f"{BASE}/urn:ngsi-ld:Thing:tfuzz/attrs/temperature/urn:ngsi-ld:Instance:1-1"),
        ("DELETE", f"{BASE}/urn:ngsi-ld:Thing:tfuzz/attrs/temperature/urn:ngsi-ld:Instance:1-1"),
        ("DELETE", f"{BASE}/urn:ngsi-ld:Thing:tfuzz/attrs/temperature"),
        ("DELETE", f"{BASE}/urn:ngsi-ld:Thing:tfuzz"),
    ]
)
BODY = st.one_of(
    TEMPORAL.map(lambda e: ("json", e)),
    JSON.map(lambda e: ("json", e)),
    RAW.map(lambda b: ("raw", b)),
)


def _kept(client: Any, auth: dict[str, str]) -> list[Any]:
    got = client.get(f"{BASE}/{KEPT_ID}", params={"options": "temporalValues"}, headers=auth)
    assert got.status_code == 200, got.text
    return got.json()["mucNuoc"]["values"]


@settings(
    max_examples=150,
    deadline=REQUEST_DEADLINE,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(target=TARGETS, body=BODY, content_type=CONTENT_TYPES)
def test_temporal_writes_never_fail_with_a_server_error(
    client, headers_for, target, body, content_type
) -> None:  # type: ignore[no-untyped-def]
    auth = _auth(client, headers_for)
    if client.get(f"{BASE}/{KEPT_ID}", headers=auth).status_code == 404:
        created = client.post(BASE, json=KEPT, headers={**auth, "Content-Type": "application/json"})
        assert created.status_code == 201, created.text
    before = _kept(client, auth)
    method, url = target
    kind, payload = body
    content = json.dumps(payload).encode() if kind == "json" else payload
    headers = {**auth, "Content-Type": content_type} if content_type else dict(auth)
    _check(client.request(method, url, content=content, headers=headers))
    assert _kept(client, auth) == before


TEXT = st.one_of(
    st.none(), st.text(max_size=30), st.text(alphabet="PTWDHMS0123456789.,-", max_size=12)
)


@settings(
    max_examples=150,
    deadline=REQUEST_DEADLINE,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    methods=st.one_of(
        TEXT, st.sampled_from(["avg,max", "totalCount", "stddev,sumsq,distinctCount"])
    ),
    period=TEXT,
    last_n=st.one_of(st.none(), st.integers(-3, 3), st.text(max_size=5)),
    options=st.one_of(st.none(), st.sampled_from(["temporalValues", "aggregatedValues", "x"])),
    time_at=st.one_of(st.none(), st.just("2026-11-20T00:00:00Z"), st.text(max_size=25)),
)
def test_temporal_reads_never_fail_with_a_server_error(
    client, headers_for, methods, period, last_n, options, time_at
) -> None:  # type: ignore[no-untyped-def]
    auth = _auth(client, headers_for)
    if client.get(f"{BASE}/{KEPT_ID}", headers=auth).status_code == 404:
        client.post(BASE, json=KEPT, headers={**auth, "Content-Type": "application/json"})
    params = {
        k: v
        for k, v in {
            "aggrMethods": methods,
            "aggrPeriodDuration": period,
            "lastN": last_n,
            "options": options,
            "timerel": "after" if time_at is not None else None,
            "timeAt": time_at,
        }.items()
        if v is not None
    }
    for url in (f"{BASE}/{KEPT_ID}", BASE):
        query = params if url != BASE else {**params, "type": "Sentinel"}
        _check(client.get(url, params=query, headers=auth))
