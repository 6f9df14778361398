"""How current a set of series is: the time of the newest value of any of them (from the
latest values, one row per series), for the data-health checks."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, text
from sqlalchemy.orm import Session

__all__ = ["newest_ts"]

_NEWEST = text("SELECT max(ts) FROM observations_latest WHERE series_id IN :ids").bindparams(
    bindparam("ids", expanding=True)
)


def newest_ts(connection: Session | Connection, series_ids: list[int]) -> int | None:
    """Epoch ms of the newest latest value of ``series_ids``; None when none has a value."""
    if not series_ids:
        return None
    newest = connection.execute(_NEWEST, {"ids": series_ids}).scalar()
    return int(newest) if newest is not None else None
