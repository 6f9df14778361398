"""Fuzzing the POST body: never a 5xx, never a lost valid item."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from tests.ingest.conftest import MakeSeries

URL = "/api/v1/observations"
E1 = "urn:ngsi-ld:WaterObserved:CT-1"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
fields = st.fixed_dictionaries(
    {},
    optional={
        "entity_id": st.sampled_from([E1, "urn:x", ""]) | json_values,
        "metric": st.sampled_from(["height", "pm25"]) | json_values,
        "ts": st.integers(-(2**70), 2**70)
        | st.sampled_from(["2026-11-27T10:00:00+07:00", "2026-11-27T10:00:00", "x"])
        | json_values,
        "value": st.floats(allow_nan=True, allow_infinity=True) | json_values,
        "quality": json_values,
    },
)


def _count(database) -> int:  # type: ignore[no-untyped-def]
    with database.engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM observations")).scalar_one()


def test_random_items_never_5xx_and_valid_items_are_kept(
    client, database, headers_for, series_of: MakeSeries
) -> None:  # type: ignore[no-untyped-def]
    series_of("CT-1", {"height": (None, None)})
    headers = headers_for("operator")
    counter = iter(range(10**9))

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(junk=st.lists(fields | json_values, max_size=6))
    def check(junk: list) -> None:  # type: ignore[type-arg]
        # One valid item with a fresh timestamp rides along with the junk.
        ts = 1_790_000_000_000 + next(counter) * 1000
        valid = {"entity_id": E1, "metric": "height", "ts": ts, "value": 1.0}
        items = [*junk, valid]
        body = json.dumps(items, allow_nan=True).encode()
        before = _count(database)
        answer = client.post(URL, content=body, headers=headers)
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert result["accepted"] + result["duplicates"] + len(result["rejected"]) == len(items)
        assert len(items) - 1 not in {r["index"] for r in result["rejected"]}
        assert _count(database) - before == result["accepted"] >= 1

    check()


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.binary(max_size=300))
def _bytes_case(client, headers, body: bytes) -> None:  # type: ignore[no-untyped-def]
    answer = client.post(URL, content=body, headers=headers)
    assert answer.status_code < 500, answer.text
    assert answer.status_code in (200, 400, 422)


def test_random_bytes_never_5xx(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    _bytes_case(client, headers_for("operator"))
