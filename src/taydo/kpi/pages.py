"""Console screens of the KPI domain: the executive dashboard (pillars → sectors → KPIs with
sparklines and status colours; ``?wall=1`` for the wall), a KPI's page (history chart, wards,
what each value was computed from, the entry form for entered KPIs) and the DTI page."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from taydo.core import clock
from taydo.core.access import Principal, client_address
from taydo.core.db import Database
from taydo.core.deps import AppSettings, Db
from taydo.core.errors import NotFound, TaydoError
from taydo.geo.service import list_areas
from taydo.ingest.files.api import read_upload
from taydo.kpi import service
from taydo.kpi.periods import PERIODS
from taydo.kpi.schemas import EntryIn
from taydo.kpi.uploads import import_file
from taydo.web.i18n import N_
from taydo.web.shell import page, render

__all__ = ["router", "sparkline"]

router = APIRouter(include_in_schema=False)
STATUS = {
    "green": ("Đạt", "On target"),
    "amber": ("Cần chú ý", "Watch"),
    "red": ("Không đạt", "Off target"),
    "grey": ("Chưa đủ số liệu", "Insufficient data"),
}


def sparkline(values: list[float | None], width: int = 120, height: int = 28) -> str:
    """The ``points`` of an SVG polyline through the values (gaps skipped), drawn on the
    server: 200 cards need no script and stay sharp at any size."""
    present = [(n, v) for n, v in enumerate(values) if v is not None]
    if len(present) < 2:
        return ""
    low = min(v for _n, v in present)
    high = max(v for _n, v in present)
    span = (high - low) or 1.0
    step = width / max(len(values) - 1, 1)
    return " ".join(
        f"{n * step:.1f},{height - 2 - (v - low) / span * (height - 4):.1f}" for n, v in present
    )


def _areas(database: Database, province: str) -> dict[str, str]:
    found, _total = list_areas(database, parent=province, limit=10_000)
    return {a["code"]: a["name"] for a in found}


@router.get("/kpi")
async def dashboard_page(
    request: Request, db: Db, principal: Annotated[Principal, page("kpi:read")]
) -> Response:
    view = await run_in_threadpool(service.dashboard, db, principal, now=clock.now())
    proposed = False  # a proposed target is starred, the star explained once below the cards
    for pillar in view["pillars"]:
        for sector in pillar["sectors"]:
            for kpi in sector["kpis"]:
                kpi["spark_points"] = sparkline(kpi["spark"])
                proposed = proposed or (kpi["target"] is not None and kpi["target_proposed"])
    return render(
        request,
        "kpi/dashboard.html",
        {**view, "statuses": STATUS, "periods": PERIODS, "any_proposed": proposed},
    )


def _detail(database: Database, code: str, principal: Principal, province: str) -> dict[str, Any]:
    view = service.kpi_detail(database, code, principal)
    # Shown as JSON with its Vietnamese text as is (Jinja's tojson escapes it to \\u…).
    for row in (*view["history"], *view["wards"]):
        row["inputs_text"] = orjson.dumps(row["inputs"], option=orjson.OPT_SORT_KEYS).decode()
    view["source_text"] = orjson.dumps(view["kpi"]["source"]).decode()
    chart = {
        "labels": [h["period"] for h in view["history"]],
        "values": [h["value"] for h in view["history"]],
        "target": view["kpi"]["target"],
        "warn": view["kpi"]["warn"],
        "unit": view["kpi"]["unit"],
    }
    return {
        **view,
        "chart_json": orjson.dumps(chart).decode(),
        "area_names": _areas(database, province),
        "statuses": STATUS,
        "periods": PERIODS,
        "may_enter": principal.has("kpi:enter")
        and view["kpi"]["source"]["kind"] == "records"
        and (principal.sees_everything or view["kpi"]["agency"] in principal.agencies),
    }


@router.get("/kpi/{code}")
async def kpi_page(
    request: Request,
    code: str,
    db: Db,
    settings: AppSettings,
    principal: Annotated[Principal, page("kpi:read")],
) -> Response:
    view = await run_in_threadpool(_detail, db, code, principal, settings.console_area)
    return render(request, "kpi/kpi.html", view)


@router.post("/kpi/{code}/entries")
async def kpi_enter(
    request: Request,
    code: str,
    db: Db,
    settings: AppSettings,
    principal: Annotated[Principal, page("kpi:enter")],
    period: Annotated[str, Form()] = "",
    area: Annotated[str, Form()] = "",
    value: Annotated[str, Form()] = "",
    evidence: Annotated[str, Form()] = "",
) -> Response:
    """The entry form: the value is entered, then the KPI's periods computed at once."""
    try:
        number = float(value.replace(",", "."))
        if number != number or abs(number) > 1e12:
            raise ValueError
        data = EntryIn.model_validate(
            {
                "period": period.strip(),
                "area": area.strip() or None,
                "value": number,
                "evidence": evidence.strip(),
            }
        )
    except ValueError:
        error = N_("Giá trị, kỳ hoặc minh chứng không hợp lệ")
        return await _refused(request, db, code, principal, settings.console_area, error)
    try:
        await run_in_threadpool(
            service.enter_value,
            db,
            code,
            data,
            principal,
            zone=settings.display_timezone,
            address=client_address(request),
        )
    except NotFound:
        raise
    except TaydoError as exc:
        return await _refused(request, db, code, principal, settings.console_area, exc.message)
    await run_in_threadpool(
        service.compute, db, now=clock.now(), zone=settings.display_timezone, codes=[code]
    )
    return RedirectResponse(f"/kpi/{code}", status_code=303)


