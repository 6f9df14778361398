"""NGSI-LD writes: create, upsert, update, append, patch and delete, singly or in batches.

Every write request is one database transaction over the catalog tables: the entities it
touches are loaded at once, changed in memory (so a batch that names an id twice behaves as
if its operations ran in order), then inserted, updated and deleted with one statement each.
Numeric Properties observed at a time become points of the metric of the same name; the
caller hands them to the observation writer after this commit. Every other attribute value
a write changes (text, JSON, geometry, relationship …) is appended to its history
(``history``) in the same transaction, one multi-row insert per write.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from taydo.catalog import service as catalog
from taydo.catalog.series import SeriesIndex
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.ingest.ngsild.context import Context, ContextResolver
from taydo.ingest.ngsild.entity import (
    DATASETS,
    NGSI,
    ParsedEntity,
    now_utc,
    observed_ms,
    primary_member,
    split_for_storage,
    translate,
)
from taydo.ingest.ngsild.errors import NgsiError
from taydo.ingest.ngsild.history import Row as HistoryRow
from taydo.ingest.ngsild.history import append as append_history
from taydo.ingest.ngsild.history import instance_row
from taydo.ingest.ngsild.query import geometry_of, point_of
from taydo.ingest.ngsild.rows import (
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

# replace: PUT /entities/{id} (an existing entity's attributes replaced); merge: PATCH
# /entities/{id} (merged into an existing entity, "urn:ngsi-ld:null" deletes an attribute).
MODES = (
    "create", "upsert", "upsert_update", "update", "patch", "replace", "merge", "delete",
    "delete_attr",
)  # fmt: skip
NULL = "urn:ngsi-ld:null"
# The modes that change some attributes of an existing entity: there "urn:ngsi-ld:null" as
# an attribute's value (object, vocab, json, languageMap …) deletes it.
NULL_DELETES = frozenset({"merge", "patch", "update", "upsert_update"})


def _is_null(attr: dict[str, Any]) -> bool:
    member = attr.get(primary_member(attr.get("type", "Property")))
    return member == NULL or (isinstance(member, list) and len(member) == 1 and member[0] == NULL)


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
        if not principal.agencies:  # an officer of no agency owns nothing, creates nothing
            raise NgsiError("BadRequestData", "you belong to no agency", status=403)
        code = sorted(principal.agencies)[0]
    if code is None:
        return None, None
    agency_id = catalog.agency_id_of(connection, code)
    if agency_id is None:
        raise NgsiError("BadRequestData", f"không có cơ quan / no agency {code[:40]!r}")
    return agency_id, code


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
    stored = attributes.get(NGSI)
    members = (
        {k: v for k, v in stored.items() if k in ENTITY_DETAILS} if isinstance(stored, dict) else {}
    )
    changed: set[str] = set()
    if replace_all:
        changed.update(n for n in attributes if n != NGSI and n not in attrs)  # removed
        keep = {NGSI: attributes[NGSI]} if NGSI in attributes else {}
        attributes = keep
        meta = {}
    written: list[str] = []
    skipped: list[tuple[str, str]] = []
    if replace_all:
        members.pop(DATASETS_KEY, None)
    if any(DATASETS in a for a in attrs.values()):
        attrs = _apply_instances(members, attrs, only_existing, no_overwrite, written, skipped)
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
        attributes[NGSI] = {"@context": state.context.value, "meta": meta, **members}
    elif meta or members:
        # A plain catalog entity keeps plain names; only non-Property details are recorded.
        attributes[NGSI] = {"@context": None, "meta": meta, "plain": True, **members}
    state.attributes = attributes
    state.dirty = state.dirty or bool(written) or replace_all
    if changed:
        _note_changed(state, changed)
    return written, skipped


def _apply_instances(
    members: dict[str, Any],
    attrs: dict[str, dict[str, Any]],
    only_existing: bool,
    no_overwrite: bool,
    written: list[str],
    skipped: list[tuple[str, str]],
) -> dict[str, dict[str, Any]]:
    """Store the instances with a datasetId (kept whole in ``_ngsild.datasets[name]``);
    returns the default instances, the attributes stored as before."""
    datasets = {k: dict(v) for k, v in (members.get(DATASETS_KEY) or {}).items()}
    defaults: dict[str, dict[str, Any]] = {}
    for name, attr in attrs.items():
        instances = attr.get(DATASETS)
        if instances is None:
            defaults[name] = attr
            continue
        have = datasets.setdefault(name, {})
        for dataset, instance in instances.items():
            if only_existing and dataset not in have:
                skipped.append((name, f"no instance with datasetId {dataset[:80]}"))
            elif no_overwrite and dataset in have:
                skipped.append((name, f"instance {dataset[:80]} exists (noOverwrite)"))
            else:
                have[dataset] = instance
                if name not in written:
                    written.append(name)
        if not have:
            del datasets[name]
        rest = {k: v for k, v in attr.items() if k != DATASETS}
        if primary_member(rest["type"]) in rest:
            defaults[name] = rest
    if datasets:
        members[DATASETS_KEY] = datasets
    else:
        members.pop(DATASETS_KEY, None)
    return defaults


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
    dataset_id: str | None = None  # delete_attr: that instance only
    delete_all: bool = False  # delete_attr: every instance
    keep_history: bool = True  # False: the caller stores the instances' history itself


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
    """One transaction: load the touched entities, apply each operation to them in memory,
    write them back, resolve the points' series, journal the batch."""
    outcome = Outcome()
    now = now_utc()
    with database.engine.begin() as connection:
        if database.dialect == "sqlite":
            # Read and write under the one write lock: a write between them (a concurrent
            # request for the same entity) would otherwise be overwritten or collide.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        states = load(connection, resolver, list({op.entity_id for op in operations}))
        batch = _Batch(connection, principal, agency, states, int(now.timestamp() * 1000))
        for op in operations:
            try:
                _apply(batch, op, mode, no_overwrite, locate, outcome)
            except NgsiError as error:
                outcome.errors.append((op.entity_id, error))
        flush(connection, states, batch.originally, now, outcome)
        append_history(connection, batch.history)
        outcome.points = series_points(connection, states, batch.pending, outcome)
        journal_entry(connection, principal, mode, outcome)
    outcome.fresh = inserted_series(states, outcome)  # after the commit: the lock is free
    return outcome


