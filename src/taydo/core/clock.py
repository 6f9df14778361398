"""One source of the current time, always timezone-aware (UTC)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "REASON_TS_NAIVE",
    "REASON_TS_TYPE",
    "epoch_ms",
    "ms_to_datetime",
    "now",
    "now_ms",
    "parse_timestamp",
]


def now() -> datetime:
    return datetime.now(UTC)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def epoch_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: a time zone is required")
    return int(moment.timestamp() * 1000)


def ms_to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


# Reasons a timestamp is refused, as shown to whoever sent it (Vietnamese / English).
REASON_TS_TYPE = (
    "ts phải là chuỗi ISO 8601 có múi giờ hoặc số mili giây epoch / "
    "ts must be ISO 8601 text with an offset or epoch milliseconds"
)
REASON_TS_NAIVE = (
    "ts thiếu múi giờ (ví dụ +07:00 hoặc Z) / ts has no time zone offset (e.g. +07:00 or Z)"
)


def parse_timestamp(raw: Any, *, coerce_strings: bool = False) -> int:
    """Epoch milliseconds from ``raw`` (int ms, integral float ms, or ISO 8601 with offset);
    raises ValueError with a user-facing reason."""
    kind = type(raw)
    if kind is int:
        return int(raw)
    if kind is float:
        if raw.is_integer():
            return int(raw)
        raise ValueError(REASON_TS_TYPE)
    if kind is str:
        if coerce_strings and raw.strip().lstrip("-").isdigit():
            return int(raw)
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            raise ValueError(REASON_TS_TYPE) from None
        if moment.tzinfo is None:
            raise ValueError(REASON_TS_NAIVE)
        return int(moment.timestamp() * 1000)
    raise ValueError(REASON_TS_TYPE)
