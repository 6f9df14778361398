"""REST API of the digital workforce: imports (with their per-row reports and templates),
the summary, and the figures the KPIs are made of.

Agency officers import their agencies' data (``workforce:write``, checked row by row);
leaders, operators and viewers read everything, officers their own agencies' rows
(``workforce:read``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BeforeValidator
from starlette.concurrency import run_in_threadpool

from taydo.core import clock
from taydo.core.access import Principal, client_address, requires
from taydo.core.bounds import RowId
from taydo.core.deps import AppSettings, Db
from taydo.core.errors import Forbidden, Invalid
from taydo.core.responses import answers_as
from taydo.ingest.files.api import read_upload
from taydo.workforce import service

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/workforce", tags=["workforce"])
READ = requires("workforce:read")
WRITE = requires("workforce:write")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _iso_day(value: Any) -> date:
    """A day as ISO text (2026-12-31), nothing else: lax parsing took 0 for 1970-01-01."""
    if isinstance(value, str) and len(value) == 10:
        return date.fromisoformat(value)
    raise ValueError("a day is ISO 8601 text, e.g. 2026-12-31")


Day = Annotated[date, BeforeValidator(_iso_day)]
Year = Annotated[
    int | None, Query(ge=2000, le=2100, description="calendar year (default: this one)")
]


def _year(settings: Any, year: int | None) -> int:
    return year if year is not None else clock.now().astimezone(settings.tz).year


@router.get("/kinds", summary="Loại dữ liệu nhân lực số / Importable kinds and their columns")
async def list_kinds(request: Request, _who: Principal = READ) -> list[dict[str, Any]]:
    return [
        {
            "code": kind.code,
            "name": kind.vi,
            "name_en": kind.en,
            "template": f"/api/v1/workforce/templates/{kind.code}.xlsx",
            "columns": [
                {
                    "header": c.header,
                    "field": c.field,
                    "type": c.type,
                    "required": c.required,
                    "choices": [ch.code for ch in c.choices],
                }
                for c in kind.columns
            ],
        }
        for kind in service.KINDS.values()
    ]


@router.get(
    "/templates/{kind}.xlsx",
    summary="Tệp mẫu / A workbook to fill in",
    **answers_as(XLSX, "the workbook"),
)
async def template(request: Request, kind: str, _who: Principal = READ) -> Response:
    data = await run_in_threadpool(service.template_xlsx, kind)
    return Response(
        data,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="nhan-luc-so-{kind}-mau.xlsx"'},
    )


@router.post("/imports", status_code=201, summary="Nhập tệp / Import an .xlsx or .csv")
async def import_file(
    request: Request,
    db: Db,
    settings: AppSettings,
    kind: str = Form(..., max_length=40, description=" | ".join(service.KINDS)),
    file: UploadFile = File(..., description=".xlsx or .csv"),  # noqa: B008
    mode: str = Form(
        "all_or_nothing",
        description="all_or_nothing (a bad row stores nothing) | accept_valid (the good rows)",
    ),
    who: Principal = WRITE,
) -> dict[str, Any]:
    data = await read_upload(file, settings.max_upload_bytes)
    return await run_in_threadpool(
        service.import_file,
        db,
        who,
        kind,
        file.filename or "upload",
        data,
        mode=mode,
        address=client_address(request),
    )


@router.get("/imports", summary="Các lần nhập / Recent imports")
async def list_imports(
    request: Request,
    db: Db,
    kind: str | None = None,
    limit: int = Query(20, ge=1, le=200),
    who: Principal = READ,
) -> list[dict[str, Any]]:
    return await run_in_threadpool(service.list_imports, db, who, kind=kind, limit=limit)


@router.get("/imports/{import_id}", summary="Một lần nhập / One import and its problems")
async def get_import(
    request: Request, db: Db, import_id: RowId, who: Principal = READ
) -> dict[str, Any]:
    return await run_in_threadpool(service.get_import, db, who, import_id)


@router.get(
    "/imports/{import_id}/report.xlsx",
    summary="Báo cáo kiểm tra / Row report",
    **answers_as(XLSX, "the per-row report"),
)
async def import_report(
    request: Request, db: Db, import_id: RowId, who: Principal = READ
) -> Response:
    data = await run_in_threadpool(service.report_xlsx, db, who, import_id)
    return Response(
        data,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="nhap-{import_id}-bao-cao.xlsx"'},
    )


@router.get("/summary", summary="Tổng hợp nhân lực số / The workforce in a year")
async def workforce_summary(
    request: Request, db: Db, settings: AppSettings, year: Year = None, who: Principal = READ
) -> dict[str, Any]:
    return await run_in_threadpool(service.summary, db, who, year=_year(settings, year))


def _own_agency(who: Principal, agency: str | None) -> None:
    """An agency officer reads the figures of their own agencies only (named in ``agency``);
    leaders, operators and viewers read any, city-wide included."""
    if not who.sees_everything and (agency is None or agency not in who.agencies):
        raise Forbidden(
            "cán bộ sở, ngành xem số liệu của cơ quan mình: ghi agency / an agency officer "
            "reads their own agency's figures: give agency"
        )


def _coverage(db: Any, at: date, area: str | None) -> dict[str, Any]:
    with db.session() as session:
        return service.team_coverage(session, at=at, area_code=area).as_dict()


@router.get("/coverage", summary="Độ phủ tổ công nghệ số / Community team coverage")
async def coverage(
    request: Request,
    db: Db,
    settings: AppSettings,
    at: Annotated[Day | None, Query(description="the day (default: today)")] = None,
    area: str | None = Query(None, max_length=16, description="a ward or province code"),
    who: Principal = READ,
) -> dict[str, Any]:
    # Teams and residents per ward: no agency's figures, readable by everyone who may read.
    day = at or clock.now().astimezone(settings.tz).date()
    return await run_in_threadpool(_coverage, db, day, area)


def _share(db: Any, **kwargs: Any) -> tuple[int, int]:
    with db.session() as session:
        try:
            return service.trained_share(session, **kwargs)
        except ValueError as exc:
            raise Invalid(str(exc)) from None


@router.get("/trained-share", summary="Tỷ lệ được đào tạo / Trained share of a group")
async def trained_share(
    request: Request,
    db: Db,
    group: str,
    start: Annotated[Day, Query(description="first day")],
    end: Annotated[Day, Query(description="the day after the last")],
    agency: str | None = Query(None, max_length=40),
    area: str | None = Query(None, max_length=16),
    who: Principal = READ,
) -> dict[str, Any]:
    _own_agency(who, agency)
    if end <= start:
        raise Invalid("end phải sau start / end must be after start")
    done, headcount = await run_in_threadpool(
        _share, db, start=start, end=end, group=group, agency_code=agency, area_code=area
    )
    return {
        "group": group,
        "start": start,
        "end": end,
        "completed": done,
        "headcount": headcount,
        "share": round(done / headcount, 4) if headcount else None,
    }
