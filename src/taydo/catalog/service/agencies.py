"""Agencies (catalog:admin) and datasets (catalog:write, scoped to the owner agency)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from taydo.auth import journal
from taydo.auth.service import people
from taydo.catalog.models import Agency, Dataset, Entity
from taydo.catalog.schemas import (
    AgencyIn,
    AgencyPatch,
    DatasetIn,
    DatasetPatch,
    format_interval,
    parse_interval,
)
from taydo.catalog.service.common import (
    agency_by_code,
    check_write,
    checked_area_code,
    flush_new,
    may_write,
    not_found,
)
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import Conflict

__all__ = [
    "actor_names",
    "create_agency",
    "create_dataset",
    "delete_agency",
    "delete_dataset",
    "get_agency",
    "get_dataset",
    "list_agencies",
    "list_datasets",
    "update_agency",
    "update_dataset",
]


def agency_dict(agency: Agency) -> dict[str, Any]:
    return {
        "code": agency.code,
        "name": agency.name,
        "name_en": agency.name_en,
        "kind": agency.kind,
        "area_code": agency.area_code,
    }


def dataset_dict(dataset: Dataset, agency_code: str) -> dict[str, Any]:
    return {
        "code": dataset.code,
        "name": dataset.name,
        "agency": agency_code,
        "pillar": dataset.pillar,
        "sector": dataset.sector,
        "description": dataset.description,
        "update_interval_s": dataset.update_interval_s,
        "update_interval": format_interval(dataset.update_interval_s),
        "licence": dataset.licence,
    }


# -- agencies ---------------------------------------------------------------------------


def list_agencies(
    database: Database, *, kind: str | None = None, limit: int = 100, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    statement = select(Agency)
    if kind is not None:
        statement = statement.where(Agency.kind == kind)
    with database.session() as session:
        total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
        rows = session.scalars(statement.order_by(Agency.code).limit(limit).offset(offset))
        return [agency_dict(a) for a in rows], total


def actor_names(database: Database, actors: Iterable[str | None]) -> dict[str, tuple[str, str]]:
    """Who acted or was given work, by name (Vietnamese, English), for the console: a person
    (``username`` or ``user:username``) by the account's display name, an agency
    (``agency:CODE``, or a bare code no account bears) by the agency's name. Two queries
    whatever the number of actors; what names nothing (``system``, a removed account) is
    left out, for the page to say it its own way."""
    wanted = {a for a in actors if a}
    persons = {a.removeprefix("user:") for a in wanted if not a.startswith("agency:")}
    codes = {a.removeprefix("agency:") for a in wanted if ":" not in a or a.startswith("agency:")}
    with database.session() as session:
        known = people(session, persons)
        agencies: dict[str, tuple[str, str]] = {}
        if codes:
            rows = session.execute(
                select(Agency.code, Agency.name, Agency.name_en).where(
                    Agency.code.in_(sorted(codes))
                )
            )
            agencies = {code: (name, name_en or name) for code, name, name_en in rows}
    names: dict[str, tuple[str, str]] = {}
    for actor in wanted:
        if actor.startswith("agency:"):
            found = agencies.get(actor.removeprefix("agency:"))
        else:
            person = known.get(actor.removeprefix("user:"))
            found = (person, person) if person is not None else None
            if found is None and ":" not in actor:
                found = agencies.get(actor)
        if found is not None:
            names[actor] = found
    return names


def get_agency(database: Database, code: str) -> dict[str, Any]:
    with database.session() as session:
        agency = session.scalar(select(Agency).where(Agency.code == code))
        if agency is None:
            raise not_found("agency", code)
        return agency_dict(agency)


def create_agency(
    database: Database, data: AgencyIn, principal: Principal | None, address: str | None = None
) -> dict[str, Any]:
    with database.session() as session:
        if session.scalar(select(Agency.id).where(Agency.code == data.code)) is not None:
            raise Conflict(f"cơ quan đã có / agency {data.code!r} exists")
        area = checked_area_code(session, data.area_code) if data.area_code else None
        agency = Agency(
            code=data.code,
            name=data.name,
            name_en=data.name_en or "",
            kind=data.kind,
            area_code=area,
        )
        session.add(agency)
        flush_new(session, "agency", data.code)
        out = agency_dict(agency)
        journal.record(
            session,
            actor=journal.actor_of(principal),
            action="agency.create",
            object_type="agency",
            object_id=data.code,
            summary=out,
            address=address,
        )
        return out


def update_agency(
    database: Database,
    code: str,
    data: AgencyPatch,
    principal: Principal | None,
    address: str | None = None,
) -> dict[str, Any]:
    with database.session() as session:
        agency = session.scalar(select(Agency).where(Agency.code == code))
        if agency is None:
            raise not_found("agency", code)
        changes = data.model_dump(exclude_unset=True)
        if "area_code" in changes and changes["area_code"] is not None:
            changes["area_code"] = checked_area_code(session, changes["area_code"])
        for key, value in changes.items():
            if value is None and key != "area_code":
                continue
            setattr(agency, key, value)
        out = agency_dict(agency)
        journal.record(
            session,
            actor=journal.actor_of(principal),
            action="agency.update",
            object_type="agency",
            object_id=code,
            summary=changes,
            address=address,
        )
        return out


def delete_agency(
    database: Database, code: str, principal: Principal | None, address: str | None = None
) -> None:
    with database.session() as session:
        agency = session.scalar(select(Agency).where(Agency.code == code))
        if agency is None:
            raise not_found("agency", code)
        used = session.scalar(
            select(func.count()).select_from(Dataset).where(Dataset.agency_id == agency.id)
        ) or session.scalar(
            select(func.count()).select_from(Entity).where(Entity.agency_id == agency.id)
        )
        if used:
            raise Conflict(
                f"cơ quan còn bộ dữ liệu hoặc thực thể / agency {code!r} still owns datasets "
                "or entities: move or delete them first"
            )
        session.delete(agency)
        journal.record(
            session,
            actor=journal.actor_of(principal),
            action="agency.delete",
            object_type="agency",
            object_id=code,
            summary={},
            address=address,
        )


# -- datasets ---------------------------------------------------------------------------


def list_datasets(
    database: Database,
    *,
    agency: str | None = None,
    pillar: str | None = None,
    sector: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    statement = select(Dataset, Agency.code).join(Agency, Agency.id == Dataset.agency_id)
    if agency is not None:
        statement = statement.where(Agency.code == agency)
    if pillar is not None:
        statement = statement.where(Dataset.pillar == pillar)
    if sector is not None:
        statement = statement.where(Dataset.sector == sector)
    with database.session() as session:
        total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
        rows = session.execute(statement.order_by(Dataset.code).limit(limit).offset(offset))
        return [dataset_dict(d, code) for d, code in rows], total


def _dataset(session: Any, code: str) -> tuple[Dataset, str] | None:
    row = session.execute(
        select(Dataset, Agency.code)
        .join(Agency, Agency.id == Dataset.agency_id)
        .where(Dataset.code == code)
    ).first()
    return None if row is None else (row[0], row[1])


def get_dataset(database: Database, code: str) -> dict[str, Any]:
    with database.session() as session:
        found = _dataset(session, code)
        if found is None:
            raise not_found("dataset", code)
        return dataset_dict(*found)


def create_dataset(
    database: Database, data: DatasetIn, principal: Principal | None, address: str | None = None
) -> dict[str, Any]:
    check_write(principal, data.agency)
    with database.session() as session:
        agency = agency_by_code(session, data.agency)
        if session.scalar(select(Dataset.id).where(Dataset.code == data.code)) is not None:
            raise Conflict(f"bộ dữ liệu đã có / dataset {data.code!r} exists")
        dataset = Dataset(
            code=data.code,
            name=data.name,
            agency_id=agency.id,
            pillar=data.pillar,
            sector=data.sector,
            description=data.description or "",
            update_interval_s=parse_interval(data.update_interval),
            licence=data.licence or "",
        )
        session.add(dataset)
        flush_new(session, "dataset", data.code)
        out = dataset_dict(dataset, agency.code)
        journal.record(
            session,
            actor=journal.actor_of(principal),
            action="dataset.create",
            object_type="dataset",
            object_id=data.code,
            summary=out,
            address=address,
        )
        return out


def update_dataset(
    database: Database,
    code: str,
    data: DatasetPatch,
    principal: Principal | None,
    address: str | None = None,
) -> dict[str, Any]:
    with database.session() as session:
        found = _dataset(session, code)
        if found is None or not may_write(principal, found[1]):
            raise not_found("dataset", code)
        dataset, agency_code = found
        changes = data.model_dump(exclude_unset=True, exclude_none=True)
        if "agency" in changes:
            check_write(principal, changes["agency"])
            new_owner = agency_by_code(session, changes.pop("agency"))
            dataset.agency_id, agency_code = new_owner.id, new_owner.code
        if "update_interval" in changes:
            dataset.update_interval_s = parse_interval(changes.pop("update_interval"))
        for key, value in changes.items():
            setattr(dataset, key, value)
        out = dataset_dict(dataset, agency_code)
        journal.record(
            session,
            actor=journal.actor_of(principal),
            action="dataset.update",
            object_type="dataset",
            object_id=code,
            summary=data.model_dump(exclude_unset=True),
            address=address,
        )
        return out


def delete_dataset(
    database: Database, code: str, principal: Principal | None, address: str | None = None
) -> None:
    with database.session() as session:
        found = _dataset(session, code)
        if found is None or not may_write(principal, found[1]):
            raise not_found("dataset", code)
        dataset = found[0]
        used = session.scalar(
            select(func.count()).select_from(Entity).where(Entity.dataset_id == dataset.id)
        )
        if used:
            raise Conflict(
                f"bộ dữ liệu còn {used} thực thể / dataset {code!r} still has {used} entities"
            )
        session.delete(dataset)
        try:
            session.flush()
        except IntegrityError as exc:
            raise Conflict(f"dataset {code!r} is still referenced") from exc
        journal.record(
            session,
            actor=journal.actor_of(principal),
            action="dataset.delete",
            object_type="dataset",
            object_id=code,
            summary={},
            address=address,
        )
