"""The road from a parsed reading to the store, shared by the MQTT, file and connector
gateways. Each gateway's parser turns its wire format into ``Reading`` objects; they are then
judged by the one ingest validator (``taydo.ingest.validate.validate_items``), so a value meets
the same rules whichever way it came in, and the good ones become writer rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from taydo.core import clock
from taydo.ingest.validate import SeriesLookup, validate_items

__all__ = ["Outcome", "Reading", "check"]


@dataclass(frozen=True, slots=True)
class Reading:
    """One value of one metric of one entity, as a gateway parsed it."""

    entity_id: str
    metric: str
    ts: Any  # epoch ms or ISO 8601 text with an offset; None = time of receipt
    value: Any

    def item(self, received_ms: int) -> dict[str, Any]:
        return {
            "entity_id": self.entity_id,
            "metric": self.metric,
            "ts": received_ms if self.ts is None else self.ts,
            "value": self.value,
        }


@dataclass(slots=True)
class Outcome:
    """Writer rows ``(series_id, ts, value, quality)`` and rejected readings with reasons."""

    rows: list[tuple[int, int, float, int]] = field(default_factory=list)
    rejected: list[tuple[Reading, str]] = field(default_factory=list)


def check(
    series: SeriesLookup,
    readings: Sequence[Reading],
    *,
    may_write: Callable[[str | None], bool] | None,
    received_ms: int | None = None,
    coerce_strings: bool = False,
) -> Outcome:
    """Validate readings (synchronous: a series-index miss reads the database)."""
    now = received_ms if received_ms is not None else clock.now_ms()
    items = [reading.item(now) for reading in readings]
    checked = validate_items(
        items, series, now_ms=now, may_write=may_write, coerce_strings=coerce_strings
    )
    return Outcome(
        rows=checked.rows,
        rejected=[(readings[index], reason) for index, reason, _agency in checked.rejected],
    )
