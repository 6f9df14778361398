"""REST API of the geo domain: administrative units and their boundaries."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from taydo.core.access import Principal, requires
from taydo.core.bounds import Offset
from taydo.core.deps import Db
from taydo.core.errors import NotFound
from taydo.core.paging import Page
from taydo.geo import service
from taydo.geo.schemas import AreaDetail

__all__ = ["router"]

# Route permission declarations (one dependency object each, shared by the routes).
READ = requires("catalog:read")
WRITE = requires("catalog:write")
ADMIN = requires("catalog:admin")

router = APIRouter(prefix="/api/v1", tags=["geo"])


@router.get("/areas", response_model=Page, summary="Đơn vị hành chính / List areas")
async def list_areas(
    request: Request,
    db: Db,
    level: int | None = Query(None, ge=1, le=2, description="1 = province, 2 = ward/commune"),
    parent: str | None = Query(None, description="province code, e.g. 92"),
    kind: str | None = Query(None, description="tỉnh, thành phố, phường, xã, đặc khu"),
    q: str | None = Query(
        None, max_length=100, description="name contains (any case, with or without diacritics)"
    ),
    has_geometry: bool | None = None,
    limit: int = Query(100, ge=1, le=5000),
    offset: Offset = 0,
    _who: Principal = READ,
) -> dict[str, Any]:
    items, total = await run_in_threadpool(
        service.list_areas,
        db,
        level=level,
        parent=parent,
        kind=kind,
        q=q,
        has_geometry=has_geometry,
        limit=limit,
        offset=offset,
    )
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get("/areas/locate", response_model=AreaDetail)
async def locate(
    request: Request,
    db: Db,
    lon: float = Query(..., ge=-180, le=180, allow_inf_nan=False),
    lat: float = Query(..., ge=-90, le=90, allow_inf_nan=False),
    _who: Principal = READ,
) -> dict[str, Any]:
    """Vị trí thuộc phường/xã nào / The most local area whose boundary holds a point."""
    code = await run_in_threadpool(service.area_for_point, db, lon, lat)
    if code is None:
        raise NotFound(
            "không có khu vực nào chứa điểm này / no area holds this point "
            "(are boundaries imported? `taydo geo import`)"
        )
    return await run_in_threadpool(service.get_area, db, code)


@router.get("/areas/{code}", response_model=AreaDetail, response_model_exclude_none=False)
async def get_area(
    request: Request,
    db: Db,
    code: str,
    geometry: bool = Query(False, description="include the boundary (GeoJSON)"),
    _who: Principal = READ,
) -> dict[str, Any]:
    return await run_in_threadpool(service.get_area, db, code, geometry=geometry)
