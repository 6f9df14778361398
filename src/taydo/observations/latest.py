"""Latest values read many series at a time, as plain data: every series' latest value (the
console's overview map, 10,000 series per request) and the newest timestamp over a set of
series (data health's freshness; a feeder resuming where it stopped)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from taydo.core.db import Database
from taydo.observations.models import Latest

__all__ = ["latest_value_by_series", "newest_timestamp", "newest_ts"]

CHUNK = 500  # series ids per IN (...) list


def latest_value_by_series(database: Database) -> dict[int, float]:
    """Series id → latest value of every series that has one: one scan of the latest values
    (one row per series, no join)."""
    statement = select(Latest.series_id, Latest.value)
    with database.engine.connect() as connection:
        return {series_id: value for series_id, value in connection.execute(statement)}


def newest_timestamp(database: Database, series_ids: Iterable[int]) -> int | None:
    """Newest latest timestamp (epoch ms) over these series, None when none has data."""
    with database.engine.connect() as connection:
        return newest_ts(connection, list(series_ids))


def newest_ts(connection: Session | Connection, series_ids: Sequence[int]) -> int | None:
    """``newest_timestamp`` in the caller's transaction (data health reads it with the
    dataset's series)."""
    newest: int | None = None
    for start in range(0, len(series_ids), CHUNK):
        chunk = series_ids[start : start + CHUNK]
        found = connection.execute(
            select(func.max(Latest.ts)).where(Latest.series_id.in_(chunk))
        ).scalar()
        if found is not None and (newest is None or found > newest):
            newest = int(found)
    return newest
