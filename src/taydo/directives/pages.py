"""Console screens of directives: the tracker (the leader's view, filters, on-time rate per
agency, the form to issue one), a directive's page (every agency's part, progress, evidence,
timeline; accept or return), and the agency officer's "my directives" with the progress form.
Pages refresh their live region when the directive stream announces a change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from taydo.catalog.service import actor_names, list_agencies
from taydo.core.access import Principal, client_address
from taydo.core.bounds import Offset, RowId
from taydo.core.db import Database
from taydo.core.deps import AppSettings, Db
from taydo.core.errors import Invalid, NotFound, TaydoError
from taydo.core.runtime import runtime_of
from taydo.directives import service
from taydo.directives.api import Agency, read_upload
from taydo.directives.runtime import DirectivesRuntime
from taydo.web.i18n import N_
from taydo.web.shell import page, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 100  # rows of the tracker per page (soonest deadline first)
STREAM_URL = "/api/v1/directives/stream"
# The journal's actions on a directive, as its timeline shows them.
ACTIONS = {
    "issued": N_("Ban hành chỉ đạo"),
    "acknowledged": N_("Tiếp nhận"),
    "rejected": N_("Từ chối"),
    "progress": N_("Báo cáo tiến độ"),
    "completed": N_("Báo cáo hoàn thành"),
    "accepted": N_("Nghiệm thu"),
    "returned": N_("Trả lại"),
    "cancelled": N_("Hủy chỉ đạo"),
    "file": N_("Nộp tệp"),
    "reminded": N_("Nhắc hạn"),
    "overdue": N_("Quá hạn"),
}


def _agencies(database: Database) -> list[dict[str, Any]]:
    rows, _total = list_agencies(database, limit=10_000)
    return rows


def tracker_view(
    database: Database, principal: Principal, filters: dict[str, str]
) -> dict[str, Any]:
    overdue = {"1": True, "0": False}.get(filters.get("overdue", ""))
    directives = service.list_directives(
        database,
        principal,
        status=filters.get("status") or None,
        agency=filters.get("agency") or None,
        overdue=overdue,
        limit=PAGE_SIZE + 1,  # one more: is there a next page?
        offset=int(filters.get("offset") or 0),
    )
    agencies = _agencies(database)
    return {
        "directives": directives[:PAGE_SIZE],
        "more": len(directives) > PAGE_SIZE,
        "page_size": PAGE_SIZE,
        "rates": service.agency_rates(database, principal),
        "agencies": agencies,
        "agency_names": {a["code"]: a for a in agencies},
        "filters": filters,
        "statuses": service.DIRECTIVE_STATES,
        "priorities": service.PRIORITIES,
        "stream_url": STREAM_URL,
    }


@router.get("/directives")
async def tracker(
    request: Request,
    db: Db,
    principal: Annotated[Principal, page("directives:read")],
    status: str = "open",
    agency: str = "",
    overdue: str = "",
    offset: Offset = 0,
) -> Response:
    filters = {
        "offset": str(offset),
        "status": status if status != "all" else "",
        "agency": agency.strip(),
        "overdue": overdue,
        "status_choice": status,
    }
    try:
        view = await run_in_threadpool(tracker_view, db, principal, filters)
    except Invalid:
        filters.update(status="", status_choice="all")
        view = await run_in_threadpool(tracker_view, db, principal, filters)
    return render(request, "directives/tracker.html", view)


def _due_from_form(text: str, settings: Any) -> datetime:
    """A ``datetime-local`` field (wall-clock time in the display time zone) as UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(N_("Hạn hoàn thành không hợp lệ")) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=settings.tz)
    return moment


