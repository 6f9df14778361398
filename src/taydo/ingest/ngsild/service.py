"""NGSI-LD writes: create, upsert, update, append, patch and delete, singly or in batches.

Every write request is one database transaction over the catalog tables: the entities it
touches are loaded at once, changed in memory (so a batch that names an id twice behaves as
if its operations ran in order), then inserted, updated and deleted with one statement each.
Numeric Properties observed at a time become points of the metric of the same name; the
caller hands them to the observation writer after this commit.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import DBAPIError

from taydo.catalog.series import SeriesIndex
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.ingest.ngsild.context import Context, ContextResolver
from taydo.ingest.ngsild.entity import (
    NGSI,
    ParsedEntity,
    now_utc,
    observed_ms,
    split_for_storage,
    translate,
)
from taydo.ingest.ngsild.errors import NgsiError
from taydo.ingest.ngsild.query import geometry_of, point_of
from taydo.ingest.ngsild.rows import (
    AGENCIES,
    EntityState,
    Outcome,
    PendingPoint,
    flush,
    inserted_series,
    journal_entry,
    load,
    series_points,
)

__all__ = ["MODES", "Operation", "Outcome", "PendingPoint", "write_entities"]

log = logging.getLogger(__name__)

MODES = ("create", "upsert", "upsert_update", "update", "patch", "delete", "delete_attr")


def _agency_for_new(
    connection: Connection, principal: Principal, wanted: str | None
) -> tuple[int | None, str | None]:
    """The agency a new entity belongs to: the officer's (or the one they name)."""
    code: str | None = None
    if wanted:
        if principal.role == "agency_officer" and wanted not in principal.agencies:
            raise NgsiError("BadRequestData", f"you do not belong to agency {wanted[:40]!r}")
        code = wanted
    elif principal.role == "agency_officer":
        code = sorted(principal.agencies)[0] if principal.agencies else None
    if code is None:
        return None, None
    agency_id = connection.scalar(select(AGENCIES.c.id).where(AGENCIES.c.code == code))
    if agency_id is None:
        raise NgsiError("BadRequestData", f"không có cơ quan / no agency {code[:40]!r}")
    return int(agency_id), code


Locate = Callable[[float, float], "str | None"]


def _place(state: EntityState, locate: Locate | None) -> None:
    location = state.attributes.get("location")
    if location is None:
        return
    place = point_of(location)
    if place is None:
        point = geometry_of(location).representative_point()
        place = (float(point.x), float(point.y))
    if place != (state.lon, state.lat):
        state.lon, state.lat = place
        state.catalog_changed = True
        if locate is not None and not state.area_explicit:
            state.area_code = locate(*place)


def _display_name(state: EntityState) -> str:
    name = state.attributes.get("name")
    if isinstance(name, str) and name.strip():
        return name.strip()[:200]
    return state.entity_id.rsplit(":", 1)[-1][:200] or state.entity_id[:200]


def _apply_attrs(
    state: EntityState,
    attrs: dict[str, dict[str, Any]],
    *,
    replace_all: bool,
    only_existing: bool,
    no_overwrite: bool,
) -> tuple[list[str], list[tuple[str, str]]]:
    """Merge attrs into the state; returns (names written, (name, reason) not written)."""
    attributes = state.attributes
    details = attributes.get(NGSI) if state.context is not None else None
    meta: dict[str, Any] = dict(details.get("meta", {})) if isinstance(details, dict) else {}
    changed: set[str] = set()
    if replace_all:
        changed.update(n for n in attributes if n != NGSI and n not in attrs)  # removed
        keep = {NGSI: attributes[NGSI]} if NGSI in attributes else {}
        attributes = keep
        meta = {}
    written: list[str] = []
    skipped: list[tuple[str, str]] = []
    values, extras = split_for_storage(attrs)
    for name, value in values.items():
        exists = name in attributes
        if only_existing and not exists:
            skipped.append((name, "attribute does not exist"))
            continue
        if no_overwrite and exists:
            skipped.append((name, "attribute exists (noOverwrite)"))
            continue
        if state.attributes.get(name, _ABSENT) != value:  # the stored value, before this write
            changed.add(name)
        attributes[name] = value
        if name in extras:
            meta[name] = extras[name]
        else:
            meta.pop(name, None)
        written.append(name)
    if state.context is not None:
        attributes[NGSI] = {"@context": state.context.value, "meta": meta}
    elif meta:
        # A plain catalog entity keeps plain names; only non-Property details are recorded.
        attributes[NGSI] = {"@context": None, "meta": meta, "plain": True}
    state.attributes = attributes
    state.dirty = state.dirty or bool(written) or replace_all
    if changed:
        _note_changed(state, changed)
    return written, skipped


