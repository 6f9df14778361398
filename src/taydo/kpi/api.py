"""REST API of KPIs (``/api/v1/kpis``) and the DTI (``/api/v1/dti``). Thin: each route
declares its permission and runs the service off the event loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from taydo.core import clock
from taydo.core.access import Principal, client_address, requires
from taydo.core.deps import AppRuntime, AppSettings, Db
from taydo.core.errors import Invalid
from taydo.core.inputs import INPUT_CONFIG
from taydo.ingest.files.api import read_upload
from taydo.kpi import service
from taydo.kpi.periods import PERIODS
from taydo.kpi.runtime import announce
from taydo.kpi.schemas import PILLARS, DtiResultIn, EntryIn, KpiIn, SectorIn
from taydo.kpi.sources import COUNTERS, KINDS, NOT_INSTALLED
from taydo.kpi.uploads import import_file

__all__ = ["router"]

T = TypeVar("T")
router = APIRouter(prefix="/api/v1", tags=["kpi"])
READ = requires("kpi:read")
ENTER = requires("kpi:enter")
WRITE = requires("kpi:write")

KpiCode = Annotated[str, Path(min_length=1, max_length=80, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
FrameworkCode = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
Province = Annotated[str, Query(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9._-]*$")]


async def _run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await run_in_threadpool(fn, *args, **kwargs)


class ComputeIn(BaseModel):
    model_config = ConfigDict(**INPUT_CONFIG, extra="forbid")

    codes: Annotated[list[Annotated[str, Field(max_length=80)]], Field(max_length=1000)] | None = (
        None
    )
    force: bool = False


@router.get("/kpis")
async def list_kpis(
    db: Db, principal: Principal = READ, pillar: str | None = None, sector: str | None = None
) -> list[dict[str, Any]]:
    return await _run(service.list_kpis, db, pillar=pillar, sector=sector, principal=principal)


@router.get("/kpi/choices")
async def kpi_choices(db: Db, _p: Principal = READ) -> dict[str, Any]:
    """Pillars, sectors, periods and source kinds (with whether each is installed)."""
    sectors = await _run(service.list_sectors, db)
    return {
        "pillars": [{"code": c, "vi": vi, "en": en} for c, (vi, en) in PILLARS.items()],
        "sectors": sectors,
        "periods": [{"code": c, "vi": vi, "en": en} for c, (vi, en) in PERIODS.items()],
        "sources": [
            {
                "code": k.code,
                "vi": k.label,
                "en": k.label_en,
                "installed": k.code not in COUNTERS or COUNTERS[k.code] is not None,
                "note": NOT_INSTALLED if COUNTERS.get(k.code, True) is None else "",
            }
            for k in KINDS.values()
        ],
    }


@router.put("/kpi/sectors/{code}")
async def put_sector(
    code: Annotated[str, Path(min_length=1, max_length=60, pattern=r"^[a-z0-9][a-z0-9._-]*$")],
    body: SectorIn,
    request: Request,
    db: Db,
    principal: Principal = WRITE,
) -> dict[str, Any]:
    """Add or rename a sector of the configurable table (its KPIs keep the code)."""
    if body.code != code:
        raise Invalid(
            f"mã trong đường dẫn và nội dung khác nhau / path says {code!r}, body {body.code!r}"
        )
    return await _run(service.save_sector, db, body, principal, client_address(request))


@router.get("/kpi/dashboard")
async def kpi_dashboard(db: Db, principal: Principal = READ) -> dict[str, Any]:
    return await _run(service.dashboard, db, principal, now=clock.now())


@router.post("/kpi/compute")
async def compute_kpis(
    body: ComputeIn, runtime: AppRuntime, settings: AppSettings, _p: Principal = WRITE
) -> dict[str, Any]:
    run = await _run(
        service.compute,
        runtime.db,
        now=clock.now(),
        zone=settings.display_timezone,
        codes=body.codes,
        force=body.force,
    )
    await announce(runtime, run.changes)
    return {"computed": run.computed, "kept": run.kept, "changes": run.changes}


@router.get("/kpis/{code}")
async def get_kpi(code: KpiCode, db: Db, principal: Principal = READ) -> dict[str, Any]:
    return await _run(service.kpi_detail, db, code, principal)


@router.put("/kpis/{code}")
async def put_kpi(
    code: KpiCode, body: KpiIn, request: Request, db: Db, principal: Principal = WRITE
) -> dict[str, Any]:
    if body.code != code:
        raise Invalid(
            f"mã trong đường dẫn và nội dung khác nhau / path says {code!r}, body {body.code!r}"
        )
    return await _run(service.save_kpi, db, body, principal, address=client_address(request))


@router.delete("/kpis/{code}", status_code=204)
async def delete_kpi(code: KpiCode, request: Request, db: Db, principal: Principal = WRITE) -> None:
    await _run(service.delete_kpi, db, code, principal, client_address(request))


@router.get("/kpis/{code}/values")
async def kpi_values(
    code: KpiCode,
    db: Db,
    principal: Principal = READ,
    period: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 60,
) -> list[dict[str, Any]]:
    """The city's values, newest first; with ``period``, that period's city and ward values."""
    return await _run(service.kpi_values, db, code, principal, period=period, limit=limit)


@router.post("/kpis/{code}/entries", status_code=201)
async def enter_value(
    code: KpiCode,
    body: EntryIn,
    request: Request,
    db: Db,
    settings: AppSettings,
    principal: Principal = ENTER,
) -> dict[str, Any]:
    return await _run(
        service.enter_value,
        db,
        code,
        body,
        principal,
        zone=settings.display_timezone,
        address=client_address(request),
    )


@router.post(
    "/kpis/{code}/entries/upload", summary="Nạp số liệu từ tệp / Import entries from .xlsx or .csv"
)
async def upload_entries(
    code: KpiCode,
    request: Request,
    db: Db,
    settings: AppSettings,
    file: Annotated[UploadFile, File(description=".xlsx or .csv: period, area, value, evidence")],
    mode: Annotated[str, Form(description="all_or_nothing | accept_valid")] = "all_or_nothing",
    principal: Principal = ENTER,
) -> dict[str, Any]:
    """A per-row report; with ``all_or_nothing`` (the default) one bad row imports nothing."""
    if mode not in ("all_or_nothing", "accept_valid"):
        raise Invalid("mode: all_or_nothing | accept_valid")
    data = await read_upload(file, settings.max_upload_bytes)
    return await _run(
        import_file,
        db,
        code,
        file.filename or "",
        data,
        principal,
        zone=settings.display_timezone,
        all_or_nothing=mode == "all_or_nothing",
        address=client_address(request),
    )


@router.get("/dti")
async def list_frameworks(db: Db, _p: Principal = READ) -> list[dict[str, Any]]:
    return await _run(service.list_frameworks, db)


@router.get("/dti/{framework}")
async def dti_scores(
    framework: FrameworkCode,
    db: Db,
    settings: AppSettings,
    _p: Principal = READ,
    province: Province | None = None,
) -> dict[str, Any]:
    """The framework's results of ``province`` (default: the IOC's own, TAYDO_CONSOLE_AREA)."""
    return await _run(service.dti_view, db, framework, province or settings.console_area)


@router.get("/dti/{framework}/baseline")
async def dti_baseline(
    framework: FrameworkCode,
    db: Db,
    settings: AppSettings,
    _p: Principal = READ,
    province: Province | None = None,
    year: Annotated[int, Query(ge=2000, le=2100)] = 2024,
) -> dict[str, Any]:
    return await _run(service.baseline, db, framework, province or settings.console_area, year)


@router.post("/dti/{framework}/compute")
async def dti_compute(
    framework: FrameworkCode,
    db: Db,
    settings: AppSettings,
    principal: Principal = WRITE,
    year: Annotated[int, Query(ge=2000, le=2100)] | None = None,
) -> dict[str, Any]:
    """Estimate the framework's KPI-linked indices for the IOC's own province (the KPIs are
    its city's) and ``year`` (default: this year); entered results are never overwritten."""
    return await _run(
        service.compute_from_kpis,
        db,
        framework,
        settings.console_area,
        year or clock.now().astimezone(settings.tz).year,
        actor=principal.username,
    )


@router.post("/dti/{framework}/results", status_code=201)
async def dti_enter(
    framework: FrameworkCode,
    body: DtiResultIn,
    request: Request,
    db: Db,
    principal: Principal = WRITE,
) -> dict[str, Any]:
    return await _run(
        service.enter_result, db, framework, body, principal, address=client_address(request)
    )
