"""Console screens of ingestion.

The Data page (``/data``): datasets with their health, pull connectors' state and the
quarantine, each quarantined input on its own page to fix and replay or discard.

The file gateway (``/data/upload``): a department officer uploads an agency's Excel or CSV
file, sees what was stored and what was not (row by row), downloads the report, and sets the
dataset's column mapping — what ``POST /api/v1/datasets/{code}/uploads`` and the column-mapping
routes do, for people without an API client.

A plain HTML form (works without scripts); each POST answers with a redirect to the page
showing its result, so a reload never uploads twice.
"""

from __future__ import annotations

import contextlib
import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from taydo.catalog.service import actor_names, list_agencies, list_datasets
from taydo.core.access import Principal, client_address
from taydo.core.deps import AppRuntime, Db
from taydo.core.errors import Invalid, NotFound, TaydoError
from taydo.core.runtime import runtime_of
from taydo.ingest import datahealth
from taydo.ingest.files import service
from taydo.ingest.files.api import read_upload
from taydo.web.i18n import N_
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
    database = runtime_of(request.app).db
    datasets, _n = list_datasets(database, limit=10_000)
    writable = [d for d in datasets if principal.may_write_agency(d["agency"])]
    chosen = next((d for d in writable if d["code"] == dataset), writable[0] if writable else None)
    context: dict[str, Any] = {
        "datasets": writable,
        "dataset": chosen,
        "mapping": None,
        "mapping_is_default": False,
        "metric_names": [],
        "uploads": [],
        "names": {},
        "result": None,
        "modes": service.MODES,
        "max_upload_mb": runtime_of(request.app).settings.max_upload_bytes // (1024 * 1024),
    }
    if chosen is None:
        return context
    with contextlib.suppress(NotFound):  # no metrics, no mapping: the page asks for one
        mapping, is_default = service.effective_mapping(database, chosen["code"])
        context["mapping"], context["mapping_is_default"] = mapping, is_default
    context["uploads"] = service.list_uploads(database, principal, chosen["code"])
    context["names"] = actor_names(database, [u["created_by"] for u in context["uploads"]])
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
    runtime: AppRuntime,
    principal: Annotated[Principal, WRITE],
    dataset: Annotated[str, Form()],
    file: Annotated[UploadFile, File()],
    mode: Annotated[str, Form()] = "accept_valid",
) -> Response:
    try:
        if not file.filename:
            raise Invalid("hãy chọn một tệp .xlsx hoặc .csv / choose an .xlsx or .csv file")
        data = await read_upload(file, runtime.settings.max_upload_bytes)
        summary = await service.import_file(
            runtime,
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
    db: Db,
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
            db,
            principal,
            dataset,
            mapping,
            client_address(request),
        )
    except TaydoError as exc:
        return await _page(request, principal, dataset, error=exc, form=form)
    return _back(dataset)


# ---------------------------------------------------------------- the Data page and quarantine

QUARANTINE_STATUSES = (
    ("pending", N_("Chờ xử lý")),
    ("replayed", N_("Đã nạp lại")),
    ("", N_("Tất cả")),
)
PILLARS = {
    "government": N_("Chính quyền số"),
    "economy": N_("Kinh tế số"),
    "society": N_("Xã hội số"),
}


def _data_context(request: Request, principal: Principal, status: str) -> dict[str, Any]:
    database = runtime_of(request.app).db
    agencies, _n = list_agencies(database, limit=10_000)
    datasets, _m = list_datasets(database, limit=10_000)
    if not principal.sees_everything:
        agencies = [a for a in agencies if principal.may_see_agency(a["code"])]
        datasets = [d for d in datasets if principal.may_see_agency(d["agency"])]
    health = datahealth.health_by_dataset(database)
    for dataset in datasets:
        dataset["health"] = health.get(dataset["code"])
    quarantine = datahealth.quarantine_page(database, principal, status=status)
    connectors = datahealth.connector_status(database, principal)
    return {
        "agencies": agencies,
        "datasets": datasets,
        "pillars": PILLARS,
        "health_known": bool(health),
        "quarantine": quarantine,
        "connectors": connectors,
        "status": status,
        "statuses": QUARANTINE_STATUSES,
        "may_replay": principal.has("quarantine:act"),
        "may_upload": principal.has("observations:write"),
        "health_labels": datahealth.HEALTH_LABELS,
    }


