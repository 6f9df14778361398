"""Fuzzing the POST body: never a 5xx, never a lost valid item, and a body refused as a
whole (hostile JSON: runaway nesting, bad UTF-8, lone surrogates) stores nothing and
takes nothing away."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from tests.ingest.conftest import REQUEST_DEADLINE, MakeSeries

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

    @settings(max_examples=60, deadline=REQUEST_DEADLINE, suppress_health_check=list(HealthCheck))
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


@settings(max_examples=80, deadline=REQUEST_DEADLINE, suppress_health_check=list(HealthCheck))
@given(body=st.binary(max_size=300))
def _bytes_case(client, headers, body: bytes) -> None:  # type: ignore[no-untyped-def]
    answer = client.post(URL, content=body, headers=headers)
    assert answer.status_code < 500, answer.text
    assert answer.status_code in (200, 400, 422)


def test_random_bytes_never_5xx(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    _bytes_case(client, headers_for("operator"))


def _item(ts: int, metric: str = "height") -> bytes:
    return f'{{"entity_id": "{E1}", "metric": "{metric}", "ts": {ts}, "value": 1.0}}'.encode()


# Hostile bodies, each built around a valid item so that a body read in part would show.
# Hostile bodies, each around a valid item at ts=1 so that a body read in part would show.
hostile_bodies = st.one_of(
    st.integers(1, 100_000).map(lambda n: b"[" * n),
    st.binary(min_size=1, max_size=4)
    .filter(lambda b: not _utf8(b))
    .map(lambda junk: b"[" + _item(1) + b', "' + junk + b'"]'),
    st.integers(0xD800, 0xDFFF).map(lambda code: b"[" + _item(1, f"h\\u{code:04x}") + b"]"),
    st.integers(0xD800, 0xDBFF).map(
        lambda code: b"[" + _item(1) + f', "\\u{code:04x}\\u0041"]'.encode()
    ),
)
# A deep value next to a valid item. Deeper than the decoder goes (Python's recursion
# limit: about 1,000 levels in the server, more under Hypothesis) the body is refused; less
# deep, the item holding it is refused and quarantined, clipped. Either way no 500.
deep_bodies = st.integers(1, 50_000).map(
    lambda n: b"[" + _item(2) + b', {"value": ' + b"[" * n + b"]" * n + b"}]"
)


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_hostile_bodies_are_refused_whole_and_cost_nothing_accepted(
    client, database, headers_for, series_of: MakeSeries
) -> None:  # type: ignore[no-untyped-def]
    series_of("CT-1", {"height": (None, None)})
    headers = headers_for("operator")
    kept = client.post(URL, content=b"[" + _item(1_790_000_000_000) + b"]", headers=headers)
    assert kept.json()["accepted"] == 1

    @settings(max_examples=40, deadline=REQUEST_DEADLINE, suppress_health_check=list(HealthCheck))
    @given(body=hostile_bodies)
    # The inputs (18, #3), always among the examples.
    @example(body=b"[" * 100_000)
    @example(body=b"[" + _item(1) + b', "\xff"]')
    @example(body=b"[" + _item(1, "h\\ud800") + b"]")
    def check(body: bytes) -> None:
        answer = client.post(URL, content=body, headers=headers)
        assert answer.status_code == 400, answer.text[:300]
        assert answer.json()["error"].startswith("JSON không hợp lệ / malformed JSON")
        assert len(answer.content) < 1_000
        assert _count(database) == 1  # nothing of the body, nothing taken away

    check()

    @settings(max_examples=30, deadline=REQUEST_DEADLINE, suppress_health_check=list(HealthCheck))
    @given(body=deep_bodies)
    @example(body=b"[" + _item(2) + b', {"value": ' + b"[" * 50_000 + b"]" * 50_000 + b"}]")
    def deep(body: bytes) -> None:
        before = _count(database)
        answer = client.post(URL, content=body, headers=headers)
        if answer.status_code == 400:
            assert answer.json()["error"].startswith("JSON không hợp lệ / malformed JSON")
            assert _count(database) == before
            return
        assert answer.status_code == 200, answer.text[:300]
        result = answer.json()
        assert [r["index"] for r in result["rejected"]] == [1]
        assert result["accepted"] + result["duplicates"] == 1
        assert _count(database) in (before, before + 1) and _count(database) >= 2

    deep()
    with database.engine.connect() as connection:
        raws = connection.execute(text("SELECT raw FROM quarantine")).scalars().all()
    assert all(len(raw) < 100_000 for raw in raws)  # kept clipped, never the whole depth
