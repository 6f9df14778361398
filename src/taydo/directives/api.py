"""REST API of directives under ``/api/v1/directives``: the tracker, the leader's actions
(issue, cancel, attach; accept and return, which whoever issued the directive may do too), the
agencies' actions (acknowledge, reject, progress, complete, evidence), evidence downloads,
on-time rates and the live stream."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, File, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse, StreamingResponse

from taydo.core import files
from taydo.core.access import Principal, client_address, requires
from taydo.core.bounds import MAX_INT64, Offset, RowId
from taydo.core.deps import Db
from taydo.core.files import serve
from taydo.core.inputs import Moment
from taydo.core.responses import answers_as
from taydo.directives import service
from taydo.directives.runtime import Live, Store
from taydo.directives.schemas import AcceptIn, CompleteIn, DirectiveIn, ProgressIn, ReasonIn
from taydo.directives.service import FileStore

__all__ = ["read_upload", "router"]

T = TypeVar("T")
router = APIRouter(prefix="/api/v1/directives", tags=["directives"])
READ = requires("directives:read")
ISSUE = requires("directives:issue")
ACT = requires("directives:act")
# Accept or return a completion: the leaders (directives:issue) and whoever issued the
# directive; every role holding directives:issue holds directives:incident too, so the latter
# is the route's gate and ``follow_up`` narrows it to the directive's issuer.
FOLLOW = requires("directives:incident")
Agency = Annotated[
    str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.\-]+$", description="agency code")
]
FILE_TYPES = "JPEG, PNG or WebP image, or PDF (checked by content)"


async def _run(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(func, *args, **kwargs)


async def read_upload(upload: UploadFile, store: FileStore) -> bytes:
    """The uploaded bytes, refused (413) as soon as they pass the store's limit."""
    return await files.read_upload(upload, store.max_bytes)


