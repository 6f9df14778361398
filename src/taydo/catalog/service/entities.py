"""Entities and their metrics (series), scoped to the caller's agencies."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from taydo.auth import journal
from taydo.catalog.models import Agency, Dataset, Entity, Metric
from taydo.catalog.schemas import EntityIn, EntityPatch, MetricIn
from taydo.catalog.service.common import (
    UNIT_SYMBOLS,
    agency_by_code,
    check_write,
    checked_area_code,
    dataset_by_code,
    flush_new,
    may_write,
    not_found,
    utc,
)
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import Conflict, Invalid
from taydo.geo.service import AreaLocator, area_for_point_in, area_name_of, within_area

__all__ = [
    "assign_areas",
    "create_entity",
    "delete_entity",
    "delete_metric",
    "get_entity",
    "list_entities",
    "place_entity",
    "put_metric",
    "update_entity",
]


def _metric_dict(metric: Metric) -> dict[str, Any]:
    return {
        "series_id": metric.id,
        "name": metric.name,
        "unit": metric.unit,
        "unit_symbol": UNIT_SYMBOLS.get(metric.unit, metric.unit),
        "min_valid": metric.min_valid,
        "max_valid": metric.max_valid,
    }


def _entity_dicts(session: Session, rows: list[Any]) -> list[dict[str, Any]]:
    """Rows of (Entity, agency code, dataset code, area name) with their metrics."""
    metrics: dict[int, list[dict[str, Any]]] = defaultdict(list)
    pks = [row[0].id for row in rows]
    if pks:
        for metric in session.scalars(
            select(Metric).where(Metric.entity_pk.in_(pks)).order_by(Metric.name)
        ):
            metrics[metric.entity_pk].append(_metric_dict(metric))
    return [
        {
            "entity_id": entity.entity_id,
            "type": entity.type,
            "name": entity.name,
            "agency": agency_code,
            "dataset": dataset_code,
            "lon": entity.lon,
            "lat": entity.lat,
            "area_code": entity.area_code,
            "area_name": area_name,
            "attributes": entity.attributes or {},
            "tags": list(entity.tags or []),
            "metrics": metrics[entity.id],
            "created_at": utc(entity.created_at),
            "updated_at": utc(entity.updated_at),
        }
        for entity, agency_code, dataset_code, area_name in rows
    ]


def _select() -> Any:
    return (
        select(Entity, Agency.code, Dataset.code, area_name_of(Entity.area_code))
        .outerjoin(Agency, Agency.id == Entity.agency_id)
        .outerjoin(Dataset, Dataset.id == Entity.dataset_id)
    )


def _has_tag(session: Session, tag: str) -> Any:
    # JSON arrays are searched natively: json_each on SQLite, jsonb containment on PostgreSQL.
    if session.get_bind().dialect.name == "sqlite":
        return text(
            "EXISTS (SELECT 1 FROM json_each(entities.tags) WHERE json_each.value = :tag)"
        ).bindparams(tag=tag)
    return text("CAST(entities.tags AS jsonb) @> CAST(:tags AS jsonb)").bindparams(
        tags=json.dumps([tag])
    )


def list_entities(
    database: Database,
    *,
    type: str | None = None,
    area: str | None = None,
    agency: str | None = None,
    dataset: str | None = None,
    tag: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Entities matching every given filter; an area filter on a province covers its wards."""
    statement = _select()
    if type is not None:
        statement = statement.where(Entity.type == type)
    if agency is not None:
        statement = statement.where(Agency.code == agency)
    if dataset is not None:
        statement = statement.where(Dataset.code == dataset)
    if area is not None:
        statement = statement.where(within_area(Entity.area_code, area))
    with database.session() as session:
        if tag is not None:
            statement = statement.where(_has_tag(session, tag))
        total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
        rows = session.execute(statement.order_by(Entity.entity_id).limit(limit).offset(offset))
        return _entity_dicts(session, list(rows)), total


def _load(session: Session, entity_id: str) -> tuple[Entity, str | None] | None:
    row = session.execute(
        select(Entity, Agency.code)
        .outerjoin(Agency, Agency.id == Entity.agency_id)
        .where(Entity.entity_id == entity_id)
    ).first()
    return None if row is None else (row[0], row[1])


