"""Announcing catalog changes: the series index forgets, subscribers hear ``catalog.changed``;
a change of entity attributes alone is ``catalog.attributes_changed``."""

from __future__ import annotations

from typing import Any

from taydo.core.runtime import Runtime

__all__ = ["announce_attribute_changes", "announce_changes"]


async def announce_changes(
    runtime: Runtime, entity_ids: list[str], *, refreshed: int | None = None
) -> None:
    """Call after entities or metrics changed (created, updated, deleted, re-placed).

    ``refreshed``: the mark ``SeriesIndex.hand_over`` returned when the writer handed the
    index what it committed; the index is then already current, and the announcement says so,
    so that hearing it does not drop what the hand-over stored."""
    if not entity_ids:
        return
    data: dict[str, Any] = {"entity_ids": list(entity_ids)}
    if refreshed is not None:
        data["refreshed_mark"] = refreshed  # named by the series index that handed it over
    # The series index hears it in this process at once (``SeriesIndex.hear_local_change``),
    # so the very next request already sees the change; other processes over the bus.
    await runtime.announce("catalog.changed", data)


async def announce_attribute_changes(runtime: Runtime, changed: dict[str, set[str]]) -> None:
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
    await runtime.bus.publish(
        "catalog.attributes_changed", {"entity_ids": list(changed), "attributes": sorted(names)}
    )
