"""``taydo.demo.pages.post_rise``: the browser tests' rise lands after the demo's history."""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st

from taydo.demo.pages import CAN_THO, RISE, post_rise

STEP_MS = 1_800_000  # the words test's history spacing (30 minutes)


def _posted(now_ms: int) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.extend(json.loads(request.content))
        return httpx.Response(200, json={"accepted": len(sent)})

    with httpx.Client(base_url="http://demo", transport=httpx.MockTransport(answer)) as api:
        post_rise(api, STEP_MS, now_ms)
    return sent


@given(st.integers(min_value=1_700_000_000_000, max_value=1_900_000_000_000))
def test_the_rise_is_newer_than_the_last_history_tick(now_ms: int) -> None:
    points = _posted(now_ms)
    last_tick = now_ms - now_ms % STEP_MS
    times = [p["ts"] for p in points]
    assert [p["value"] for p in points] == list(RISE)
    assert {p["entity_id"] for p in points} == {CAN_THO}
    assert all(ts > last_tick for ts in times), (last_tick, times)
    assert times == sorted(set(times)), times  # one point a time, in order


def test_far_from_a_tick_the_rise_is_a_minute_apart_up_to_now() -> None:
    now_ms = 1_800_000_000_000 + 20 * 60_000  # 20 minutes after a 30-minute tick
    times = [p["ts"] for p in _posted(now_ms)]
    assert times == [now_ms - (4 - i) * 60_000 for i in range(5)]


def test_a_second_after_a_tick_the_rise_fits_in_that_second() -> None:
    tick = 1_800_000_000_000
    times = [p["ts"] for p in _posted(tick + 1_000)]
    assert tick < times[0] and times[-1] <= tick + 1_000, times
