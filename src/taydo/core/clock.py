"""One source of the current time, always timezone-aware (UTC)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

__all__ = ["epoch_ms", "ms_to_datetime", "now", "now_ms"]


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
