"""The one road from a parsed reading to the store, shared by the MQTT, file and connector
gateways: validate each reading (through the ingest validator), group-commit the good ones,
quarantine the bad ones, and only then report back, so a sender is answered after commit.

A gateway's parser turns its wire format into ``Reading`` objects; everything after that is
the same for every source, so a value is judged by the same rules whichever way it came in.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from taydo.catalog.series import SeriesIndex
from taydo.core import clock

__all__ = [
    "MAX_FUTURE_MS",
    "Outcome",
    "Reading",
    "check",
    "parse_number",
    "parse_timestamp",
]

# A reading more than a day in the future is a clock error, not an observation.
MAX_FUTURE_MS = 24 * 3600 * 1000
MIN_TS_MS = 946_684_800_000  # 2000-01-01: older values are a unit or clock error
# Numbers below this are epoch seconds (10^11 ms is 1973, 10^11 s is year 5138).
SECONDS_LIMIT = 100_000_000_000


@dataclass(frozen=True, slots=True)
class Reading:
    """One value of one metric of one entity, as a gateway parsed it."""

    entity_id: str
    metric: str
    ts: int | None  # epoch ms UTC; None = time of receipt
    value: Any


@dataclass(slots=True)
class Outcome:
    """Validated points (series_id, ts, value) and rejected readings with their reason."""

    points: list[tuple[int, int, float]] = field(default_factory=list)
    rejected: list[tuple[Reading, str]] = field(default_factory=list)
    agencies: set[str] = field(default_factory=set)


def parse_timestamp(value: Any) -> int:
    """Epoch ms from a number (ms, or seconds when small) or an ISO 8601 string with a zone."""
    if isinstance(value, bool):
        raise ValueError("thời gian không hợp lệ / invalid time: a boolean")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError("thời gian không hợp lệ / invalid time: not finite")
        if abs(value) > 10**15:
            raise ValueError(f"thời gian không hợp lệ / invalid time: {value!r} out of range")
        return int(value * 1000) if abs(value) < SECONDS_LIMIT else int(value)
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 40:
            raise ValueError("thời gian không hợp lệ / invalid time: text too long")
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"thời gian không hợp lệ / invalid time {text!r}: use ISO 8601 or epoch ms"
            ) from None
        if moment.tzinfo is None:
            raise ValueError(
                f"thời gian thiếu múi giờ / time {text!r} has no time zone (add Z or +07:00)"
            )
        return clock.epoch_ms(moment)
    raise ValueError(f"thời gian không hợp lệ / invalid time of type {type(value).__name__}")


def parse_number(value: Any) -> float:
    """A finite float from a JSON number; anything else is refused with a reason."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"giá trị không phải số / value is not a number ({type(value).__name__})")
    try:
        number = float(value)
    except OverflowError:
        raise ValueError("giá trị quá lớn / value too large") from None
    if not math.isfinite(number):
        raise ValueError("giá trị không hữu hạn / value is not finite")
    return number


def check(
    series: SeriesIndex,
    readings: Sequence[Reading],
    *,
    may_write: Callable[[str | None], bool],
    received_ms: int | None = None,
) -> Outcome:
    """Judge readings: known series, allowed agency, a number within the metric's valid range,
    a plausible time. Synchronous (a series-index miss reads the database): run it off the
    event loop when misses are likely."""
    now = received_ms if received_ms is not None else clock.now_ms()
    outcome = Outcome()
    for reading in readings:
        info = series.get(reading.entity_id, reading.metric)
        if info is None:
            outcome.rejected.append(
                (
                    reading,
                    f"không có chuỗi số liệu / unknown series {reading.entity_id} {reading.metric}",
                )
            )
            continue
        if info.agency_code:
            outcome.agencies.add(info.agency_code)
        if not may_write(info.agency_code):
            outcome.rejected.append(
                (
                    reading,
                    f"ngoài phạm vi / {reading.entity_id} belongs to agency "
                    f"{info.agency_code}, not to this source",
                )
            )
            continue
        try:
            value = parse_number(reading.value)
        except ValueError as exc:
            outcome.rejected.append((reading, f"{reading.metric}: {exc}"))
            continue
        if info.min_valid is not None and value < info.min_valid:
            outcome.rejected.append(
                (reading, f"{reading.metric}: {value} < min_valid {info.min_valid}")
            )
            continue
        if info.max_valid is not None and value > info.max_valid:
            outcome.rejected.append(
                (reading, f"{reading.metric}: {value} > max_valid {info.max_valid}")
            )
            continue
        ts = now if reading.ts is None else reading.ts
        if ts < MIN_TS_MS or ts > now + MAX_FUTURE_MS:
            outcome.rejected.append((reading, f"thời gian không hợp lệ / implausible time {ts} ms"))
            continue
        outcome.points.append((info.series_id, ts, value))
    return outcome
