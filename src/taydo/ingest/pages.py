"""Console screen of the file gateway: a department officer uploads an agency's Excel or CSV
file, sees what was stored and what was not (row by row), downloads the report, and sets the
dataset's column mapping — what ``POST /api/v1/datasets/{code}/uploads`` and the column-mapping
routes do, for people without an API client.

A plain HTML form (works without scripts); each POST answers with a redirect to the page
showing its result, so a reload never uploads twice.
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from taydo.core.access import Principal, client_address
from taydo.core.errors import Invalid, NotFound, TaydoError
from taydo.ingest.files import service
from taydo.ingest.files.api import read_upload
from taydo.web.shell import page, render

__all__ = ["parse_metrics", "router"]

router = APIRouter(include_in_schema=False)
WRITE = page("observations:write")


def parse_metrics(text: str) -> dict[str, str]:
    """``Header = metric`` per line (the header may itself hold '='; the last one splits)."""
    metrics: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        header, sep, metric = line.rpartition("=")
        if not sep or not header.strip() or not metric.strip():
            raise Invalid(
                f"dòng {number}: cần dạng 'Tên cột = chỉ số' / line {number}: "
                "write 'Column header = metric'"
            )
        metrics[header.strip()] = metric.strip()
    return metrics


def _context(
    request: Request, principal: Principal, dataset: str | None, upload_id: int | None
) -> dict[str, Any]:
    from taydo.catalog.service import list_datasets

    database = request.app.state.db
    datasets, _n = list_datasets(database, limit=10_000)
    writable = [d for d in datasets if principal.may_write_agency(d["agency"])]
    chosen = next((d for d in writable if d["code"] == dataset), writable[0] if writable else None)
    context: dict[str, Any] = {
        "datasets": writable,
        "dataset": chosen,
        "mapping": None,
        "metric_names": [],
        "uploads": [],
        "result": None,
        "modes": service.MODES,
        "max_upload_mb": request.app.state.settings.max_upload_bytes // (1024 * 1024),
    }
    if chosen is None:
        return context
    with contextlib.suppress(NotFound):  # none yet: the page asks for one first
        context["mapping"] = service.get_mapping(database, chosen["code"])
    context["uploads"] = service.list_uploads(database, principal, chosen["code"])
    context["metric_names"] = service.dataset_metrics(database, chosen["code"])
    if upload_id is not None:
        context["result"] = service.get_upload(database, principal, chosen["code"], upload_id)
    return context


async def _page(
    request: Request,
    principal: Principal,
    dataset: str | None,
    *,
    upload_id: int | None = None,
    error: TaydoError | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    context = await run_in_threadpool(_context, request, principal, dataset, upload_id)
    if error is not None:
        details: list[str] = []
        for key in ("problems", "found"):
            listed = error.details.get(key) or []
            details += map(str, listed if isinstance(listed, list) else [listed])
        context["error"] = {"message": error.message, "details": details}
        context["form"] = form or {}
    return render(
        request, "ingest/upload.html", context, status=error.status_code if error else 200
    )


def _back(dataset: str, **params: Any) -> RedirectResponse:
    query = urlencode({"dataset": dataset, **params})
    return RedirectResponse(f"/data/upload?{query}#result", status_code=303)


@router.get("/data/upload")
async def upload_page(
    request: Request,
    principal: Annotated[Principal, WRITE],
    dataset: str | None = None,
    upload: int | None = None,
) -> Response:
    return await _page(request, principal, dataset, upload_id=upload)


@router.post("/data/upload")
async def upload_submit(
    request: Request,
    principal: Annotated[Principal, WRITE],
    dataset: Annotated[str, Form()],
    file: Annotated[UploadFile, File()],
    mode: Annotated[str, Form()] = "accept_valid",
) -> Response:
    state = request.app.state
    try:
        if not file.filename:
            raise Invalid("hãy chọn một tệp .xlsx hoặc .csv / choose an .xlsx or .csv file")
        data = await read_upload(file, state.settings.max_upload_bytes)
        summary = await service.import_file(
            state,
            principal,
            dataset,
            file.filename,
            data,
            mode=mode,
            address=client_address(request),
        )
    except TaydoError as exc:
        return await _page(request, principal, dataset, error=exc)
    return _back(dataset, upload=summary["id"])


@router.post("/data/upload/mapping")
async def mapping_submit(
    request: Request,
    principal: Annotated[Principal, WRITE],
    dataset: Annotated[str, Form()],
    ts: Annotated[str, Form()] = "",
    entity: Annotated[str, Form()] = "",
    metrics: Annotated[str, Form()] = "",
    sheet: Annotated[str, Form()] = "",
) -> Response:
    form = {"ts": ts, "entity": entity, "metrics": metrics, "sheet": sheet}
    try:
        mapping: dict[str, Any] = {
            "ts": ts.strip(),
            "entity": entity.strip(),
            "metrics": parse_metrics(metrics),
        }
        if sheet.strip():
            mapping["sheet"] = sheet.strip()
        await run_in_threadpool(
            service.set_mapping,
            request.app.state.db,
            principal,
            dataset,
            mapping,
            client_address(request),
        )
    except TaydoError as exc:
        return await _page(request, principal, dataset, error=exc, form=form)
    return _back(dataset)