@dataclass
class _Batch:
    """What the operations of one write share: the states they change in order."""

    connection: Connection
    principal: Principal
    agency: str | None  # the agency a new entity is for, when the caller names one
    states: dict[str, EntityState]
    now_ms: int  # the write's time: that of the history instances observed at no time
    originally: dict[str, int | None] = field(init=False)  # the pk each loaded id had
    pending: list[PendingPoint] = field(default_factory=list)
    history: list[HistoryRow] = field(default_factory=list)
    new_agency: tuple[int | None, str | None] | None = None  # looked up once, when needed

    def __post_init__(self) -> None:
        self.originally = {key: state.pk for key, state in self.states.items()}

    def current(self, entity_id: str) -> EntityState | None:
        """The entity as the operations before left it (None: absent or deleted)."""
        state = self.states.get(entity_id)
        return None if state is None or state.deleted else state

    def agency_for_new(self) -> tuple[int | None, str | None]:
        if self.new_agency is None:
            self.new_agency = _agency_for_new(self.connection, self.principal, self.agency)
        return self.new_agency


def _apply(
    batch: _Batch,
    op: Operation,
    mode: str,
    no_overwrite: bool,
    locate: Locate | None,
    outcome: Outcome,
) -> None:
    """Apply one operation to the batch's states, or raise NgsiError leaving them as they
    were."""
    state = batch.current(op.entity_id)
    _check_writable(batch.principal, state, op, mode)
    if mode == "delete":
        _delete(batch.principal, state, op)
    elif mode == "delete_attr":
        _delete_attr(state, op)
    else:
        _put(batch, state, op, mode, no_overwrite, locate, outcome)
    outcome.success.append(op.entity_id)


def _check_writable(
    principal: Principal, state: EntityState | None, op: Operation, mode: str
) -> None:
    """An entity of another agency: it exists for creating, and does not for changing."""
    if state is not None and not principal.may_write_agency(state.agency_code):
        if mode in ("create", "upsert", "upsert_update"):
            raise NgsiError("AlreadyExists", f"entity {op.entity_id} exists")
        raise NgsiError("ResourceNotFound", f"no entity {op.entity_id}")


def _delete(principal: Principal, state: EntityState | None, op: Operation) -> None:
    if state is None or not principal.may_see_agency(state.agency_code):
        raise NgsiError("ResourceNotFound", f"no entity {op.entity_id}")
    state.deleted = True


