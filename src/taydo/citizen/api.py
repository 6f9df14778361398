"""REST API of the citizen domain for operators and agencies (``/api/v1/citizen``): the report
queue and its actions, duplicate suggestions, and the API keys of registered apps. Citizens and
their apps use Open311 (``taydo.citizen.open311``) and the public pages instead."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Query, Request

from taydo.citizen import service
from taydo.citizen.runtime import publish
from taydo.citizen.schemas import STATUSES, KeyIn, MergeIn, RatingIn, RouteIn, StatusIn
from taydo.core.access import Principal, client_address, public, requires
from taydo.core.bounds import Offset, RowId
from taydo.core.deps import AppSettings, Db
from taydo.core.errors import Invalid

__all__ = ["router"]

T = TypeVar("T")
router = APIRouter(prefix="/api/v1/citizen", tags=["citizen"])
READ = requires("citizen:read")
ACT = requires("citizen:act")
ADMIN = requires("citizen:admin")
PUBLIC = public()


async def _run(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(func, *args, **kwargs)


def _kind(report: dict[str, Any]) -> str:
    return "resolved" if report["status"] == "closed" else "updated"


@router.get("/reports")
async def list_reports(
    db: Db,
    principal: Principal = READ,
    status: str | None = None,
    service_code: str | None = None,
    area: str | None = None,
    agency: str | None = None,
    open_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """The report queue, newest first, scoped to the caller's agencies."""
    if status is not None and status not in STATUSES:
        raise Invalid(f"trạng thái là một trong / status is one of {list(STATUSES)}")
    return await _run(
        service.list_reports,
        db,
        principal,
        status=status,
        service=service_code,
        area=area,
        agency=agency,
        open_only=open_only,
        limit=limit,
        offset=offset,
    )


@router.get("/reports/{report_id}")
async def get_report(report_id: RowId, db: Db, principal: Principal = READ) -> dict[str, Any]:
    """A report with its contact, its history and duplicate suggestions."""
    report = await _run(service.get_report, db, principal, report_id)
    return report


@router.post("/reports/{report_id}/status")
async def set_status(
    report_id: RowId, body: StatusIn, request: Request, db: Db, principal: Principal = ACT
) -> dict[str, Any]:
    """Acknowledge, start work on, or close (a note is required) a report."""
    report, event = await _run(
        service.act,
        db,
        principal,
        report_id,
        body.status,
        note=body.note,
        address=client_address(request),
    )
    await publish(request, event, _kind(report))
    return report


@router.post("/reports/{report_id}/route")
async def route_report(
    report_id: RowId, body: RouteIn, request: Request, db: Db, principal: Principal = ACT
) -> dict[str, Any]:
    """Hand the report to another agency."""
    known = {a["code"] for a in await _run(service.agency_list, db)}
    report, event = await _run(
        service.route,
        db,
        principal,
        report_id,
        body.agency_code,
        known_agencies=known,
        address=client_address(request),
    )
    await publish(request, event, "updated")
    return report


@router.post("/reports/{report_id}/merge")
async def merge_report(
    report_id: RowId, body: MergeIn, request: Request, db: Db, principal: Principal = ACT
) -> dict[str, Any]:
    """Close the report as a duplicate of ``into``."""
    report, event = await _run(
        service.merge, db, principal, report_id, body.into, address=client_address(request)
    )
    await publish(request, event, "resolved")
    return report


@router.get("/duplicates")
async def duplicates(
    db: Db,
    settings: AppSettings,
    service_code: Annotated[str, Query(min_length=1, max_length=64)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
    _p: Principal | None = PUBLIC,
) -> list[dict[str, Any]]:
    """Open reports of the same category near a point, recent: shown to a reporter before
    they send (public fields only)."""
    return await _run(
        service.duplicates,
        db,
        service_code=service_code,
        lat=lat,
        lon=lon,
        radius_m=settings.citizen_duplicate_radius_m,
        hours=settings.citizen_duplicate_hours,
    )


@router.post("/tracked/{token}/rating")
async def rate_report(
    token: Annotated[str, Path(min_length=1, max_length=64)],
    body: RatingIn,
    request: Request,
    db: Db,
    _p: Principal | None = PUBLIC,
) -> dict[str, Any]:
    """The reporter's rating (1–5) of their resolved report, by its secret token: once per
    resolution (409 when already rated; reopened and resolved again, it may be rated again).
    Answers the report's public view."""
    report, event = await _run(
        service.rate, db, token, body.rating, address=client_address(request)
    )
    await publish(request, event, "updated")
    return service.public_dict(report)


@router.get("/keys")
async def list_keys(db: Db, _p: Principal = ADMIN) -> list[dict[str, Any]]:
    return await _run(service.list_keys, db)


@router.post("/keys", status_code=201)
async def create_key(
    body: KeyIn, request: Request, db: Db, principal: Principal = ADMIN
) -> dict[str, Any]:
    """A new API key for an app; the key is in this answer only (stored hashed)."""
    record, key = await _run(
        service.create_key,
        db,
        body.name,
        actor=principal.username,
        address=client_address(request),
    )
    return {**record, "key": key}


@router.delete("/keys/{key_id}")
async def revoke_key(
    key_id: RowId, request: Request, db: Db, principal: Principal = ADMIN
) -> dict[str, Any]:
    return await _run(
        service.revoke_key, db, key_id, actor=principal.username, address=client_address(request)
    )
