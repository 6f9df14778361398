"""NGSI-LD writes: create, upsert, update, append, patch and delete, singly or in batches.

Every write request is one database transaction over the catalog tables: the entities it
touches are loaded at once, changed in memory (so a batch that names an id twice behaves as
if its operations ran in order), then inserted, updated and deleted with one statement each.
Numeric Properties observed at a time become points of the metric of the same name; the
caller hands them to the observation writer after this commit.
"""

from __future__ import annotations

import importlib
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    Connection,
    Table,
    Text,
    bindparam,
    cast,
    delete,
    insert,
    select,
    update,
)

from taydo.catalog.models import Agency, Entity, Metric
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.ingest.ngsild.context import Context, ContextResolver
from taydo.ingest.ngsild.entity import (
    NGSI,
    ParsedEntity,
    attr_items,
    entity_context_value,
    now_utc,
    observed_ms,
    primary_member,
    split_for_storage,
    translate,
)
from taydo.ingest.ngsild.errors import NgsiError
from taydo.ingest.ngsild.gcpause import gc_paused
from taydo.ingest.ngsild.query import geometry_of, point_of

__all__ = ["MODES", "Outcome", "PendingPoint", "write_entities"]

log = logging.getLogger(__name__)

ENTITIES: Table = Entity.__table__  # type: ignore[assignment]
METRICS: Table = Metric.__table__  # type: ignore[assignment]
AGENCIES: Table = Agency.__table__  # type: ignore[assignment]
MODES = ("create", "upsert", "upsert_update", "update", "patch", "delete", "delete_attr")
_CHUNK = 900  # ids per IN (…) list


@dataclass(slots=True)
class PendingPoint:
    entity_id: str
    metric: str
    unit: str
    ts: int
    value: float


