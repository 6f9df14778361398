"""GET series and latest values over HTTP."""

from __future__ import annotations

from datetime import datetime

import pytest

from taydo.core.db import Database
from taydo.observations.service import Point, write_points
from tests.observations.conftest import MakeSeries

E1 = "urn:ngsi-ld:WaterObserved:CT-1"


def ms(text_time: str) -> int:
    return int(datetime.fromisoformat(text_time).timestamp() * 1000)


@pytest.fixture
def filled(database: Database, series_of: MakeSeries) -> int:
    """Two local days of 1-minute data: value = minute of the local day (0..1439)."""
    sid = series_of("CT-1", {"height": (None, None)})["height"]
    start = ms("2026-11-25T00:00:00+07:00")
    write_points(
        database, [Point(sid, start + m * 60_000, float(m % 1440)) for m in range(2 * 1440)]
    )
    return sid


def series(client, headers, **params):  # type: ignore[no-untyped-def]
    return client.get(f"/api/v1/entities/{E1}/series/height", params=params, headers=headers)


def test_daily_buckets_start_at_local_midnight(client, headers_for, filled) -> None:  # type: ignore[no-untyped-def]
    headers = headers_for("viewer")
    answer = series(
        client,
        headers,
        **{"from": "2026-11-25T00:00:00+07:00", "to": "2026-11-27T00:00:00+07:00"},
        bucket="1d",
        agg="count",
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["points"] == [
        {"t": "2026-11-25T00:00:00+07:00", "v": 1440.0},
        {"t": "2026-11-26T00:00:00+07:00", "v": 1440.0},
    ]
    maxima = series(
        client,
        headers,
        **{"from": "2026-11-25T00:00:00+07:00", "to": "2026-11-27T00:00:00+07:00"},
        bucket="1d",
        agg="max",
    ).json()["points"]
    assert [p["v"] for p in maxima] == [1439.0, 1439.0]


@pytest.mark.parametrize(
    ("bucket", "agg", "first", "count"),
    [
        ("1h", "avg", 29.5, 24),  # minutes 0..59 of the first local hour
        ("1h", "last", 59.0, 24),
        ("15m", "sum", sum(range(15)), 96),
        ("5m", "min", 0.0, 288),
        ("1m", "count", 1.0, 1440),
    ],
)
def test_buckets_and_aggregates(client, headers_for, filled, bucket, agg, first, count) -> None:  # type: ignore[no-untyped-def]
    answer = series(
        client,
        headers_for("viewer"),
        **{"from": "2026-11-25T00:00:00+07:00", "to": "2026-11-26T00:00:00+07:00"},
        bucket=bucket,
        agg=agg,
    )
    points = answer.json()["points"]
    assert len(points) == count
    assert points[0] == {"t": "2026-11-25T00:00:00+07:00", "v": first}


def test_hour_and_day_buckets_agree_with_minutes(client, headers_for, filled) -> None:  # type: ignore[no-untyped-def]
    headers = headers_for("viewer")
    rng = {"from": "2026-11-25T00:00:00+07:00", "to": "2026-11-27T00:00:00+07:00"}
    minutes = series(client, headers, **rng, bucket="1m", agg="sum").json()["points"]
    hours = series(client, headers, **rng, bucket="1h", agg="sum").json()["points"]
    days = series(client, headers, **rng, bucket="1d", agg="sum").json()["points"]
    assert sum(p["v"] for p in minutes) == sum(p["v"] for p in hours) == sum(p["v"] for p in days)


@pytest.mark.parametrize(
    ("params", "status", "text"),
    [
        ({"bucket": "2m"}, 422, ""),
        ({"agg": "median"}, 422, ""),
        ({"from": "2026-11-25T00:00:00"}, 422, "time zone"),
        ({"from": "soon"}, 422, "ISO 8601"),
        ({"from": "2026-11-26T00:00:00Z", "to": "2026-11-25T00:00:00Z"}, 422, "before"),
        (
            {"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z", "bucket": "1m"},
            422,
            "buckets",
        ),
    ],
)
def test_bad_parameters_are_clear_422s(client, headers_for, filled, params, status, text) -> None:  # type: ignore[no-untyped-def]
    answer = series(client, headers_for("viewer"), **params)
    assert answer.status_code == status
    assert text in answer.text


def test_unknown_series_is_404_and_reads_need_a_login(client, headers_for, filled) -> None:  # type: ignore[no-untyped-def]
    answer = client.get(f"/api/v1/entities/{E1}/series/salinity", headers=headers_for("viewer"))
    assert answer.status_code == 404
    assert client.get(f"/api/v1/entities/{E1}/series/height").status_code == 401


def test_default_range_is_the_last_24_hours(client, database, headers_for, series_of) -> None:  # type: ignore[no-untyped-def]
    from taydo.core import clock

    sid = series_of("CT-1", {"height": (None, None)})["height"]
    now = clock.now_ms()
    write_points(
        database, [Point(sid, now - 2 * 86_400_000, 1.0), Point(sid, now - 3_600_000, 2.0)]
    )
    points = series(client, headers_for("viewer"), bucket="1h", agg="max").json()["points"]
    assert [p["v"] for p in points] == [2.0]
    assert points[0]["t"].endswith("+07:00")


def test_latest_values_with_filters(client, database, headers_for, series_of) -> None:  # type: ignore[no-untyped-def]
    water = series_of("CT-1", {"height": (None, None), "salinity": (None, None)})
    air = series_of("AQ-1", {"pm25": (None, None)}, agency="SYT", entity_type="AirQualityObserved")
    t = ms("2026-11-27T08:00:00+07:00")
    write_points(
        database,
        [
            Point(water["height"], t, 1.5),
            Point(water["height"], t - 60_000, 9.0),
            Point(water["salinity"], t, 0.4),
            Point(air["pm25"], t + 1234, 35.0),
        ],
    )
    headers = headers_for("viewer")
    everything = client.get("/api/v1/latest", headers=headers).json()
    assert [(v["entity_id"], v["metric"], v["value"]) for v in everything] == [
        ("urn:ngsi-ld:AirQualityObserved:AQ-1", "pm25", 35.0),
        (E1, "height", 1.5),
        (E1, "salinity", 0.4),
    ]
    assert everything[0]["ts"] == "2026-11-27T08:00:01.234000+07:00"
    assert everything[1]["unit"] == "MTR"
    by_type = client.get("/api/v1/latest", params={"type": "WaterObserved"}, headers=headers).json()
    assert {v["metric"] for v in by_type} == {"height", "salinity"}
    by_agency = client.get("/api/v1/latest", params={"agency": "SYT"}, headers=headers).json()
    assert [v["metric"] for v in by_agency] == ["pm25"]
    one = client.get("/api/v1/latest", params={"entity_id": E1}, headers=headers).json()
    assert len(one) == 2
