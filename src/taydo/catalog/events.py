"""Announcing catalog changes: the series index forgets, subscribers hear ``catalog.changed``."""

from __future__ import annotations

from typing import Any

__all__ = ["announce_changes"]


async def announce_changes(app: Any, entity_ids: list[str]) -> None:
    """Call after entities or metrics changed (created, updated, deleted, re-placed)."""
    if not entity_ids:
        return
    # The index is invalidated directly as well as through the bus, so the very next
    # request already sees the change (bus delivery is asynchronous).
    series = getattr(app.state, "series", None)
    if series is not None:
        series.invalidate(entity_ids)
    await app.state.bus.publish("catalog.changed", {"entity_ids": list(entity_ids)})