@dataclass
class Outcome:
    success: list[str] = field(default_factory=list)
    errors: list[tuple[str, NgsiError]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    not_updated: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    points: list[tuple[int, int, float]] = field(default_factory=list)
    changed_catalog: list[str] = field(default_factory=list)  # series index must forget these
    rejected: list[tuple[str, dict[str, Any], str | None]] = field(default_factory=list)


@dataclass(slots=True)
class _State:
    pk: int | None
    entity_id: str
    type: str
    agency_id: int | None
    agency_code: str | None
    attributes: dict[str, Any]
    lon: float | None
    lat: float | None
    area_code: str | None
    name: str
    created_at: datetime
    context: Context | None  # None: a catalog entity with plain attribute names
    area_explicit: bool = False  # a user or a pack chose the area: the location does not move it
    dirty: bool = False
    deleted: bool = False
    catalog_changed: bool = False


def _json_text(value: Any) -> str:
    # orjson is several times faster than the stdlib encoder SQLAlchemy's JSON type uses;
    # the stdlib takes the rare value orjson refuses (an integer wider than 64 bits).
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


def _json_out(text: Any) -> dict[str, Any]:
    if text is None:
        return {}
    value = orjson.loads(text) if isinstance(text, str | bytes) else text
    return dict(value) if isinstance(value, dict) else {}


def _json_param(name: str, dialect: str) -> Any:
    """A bound JSON document given as text (serialized by ``_json_text``)."""
    param = bindparam(name, type_=Text())
    return cast(param, JSON) if dialect == "postgresql" else param


def _load(connection: Connection, resolver: ContextResolver, ids: list[str]) -> dict[str, _State]:
    found: dict[str, _State] = {}
    columns = (
        ENTITIES.c.id,
        ENTITIES.c.entity_id,
        ENTITIES.c.type,
        ENTITIES.c.agency_id,
        AGENCIES.c.code,
        cast(ENTITIES.c.attributes, Text),
        ENTITIES.c.lon,
        ENTITIES.c.lat,
        ENTITIES.c.area_code,
        ENTITIES.c.name,
        ENTITIES.c.created_at,
        ENTITIES.c.area_explicit,
    )
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        statement = (
            select(*columns)
            .select_from(ENTITIES.outerjoin(AGENCIES, AGENCIES.c.id == ENTITIES.c.agency_id))
            .where(ENTITIES.c.entity_id.in_(chunk))
        )
        for row in connection.execute(statement):
            attributes = _json_out(row[5])
            has_ngsi, value = entity_context_value(attributes)
            context = resolver.resolve(value) if has_ngsi else None
            found[row[1]] = _State(
                row[0], row[1], row[2], row[3], row[4], attributes, row[6], row[7], row[8],
                row[9], row[10], context, area_explicit=bool(row[11]),
            )  # fmt: skip
    return found


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


def _place(state: _State, locate: Locate | None) -> None:
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


def _display_name(state: _State) -> str:
    name = state.attributes.get("name")
    if isinstance(name, str) and name.strip():
        return name.strip()[:200]
    return state.entity_id.rsplit(":", 1)[-1][:200] or state.entity_id[:200]


def _apply_attrs(
    state: _State,
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
    if replace_all:
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
    return written, skipped


def _points_of(
    entity_id: str, attrs: dict[str, dict[str, Any]], reference: Any
) -> list[PendingPoint]:
    """Points of the numeric Properties observed at a time (their own or dateObserved)."""
    points: list[PendingPoint] = []
    for name, attr in attrs.items():
        value = attr.get("value")
        if attr["type"] != "Property" or isinstance(value, bool):
            continue
        if not isinstance(value, int | float) or not math.isfinite(value) or len(name) > 80:
            continue
        when = attr.get("observedAt", reference)
        if when is None:
            continue
        ts = observed_ms(when, f"attribute {name[:80]!r} time")
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
) -> Outcome:
    """Apply the operations in one transaction; ``locate`` gives a point's ward/commune."""
    if mode not in MODES:
        raise ValueError(mode)
    with gc_paused():
        return _write(database, resolver, principal, operations, mode, no_overwrite, agency, locate)


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
        states = _load(connection, resolver, list({op.entity_id for op in operations}))
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
                    state = _State(
                        None, op.entity_id, parsed.type, new_agency[0], new_agency[1],
                        {NGSI: {"@context": op.request.value, "meta": {}}}, None, None, None,
                        "", now, op.request, dirty=True, catalog_changed=True,
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
                if skipped:
                    outcome.not_updated[op.entity_id] = skipped
                outcome.success.append(op.entity_id)
            except NgsiError as error:
                outcome.errors.append((op.entity_id, error))
        _flush(connection, states, originally, now, outcome)
        outcome.points = _series_points(connection, states, pending, outcome)
        _journal(connection, principal, mode, outcome)
    return outcome


def _flush(
    connection: Connection,
    states: dict[str, _State],
    originally: dict[str, int | None],
    now: datetime,
    outcome: Outcome,
) -> None:
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    plain_updates: list[dict[str, Any]] = []
    deletes: list[int | None] = []
    for key, state in states.items():
        if state.deleted:
            if originally.get(key) is not None:
                deletes.append(state.pk)
                outcome.changed_catalog.append(key)
            continue
        row = {
            "b_type": state.type,
            "b_name": state.name,
            "b_lon": state.lon,
            "b_lat": state.lat,
            "b_attributes": _json_text(state.attributes),
            "b_updated_at": now,
            "b_area_code": state.area_code,
        }
        if state.pk is None:
            row.update(
                b_entity_id=state.entity_id,
                b_agency_id=state.agency_id,
                b_created_at=now,
            )
            inserts.append(row)
        elif state.dirty:
            row["b_pk"] = state.pk
            # Most updates leave type and place alone: not naming the indexed columns spares
            # the database rewriting their index entries.
            (updates if state.catalog_changed else plain_updates).append(row)
        if state.catalog_changed:
            outcome.changed_catalog.append(key)
    if deletes:
        for start in range(0, len(deletes), _CHUNK):
            connection.execute(
                delete(ENTITIES).where(ENTITIES.c.id.in_(deletes[start : start + _CHUNK]))
            )
    if updates:
        connection.execute(
            update(ENTITIES)
            .where(ENTITIES.c.id == bindparam("b_pk"))
            .values(
                type=bindparam("b_type"),
                name=bindparam("b_name"),
                lon=bindparam("b_lon"),
                lat=bindparam("b_lat"),
                area_code=bindparam("b_area_code"),
                attributes=_json_param("b_attributes", connection.dialect.name),
                updated_at=bindparam("b_updated_at"),
            ),
            updates,
        )
    if plain_updates:
        connection.execute(
            update(ENTITIES)
            .where(ENTITIES.c.id == bindparam("b_pk"))
            .values(
                name=bindparam("b_name"),
                attributes=_json_param("b_attributes", connection.dialect.name),
                updated_at=bindparam("b_updated_at"),
            ),
            plain_updates,
        )
    if inserts:
        statement = (
            insert(ENTITIES)
            .values(
                entity_id=bindparam("b_entity_id"),
                type=bindparam("b_type"),
                name=bindparam("b_name"),
                agency_id=bindparam("b_agency_id"),
                lon=bindparam("b_lon"),
                lat=bindparam("b_lat"),
                area_code=bindparam("b_area_code"),
                attributes=_json_param("b_attributes", connection.dialect.name),
                tags=[],
                created_at=bindparam("b_created_at"),
                updated_at=bindparam("b_updated_at"),
            )
            .returning(ENTITIES.c.id, ENTITIES.c.entity_id, sort_by_parameter_order=True)
        )
        for pk, entity_id in connection.execute(statement, inserts):
            states[entity_id].pk = pk


def _series_points(
    connection: Connection,
    states: dict[str, _State],
    pending: list[PendingPoint],
    outcome: Outcome,
) -> list[tuple[int, int, float]]:
    if not pending:
        return []
    pk_of = {p.entity_id: states[p.entity_id].pk for p in pending}
    pks = sorted({pk for pk in pk_of.values() if pk is not None})
    series: dict[tuple[int, str], int] = {}
    limits: dict[int, tuple[float | None, float | None]] = {}
    for start in range(0, len(pks), _CHUNK):
        statement = select(
            METRICS.c.id,
            METRICS.c.entity_pk,
            METRICS.c.name,
            METRICS.c.min_valid,
            METRICS.c.max_valid,
        ).where(METRICS.c.entity_pk.in_(pks[start : start + _CHUNK]))
        for series_id, entity_pk, name, low, high in connection.execute(statement):
            series[(entity_pk, name)] = series_id
            if low is not None or high is not None:
                limits[series_id] = (low, high)
    missing: dict[tuple[int, str], str] = {}
    for point in pending:
        pk = pk_of[point.entity_id]
        if pk is not None and (pk, point.metric) not in series:
            missing.setdefault((pk, point.metric), point.unit)
    if missing:
        adding = (
            insert(METRICS)
            .values(entity_pk=bindparam("b_pk"), name=bindparam("b_name"), unit=bindparam("b_unit"))
            .returning(METRICS.c.id, METRICS.c.entity_pk, METRICS.c.name)
        )
        rows = [
            {"b_pk": pk, "b_name": name, "b_unit": unit} for (pk, name), unit in missing.items()
        ]
        for series_id, entity_pk, name in connection.execute(adding, rows):
            series[(entity_pk, name)] = series_id
        by_pk = {state.pk: key for key, state in states.items()}
        outcome.changed_catalog.extend(sorted({by_pk[pk] for pk, _ in missing}))
    points: list[tuple[int, int, float]] = []
    for p in pending:
        state = states[p.entity_id]
        if state.pk is None or state.deleted:
            continue
        series_id = series[(state.pk, p.metric)]
        low, high = limits.get(series_id, (None, None))
        if (low is not None and p.value < low) or (high is not None and p.value > high):
            # Physically impossible for this metric: kept in quarantine, not in the series.
            reason = f"{p.metric}={p.value} ngoài khoảng / outside [{low}, {high}]"
            raw = {"entity_id": p.entity_id, "metric": p.metric, "ts": p.ts, "value": p.value}
            outcome.rejected.append((reason, raw, state.agency_code))
            continue
        points.append((series_id, p.ts, p.value))
    return points


def _journal(connection: Connection, principal: Principal, mode: str, outcome: Outcome) -> None:
    if not outcome.success:
        return
    try:
        journal = importlib.import_module("taydo.auth.journal")
    except ImportError:  # the journal lands with the identity domain
        log.debug("audit journal not available")
        return
    journal.record(
        connection,
        actor=principal.username,
        action=f"ngsild.{mode}",
        object_type="entity",
        object_id=outcome.success[0] if len(outcome.success) == 1 else "batch",
        summary={"entities": outcome.success[:2000], "created": len(outcome.created)},
        address=None,
    )


def stored_attribute_items(attributes: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Re-exported for the readers: (name, normalized attribute) of a stored entity."""
    return attr_items(attributes)


__all__ += ["Operation", "primary_member", "stored_attribute_items"]
