"""The service catalogue and the routing table: loaded from a pack's ``citizen.yaml``
(validated, idempotent), read by the Open311 API and by routing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from taydo.auth import journal
from taydo.catalog.service import list_agencies
from taydo.citizen.models import CitizenRoute, CitizenService
from taydo.citizen.schemas import CatalogueFile, RouteDef, ServiceDef
from taydo.core.db import Database
from taydo.core.errors import Invalid, NotFound

__all__ = [
    "agency_for",
    "agency_list",
    "get_service",
    "list_services",
    "load_catalogue",
    "save_catalogue",
    "service_in",
]

FILE = "citizen.yaml"


def agency_list(database: Database) -> list[dict[str, Any]]:
    """Every agency of the catalog (code, names), for routing checks and the forms."""
    rows, _total = list_agencies(database, limit=10_000)
    return rows


def service_dict(row: CitizenService) -> dict[str, Any]:
    return {
        "code": row.code,
        "name": row.name,
        "name_en": row.name_en,
        "description": row.description,
        "group": row.group,
        "keywords": row.keywords,
        "sla_hours": row.sla_hours,
        "attributes": list(row.attributes or []),
    }


def list_services(database: Database) -> list[dict[str, Any]]:
    with database.session() as session:
        rows = session.scalars(
            select(CitizenService).order_by(CitizenService.position, CitizenService.code)
        ).all()
        return [service_dict(r) for r in rows]


def service_in(session: Session, code: str) -> CitizenService | None:
    return session.get(CitizenService, code)


def get_service(database: Database, code: str) -> dict[str, Any]:
    with database.session() as session:
        row = service_in(session, code)
        if row is None:
            raise NotFound(f"không có loại phản ánh / no service {code!r}")
        return service_dict(row)


def agency_for(session: Session, service_code: str, area_code: str | None) -> str | None:
    """The responsible agency: the most specific routing row wins — (service, area), then
    (service, any area), then (any service, area), then (any, any); None if none matches."""
    rows = session.execute(
        select(CitizenRoute.service_code, CitizenRoute.area_code, CitizenRoute.agency_code)
        .where(
            (CitizenRoute.service_code == service_code) | CitizenRoute.service_code.is_(None),
            (CitizenRoute.area_code == area_code) | CitizenRoute.area_code.is_(None)
            if area_code
            else CitizenRoute.area_code.is_(None),
        )
        .order_by(CitizenRoute.id)
    ).all()
    best: tuple[int, str] | None = None
    for service, area, agency in rows:
        rank = (2 if service is not None else 0) + (1 if area is not None else 0)
        if best is None or rank > best[0]:
            best = (rank, str(agency))
    return best[1] if best else None


def save_catalogue(
    database: Database,
    services: list[ServiceDef],
    routing: list[RouteDef],
    *,
    source: str,
    actor: str = "system",
) -> dict[str, int]:
    """Replace the catalogue's services of this source and its routing rows (idempotent)."""
    known_agencies = {a["code"] for a in agency_list(database)}
    codes = {s.code for s in services}
    for index, route in enumerate(routing):
        if route.service is not None and route.service not in codes:
            raise Invalid(
                f"routing[{index}]: không có loại phản ánh / unknown service {route.service!r}"
            )
        if known_agencies and route.agency not in known_agencies:
            raise Invalid(f"routing[{index}]: không có cơ quan / unknown agency {route.agency!r}")
    with database.session() as session:
        for position, service in enumerate(services):
            row = session.get(CitizenService, service.code) or CitizenService(code=service.code)
            row.name, row.name_en = service.name, service.name_en
            row.description, row.group, row.keywords = (
                service.description,
                service.group,
                service.keywords,
            )
            row.sla_hours, row.position = service.sla_hours, position
            row.attributes = [a.model_dump() for a in service.attributes]
            session.add(row)
        session.execute(delete(CitizenRoute).where(CitizenRoute.source == source))
        rows = 0
        for route in routing:
            areas: list[str | None] = list(route.areas) or [None]
            for area in areas:
                session.add(
                    CitizenRoute(
                        service_code=route.service,
                        area_code=area,
                        agency_code=route.agency,
                        source=source,
                    )
                )
                rows += 1
        journal.record(
            session,
            actor=actor,
            action="citizen.catalogue_loaded",
            object_type="citizen_catalogue",
            object_id=source,
            summary={"services": sorted(codes), "routes": rows},
        )
        session.commit()
    return {"services": len(services), "routes": rows}


def load_catalogue(database: Database, pack: Any) -> int:
    """Load a pack's ``citizen.yaml`` (absent: nothing); returns the number of services."""
    path = Path(pack.data_dir) / FILE
    if not path.exists():
        return 0
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    try:
        parsed = CatalogueFile.model_validate(data)
    except ValidationError as exc:
        raise Invalid(f"{FILE}: {exc.errors()[0]['msg']}", errors=exc.errors()) from exc
    return save_catalogue(database, parsed.services, parsed.routing, source=pack.name)["services"]
