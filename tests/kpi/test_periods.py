"""Periods in the city's calendar, and the period parser fuzzed: any text either names a
period whose key parses back to itself, or is refused with a ValueError (never another error)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from taydo.kpi.periods import PERIODS, parse_key, period_of, recent

ZONE = "Asia/Ho_Chi_Minh"


@pytest.mark.parametrize(
    ("kind", "key", "start", "end"),
    [
        (
            "day",
            "2026-11-03",
            datetime(2026, 11, 2, 17, tzinfo=UTC),
            datetime(2026, 11, 3, 17, tzinfo=UTC),
        ),
        (
            "week",
            "2026-W45",
            datetime(2026, 11, 1, 17, tzinfo=UTC),
            datetime(2026, 11, 8, 17, tzinfo=UTC),
        ),
        (
            "month",
            "2026-12",
            datetime(2026, 11, 30, 17, tzinfo=UTC),
            datetime(2026, 12, 31, 17, tzinfo=UTC),
        ),
        (
            "quarter",
            "2026-Q4",
            datetime(2026, 9, 30, 17, tzinfo=UTC),
            datetime(2026, 12, 31, 17, tzinfo=UTC),
        ),
        (
            "year",
            "2026",
            datetime(2025, 12, 31, 17, tzinfo=UTC),
            datetime(2026, 12, 31, 17, tzinfo=UTC),
        ),
    ],
)
def test_bounds_in_the_city_calendar(kind: str, key: str, start: datetime, end: datetime) -> None:
    period = parse_key(kind, key, ZONE)
    assert (period.key, period.start, period.end) == (key, start, end)
    assert period_of(kind, start, ZONE).key == key
    assert period_of(kind, end, ZONE).key != key
    assert period.next().start == period.end and period.previous().end == period.start


def test_recent_periods_oldest_first() -> None:
    months = recent("month", datetime(2026, 1, 15, tzinfo=UTC), ZONE, 3)
    assert [p.key for p in months] == ["2025-11", "2025-12", "2026-01"]
    weeks = recent("week", datetime(2027, 1, 2, tzinfo=UTC), ZONE, 2)
    assert [p.key for p in weeks] == ["2026-W52", "2026-W53"]


@given(kind=st.sampled_from(list(PERIODS)), text=st.text(max_size=20))
@example(kind="month", text="2026-13")
@example(kind="week", text="2026-W54")
@example(kind="day", text="2026-02-30")
@example(kind="quarter", text="1999-Q1")
@example(kind="year", text="٢٠٢٦")
def test_parse_key_refuses_cleanly(kind: str, text: str) -> None:
    try:
        period = parse_key(kind, text, ZONE)
    except ValueError:
        return
    assert parse_key(kind, period.key, ZONE) == period
    assert period.start < period.end


@given(
    kind=st.sampled_from(list(PERIODS)),
    moment=st.datetimes(
        min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.just(UTC)
    ),
)
def test_every_moment_is_in_its_period(kind: str, moment: datetime) -> None:
    period = period_of(kind, moment, ZONE)
    assert period.start <= moment < period.end
    assert parse_key(kind, period.key, ZONE) == period
