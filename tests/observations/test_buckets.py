"""``Buckets.show_many`` writes exactly what ``show`` writes, in every kind of zone."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taydo.observations.buckets import HOUR_MS, Buckets

ZONES = ("Asia/Ho_Chi_Minh", "Europe/Paris", "America/St_Johns", "Asia/Kolkata", "UTC")
# From 1890 (local mean time, offsets with seconds) to 2100; whole minutes mostly, some not.
instants = st.one_of(
    st.integers(-2_500_000_000, 4_100_000_000).map(lambda s: s * 1000),
    st.integers(-2_500_000_000_000, 4_100_000_000_000),
)


@pytest.mark.parametrize("zone", ZONES)
@given(stamps=st.lists(instants, max_size=50))
def test_show_many_is_show(zone: str, stamps: list[int]) -> None:
    buckets = Buckets(zone)
    assert buckets.show_many(stamps) == [buckets.show(ts) for ts in stamps]


@pytest.mark.parametrize("zone", ZONES)
def test_a_year_of_hours_across_both_clock_changes(zone: str) -> None:
    buckets = Buckets(zone)
    stamps = [1_735_689_600_000 + h * HOUR_MS for h in range(8784)]  # 2025, and a day more
    assert buckets.show_many(stamps) == [buckets.show(ts) for ts in stamps]
