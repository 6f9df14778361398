"""Input the schema calls invalid is refused, not coerced (issue 18, item 11).

Pydantic's lax mode accepted ``"lat": false`` (as 0.0), numbers written as text and times
written as numbers (seconds since 1970), and a time without an offset reached a comparison
with an aware one. Each now answers 422 in the error shape; the valid forms still work.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from taydo.core import clock
from taydo.core.db import Database
from taydo.core.inputs import parse_moment

Headers = Callable[..., dict[str, str]]
ENTITY = "urn:ngsi-ld:Device:strict-1"


@pytest.fixture
def admin(client: TestClient, headers_for: Headers) -> dict[str, str]:
    headers = headers_for("admin")
    created = client.post(
        "/api/v1/entities", json={"entity_id": ENTITY, "name": "Thiết bị"}, headers=headers
    )
    assert created.status_code == 201, created.text
    return headers


def _refused(answer: Any, field: str) -> None:
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["error"], answer.text


@pytest.mark.parametrize("lat", [False, True, "10.5", [10.5]])
def test_a_coordinate_must_be_a_number(client: TestClient, admin: dict[str, str], lat: Any) -> None:
    body = {"lon": 105.7, "lat": lat}
    _refused(client.patch(f"/api/v1/entities/{ENTITY}", json=body, headers=admin), "lat")


def test_numbers_and_flags_keep_their_json_types(
    client: TestClient, admin: dict[str, str], database: Database
) -> None:
    metric = client.put(
        f"/api/v1/entities/{ENTITY}/metrics/flow",
        json={"name": "flow", "max_valid": "100"},
        headers=admin,
    )
    _refused(metric, "max_valid")
    user = client.patch("/api/v1/users/nobody", json={"disabled": "yes"}, headers=admin)
    _refused(user, "disabled")
    # the valid forms: an integer where a number is expected is a number
    ok = client.patch(f"/api/v1/entities/{ENTITY}", json={"lon": 105, "lat": 10.5}, headers=admin)
    assert ok.status_code == 200, ok.text
    assert (ok.json()["lon"], ok.json()["lat"]) == (105.0, 10.5)


@pytest.mark.parametrize(
    "ends_at", [1_900_000_000, "1900000000", "0.5", "2030-01-01", "2030-01-01T08:00:00"]
)
def test_a_time_is_iso_8601_with_an_offset(
    client: TestClient, admin: dict[str, str], ends_at: Any
) -> None:
    body = {"match": {}, "ends_at": ends_at, "reason": "bảo trì"}
    _refused(client.post("/api/v1/silences", json=body, headers=admin), "ends_at")


def test_a_time_with_an_offset_is_taken(client: TestClient, admin: dict[str, str]) -> None:
    later = (clock.now() + timedelta(hours=1)).astimezone().isoformat()
    body = {"match": {}, "ends_at": later, "reason": "bảo trì"}
    answer = client.post("/api/v1/silences", json=body, headers=admin)
    assert answer.status_code == 201, answer.text
    zulu = (clock.now() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {"match": {}, "ends_at": zulu, "reason": "bảo trì"}
    assert client.post("/api/v1/silences", json=body, headers=admin).status_code == 201


def test_query_times_are_read_the_same_way(client: TestClient, admin: dict[str, str]) -> None:
    _refused(client.get("/api/v1/audit", params={"until": "0.5"}, headers=admin), "until")
    _refused(client.get("/api/v1/audit", params={"since": "2030-01-01"}, headers=admin), "since")
    fine = client.get("/api/v1/audit", params={"since": "2020-01-01T00:00:00+07:00"}, headers=admin)
    assert fine.status_code == 200, fine.text


@pytest.mark.parametrize("text", ["2026-10-01T08:30:00+07:00", "2026-10-01 01:30:00Z"])
def test_parse_moment_reads_iso_8601_with_an_offset(text: str) -> None:
    moment = parse_moment(text)
    assert moment.utcoffset() is not None
    assert moment.timestamp() == parse_moment("2026-10-01T01:30:00+00:00").timestamp()
