"""Validation of raw observation items, shared by every gateway (HTTP, files, MQTT, …).

An item is ``{entity_id, metric, ts, value, quality?}``; ``ts`` is ISO 8601 text with an
offset or epoch milliseconds. Each item is accepted (becomes a row for the writer) or
rejected with a clear reason; one bad item never spoils the others. The loop is written for
speed: it runs once per observation on the ingest hot path.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from taydo.catalog.series import SeriesInfo
from taydo.observations.timestamps import REASON_TS_TYPE, parse_timestamp

__all__ = [
    "FUTURE_TOLERANCE_MS",
    "REASON_UNKNOWN_SERIES",
    "SeriesLookup",
    "Validated",
    "parse_timestamp",
    "validate_items",
]

FUTURE_TOLERANCE_MS = 86_400_000  # a clock may run ahead; more than a day ahead is an error
QUALITY_MAX = 32_767

# The same text for an unknown entity, an unknown metric and a series outside the caller's
# agencies: the answer must not reveal whether another agency's series exists.
REASON_UNKNOWN_SERIES = (
    "không có thực thể hoặc chỉ số này trong phạm vi của bạn / "
    "unknown entity_id or metric (or not yours to write)"
)
REASON_NOT_OBJECT = "mục phải là một đối tượng JSON / item must be a JSON object"
REASON_NOT_NUMBER = "value phải là số / value must be a number"
REASON_NOT_FINITE = (
    "value không hữu hạn (NaN, Infinity) / value must be finite (not NaN or Infinity)"
)
REASON_TS_FUTURE = "ts ở tương lai quá một ngày / ts is more than a day in the future"
REASON_TS_PAST = "ts trước năm 1970 / ts is before 1970"
REASON_QUALITY = (
    f"quality phải là số nguyên 0–{QUALITY_MAX} / quality must be an integer 0–{QUALITY_MAX}"
)


class SeriesLookup(Protocol):
    def get(self, entity_id: str, metric: str) -> SeriesInfo | None: ...


@dataclass(slots=True)
class Validated:
    """Rows ready for the writer, and the rejected items as (index, reason, agency_code)."""

    rows: list[tuple[int, int, float, int]] = field(default_factory=list)
    rejected: list[tuple[int, str, str | None]] = field(default_factory=list)


class _Reject(Exception):
    def __init__(self, reason: str, agency_code: str | None = None) -> None:
        self.reason = reason
        self.agency_code = agency_code


def _range_reason(value: float, info: SeriesInfo) -> str | None:
    low, high = info.min_valid, info.max_valid
    if (low is not None and value < low) or (high is not None and value > high):
        return (
            f"value {value:g} ngoài khoảng hợp lệ [{low}, {high}] của {info.metric} / "
            f"value {value:g} is outside the valid range [{low}, {high}] of {info.metric}"
        )
    return None


def validate_items(
    items: Sequence[Any],
    series: SeriesLookup,
    *,
    now_ms: int,
    may_write: Callable[[str | None], bool] | None = None,
    coerce_strings: bool = False,
) -> Validated:
    """Check raw items; ``may_write(agency_code)`` limits the series a caller may write.

    ``coerce_strings`` accepts numbers written as text (CSV files); JSON gateways leave it
    off so that ``"12.5"`` is reported as the mistake it is.
    """
    result = Validated()
    rows = result.rows
    latest_allowed = now_ms + FUTURE_TOLERANCE_MS
    resolved: dict[tuple[str, str], SeriesInfo | None] = {}
    allowed: dict[str | None, bool] = {}
    stamps: dict[str, int] = {}  # items of a batch often share their timestamp text
    isfinite = math.isfinite
    for index, item in enumerate(items):
        try:
            if type(item) is not dict:
                raise _Reject(REASON_NOT_OBJECT)
            try:
                entity_id = item["entity_id"]
                metric = item["metric"]
                raw_ts = item["ts"]
                value = item["value"]
            except KeyError as missing:
                name = missing.args[0]
                raise _Reject(f"thiếu trường '{name}' / missing field '{name}'") from None
            key = (entity_id, metric)
            try:
                info = resolved[key]
            except KeyError:
                info = None
                if type(entity_id) is str and type(metric) is str:
                    info = series.get(entity_id, metric)
                    if info is not None and may_write is not None:
                        permitted = allowed.get(info.agency_code)
                        if permitted is None:
                            permitted = allowed[info.agency_code] = may_write(info.agency_code)
                        if not permitted:
                            info = None
                resolved[key] = info
            except TypeError:  # an unhashable entity_id or metric (a list, an object)
                info = None
            if info is None:
                raise _Reject(REASON_UNKNOWN_SERIES)
            agency = info.agency_code
            kind = type(value)
            if kind is not float:
                if kind is int:
                    try:
                        value = float(value)
                    except OverflowError:
                        raise _Reject(REASON_NOT_FINITE, agency) from None
                elif kind is str and coerce_strings:
                    try:
                        value = float(value)
                    except ValueError:
                        raise _Reject(REASON_NOT_NUMBER, agency) from None
                else:
                    raise _Reject(REASON_NOT_NUMBER, agency)
            if not isfinite(value):
                raise _Reject(REASON_NOT_FINITE, agency)
            if info.min_valid is not None or info.max_valid is not None:
                reason = _range_reason(value, info)
                if reason is not None:
                    raise _Reject(reason, agency)
            if type(raw_ts) is int:
                ts = raw_ts
            else:
                try:
                    ts = stamps[raw_ts]
                except (KeyError, TypeError):
                    try:
                        ts = parse_timestamp(raw_ts, coerce_strings=coerce_strings)
                    except (ValueError, OverflowError) as bad:
                        raise _Reject(str(bad) or REASON_TS_TYPE, agency) from None
                    if type(raw_ts) is str:
                        stamps[raw_ts] = ts
            if ts > latest_allowed:
                raise _Reject(REASON_TS_FUTURE, agency)
            if ts < 0:
                raise _Reject(REASON_TS_PAST, agency)
            quality = item.get("quality", 0)
            if type(quality) is not int:
                if coerce_strings and type(quality) is str and quality.isdigit():
                    quality = int(quality)
                elif quality is None:
                    quality = 0
                else:
                    raise _Reject(REASON_QUALITY, agency)
            if not 0 <= quality <= QUALITY_MAX:
                raise _Reject(REASON_QUALITY, agency)
            rows.append((info.series_id, ts, value, quality))
        except _Reject as rejected:
            result.rejected.append((index, rejected.reason, rejected.agency_code))
    return result