@router.get("/data")
async def data(
    request: Request,
    principal: Annotated[Principal, page("catalog:read")],
    status: str = "pending",
) -> Response:
    context = await run_in_threadpool(_data_context, request, principal, status)
    return render(request, "ingest/data.html", context)


def _error_text(entry_id: int, exc: TaydoError) -> str:
    reasons = exc.details.get("reasons") or []
    listed = reasons if isinstance(reasons, list) else [reasons]
    return f"#{entry_id}: {exc.message}" + (" — " + "; ".join(map(str, listed)) if listed else "")


async def _entry_page(
    request: Request,
    principal: Principal,
    entry_id: int,
    *,
    error: TaydoError | None = None,
    raw_text: str | None = None,
) -> Response:
    found = await run_in_threadpool(
        datahealth.entry, runtime_of(request.app).db, principal, entry_id
    )
    context = {
        "entry": found,
        "raw_text": found["raw_text"] if raw_text is None else raw_text,
        "may_act": principal.has("quarantine:act") and found["status"] == "pending",
        "error": _error_text(entry_id, error) if error else None,
    }
    status = error.status_code if error else 200
    return render(request, "ingest/quarantine_entry.html", context, status=status)


@router.get("/data/quarantine/{entry_id}")
async def quarantine_entry(
    request: Request, entry_id: int, principal: Annotated[Principal, page("quarantine:read")]
) -> Response:
    """One quarantined input in full, to fix and replay or to discard."""
    return await _entry_page(request, principal, entry_id)


@router.post("/data/quarantine/{entry_id}/replay")
async def quarantine_replay(
    request: Request,
    db: Db,
    runtime: AppRuntime,
    entry_id: int,
    principal: Annotated[Principal, page("quarantine:act")],
    raw: Annotated[str | None, Form()] = None,
) -> Response:
    """Replay an entry unchanged (the Data page's button) or as fixed on its own page
    (``raw``); a still-invalid one stays pending and the reasons show where it was sent."""
    fixed: Any = None
    if raw is not None:
        shown = await run_in_threadpool(datahealth.entry, db, principal, entry_id)
        if raw.strip() != shown["raw_text"].strip():  # edited: JSON when it parses, else text
            try:
                fixed = json.loads(raw)
            except ValueError:
                fixed = raw
    try:
        await datahealth.replay(
            runtime, principal, entry_id, fixed, address=client_address(request)
        )
    except NotFound:
        raise
    except TaydoError as exc:
        if raw is not None:
            return await _entry_page(request, principal, entry_id, error=exc, raw_text=raw)
        context = await run_in_threadpool(_data_context, request, principal, "pending")
        context["error"] = _error_text(entry_id, exc)
        return render(request, "ingest/data.html", context, status=exc.status_code)
    return RedirectResponse("/data#quarantine", status_code=303)


@router.post("/data/quarantine/{entry_id}/discard")
async def quarantine_discard(
    request: Request,
    db: Db,
    entry_id: int,
    principal: Annotated[Principal, page("quarantine:act")],
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Discard an entry with a note (journalled); it stays listed as discarded."""
    try:
        await run_in_threadpool(
            datahealth.discard,
            db,
            principal,
            entry_id,
            note,
            client_address(request),
        )
    except NotFound:
        raise
    except TaydoError as exc:
        return await _entry_page(request, principal, entry_id, error=exc)
    return RedirectResponse("/data#quarantine", status_code=303)