def _note_changed(state: EntityState, names: Iterable[str]) -> None:
    if state.changed_attrs is None:
        state.changed_attrs = set()
    state.changed_attrs.update(names)


_ABSENT = object()
_NUMBERS = (int, float)  # built once: ``int | float`` builds a union object at every call


def _points_of(
    entity_id: str, attrs: dict[str, dict[str, Any]], reference: Any
) -> list[PendingPoint]:
    """Points of the numeric Properties observed at a time (their own or dateObserved)."""
    points: list[PendingPoint] = []
    for name, attr in attrs.items():
        value = attr.get("value")
        if attr["type"] != "Property" or isinstance(value, bool):
            continue
        if not isinstance(value, _NUMBERS) or not math.isfinite(value) or len(name) > 80:
            continue
        when = attr.get("observedAt", reference)
        if when is None:
            continue
        ts = observed_ms(when, name)
        unit = attr.get("unitCode", "")
        points.append(PendingPoint(entity_id, name, unit, ts, float(value)))
    return points


@dataclass
class Operation:
    entity_id: str
    entity: ParsedEntity | None  # None for delete
    request: Context
    attr_name: str | None = None  # delete_attr


def write_entities(
    database: Database,
    resolver: ContextResolver,
    principal: Principal,
    operations: list[Operation],
    mode: str,
    *,
    no_overwrite: bool = False,
    agency: str | None = None,
    locate: Locate | None = None,
    series: SeriesIndex | None = None,
) -> Outcome:
    """Apply the operations in one transaction; ``locate`` gives a point's ward/commune.

    ``series``: the index to hand what the write committed (its ``refreshed`` mark is in the
    outcome, for the announcement)."""
    if mode not in MODES:
        raise ValueError(mode)
    since = series.mark() if series is not None else 0
    for attempt in range(RACE_ATTEMPTS):
        try:
            outcome = _write(
                database, resolver, principal, operations, mode, no_overwrite, agency, locate
            )
            break
        except DBAPIError as exc:
            if attempt == RACE_ATTEMPTS - 1 or not _lost_race(exc):
                raise
            log.info("NGSI-LD write raced another writer (%s); trying again", exc.orig)
    if series is not None and outcome.changed_catalog:
        outcome.refreshed = series.hand_over(outcome.changed_catalog, outcome.fresh, since)
    return outcome


# PostgreSQL: ``load`` locks the existing entities' rows, so concurrent writers of one entity
# wait for each other; writers racing to create the same new entity (unique violation) or
# locking shared rows in opposite orders (deadlock) lose as a whole and run again.
RACE_ATTEMPTS = 3
_RACE_STATES = frozenset({"23505", "40P01"})  # unique_violation, deadlock_detected


def _lost_race(error: DBAPIError) -> bool:
    return getattr(error.orig, "sqlstate", None) in _RACE_STATES


