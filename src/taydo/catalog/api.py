"""REST API of the catalog domain: agencies, datasets, entities and their metrics.

Thin: each route checks the permission, runs the service off the event loop, and after any
change of entities or metrics announces ``catalog.changed`` on the bus.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from taydo.catalog import service
from taydo.catalog.events import announce_changes
from taydo.catalog.schemas import (
    AgencyIn,
    AgencyOut,
    AgencyPatch,
    DatasetIn,
    DatasetOut,
    DatasetPatch,
    EntityIn,
    EntityOut,
    EntityPatch,
    MetricIn,
    MetricOut,
    Page,
)
from taydo.core.access import Principal, client_address, requires
from taydo.core.bounds import Offset
from taydo.core.deps import AppRuntime, Db
from taydo.core.errors import Invalid
from taydo.geo.schemas import GeometryIn, GeometryOut
from taydo.geo.service import set_area_geometry

__all__ = ["areas_router", "router"]

# Route permission declarations (one dependency object each, shared by the routes).
READ = requires("catalog:read")
WRITE = requires("catalog:write")
ADMIN = requires("catalog:admin")

router = APIRouter(prefix="/api/v1", tags=["catalog"])
# A boundary change is documented with the areas (geo) it changes.
areas_router = APIRouter(prefix="/api/v1", tags=["geo"])

T = TypeVar("T")
Limit = Query(100, ge=1, le=1000, description="page size")


async def _run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await run_in_threadpool(fn, *args, **kwargs)


def _page(found: tuple[list[dict[str, Any]], int], limit: int, offset: int) -> dict[str, Any]:
    items, total = found
    return {"items": items, "total": total, "limit": limit, "offset": offset}


# -- agencies ---------------------------------------------------------------------------


@router.get("/agencies", response_model=Page, summary="Cơ quan / List agencies")
async def list_agencies(
    request: Request,
    db: Db,
    kind: str | None = None,
    limit: int = Limit,
    offset: Offset = 0,
    _who: Principal = READ,
) -> dict[str, Any]:
    found = await _run(service.list_agencies, db, kind=kind, limit=limit, offset=offset)
    return _page(found, limit, offset)


@router.get("/agencies/{code}", response_model=AgencyOut)
async def get_agency(request: Request, db: Db, code: str, _who: Principal = READ) -> dict[str, Any]:
    return await _run(service.get_agency, db, code)


@router.post("/agencies", response_model=AgencyOut, status_code=201)
async def create_agency(
    request: Request, db: Db, body: AgencyIn, who: Principal = ADMIN
) -> dict[str, Any]:
    return await _run(service.create_agency, db, body, who, client_address(request))


@router.patch("/agencies/{code}", response_model=AgencyOut)
async def update_agency(
    request: Request, db: Db, code: str, body: AgencyPatch, who: Principal = ADMIN
) -> dict[str, Any]:
    return await _run(service.update_agency, db, code, body, who, client_address(request))


@router.delete("/agencies/{code}", status_code=204)
async def delete_agency(request: Request, db: Db, code: str, who: Principal = ADMIN) -> Response:
    await _run(service.delete_agency, db, code, who, client_address(request))
    return Response(status_code=204)


# -- datasets ---------------------------------------------------------------------------


@router.get("/datasets", response_model=Page, summary="Bộ dữ liệu / List datasets")
async def list_datasets(
    request: Request,
    db: Db,
    agency: str | None = None,
    pillar: str | None = None,
    sector: str | None = None,
    limit: int = Limit,
    offset: Offset = 0,
    _who: Principal = READ,
) -> dict[str, Any]:
    found = await _run(
        service.list_datasets,
        db,
        agency=agency,
        pillar=pillar,
        sector=sector,
        limit=limit,
        offset=offset,
    )
    return _page(found, limit, offset)


@router.get("/datasets/{code}", response_model=DatasetOut)
async def get_dataset(
    request: Request, db: Db, code: str, _who: Principal = READ
) -> dict[str, Any]:
    return await _run(service.get_dataset, db, code)


@router.post("/datasets", response_model=DatasetOut, status_code=201)
async def create_dataset(
    request: Request, db: Db, body: DatasetIn, who: Principal = WRITE
) -> dict[str, Any]:
    return await _run(service.create_dataset, db, body, who, client_address(request))


@router.patch("/datasets/{code}", response_model=DatasetOut)
async def update_dataset(
    request: Request, db: Db, code: str, body: DatasetPatch, who: Principal = WRITE
) -> dict[str, Any]:
    return await _run(service.update_dataset, db, code, body, who, client_address(request))


@router.delete("/datasets/{code}", status_code=204)
async def delete_dataset(request: Request, db: Db, code: str, who: Principal = WRITE) -> Response:
    await _run(service.delete_dataset, db, code, who, client_address(request))
    return Response(status_code=204)


# -- entities ---------------------------------------------------------------------------


@router.get("/entities", response_model=Page, summary="Thực thể / List entities")
async def list_entities(
    request: Request,
    db: Db,
    type: str | None = Query(None, description="entity type, e.g. WaterObserved"),
    area: str | None = Query(None, description="area code; a province covers its wards"),
    agency: str | None = Query(None, description="agency code"),
    dataset: str | None = Query(None, description="dataset code"),
    tag: str | None = Query(None, description="entities carrying this tag"),
    limit: int = Limit,
    offset: Offset = 0,
    _who: Principal = READ,
) -> dict[str, Any]:
    found = await _run(
        service.list_entities,
        db,
        type=type,
        area=area,
        agency=agency,
        dataset=dataset,
        tag=tag,
        limit=limit,
        offset=offset,
    )
    return _page(found, limit, offset)


@router.get("/entities/{entity_id}", response_model=EntityOut)
async def get_entity(
    request: Request, db: Db, entity_id: str, _who: Principal = READ
) -> dict[str, Any]:
    return await _run(service.get_entity, db, entity_id)


@router.post("/entities", response_model=EntityOut, status_code=201)
async def create_entity(
    request: Request, runtime: AppRuntime, db: Db, body: EntityIn, who: Principal = WRITE
) -> dict[str, Any]:
    out = await _run(service.create_entity, db, body, who, client_address(request))
    await announce_changes(runtime, [body.entity_id])
    return out


@router.patch("/entities/{entity_id}", response_model=EntityOut)
async def update_entity(
    request: Request,
    runtime: AppRuntime,
    db: Db,
    entity_id: str,
    body: EntityPatch,
    who: Principal = WRITE,
) -> dict[str, Any]:
    out = await _run(service.update_entity, db, entity_id, body, who, client_address(request))
    await announce_changes(runtime, [entity_id])
    return out


@router.delete("/entities/{entity_id}", status_code=204)
async def delete_entity(
    request: Request, runtime: AppRuntime, db: Db, entity_id: str, who: Principal = WRITE
) -> Response:
    await _run(service.delete_entity, db, entity_id, who, client_address(request))
    await announce_changes(runtime, [entity_id])
    return Response(status_code=204)


@router.put("/entities/{entity_id}/metrics/{name}", response_model=MetricOut)
async def put_metric(
    request: Request,
    runtime: AppRuntime,
    db: Db,
    entity_id: str,
    name: str,
    body: MetricIn,
    response: Response,
    who: Principal = WRITE,
) -> dict[str, Any]:
    """Create or change one metric (a series) of an entity; the body's name must match."""
    if body.name != name:
        raise Invalid(f"metric name in the body ({body.name!r}) differs from the URL ({name!r})")
    out, created = await _run(service.put_metric, db, entity_id, body, who, client_address(request))
    response.status_code = 201 if created else 200
    await announce_changes(runtime, [entity_id])
    return out


@router.delete("/entities/{entity_id}/metrics/{name}", status_code=204)
async def delete_metric(
    request: Request, runtime: AppRuntime, db: Db, entity_id: str, name: str, who: Principal = WRITE
) -> Response:
    await _run(service.delete_metric, db, entity_id, name, who, client_address(request))
    await announce_changes(runtime, [entity_id])
    return Response(status_code=204)


# -- areas' boundaries: a geo change that re-places the catalog's entities ------------------


@areas_router.put("/areas/{code}/geometry", response_model=GeometryOut)
async def put_geometry(
    runtime: AppRuntime, code: str, body: GeometryIn, _who: Principal = ADMIN
) -> dict[str, Any]:
    """Set one area's boundary; entities placed by location are re-placed."""
    db = runtime.db
    out = await _run(set_area_geometry, db, code, body.model_dump(mode="json"))
    changed = await _run(service.assign_areas, db)
    await announce_changes(runtime, changed)
    return {**out, "reassigned_entities": len(changed)}
