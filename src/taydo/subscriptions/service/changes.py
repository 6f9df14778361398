"""What a notification adds on request (§5.2.14 NotificationParams): ``sysAttrs`` (the
entities' createdAt/modifiedAt) and ``showChanges`` (each changed Property's ``previousValue``).

The previous value of an observed Property is the value it held before the change: for the
second and later values of one batch, the value just before it in the batch; for the first,
the newest stored point older than it (read only for subscriptions that ask, so the others
pay nothing). Values arrive committed, so the store already holds the new ones: the read is
strictly before the new value's time."""

from __future__ import annotations

import itertools
from typing import Any

from taydo.catalog.series import SeriesIndex
from taydo.core.db import Database
from taydo.observations.query import raw_points

__all__ = ["notification_flag", "previous_values"]


def notification_flag(entry: Any, flag: str) -> bool:
    """A boolean member of the subscription's ``notification`` (``sysAttrs``, ``showChanges``)."""
    notification = entry.row.document.get("notification") or {}
    return notification.get(flag) is True


def previous_values(database: Database, change: Any) -> dict[tuple[str, int], float]:
    """``(metric, time in ms) → the value before it`` for the observed values of ``change``
    (a ``notifications.Change``); a first value ever has none."""
    out: dict[tuple[str, int], float] = {}
    firsts: list[tuple[str, int]] = []
    for metric, points in change.values.items():
        ordered = sorted(points)
        if not ordered:
            continue
        firsts.append((metric, ordered[0][0]))
        for (_ts, before), (ts, _value) in itertools.pairwise(ordered):
            out[(metric, ts)] = before
    if not firsts:
        return out
    series = SeriesIndex(database)
    with database.engine.connect() as connection:
        for metric, ts in firsts:
            info = series.get(change.entity_id, metric)
            if info is None:
                continue
            older = raw_points(
                connection, database.dialect, info.series_id, end_ms=ts, newest_first=True, limit=1
            )
            for _at, value, _quality in older:
                out[(metric, ts)] = float(value)
                break
    return out