# -- reading ------------------------------------------------------------------------------
@router.get("")
async def list_directives(
    db: Db,
    principal: Principal = READ,
    status: Annotated[str | None, Query(max_length=16)] = None,
    agency: Annotated[str | None, Query(max_length=40)] = None,
    assignment_status: Annotated[str | None, Query(max_length=16)] = None,
    overdue: bool | None = None,
    incident_id: Annotated[int | None, Query(ge=1, le=MAX_INT64)] = None,
    kpi_code: Annotated[str | None, Query(max_length=80)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """Directives, soonest deadline first (officers: those assigned to their agencies)."""
    return await _run(
        service.list_directives,
        db,
        principal,
        status=status,
        agency=agency,
        assignment_status=assignment_status,
        overdue=overdue,
        incident_id=incident_id,
        kpi_code=kpi_code,
        limit=limit,
        offset=offset,
    )


@router.get("/choices")
async def choices(_p: Principal = READ) -> dict[str, Any]:
    def rows(items: Any) -> list[dict[str, Any]]:
        return [{"code": c.code, "vi": c.vi, "en": c.en, "colour": c.colour} for c in items]

    return {
        "priorities": rows(service.PRIORITIES),
        "statuses": rows(service.DIRECTIVE_STATES),
        "assignment_statuses": rows(service.ASSIGNMENT_STATES),
        "file_types": list(service.ACCEPTED_TYPES),
    }


@router.get("/rates")
async def rates(
    db: Db,
    principal: Principal = READ,
    start: Annotated[Moment | None, Query()] = None,
    end: Annotated[Moment | None, Query()] = None,
) -> list[dict[str, Any]]:
    """Each agency's on-time rate over [start, end) (all time by default), open and overdue."""
    return await _run(service.agency_rates, db, principal, start=start, end=end)


@router.get("/stream", **answers_as("text/event-stream", "Server-Sent Events"))
async def stream(request: Request, live: Live, principal: Principal = READ) -> StreamingResponse:
    """``directive`` events (the ``directives.changed`` payload) for the caller's scope."""
    client = live.connect(principal)
    return StreamingResponse(
        live.hub.events(client, request.is_disconnected),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/files/{file_id}", **answers_as("application/octet-stream", FILE_TYPES))
async def download(
    file_id: RowId, db: Db, store: Store, principal: Principal = READ
) -> FileResponse:
    """An attachment or evidence file, for those who may see it (404 otherwise)."""
    facts, path = await _run(service.open_file, db, store, principal, file_id)
    return serve(path, facts["media_type"], name=facts["name"])


@router.get("/{directive_id}")
async def get_directive(directive_id: RowId, db: Db, principal: Principal = READ) -> dict[str, Any]:
    return await _run(service.get_directive, db, principal, directive_id)


def follow_up(directive_id: RowId, db: Db, principal: Principal = FOLLOW) -> Principal:
    """The caller, when they may accept or return this directive's parts (403 otherwise,
    before the body is read)."""
    service.check_follow_up(db, principal, directive_id)
    return principal


Follower = Annotated[Principal, Depends(follow_up)]


# -- the leader ---------------------------------------------------------------------------
async def _changed(live: Live, directive: dict[str, Any]) -> dict[str, Any]:
    await live.publish(directive)
    return directive


@router.post("", status_code=201)
async def issue(
    body: DirectiveIn, request: Request, db: Db, live: Live, principal: Principal = ISSUE
) -> dict[str, Any]:
    """Assign a task to one or more agencies with a deadline; each agency is notified."""
    directive = await _run(
        service.issue,
        db,
        principal,
        title=body.title,
        description=body.description,
        agencies=body.agencies,
        due_at=body.due_at,
        priority=body.priority,
        incident_id=body.incident_id,
        kpi_code=body.kpi_code,
        address=client_address(request),
    )
    return await _changed(live, directive)


@router.post("/{directive_id}/cancel")
async def cancel(
    directive_id: RowId,
    body: ReasonIn,
    request: Request,
    db: Db,
    live: Live,
    principal: Principal = ISSUE,
) -> dict[str, Any]:
    directive = await _run(
        service.cancel,
        db,
        principal,
        directive_id,
        reason=body.reason,
        address=client_address(request),
    )
    return await _changed(live, directive)


@router.post("/{directive_id}/files", status_code=201)
async def attach(
    directive_id: RowId,
    request: Request,
    db: Db,
    store: Store,
    file: UploadFile = File(..., description=FILE_TYPES),  # noqa: B008
    principal: Principal = ISSUE,
) -> dict[str, Any]:
    """Attach a document of the leader to the directive."""
    data = await read_upload(file, store)
    return await _run(
        service.add_file,
        db,
        store,
        principal,
        directive_id,
        data=data,
        name=file.filename,
        address=client_address(request),
    )


@router.post("/{directive_id}/assignments/{agency}/accept")
async def accept(
    directive_id: RowId,
    agency: Agency,
    body: AcceptIn,
    request: Request,
    db: Db,
    live: Live,
    principal: Follower,
) -> dict[str, Any]:
    """Accept an agency's reported completion (it counts for its on-time rate); a leader, or
    whoever issued the directive."""
    directive = await _run(
        service.accept,
        db,
        principal,
        directive_id,
        agency,
        note=body.note,
        address=client_address(request),
    )
    return await _changed(live, directive)


@router.post("/{directive_id}/assignments/{agency}/return")
async def return_completion(
    directive_id: RowId,
    agency: Agency,
    body: ReasonIn,
    request: Request,
    db: Db,
    live: Live,
    principal: Follower,
) -> dict[str, Any]:
    """Send a reported completion back to the agency, with the reason; a leader, or whoever
    issued the directive."""
    directive = await _run(
        service.return_completion,
        db,
        principal,
        directive_id,
        agency,
        reason=body.reason,
        address=client_address(request),
    )
    return await _changed(live, directive)


# -- the assigned agency ------------------------------------------------------------------
@router.post("/{directive_id}/assignments/{agency}/ack")
async def acknowledge(
    directive_id: RowId,
    agency: Agency,
    request: Request,
    db: Db,
    live: Live,
    principal: Principal = ACT,
) -> dict[str, Any]:
    directive = await _run(
        service.acknowledge, db, principal, directive_id, agency, address=client_address(request)
    )
    return await _changed(live, directive)


@router.post("/{directive_id}/assignments/{agency}/reject")
async def reject(
    directive_id: RowId,
    agency: Agency,
    body: ReasonIn,
    request: Request,
    db: Db,
    live: Live,
    principal: Principal = ACT,
) -> dict[str, Any]:
    directive = await _run(
        service.reject,
        db,
        principal,
        directive_id,
        agency,
        reason=body.reason,
        address=client_address(request),
    )
    return await _changed(live, directive)


@router.post("/{directive_id}/assignments/{agency}/progress")
async def progress(
    directive_id: RowId,
    agency: Agency,
    body: ProgressIn,
    request: Request,
    db: Db,
    live: Live,
    principal: Principal = ACT,
) -> dict[str, Any]:
    """Report progress (percent, note, evidence uploaded before under ``files``)."""
    directive = await _run(
        service.report_progress,
        db,
        principal,
        directive_id,
        agency,
        percent=body.percent,
        note=body.note,
        files=body.files,
        address=client_address(request),
    )
    return await _changed(live, directive)


@router.post("/{directive_id}/assignments/{agency}/complete")
async def complete(
    directive_id: RowId,
    agency: Agency,
    body: CompleteIn,
    request: Request,
    db: Db,
    live: Live,
    principal: Principal = ACT,
) -> dict[str, Any]:
    """Report the work done, with what was done and the evidence files."""
    directive = await _run(
        service.complete,
        db,
        principal,
        directive_id,
        agency,
        note=body.note,
        files=body.files,
        address=client_address(request),
    )
    return await _changed(live, directive)


@router.post("/{directive_id}/assignments/{agency}/files", status_code=201)
async def add_evidence(
    directive_id: RowId,
    agency: Agency,
    request: Request,
    db: Db,
    store: Store,
    file: UploadFile = File(..., description=FILE_TYPES),  # noqa: B008
    principal: Principal = ACT,
) -> dict[str, Any]:
    """Upload one evidence file of the agency's part; name its id in a progress or
    completion report."""
    data = await read_upload(file, store)
    return await _run(
        service.add_file,
        db,
        store,
        principal,
        directive_id,
        data=data,
        name=file.filename,
        agency_code=agency,
        address=client_address(request),
    )
