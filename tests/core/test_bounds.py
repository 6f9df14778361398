"""Numbers the databases cannot hold are refused with a 422, never a 500 (issue 18, item 5).

Two halves: the OpenAPI of the whole app declares a maximum for every integer a client may
send (so a new route without one fails here), and the numbers of the issue, sent over HTTP
to both databases, come back 422 in the API's error shape, while the largest accepted id
reaches the database and answers 404.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from taydo.core.bounds import MAX_INT64, MAX_OFFSET

Headers = Callable[..., dict[str, str]]

LISTS = [
    "/api/v1/agencies",
    "/api/v1/datasets",
    "/api/v1/entities",
    "/api/v1/areas",
    "/api/v1/alerts",
    "/api/v1/notify/outbox",
    "/api/v1/quarantine",
    "/api/v1/audit",
]
BY_ID = [
    "/api/v1/alerts/{id}",
    "/api/v1/cap/alerts/{id}.xml",
    "/api/v1/quarantine/{id}",
    "/api/v1/datasets/none/uploads/{id}",
]


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"].rsplit("/", 1)[-1]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _unbounded(node: Any, where: str, schemas: dict[str, Any], seen: set[str]) -> Iterator[str]:
    if isinstance(node, list):
        for index, value in enumerate(node):
            yield from _unbounded(value, f"{where}[{index}]", schemas, seen)
        return
    if not isinstance(node, dict):
        return
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            seen.add(name)
            yield from _unbounded(schemas[name], name, schemas, seen)
        return
    if node.get("type") == "integer" and "maximum" not in node:
        yield where
    for key, value in node.items():
        yield from _unbounded(value, f"{where}.{key}", schemas, seen)


def test_every_integer_a_client_sends_has_a_maximum(app: FastAPI) -> None:
    schema = app.openapi()
    schemas = schema["components"]["schemas"]
    found: list[str] = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            label = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                found += _unbounded(
                    parameter["schema"], f"{label} {parameter['name']}", schemas, set()
                )
            body = operation.get("requestBody", {})
            found += _unbounded(body, f"{label} body", schemas, set())
    assert found == [], "bound these with taydo.core.bounds (or Field(le=…)):\n" + "\n".join(found)


def _refused(answer: Any) -> None:
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]


@pytest.mark.parametrize("path", LISTS)
def test_a_huge_offset_is_refused(client: TestClient, headers_for: Headers, path: str) -> None:
    admin = headers_for("admin")
    _refused(client.get(path, params={"offset": 10**19}, headers=admin))
    _refused(client.get(path, params={"offset": MAX_OFFSET + 1}, headers=admin))
    assert client.get(path, params={"offset": MAX_OFFSET}, headers=admin).status_code == 200


@pytest.mark.parametrize("path", BY_ID)
def test_ids_past_64_bits_are_refused_and_the_largest_is_looked_up(
    client: TestClient, headers_for: Headers, path: str
) -> None:
    admin = headers_for("admin")
    _refused(client.get(path.format(id=2**63), headers=admin))
    _refused(client.get(path.format(id=10**30), headers=admin))
    largest = client.get(path.format(id=MAX_INT64), headers=admin)
    assert largest.status_code == 404, largest.text


def test_writes_by_id_past_64_bits_are_refused(client: TestClient, headers_for: Headers) -> None:
    admin = headers_for("admin")
    huge = 2**63
    _refused(client.post(f"/api/v1/alerts/{huge}/ack", json={}, headers=admin))
    _refused(client.delete(f"/api/v1/silences/{huge}", headers=admin))
    _refused(client.delete(f"/api/v1/tokens/{huge}", headers=admin))
    _refused(client.post(f"/api/v1/quarantine/{huge}/discard", headers=admin))
    _refused(client.post("/api/v1/notify/outbox/retry", json={"ids": [huge]}, headers=admin))
    assert client.delete(f"/api/v1/silences/{MAX_INT64}", headers=admin).status_code == 404
    queued = client.post("/api/v1/notify/outbox/retry", json={"ids": [MAX_INT64]}, headers=admin)
    assert queued.status_code == 200 and queued.json() == {"queued": []}, queued.text


def test_a_rule_needs_a_body(client: TestClient, headers_for: Headers) -> None:
    admin = headers_for("admin")
    _refused(client.put("/api/v1/rules/r1", headers=admin))
    _refused(client.put("/api/v1/rules/r1", content=b"", headers=admin))
    _refused(client.put("/api/v1/rules/r1", json=[], headers=admin))


@pytest.mark.parametrize("window", [1e300, 10**400, "99999999999999999999d"])
def test_a_rule_with_an_endless_duration_is_refused(
    client: TestClient, headers_for: Headers, window: Any
) -> None:
    rule = {"kind": "rate", "name": "r", "metric": "height", "window": window, "change": 1}
    _refused(client.put("/api/v1/rules/r1", json=rule, headers=headers_for("admin")))


@pytest.mark.parametrize(
    "route",
    [
        {"code": "r", "renotify": 1e300},
        {"code": "r", "escalation": [{"after": 1e300, "channels": ["c"]}]},
        {"code": "r", "renotify": "99999999999999999999d"},
    ],
)
def test_routes_with_endless_durations_are_refused(
    client: TestClient, headers_for: Headers, route: dict[str, Any]
) -> None:
    _refused(client.put("/api/v1/notify/routes", json=[route], headers=headers_for("admin")))


def test_a_dataset_interval_past_a_year_is_refused(
    client: TestClient, headers_for: Headers
) -> None:
    body = {"update_interval": 10**19}
    _refused(client.patch("/api/v1/datasets/none", json=body, headers=headers_for("admin")))
