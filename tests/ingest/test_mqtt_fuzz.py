"""Fuzzing the MQTT parser and validator: whatever arrives ends stored or quarantined with a
reason, never an exception (which would make the broker redeliver it forever)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from taydo.catalog.series import SeriesIndex
from taydo.ingest import quarantine
from taydo.ingest.mqtt.gateway import MqttGateway, parse_broker_url
from taydo.ingest.mqtt.payload import IotaService
from taydo.ingest.resolve import EntityResolver
from tests.ingest.conftest import PARSER_DEADLINE, make_series

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=50),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
payloads = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(
        st.sampled_from(["height", "ts", "TimeInstant", "temperature", "", "x" * 100]),
        json_values,
        max_size=4,
    ).map(lambda v: json.dumps(v).encode()),
    st.integers(min_value=1, max_value=2000).map(lambda n: b"[" * n + b"]" * n),  # deep nesting
    st.just(b'{"height": 1' + b"0" * 400 + b"}"),  # a huge number
    st.just(b'{"height": "' + b"x" * 1_000_000 + b'"}'),  # a 1 MB string
    # Hostile JSON (issue 18, #3): runaway nesting, bad UTF-8, lone UTF-16 surrogates.
    st.just(b"[" * 100_000),
    st.integers(1, 50_000).map(lambda n: b'{"height": ' + b"[" * n + b"]" * n + b"}"),
    st.binary(min_size=1, max_size=4).map(lambda junk: b'{"height": 1, "note": "' + junk + b'"}'),
    st.integers(0xD800, 0xDFFF).map(lambda code: f'{{"h\\u{code:04x}": 1}}'.encode()),
    st.integers(0xD800, 0xDBFF).map(lambda code: f'{{"height": "\\u{code:04x}x"}}'.encode()),
    st.just(b'{"height\\u0000": 1, "ts": "\\u0000"}'),
)
topics = st.one_of(
    st.sampled_from(
        [
            "taydo/SNNMT/F-1/attrs",
            "taydo/SNNMT/urn:ngsi-ld:WaterObserved:F-1/attrs",
            "taydo/SYT/F-1/attrs",
            "/k1/F-1/attrs",
            "/json/k1/F-1/attrs",
            "/nokey/F-1/attrs",
            "taydo//attrs",
        ]
    ),
    st.text(max_size=80),
)


@pytest.fixture
def gateway(database):  # type: ignore[no-untyped-def]
    make_series(database, "F-1", {"height": (-5.0, 10.0), "temperature": (None, None)})
    return MqttGateway(
        parse_broker_url("mqtt://127.0.0.1"),
        series=SeriesIndex(database),
        resolver=EntityResolver(database),
        write=None,  # type: ignore[arg-type]
        quarantine=None,  # type: ignore[arg-type]
        iota={"k1": IotaService("SNNMT", "WaterObserved")},
    )


@settings(
    max_examples=300,
    deadline=PARSER_DEADLINE,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(topic=topics, payload=payloads)
# The inputs (18, #3), always among the examples.
@example(topic="taydo/SNNMT/F-1/attrs", payload=b"[" * 100_000)
@example(
    topic="taydo/SNNMT/F-1/attrs", payload=b'{"height": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
)
@example(topic="taydo/SNNMT/F-1/attrs", payload=b'{"height": 1, "note": "\xff\xfe"}')
@example(topic="taydo/SNNMT/F-1/attrs", payload=b'{"h\\ud800": 1}')
def test_any_message_is_stored_or_quarantined(
    database, gateway, topic: str, payload: bytes
) -> None:  # type: ignore[no-untyped-def]
    batch = gateway.handle(topic, payload)
    # What is quarantined can be committed on this backend (else the message would be
    # redelivered forever): NUL, lone surrogates and deep values are all storable.
    assert quarantine.put_many(database, batch.quarantine) == len(batch.quarantine)
    assert len(batch.acks) == 1
    assert batch.points or batch.quarantine
    for entry in batch.quarantine:
        assert entry.source == "mqtt" and entry.reason
        assert entry.raw["topic"] == topic
        assert "payload" in entry.raw or "payload_base64" in entry.raw
    for _series, _ts, value, _quality in batch.points:
        assert -5.0 <= value <= 10.0 or _series != 1


@settings(
    max_examples=100,
    deadline=PARSER_DEADLINE,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(value=st.floats(min_value=-5, max_value=10), ts=st.integers(10**12, 1_700_000_000_000))
def test_good_messages_become_points(gateway, value: float, ts: int) -> None:  # type: ignore[no-untyped-def]
    batch = gateway.handle(
        "taydo/SNNMT/F-1/attrs", json.dumps({"height": value, "ts": ts}).encode()
    )
    assert batch.quarantine == []
    assert [(p[1], p[2]) for p in batch.points] == [(ts, value)]