def _one(session: Session, entity_id: str) -> dict[str, Any]:
    row = session.execute(_select().where(Entity.entity_id == entity_id)).one()
    return _entity_dicts(session, [row])[0]


def get_entity(database: Database, entity_id: str) -> dict[str, Any]:
    with database.session() as session:
        if _load(session, entity_id) is None:
            raise not_found("entity", entity_id)
        return _one(session, entity_id)


def _owner(
    session: Session,
    principal: Principal | None,
    agency_code: str | None,
    dataset_code: str | None,
) -> tuple[Agency | None, Dataset | None]:
    """The agency and dataset an entity is filed under; the caller must be allowed both."""
    dataset = dataset_by_code(session, dataset_code) if dataset_code else None
    dataset_agency = session.get(Agency, dataset.agency_id) if dataset else None
    if agency_code is None and dataset_agency is not None:
        agency_code = dataset_agency.code
    check_write(principal, agency_code)
    if dataset_agency is not None:
        check_write(principal, dataset_agency.code)
    agency = agency_by_code(session, agency_code) if agency_code else None
    return agency, dataset


def place_entity(session: Session, entity: Entity) -> None:
    """Find the ward/commune of an entity that has a location but no explicit area."""
    if entity.area_explicit or entity.lon is None or entity.lat is None:
        return
    found = area_for_point_in(session, entity.lon, entity.lat)
    if found is not None:
        entity.area_code = found


def create_entity(
    database: Database, data: EntityIn, principal: Principal | None, address: str | None = None
) -> dict[str, Any]:
    now = clock.now()
    with database.session() as session:
        if _load(session, data.entity_id) is not None:
            raise Conflict(f"thực thể đã có / entity {data.entity_id!r} exists")
        agency, dataset = _owner(session, principal, data.agency, data.dataset)
        entity = Entity(
            entity_id=data.entity_id,
            type=data.type or "",
            name=data.name,
            agency_id=agency.id if agency else None,
            dataset_id=dataset.id if dataset else None,
            lon=data.lon,
            lat=data.lat,
            area_code=checked_area_code(session, data.area_code) if data.area_code else None,
            area_explicit=data.area_code is not None,
            attributes=data.attributes or {},
            tags=list(data.tags or []),
            created_at=now,
            updated_at=now,
        )
        place_entity(session, entity)
        session.add(entity)
        flush_new(session, "entity", data.entity_id)
        session.add_all(
            Metric(entity_pk=entity.id, **metric.model_dump()) for metric in data.metrics
        )
        session.flush()
        out = _one(session, data.entity_id)
        journal.record(
            session,
            actor=journal.actor_of(principal),
            action="entity.create",
            object_type="entity",
            object_id=data.entity_id,
            summary=data.model_dump(mode="json"),
            address=address,
        )
        return out


def _writable(session: Session, entity_id: str, principal: Principal | None) -> Entity:
    found = _load(session, entity_id)
    # Outside the caller's scope answers exactly like a missing entity.
    if found is None or not may_write(principal, found[1]):
        raise not_found("entity", entity_id)
    return found[0]


def update_entity(
    database: Database,
    entity_id: str,
    data: EntityPatch,
    principal: Principal | None,
    address: str | None = None,
) -> dict[str, Any]:
    changes = data.model_dump(exclude_unset=True)
    with database.session() as session:
        entity = _writable(session, entity_id, principal)
        if "agency" in changes or "dataset" in changes:
            current_agency = session.get(Agency, entity.agency_id) if entity.agency_id else None
            current_dataset = session.get(Dataset, entity.dataset_id) if entity.dataset_id else None
            agency, dataset = _owner(
                session,
                principal,
                changes.get("agency", current_agency.code if current_agency else None),
                changes.get("dataset", current_dataset.code if current_dataset else None),
            )
            entity.agency_id = agency.id if agency else None
            entity.dataset_id = dataset.id if dataset else None
        for key in ("name", "attributes", "tags"):
            if changes.get(key) is not None:
                setattr(entity, key, changes[key])
        moved = "lon" in changes or "lat" in changes
        if moved:
            lon, lat = changes.get("lon", entity.lon), changes.get("lat", entity.lat)
            if (lon is None) != (lat is None):
                raise Invalid("give both lon and lat, or neither")
            entity.lon, entity.lat = lon, lat
        if "area_code" in changes:
            code = changes["area_code"]
            entity.area_code = checked_area_code(session, code) if code else None
            entity.area_explicit = code is not None
        if (moved or "area_code" in changes) and not entity.area_explicit:
            entity.area_code = None
            place_entity(session, entity)
        entity.updated_at = clock.now()
        session.flush()
        out = _one(session, entity_id)
        journal.record(
            session,
            actor=journal.actor_of(principal),
            action="entity.update",
            object_type="entity",
            object_id=entity_id,
            summary=data.model_dump(mode="json", exclude_unset=True),
            address=address,
        )
        return out


