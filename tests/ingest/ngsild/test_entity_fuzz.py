"""Fuzzing the parsers of the entity API's new inputs: scopeQ, orderBy, pick/omit, the Query
body, registrations and subscriptions, multi-attributes. Each either accepts its input or
refuses it with an NgsiError (a ProblemDetails answer) — never anything else (a 500)."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from taydo.ingest.ngsild.context import ContextResolver, ContextStore
from taydo.ingest.ngsild.entity import parse_entity
from taydo.ingest.ngsild.errors import NgsiError
from taydo.ingest.ngsild.ops import query_body
from taydo.ingest.ngsild.query import parse_scope_q
from taydo.ingest.ngsild.registrations import validate_registration, validate_subscription
from taydo.ingest.ngsild.shape import parse_order, parse_projection

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
SCOPEISH = st.text(alphabet="/#+;,|() ab", max_size=40)


def _refuses_cleanly(call: Any, *args: Any) -> None:
    with contextlib.suppress(NgsiError):
        call(*args)


@settings(max_examples=300, deadline=None)
@given(st.one_of(SCOPEISH, st.text(max_size=40)))
def test_scope_q_never_crashes(text: str) -> None:
    try:
        test = parse_scope_q(text)
    except NgsiError:
        return
    assert isinstance(test(["/a/b", "/x"]), bool)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_order_by_never_crashes(text: str) -> None:
    _refuses_cleanly(parse_order, text)


@settings(max_examples=200, deadline=None)
@given(JSON, JSON)
def test_projection_never_crashes(pick: Any, omit: Any) -> None:
    context = _core()
    _refuses_cleanly(parse_projection, pick, omit, context)


@settings(max_examples=300, deadline=None)
@given(st.one_of(JSON, st.fixed_dictionaries({"type": st.just("Query")}, optional={
    "entities": JSON, "attrs": JSON, "q": JSON, "geoQ": JSON, "scopeQ": JSON, "pick": JSON,
    "lang": JSON, "datasetId": JSON})))  # fmt: skip
def test_query_body_never_crashes(body: Any) -> None:
    _refuses_cleanly(query_body, body)


@settings(max_examples=300, deadline=None)
@given(st.one_of(JSON, st.fixed_dictionaries(
    {"type": st.sampled_from(["ContextSourceRegistration", "Subscription"])},
    optional={"id": JSON, "information": JSON, "endpoint": JSON, "entities": JSON,
              "watchedAttributes": JSON, "notification": JSON, "expiresAt": JSON, "q": JSON,
              "location": JSON, "observationInterval": JSON, "throttling": JSON,
              "contextSourceInfo": JSON, "mode": JSON})))  # fmt: skip
def test_registration_validation_never_crashes(body: Any) -> None:
    _refuses_cleanly(validate_registration, body)
    _refuses_cleanly(validate_subscription, body)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(JSON, st.fixed_dictionaries({"type": st.just("Property")}, optional={
    "value": JSON, "datasetId": st.one_of(st.just("urn:a:1"), JSON)})), max_size=4),
    st.one_of(JSON, st.lists(st.text(max_size=8), max_size=3)), JSON)  # fmt: skip
def test_multi_attributes_scope_and_types_never_crash(attr: Any, kind: Any, scope: Any) -> None:
    raw = {"id": "urn:ngsi-ld:T:1", "type": kind, "a": attr, "scope": scope}
    _refuses_cleanly(parse_entity, raw, _core())


_CORE: list[Any] = []


def _core() -> Any:
    """The core context (bundled: no store entries, no network)."""
    if not _CORE:
        import tempfile
        from pathlib import Path

        store = ContextStore(Path(tempfile.mkdtemp()))
        _CORE.append(ContextResolver(store, fetch_remote=False).core)
    return _CORE[0]