def _write(
    database: Database,
    resolver: ContextResolver,
    principal: Principal,
    operations: list[Operation],
    mode: str,
    no_overwrite: bool,
    agency: str | None,
    locate: Locate | None,
) -> Outcome:
    outcome = Outcome()
    pending: list[PendingPoint] = []
    now = now_utc()
    with database.engine.begin() as connection:
        if database.dialect == "sqlite":
            # Read and write under the one write lock: a write between them (a concurrent
            # request for the same entity) would otherwise be overwritten or collide.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        states = load(connection, resolver, list({op.entity_id for op in operations}))
        originally = {key: state.pk for key, state in states.items()}
        new_agency: tuple[int | None, str | None] | None = None
        for op in operations:
            state = states.get(op.entity_id)
            if state is not None and state.deleted:
                state = None
            visible = state is not None and principal.may_see_agency(state.agency_code)
            try:
                if state is not None and not principal.may_write_agency(state.agency_code):
                    if mode in ("create", "upsert", "upsert_update"):
                        raise NgsiError("AlreadyExists", f"entity {op.entity_id} exists")
                    raise NgsiError("ResourceNotFound", f"no entity {op.entity_id}")
                if mode == "delete":
                    if state is None or not visible:
                        raise NgsiError("ResourceNotFound", f"no entity {op.entity_id}")
                    state.deleted = True
                    outcome.success.append(op.entity_id)
                    continue
                if mode == "delete_attr":
                    if state is None or op.attr_name is None:
                        raise NgsiError("ResourceNotFound", f"no entity {op.entity_id}")
                    name = translate(op.attr_name, op.request, state.context)
                    if name not in state.attributes or name == NGSI:
                        raise NgsiError("ResourceNotFound", f"no attribute {op.attr_name[:80]}")
                    del state.attributes[name]
                    _note_changed(state, (name,))
                    details = state.attributes.get(NGSI)
                    if isinstance(details, dict):
                        details.get("meta", {}).pop(name, None)
                    state.dirty = True
                    outcome.success.append(op.entity_id)
                    continue
                parsed = op.entity
                assert parsed is not None
                if state is None:
                    if mode in ("update", "patch"):
                        raise NgsiError("ResourceNotFound", f"no entity {op.entity_id}")
                    if not parsed.type:
                        raise NgsiError("BadRequestData", "a new entity needs a type")
                    if new_agency is None:
                        new_agency = _agency_for_new(connection, principal, agency)
                    context: Context | None = op.request
                elif mode == "create":
                    raise NgsiError("AlreadyExists", f"entity {op.entity_id} exists")
                else:
                    context = state.context
                attrs = parsed.attrs
                if context is not op.request:
                    attrs = {translate(n, op.request, context): a for n, a in attrs.items()}
                reference = attrs["dateObserved"].get("value") if "dateObserved" in attrs else None
                if reference is None and "dateObserved" in attrs:
                    reference = attrs["dateObserved"].get("object")
                if reference is None and state is not None:
                    reference = state.attributes.get("dateObserved")
                candidates = _points_of(op.entity_id, attrs, reference)
                # Nothing below raises: the entity's changes and its points go together.
                replace_all = False
                if state is None:
                    assert new_agency is not None
                    state = EntityState(
                        None, op.entity_id, parsed.type, new_agency[0], new_agency[1],
                        {NGSI: {"@context": op.request.value, "meta": {}}}, None, None, None,
                        "", op.request, dirty=True, catalog_changed=True,
                    )  # fmt: skip
                    states[op.entity_id] = state
                    outcome.created.append(op.entity_id)
                else:
                    replace_all = mode == "upsert"
                    if parsed.type:
                        kind = translate(parsed.type, op.request, state.context)
                        if mode == "upsert" and kind != state.type:
                            state.type, state.catalog_changed = kind, True
                written, skipped = _apply_attrs(
                    state,
                    attrs,
                    replace_all=replace_all,
                    only_existing=mode == "patch",
                    no_overwrite=no_overwrite,
                )
                _place(state, locate)
                state.name = _display_name(state)
                done = set(written)
                pending.extend(p for p in candidates if p.metric in done)
                if state.changed_attrs and candidates:
                    # Observed values are series: their change is an observation, not a
                    # change of what the entity is.
                    state.changed_attrs.difference_update(p.metric for p in candidates)
                if skipped:
                    outcome.not_updated[op.entity_id] = skipped
                outcome.success.append(op.entity_id)
            except NgsiError as error:
                outcome.errors.append((op.entity_id, error))
        flush(connection, states, originally, now, outcome)
        outcome.points = series_points(connection, states, pending, outcome)
        journal_entry(connection, principal, mode, outcome)
    outcome.fresh = inserted_series(states, outcome)  # after the commit: the lock is free
    return outcome