def delete_entity(
    database: Database, entity_id: str, principal: Principal | None, address: str | None = None
) -> None:
    with database.session() as session:
        entity = _writable(session, entity_id, principal)
        session.delete(entity)
        try:
            session.flush()
        except IntegrityError as exc:
            raise Conflict(
                f"thực thể còn được tham chiếu / entity {entity_id!r} is still referenced "
                "(observations or alerts)"
            ) from exc
        journal.record(
            session,
            actor=journal.actor_of(principal),
            action="entity.delete",
            object_type="entity",
            object_id=entity_id,
            summary={},
            address=address,
        )


def put_metric(
    database: Database,
    entity_id: str,
    data: MetricIn,
    principal: Principal | None,
    address: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """Create or change one metric of an entity; returns it and whether it is new."""
    with database.session() as session:
        entity = _writable(session, entity_id, principal)
        metric = session.scalar(
            select(Metric).where(Metric.entity_pk == entity.id, Metric.name == data.name)
        )
        created = metric is None
        if metric is None:
            metric = Metric(entity_pk=entity.id, **data.model_dump())
            session.add(metric)
        else:
            metric.unit, metric.min_valid, metric.max_valid = (
                data.unit,
                data.min_valid,
                data.max_valid,
            )
        entity.updated_at = clock.now()
        flush_new(session, "metric", f"{entity_id} {data.name}")
        journal.record(
            session,
            actor=journal.actor_of(principal),
            action="metric.put",
            object_type="entity",
            object_id=entity_id,
            summary=data.model_dump(mode="json"),
            address=address,
        )
        return _metric_dict(metric), created


def delete_metric(
    database: Database,
    entity_id: str,
    name: str,
    principal: Principal | None,
    address: str | None = None,
) -> None:
    with database.session() as session:
        entity = _writable(session, entity_id, principal)
        metric = session.scalar(
            select(Metric).where(Metric.entity_pk == entity.id, Metric.name == name)
        )
        if metric is None:
            raise not_found("metric", f"{entity_id} {name}")
        session.delete(metric)
        try:
            session.flush()
        except IntegrityError as exc:
            raise Conflict(
                f"chỉ số còn dữ liệu quan trắc / metric {name!r} still has observations"
            ) from exc
        journal.record(
            session,
            actor=journal.actor_of(principal),
            action="metric.delete",
            object_type="entity",
            object_id=entity_id,
            summary={"metric": name},
            address=address,
        )


def assign_areas(database: Database, entity_ids: Iterable[str] | None = None) -> list[str]:
    """Re-place every located entity without an explicit area (after a boundary import).

    Returns the ids of entities whose area changed.
    """
    locator = AreaLocator(database)
    if not locator:
        return []
    changed: list[str] = []
    with database.session() as session:
        statement = select(Entity).where(
            Entity.area_explicit.is_(False), Entity.lon.is_not(None), Entity.lat.is_not(None)
        )
        if entity_ids is not None:
            statement = statement.where(Entity.entity_id.in_(list(entity_ids)))
        for entity in session.scalars(statement):
            found = locator.locate(entity.lon, entity.lat)  # type: ignore[arg-type]
            if found is not None and found != entity.area_code:
                entity.area_code = found
                entity.updated_at = clock.now()
                changed.append(entity.entity_id)
    return changed
