"""Console screens of the digital workforce: the workforce page (by group, agency and ward;
the community teams and their coverage) and the import page (upload a file of one kind, see
its per-row report, download templates).

Plain HTML forms (they work without scripts, on a phone too); an import answers with a
redirect to the page showing its result, so a reload never imports twice."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from taydo.catalog.service import actor_names
from taydo.core import clock
from taydo.core.access import Principal, client_address
from taydo.core.deps import AppSettings, Db
from taydo.core.errors import Invalid, TaydoError
from taydo.geo.service import list_areas
from taydo.ingest.files.api import read_upload
from taydo.web.shell import page, render
from taydo.workforce import service

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _area_names(db: Any, province: str) -> dict[str, str]:
    found, _total = list_areas(db, parent=province, limit=10_000)
    return {a["code"]: a["name"] for a in found}


@router.get("/workforce")
async def workforce_page(
    request: Request,
    db: Db,
    settings: AppSettings,
    principal: Annotated[Principal, page("workforce:read")],
    year: int | None = None,
) -> Response:
    this_year = clock.now().astimezone(settings.tz).year
    chosen = year if year is not None and 2000 <= year <= 2100 else this_year
    view = await run_in_threadpool(service.summary, db, principal, year=chosen)
    names = await run_in_threadpool(_area_names, db, settings.console_area)
    context = {
        "s": view,
        "years": list(range(this_year, this_year - 6, -1)),
        "groups": service.GROUPS,
        "staff_kinds": service.STAFF_KINDS,
        "area_names": names,
        "may_import": principal.has("workforce:write"),
    }
    return render(request, "workforce/summary.html", context)


async def _import_page(
    request: Request,
    db: Any,
    principal: Principal,
    kind: str | None,
    *,
    import_id: int | None = None,
    error: TaydoError | None = None,
    max_bytes: int,
) -> Response:
    chosen = service.KINDS.get(kind or "") or next(iter(service.KINDS.values()))
    result = None
    if import_id is not None:
        result = await run_in_threadpool(service.get_import, db, principal, import_id)
    recent = await run_in_threadpool(service.list_imports, db, principal, limit=10)
    context: dict[str, Any] = {
        "kinds": list(service.KINDS.values()),
        "kind_names": service.KINDS,
        "kind": chosen,
        "result": result,
        "imports": recent,
        "names": await run_in_threadpool(actor_names, db, [i["created_by"] for i in recent]),
        "max_upload_mb": max_bytes // (1024 * 1024),
    }
    if error is not None:
        found = error.details.get("found") or []
        context["error"] = {
            "message": error.message,
            "details": [str(f) for f in found] if isinstance(found, list) else [],
        }
    status = error.status_code if error is not None else 200
    return render(request, "workforce/import.html", context, status=status)


@router.get("/workforce/import")
async def import_page(
    request: Request,
    db: Db,
    settings: AppSettings,
    principal: Annotated[Principal, page("workforce:write")],
    kind: str | None = None,
    result: int | None = None,
) -> Response:
    return await _import_page(
        request, db, principal, kind, import_id=result, max_bytes=settings.max_upload_bytes
    )


@router.post("/workforce/import")
async def import_submit(
    request: Request,
    db: Db,
    settings: AppSettings,
    principal: Annotated[Principal, page("workforce:write")],
    kind: Annotated[str, Form()],
    file: Annotated[UploadFile, File()],
    mode: Annotated[str, Form()] = "all_or_nothing",
) -> Response:
    try:
        if not file.filename:
            raise Invalid("hãy chọn một tệp .xlsx hoặc .csv / choose an .xlsx or .csv file")
        data = await read_upload(file, settings.max_upload_bytes)
        summary = await run_in_threadpool(
            service.import_file,
            db,
            principal,
            kind,
            file.filename,
            data,
            mode=mode,
            address=client_address(request),
        )
    except TaydoError as exc:
        return await _import_page(
            request, db, principal, kind, error=exc, max_bytes=settings.max_upload_bytes
        )
    query = urlencode({"kind": kind, "result": summary["id"]})
    return RedirectResponse(f"/workforce/import?{query}#result", status_code=303)
