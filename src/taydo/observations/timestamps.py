"""Observation times as the API and the files give them: epoch milliseconds or ISO 8601
text with an offset (a time without a zone is refused, not guessed).

Here, not in ingest, because reading an observation's time is the observations domain's own
business: its API and CLI take ``before``/``since`` times, and ingest's validator uses the same
rules (``taydo.ingest.validate`` re-exports ``parse_timestamp``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

__all__ = ["REASON_TS_NAIVE", "REASON_TS_TYPE", "parse_timestamp"]

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