async def _refused(
    request: Request, db: Database, code: str, principal: Principal, province: str, error: str
) -> Response:
    view = await run_in_threadpool(_detail, db, code, principal, province)
    return render(request, "kpi/kpi.html", {**view, "error": error}, status=422)


@router.post("/kpi/{code}/upload")
async def kpi_upload(
    request: Request,
    code: str,
    db: Db,
    settings: AppSettings,
    principal: Annotated[Principal, page("kpi:enter")],
    file: Annotated[UploadFile, File()],
    accept_valid: Annotated[str, Form()] = "",
) -> Response:
    """The upload form: the per-row report on the KPI's page, the periods computed at once."""
    data = await read_upload(file, settings.max_upload_bytes)
    try:
        report = await run_in_threadpool(
            import_file,
            db,
            code,
            file.filename or "",
            data,
            principal,
            zone=settings.display_timezone,
            all_or_nothing=not accept_valid,
            address=client_address(request),
        )
    except NotFound:
        raise
    except TaydoError as exc:
        return await _refused(request, db, code, principal, settings.console_area, exc.message)
    if report["imported"]:
        await run_in_threadpool(
            service.compute, db, now=clock.now(), zone=settings.display_timezone, codes=[code]
        )
    view = await run_in_threadpool(_detail, db, code, principal, settings.console_area)
    return render(
        request,
        "kpi/kpi.html",
        {**view, "report": report},
        status=200 if not report["rejected"] else 422,
    )


@router.get("/dti")
async def dti_page(
    request: Request,
    db: Db,
    principal: Annotated[Principal, page("kpi:read")],
    settings: AppSettings,
    framework: str = "dti-922",
    province: str | None = None,
) -> Response:
    province = province or settings.console_area  # the IOC's own province by default
    frameworks = await run_in_threadpool(service.list_frameworks, db)
    provinces = await run_in_threadpool(service.dti_provinces, db, framework)
    view: dict[str, Any] = {
        "frameworks": frameworks,
        "selected": framework,
        "provinces": provinces,
        "province": province,
        "view": None,
    }
    if any(f["code"] == framework for f in frameworks):
        view["view"] = await run_in_threadpool(service.dti_view, db, framework, province)
        years = view["view"]["years"]
        indices = [i for g in view["view"]["framework"]["groups"] for i in g["indices"]]
        chart = {
            "years": [y["year"] for y in years],
            "series": [
                {"code": "", "name": "DTI"},
                *({"code": i["code"], "name": i["name"]} for i in indices if i.get("points")),
            ],
            "values": {
                code: [y["scores"].get(code) if code else y["total"] for y in years]
                for code in ["", *(i["code"] for i in indices)]
            },
        }
        view["chart_json"] = orjson.dumps(chart).decode()
    return render(request, "kpi/dti.html", view)
