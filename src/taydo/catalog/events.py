"""Announcing catalog changes: the series index forgets, subscribers hear ``catalog.changed``;
a change of entity attributes alone is ``catalog.attributes_changed``."""

from __future__ import annotations

from typing import Any

__all__ = ["announce_attribute_changes", "announce_changes"]


async def announce_changes(
    app: Any, entity_ids: list[str], *, refreshed: int | None = None
) -> None:
    """Call after entities or metrics changed (created, updated, deleted, re-placed).

    ``refreshed``: the mark ``SeriesIndex.hand_over`` returned when the writer handed the
    index what it committed; the index is then already current, and the announcement says so,
    so that hearing it does not drop what the hand-over stored."""
    if not entity_ids:
        return
    series = getattr(app.state, "series", None)
    data: dict[str, Any] = {"entity_ids": list(entity_ids)}
    if refreshed is not None and series is not None:
        data["refreshed"] = {"origin": series.origin, "mark": refreshed}
    elif series is not None:
        # The index is invalidated directly as well as through the bus, so the very next
        # request already sees the change (bus delivery is asynchronous).
        series.invalidate(entity_ids)
    await app.state.bus.publish("catalog.changed", data)


async def announce_attribute_changes(app: Any, changed: dict[str, set[str]]) -> None:
    """Call after a write changed only attribute values of existing entities (no series,
    type or place): ``changed`` maps entity ids to the attribute names changed.

    The series index has nothing to forget; what reads attributes (alarm levels of the rules,
    names for the entity resolver) hears ``catalog.attributes_changed`` with the entity ids and
    the union of the names, and decides for itself whether it cares."""
    if not changed:
        return
    names: set[str] = set()
    for attributes in changed.values():
        names.update(attributes)
    await app.state.bus.publish(
        "catalog.attributes_changed", {"entity_ids": list(changed), "attributes": sorted(names)}
    )