def _delete_attr(state: EntityState | None, op: Operation) -> None:
    """Delete Attribute (§5.6.5): the default instance, the one of ``datasetId``, or with
    ``deleteAll`` every instance."""
    if state is None or op.attr_name is None:
        raise NgsiError("ResourceNotFound", f"no entity {op.entity_id}")
    name = translate(op.attr_name, op.request, state.context)
    details = state.attributes.get(NGSI)
    found = details.get(DATASETS_KEY) if isinstance(details, dict) else None
    datasets: dict[str, dict[str, Any]] = found if isinstance(found, dict) else {}
    instances = datasets.get(name) or {}
    has_default = name in state.attributes and name != NGSI
    if op.delete_all or op.dataset_id is not None:
        if op.delete_all:
            gone = bool(instances) or has_default
            datasets.pop(name, None)
        else:
            gone = op.dataset_id in instances
            instances.pop(str(op.dataset_id), None)
            if not instances:
                datasets.pop(name, None)
        if not gone:
            raise NgsiError("ResourceNotFound", f"no such instance of {op.attr_name[:80]}")
        if isinstance(details, dict) and not datasets:
            details.pop(DATASETS_KEY, None)
        state.dirty = True
        if not (op.delete_all and has_default):
            _note_changed(state, (name,))
            return
    elif not has_default:
        raise NgsiError("ResourceNotFound", f"no attribute {op.attr_name[:80]}")
    _remove_attribute(state, name)


def _remove_attribute(state: EntityState, name: str) -> None:
    del state.attributes[name]
    _note_changed(state, (name,))
    details = state.attributes.get(NGSI)
    if isinstance(details, dict):
        details.get("meta", {}).pop(name, None)
    state.dirty = True


def _put(
    batch: _Batch,
    state: EntityState | None,
    op: Operation,
    mode: str,
    no_overwrite: bool,
    locate: Locate | None,
    outcome: Outcome,
) -> None:
    """Create, upsert, update or patch one entity: every check first, then the changes."""
    parsed = op.entity
    assert parsed is not None
    context = _target_context(batch, state, op, parsed, mode)
    attrs = parsed.attrs
    if context is not op.request:
        attrs = {translate(n, op.request, context): a for n, a in attrs.items()}
    deleted: list[str] = []
    if mode in NULL_DELETES:  # §5.6.17, §5.6.2–4: NGSI-LD Null removes the attribute
        deleted = [n for n, a in attrs.items() if _is_null(a)]
        attrs = {n: a for n, a in attrs.items() if n not in deleted}
    candidates = _points_of(op.entity_id, attrs, _reference_time(attrs, state))
    # Nothing below raises: the entity's changes and its points go together.
    replace_all = False
    is_new = state is None
    if state is None:
        state = _new_state(batch, op, parsed)
        outcome.created.append(op.entity_id)
    else:
        replace_all = mode in ("upsert", "replace")
        _retype(state, op, parsed, mode)
        for name in deleted:
            if name in state.attributes and name != NGSI:
                _remove_attribute(state, name)
    # A new entity held nothing before this write: no snapshot to take (every value it is
    # given is new to its history), which spares a lookup per attribute of a batch creation.
    before = _snapshot(state, attrs) if op.keep_history and not is_new else None
    written, skipped = _apply_attrs(
        state,
        attrs,
        replace_all=replace_all,
        only_existing=mode == "patch",
        no_overwrite=no_overwrite,
    )
    if op.keep_history:
        _note_history(batch, state, attrs, before, {p.metric for p in candidates})
    _entity_members(state, op, parsed, mode, created=is_new)
    _place(state, locate)
    state.name = _display_name(state)
    _keep_points(batch, state, candidates, set(written))
    if skipped:
        outcome.not_updated[op.entity_id] = skipped


def _target_context(
    batch: _Batch, state: EntityState | None, op: Operation, parsed: ParsedEntity, mode: str
) -> Context | None:
    """The context the entity's attributes are stored in: the request's for a new entity,
    the stored one otherwise; raises when the mode needs (or refuses) an existing entity."""
    if state is None:
        if mode in ("update", "patch", "replace", "merge"):
            raise NgsiError("ResourceNotFound", f"no entity {op.entity_id}")
        if not parsed.type:
            raise NgsiError("BadRequestData", "a new entity needs a type")
        batch.agency_for_new()
        return op.request
    if mode == "create":
        raise NgsiError("AlreadyExists", f"entity {op.entity_id} exists")
    return state.context


# Entity-level NGSI-LD members kept beside the attributes' details in ``_ngsild``.
ENTITY_DETAILS = ("scope", "types", "datasets")
DATASETS_KEY = "datasets"  # _ngsild["datasets"][name][datasetId]: an instance, whole
WHOLE = frozenset({"create", "upsert", "replace"})  # the body is the whole entity


