"""REST API of reports: a report generated on demand (PDF or .xlsx), the table of sections,
agency scorecards, and the scheduled report jobs."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from taydo.core import clock
from taydo.core.access import Principal, client_address, requires
from taydo.core.deps import AppSettings, Db
from taydo.reports import service
from taydo.reports.schemas import JobIn

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["reports"])
READ = requires("reports:read")
SCHEDULE = requires("reports:schedule")
Agency = Annotated[str | None, Query(min_length=1, max_length=40)]


def download(rendered: service.Rendered) -> Response:
    return Response(
        rendered.content,
        media_type=rendered.media_type,
        headers={"Content-Disposition": f'attachment; filename="{rendered.filename}"'},
    )


def generate(
    db: Any,
    settings: Any,
    principal: Principal,
    *,
    kind: str,
    day: date | None,
    agency: str | None,
    fmt: str,
) -> service.Rendered:
    now = clock.now()
    report = service.build_report(
        db,
        kind=kind,
        tz=settings.tz,
        day=day,
        agency=agency,
        principal=principal,
        now=now,
        province=settings.console_area,
    )
    return service.render(report, fmt, settings.tz, now)


@router.get("/reports/sections")
async def list_sections(_p: Principal = READ) -> list[dict[str, Any]]:
    """The sections of each report kind, and whether their domain is installed."""
    return [
        {
            "code": s.code,
            "title": s.title_vi,
            "title_en": s.title_en,
            "kinds": list(s.kinds),
            "installed": s.build is not None,
            "provider": s.provider,
        }
        for s in service.SECTIONS
    ]


@router.get(
    "/reports/{kind}",
    response_class=Response,
    responses={
        200: {
            "description": "the report file",
            "content": {
                media: {"schema": {"type": "string", "format": "binary"}}
                for media in service.FORMATS.values()
            },
        }
    },
)
async def get_report(
    kind: Literal["daily", "monthly"],
    db: Db,
    settings: AppSettings,
    principal: Principal = READ,
    date: Annotated[date | None, Query(description="a day of the period (local)")] = None,
    agency: Agency = None,
    format: Literal["pdf", "xlsx"] = "pdf",
) -> Response:
    """The report as a file: the day (daily) or month (monthly) holding ``date`` (default:
    the last complete one); an agency officer's covers only their agencies."""
    rendered = await asyncio.to_thread(
        generate, db, settings, principal, kind=kind, day=date, agency=agency, fmt=format
    )
    return download(rendered)


@router.get("/scorecards")
async def get_scorecards(
    db: Db,
    settings: AppSettings,
    principal: Principal = READ,
    month: Annotated[date | None, Query(description="a day of the month (local)")] = None,
    agency: Agency = None,
) -> dict[str, Any]:
    """Per agency: each measure's value and status (green, amber, red, grey, not-installed)."""

    def work() -> dict[str, Any]:
        scope = service.make_scope(
            db, kind="monthly", tz=settings.tz, day=month, agency=agency, principal=principal
        )
        return {
            "month": f"{scope.day:%Y-%m}",
            "measures": [
                {
                    "code": m.code,
                    "title": m.vi,
                    "title_en": m.en,
                    "kind": m.kind,
                    "installed": m.fetch is not None,
                }
                for m in service.MEASURES
            ],
            "agencies": service.scorecards(scope),
        }

    return await asyncio.to_thread(work)


@router.get("/report-jobs")
async def list_jobs(db: Db, _p: Principal = SCHEDULE) -> list[dict[str, Any]]:
    return await asyncio.to_thread(service.list_jobs, db)


@router.post("/report-jobs", status_code=201)
async def create_job(
    body: JobIn, request: Request, db: Db, settings: AppSettings, principal: Principal = SCHEDULE
) -> dict[str, Any]:
    return await asyncio.to_thread(
        service.create_job, db, principal, body, tz=settings.tz, address=client_address(request)
    )


@router.delete("/report-jobs/{code}", status_code=204)
async def delete_job(
    code: Annotated[str, Path(max_length=80)],
    request: Request,
    db: Db,
    principal: Principal = SCHEDULE,
) -> Response:
    await asyncio.to_thread(
        service.delete_job, db, principal, code, address=client_address(request)
    )
    return Response(status_code=204)


@router.get("/report-runs")
async def list_runs(
    db: Db,
    _p: Principal = SCHEDULE,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    return await asyncio.to_thread(service.list_runs, db, limit=limit)