@router.post("/directives")
async def issue_form(
    request: Request,
    db: Db,
    settings: AppSettings,
    principal: Annotated[Principal, page("directives:issue")],
    title: Annotated[str, Form(max_length=300)] = "",
    description: Annotated[str, Form(max_length=10_000)] = "",
    agencies: Annotated[list[str] | None, Form()] = None,
    due_at: Annotated[str, Form(max_length=40)] = "",
    priority: Annotated[str, Form(max_length=16)] = "normal",
    incident_id: Annotated[str, Form(max_length=20)] = "",
    kpi_code: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    try:
        incident = int(incident_id) if incident_id.strip() else None
        if incident is not None and incident < 1:
            raise ValueError
    except ValueError:
        return await _tracker_error(request, db, principal, N_("Mã sự cố không hợp lệ"))
    try:
        directive = await run_in_threadpool(
            lambda: service.issue(
                db,
                principal,
                title=title,
                description=description,
                agencies=agencies or [],
                due_at=_due_from_form(due_at, settings),
                priority=priority,
                incident_id=incident,
                kpi_code=kpi_code or None,
                address=client_address(request),
            )
        )
    except TaydoError as exc:
        return await _tracker_error(request, db, principal, exc.message)
    await runtime_of(request.app).get(DirectivesRuntime).publish(directive)
    return RedirectResponse(f"/directives/{directive['id']}", status_code=303)


async def _tracker_error(
    request: Request, db: Database, principal: Principal, error: str
) -> Response:
    filters = {
        "status": "open",
        "agency": "",
        "overdue": "",
        "status_choice": "open",
        "offset": "0",
    }
    view = await run_in_threadpool(tracker_view, db, principal, filters)
    view["error"] = error
    return render(request, "directives/tracker.html", view, status=422)


def detail_view(database: Database, principal: Principal, directive_id: int) -> dict[str, Any]:
    directive = service.get_directive(database, principal, directive_id)
    agencies = _agencies(database)
    actors = [directive["issued_by"], *(e["actor"] for e in directive["timeline"])]
    actors += [r["actor"] for part in directive["assignments"] for r in part["reports"]]
    return {
        "directive": directive,
        "agency_names": {a["code"]: a for a in agencies},
        "names": actor_names(database, actors),
        "stream_url": STREAM_URL,
        "actions": ACTIONS,
        "may_act": {
            item["agency_code"]: principal.has("directives:act")
            and principal.may_write_agency(item["agency_code"])
            for item in directive["assignments"]
        },
        "may_review": service.may_follow_up(principal, directive["issued_by"]),
    }


async def _detail(
    request: Request, principal: Principal, directive_id: int, error: str | None = None
) -> Response:
    database = runtime_of(request.app).db
    view = await run_in_threadpool(detail_view, database, principal, directive_id)
    view["error"] = error
    return render(request, "directives/detail.html", view, status=422 if error else 200)


@router.get("/directives/mine")
async def mine(
    request: Request, db: Db, principal: Annotated[Principal, page("directives:act")]
) -> Response:
    """The officer's open parts, soonest deadline first, each with its progress form."""

    def view() -> dict[str, Any]:
        rows = service.list_directives(db, principal, status="open", limit=500)
        items = [
            (directive, part)
            for directive in rows
            for part in directive["assignments"]
            if part["status"] in ("assigned", "acknowledged", "in_progress", "done")
            and principal.may_write_agency(part["agency_code"])
        ]
        return {"items": items, "stream_url": STREAM_URL}

    return render(request, "directives/mine.html", await run_in_threadpool(view))


@router.get("/directives/{directive_id}")
async def detail(
    request: Request, directive_id: RowId, principal: Annotated[Principal, page("directives:read")]
) -> Response:
    return await _detail(request, principal, directive_id)


async def _act(
    request: Request,
    principal: Principal,
    directive_id: int,
    action: Callable[..., dict[str, Any]],
    *args: Any,
    back: str = "",
    **fields: Any,
) -> Response:
    """Run one action of the service; a refusal shows on the directive's page."""
    runtime = runtime_of(request.app)
    try:
        directive = await run_in_threadpool(
            lambda: action(
                runtime.db,
                principal,
                directive_id,
                *args,
                address=client_address(request),
                **fields,
            )
        )
    except NotFound:
        raise
    except TaydoError as exc:
        return await _detail(request, principal, directive_id, error=exc.message)
    await runtime.get(DirectivesRuntime).publish(directive)
    return RedirectResponse(back or f"/directives/{directive_id}", status_code=303)


async def _evidence(
    request: Request,
    principal: Principal,
    directive_id: int,
    agency: str,
    files: list[UploadFile] | None,
) -> list[int]:
    """Store the files chosen in a progress or completion form; their ids."""
    runtime = runtime_of(request.app)
    store = runtime.get(DirectivesRuntime).store
    ids = []
    for upload in files or []:
        if not upload.filename:
            continue  # the file input left empty
        data = await read_upload(upload, store)
        stored = await run_in_threadpool(
            partial(
                service.add_file,
                runtime.db,
                store,
                principal,
                directive_id,
                data=data,
                name=upload.filename,
                agency_code=agency,
                address=client_address(request),
            )
        )
        ids.append(int(stored["id"]))
    return ids


@router.post("/directives/{directive_id}/assignments/{agency}/ack")
async def ack_form(
    request: Request,
    directive_id: RowId,
    agency: Agency,
    principal: Annotated[Principal, page("directives:act")],
) -> Response:
    return await _act(request, principal, directive_id, service.acknowledge, agency)


@router.post("/directives/{directive_id}/assignments/{agency}/reject")
async def reject_form(
    request: Request,
    directive_id: RowId,
    agency: Agency,
    principal: Annotated[Principal, page("directives:act")],
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    return await _act(request, principal, directive_id, service.reject, agency, reason=reason)


@router.post("/directives/{directive_id}/assignments/{agency}/progress")
async def progress_form(
    request: Request,
    directive_id: RowId,
    agency: Agency,
    principal: Annotated[Principal, page("directives:act")],
    percent: Annotated[int, Form(ge=0, le=100)] = 0,
    note: Annotated[str, Form(max_length=4000)] = "",
    complete: Annotated[str, Form(max_length=8)] = "",
    back: Annotated[str, Form(max_length=200)] = "",
    files: Annotated[list[UploadFile] | None, Form()] = None,
) -> Response:
    """Progress, or with ``complete`` the completion report, with evidence files."""
    try:
        ids = await _evidence(request, principal, directive_id, agency, files)
    except NotFound:
        raise
    except TaydoError as exc:
        return await _detail(request, principal, directive_id, error=exc.message)
    target = back if back in ("/directives/mine",) else ""
    if complete:
        return await _act(
            request,
            principal,
            directive_id,
            service.complete,
            agency,
            note=note,
            files=ids,
            back=target,
        )
    return await _act(
        request,
        principal,
        directive_id,
        service.report_progress,
        agency,
        percent=percent,
        note=note,
        files=ids,
        back=target,
    )


@router.post("/directives/{directive_id}/assignments/{agency}/accept")
async def accept_form(
    request: Request,
    directive_id: RowId,
    agency: Agency,
    principal: Annotated[Principal, page("directives:incident")],  # narrowed by the service
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    return await _act(request, principal, directive_id, service.accept, agency, note=note)


@router.post("/directives/{directive_id}/assignments/{agency}/return")
async def return_form(
    request: Request,
    directive_id: RowId,
    agency: Agency,
    principal: Annotated[Principal, page("directives:incident")],  # narrowed by the service
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    return await _act(
        request, principal, directive_id, service.return_completion, agency, reason=reason
    )


@router.post("/directives/{directive_id}/cancel")
async def cancel_form(
    request: Request,
    directive_id: RowId,
    principal: Annotated[Principal, page("directives:issue")],
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    return await _act(request, principal, directive_id, service.cancel, reason=reason)