def _entity_members(
    state: EntityState, op: Operation, parsed: ParsedEntity, mode: str, *, created: bool
) -> None:
    """A multi-typed entity's other types and the entity's scope (§4.18), kept in
    ``_ngsild``: a whole entity sets both; a merge or update adds types and sets (or, with
    NGSI-LD Null, removes) the scope."""
    details = state.attributes.get(NGSI)
    whole = created or mode in WHOLE
    if not isinstance(details, dict):
        if parsed.scope is None and not parsed.more_types:
            return
        details = {"@context": None, "meta": {}, "plain": True}
        state.attributes[NGSI] = details
    before = (details.get("types"), details.get("scope"))
    named = [translate(t, op.request, state.context) for t in parsed.more_types]
    if whole:
        types = named
    else:
        given = [translate(parsed.type, op.request, state.context)] if parsed.type else []
        types = list(details.get("types") or [])
        types += [t for t in given + named if t != state.type and t not in types]
    if types:
        details["types"] = [t for t in types if t != state.type]
    else:
        details.pop("types", None)
    if parsed.scope is not None and parsed.scope != [NULL]:
        details["scope"] = parsed.scope
    elif (parsed.scope == [NULL]) or (whole and mode != "create"):
        details.pop("scope", None)
    if (details.get("types"), details.get("scope")) != before:
        state.dirty = True


def _reference_time(attrs: dict[str, dict[str, Any]], state: EntityState | None) -> Any:
    """When values without their own observedAt were observed: the request's dateObserved,
    else the stored one."""
    reference = attrs["dateObserved"].get("value") if "dateObserved" in attrs else None
    if reference is None and "dateObserved" in attrs:
        reference = attrs["dateObserved"].get("object")
    if reference is None and state is not None:
        reference = state.attributes.get("dateObserved")
    return reference


def _new_state(batch: _Batch, op: Operation, parsed: ParsedEntity) -> EntityState:
    agency_id, agency_code = batch.agency_for_new()
    state = EntityState(
        None, op.entity_id, parsed.type, agency_id, agency_code,
        {NGSI: {"@context": op.request.value, "meta": {}}}, None, None, None, "", op.request,
        dirty=True, catalog_changed=True,
    )  # fmt: skip
    batch.states[op.entity_id] = state
    return state


def _retype(state: EntityState, op: Operation, parsed: ParsedEntity, mode: str) -> None:
    """An upsert naming another type changes the entity's type."""
    if parsed.type:
        kind = translate(parsed.type, op.request, state.context)
        if mode in ("upsert", "replace") and kind != state.type:
            state.type, state.catalog_changed = kind, True


_Seen = tuple[Any, Any, dict[str, Any]]  # stored value, details, instances by datasetId
_NOTHING: _Seen = (_ABSENT, None, {})  # an attribute a new entity did not have


def _stored_attr(state: EntityState, name: str) -> _Seen:
    """An attribute as the entity holds it: (value, details, instances by datasetId)."""
    details = state.attributes.get(NGSI)
    if not isinstance(details, dict):
        return state.attributes.get(name, _ABSENT), None, {}
    meta = details.get("meta")
    datasets = details.get(DATASETS_KEY)
    return (
        state.attributes.get(name, _ABSENT),
        meta.get(name) if isinstance(meta, dict) else None,
        (datasets.get(name) or {}) if isinstance(datasets, dict) else {},
    )


def _snapshot(state: EntityState, attrs: dict[str, dict[str, Any]]) -> dict[str, _Seen]:
    """The written attributes as they were (the write replaces, never mutates, them)."""
    return {name: _stored_attr(state, name) for name in attrs}


def _note_history(
    batch: _Batch,
    state: EntityState,
    attrs: dict[str, dict[str, Any]],
    before: dict[str, _Seen] | None,
    points: set[str],
) -> None:
    """A history row for each non-numeric instance the write changed (its value or its
    details, observedAt among them): an unchanged value adds nothing, so a feed repeating
    its entities keeps no copies. ``before`` None: the entity is new, it held nothing."""
    for name, attr in attrs.items():
        if name in points:
            continue  # a number observed at a time: its history is the observation series
        old_value, old_meta, old_sets = _NOTHING if before is None else before[name]
        new_value, new_meta, new_sets = _stored_attr(state, name)
        if new_value is not _ABSENT and (new_value != old_value or new_meta != old_meta):
            default = {k: v for k, v in attr.items() if k != DATASETS}
            _history_row(batch, state.entity_id, name, None, default)
        for dataset, instance in new_sets.items():
            if old_sets.get(dataset) != instance:
                _history_row(batch, state.entity_id, name, dataset, instance)


def _history_row(
    batch: _Batch, entity_id: str, name: str, dataset: str | None, attr: dict[str, Any]
) -> None:
    when = attr.get("observedAt")
    ts = observed_ms(when, name) if when is not None else batch.now_ms
    batch.history.append(instance_row(entity_id, name, dataset, attr, ts, when is not None))


def _keep_points(
    batch: _Batch, state: EntityState, candidates: list[PendingPoint], written: set[str]
) -> None:
    """The points of the attributes written become pending; their change is an observation,
    not a change of what the entity is."""
    batch.pending.extend(p for p in candidates if p.metric in written)
    if state.changed_attrs and candidates:
        state.changed_attrs.difference_update(p.metric for p in candidates)
