"""REST API of incidents: incidents and their actions, SOPs, the SLA table, correlation
rules, and the live stream. Every change is published on ``incidents.changed`` after it is
committed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import Response, StreamingResponse

from taydo.core import files
from taydo.core.access import Principal, client_address, requires
from taydo.core.bounds import MAX_INT64, Offset, RowId
from taydo.core.deps import AppRuntime, Db
from taydo.core.errors import Invalid
from taydo.core.files import FileStore
from taydo.core.responses import answers_as
from taydo.core.settings import Settings
from taydo.directives.runtime import CHANGED as DIRECTIVES_CHANGED
from taydo.directives.service import bus_event
from taydo.incidents import service
from taydo.incidents.runtime import Hub, publish
from taydo.incidents.schemas import (
    AssignIn,
    CorrelationDef,
    IncidentIn,
    LinkIn,
    NoteIn,
    SlaRow,
    SopDef,
    StatusIn,
    StepDoneIn,
    TaskIn,
)

__all__ = ["announce_directive", "file_store", "router"]

T = TypeVar("T")
router = APIRouter(prefix="/api/v1", tags=["incidents"])
READ = requires("incidents:read")
ACT = requires("incidents:act")
CONFIGURE = requires("incidents:configure")
TASK = requires("directives:incident")
TypeCode = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,59}$")]
FILE_TYPES = "JPEG, PNG or WebP image (stored without metadata), or PDF; checked by content"
RuleCode = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_.-]{0,79}$")]


def file_store(settings: Settings) -> FileStore:
    """Where incident files live (``incidents_files_dir``) and how large one may be."""
    return FileStore(settings.incidents_files_dir, settings.incidents_max_file_bytes)


async def announce_directive(
    runtime: AppRuntime, directive: dict[str, Any], event: dict[str, Any]
) -> None:
    """After the commit: the directive to the directives' live tracker, the incident to
    its own stream."""
    await runtime.bus.publish(DIRECTIVES_CHANGED, bus_event(directive))
    await publish(runtime, [event])


async def _run(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(func, *args, **kwargs)


async def _change(
    runtime: AppRuntime, request: Request, action: Callable[..., Any], *args: Any
) -> dict[str, Any]:
    incident: dict[str, Any]
    incident, event = await _run(action, runtime.db, *args, address=client_address(request))
    await publish(runtime, [event])
    return incident


# -- incidents -------------------------------------------------------------------------------
@router.get("/incidents")
async def list_incidents(
    db: Db,
    principal: Principal = READ,
    status: str | None = None,
    type: str | None = None,
    area: str | None = None,
    agency: str | None = None,
    overdue: bool | None = None,
    active: bool | None = None,
    alert_id: Annotated[int | None, Query(ge=1, le=MAX_INT64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """Newest first; ``alert_id``: the incidents an alert is linked to."""
    return await _run(
        service.list_incidents,
        db,
        principal,
        status=status,
        incident_type=type,
        area=area,
        agency=agency,
        overdue=overdue,
        active=active,
        alert_id=alert_id,
        limit=limit,
        offset=offset,
    )


@router.post("/incidents", status_code=201)
async def create_incident(
    body: IncidentIn, request: Request, runtime: AppRuntime, principal: Principal = ACT
) -> dict[str, Any]:
    """By hand, from an alert (``alert_id``) or from citizen reports (``report_ids``)."""
    return await _change(runtime, request, service.create, principal, body)


@router.get("/incidents/stream", **answers_as("text/event-stream", "Server-Sent Events"))
async def stream(
    request: Request,
    hub: Hub,
    principal: Principal = READ,
    incident: Annotated[int | None, Query(ge=1, le=MAX_INT64)] = None,
) -> StreamingResponse:
    """``incident`` events (the ``incidents.changed`` payload) within the caller's scope."""
    listener = hub.connect(principal, incident)
    return StreamingResponse(
        hub.events(listener, request.is_disconnected),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/incidents/{incident_id}")
async def get_incident(incident_id: RowId, db: Db, principal: Principal = READ) -> dict[str, Any]:
    return await _run(service.get_incident, db, principal, incident_id)


@router.post("/incidents/{incident_id}/status")
async def change_status(
    incident_id: RowId,
    body: StatusIn,
    request: Request,
    runtime: AppRuntime,
    principal: Principal = ACT,
) -> dict[str, Any]:
    """``dispatched``, ``in_progress``, ``resolved``, ``closed`` or ``reopen``."""
    return await _change(runtime, request, service.change_status, principal, incident_id, body)


@router.post("/incidents/{incident_id}/assign")
async def assign(
    incident_id: RowId,
    body: AssignIn,
    request: Request,
    runtime: AppRuntime,
    principal: Principal = ACT,
) -> dict[str, Any]:
    return await _change(runtime, request, service.assign, principal, incident_id, body)


@router.post("/incidents/{incident_id}/notes", status_code=201)
async def add_note(
    incident_id: RowId,
    body: NoteIn,
    request: Request,
    runtime: AppRuntime,
    principal: Principal = ACT,
) -> dict[str, Any]:
    """A comment (``internal``: seen only by the responsible agency and IOC operators)."""
    return await _change(runtime, request, service.add_note, principal, incident_id, body)


@router.post("/incidents/{incident_id}/files", status_code=201)
async def add_file(
    incident_id: RowId,
    request: Request,
    runtime: AppRuntime,
    file: UploadFile = File(..., description=FILE_TYPES),  # noqa: B008
    body: Annotated[str, Form(max_length=10_000)] = "",
    internal: Annotated[bool, Form()] = False,
    principal: Principal = ACT,
) -> dict[str, Any]:
    """Attach a file (multipart ``file``; ``body``: an optional comment; ``internal``: seen
    only by the responsible agency and IOC operators). Recorded on the timeline: who, what,
    when. Images are stored without their metadata (GPS, EXIF)."""
    store = file_store(runtime.settings)
    data = await files.read_upload(file, store.max_bytes)
    facts, event = await _run(
        service.add_file,
        runtime.db,
        store,
        principal,
        incident_id,
        data=data,
        name=file.filename,
        body=body,
        internal=internal,
        address=client_address(request),
    )
    await publish(runtime, [event])
    return facts


@router.get(
    "/incidents/{incident_id}/files/{file_id}", **answers_as("application/octet-stream", FILE_TYPES)
)
async def download_file(
    incident_id: RowId, file_id: RowId, runtime: AppRuntime, principal: Principal = READ
) -> Response:
    """A file of the incident, for those who may read it (internal: the responsible agency
    and IOC operators); 404 for anyone else."""
    store = file_store(runtime.settings)
    facts, path = await _run(service.open_file, runtime.db, store, principal, incident_id, file_id)
    return files.serve(path, facts["media_type"], name=facts["name"], inline=True)


@router.get("/incidents/{incident_id}/directives")
async def list_directives(
    incident_id: RowId, db: Db, principal: Principal = READ
) -> list[dict[str, Any]]:
    """The directives tied to the incident that the caller may see."""
    await _run(service.get_incident, db, principal, incident_id)  # 404 outside the scope
    return await _run(service.linked_directives, db, principal, incident_id)


@router.post("/incidents/{incident_id}/directives", status_code=201)
async def issue_directive(
    incident_id: RowId,
    body: TaskIn,
    request: Request,
    runtime: AppRuntime,
    principal: Principal = TASK,
) -> dict[str, Any]:
    """Assign a task to one or more agencies, tied to this open incident: the operator on
    duty may (``directives:incident``); the directive's follow-up stays with the leaders."""
    directive, event = await _run(
        service.issue_directive,
        runtime.db,
        principal,
        incident_id,
        title=body.title,
        agencies=body.agencies,
        due_at=body.due_at,
        description=body.description,
        priority=body.priority,
        address=client_address(request),
    )
    await announce_directive(runtime, directive, event)
    return directive


@router.post("/incidents/{incident_id}/links")
async def add_links(
    incident_id: RowId,
    body: LinkIn,
    request: Request,
    runtime: AppRuntime,
    principal: Principal = ACT,
) -> dict[str, Any]:
    return await _change(runtime, request, service.add_links, principal, incident_id, body)


@router.post("/incidents/{incident_id}/steps/{step_id}/complete")
async def complete_step(
    incident_id: RowId,
    step_id: RowId,
    body: StepDoneIn,
    request: Request,
    runtime: AppRuntime,
    principal: Principal = ACT,
) -> dict[str, Any]:
    return await _change(
        runtime, request, service.complete_step, principal, incident_id, step_id, body
    )


# -- data: SOPs, SLA, correlation rules ----------------------------------------------------------
@router.get("/incident-sops")
async def list_sops(db: Db, _p: Principal = READ) -> list[dict[str, Any]]:
    return await _run(service.list_sops, db)


@router.get("/incident-sops/{incident_type}")
async def get_sop(incident_type: TypeCode, db: Db, _p: Principal = READ) -> dict[str, Any]:
    return await _run(service.get_sop, db, incident_type)


@router.put("/incident-sops/{incident_type}")
async def put_sop(
    incident_type: TypeCode, body: SopDef, db: Db, principal: Principal = CONFIGURE
) -> dict[str, Any]:
    if body.type != incident_type:
        raise Invalid("loại trong thân khác đường dẫn / body type differs from the path")
    changed = await _run(service.save_sop, db, body, actor=principal.username)
    return {"type": body.type, "changed": changed}


@router.get("/incident-sla")
async def list_sla(db: Db, _p: Principal = READ) -> list[dict[str, Any]]:
    return await _run(service.list_sla, db)


@router.put("/incident-sla")
async def put_sla(body: list[SlaRow], db: Db, principal: Principal = CONFIGURE) -> dict[str, Any]:
    if len(body) > 1000:
        raise Invalid("bảng SLA quá dài / at most 1000 rows")
    saved = await _run(service.save_sla, db, body, actor=principal.username)
    return {"saved": saved}


@router.get("/incident-correlations")
async def list_correlations(db: Db, _p: Principal = READ) -> list[dict[str, Any]]:
    return await _run(service.list_correlations, db)


@router.put("/incident-correlations/{code}")
async def put_correlation(
    code: RuleCode, body: CorrelationDef, db: Db, principal: Principal = CONFIGURE
) -> dict[str, Any]:
    if body.code != code:
        raise Invalid("mã trong thân khác đường dẫn / body code differs from the path")
    changed = await _run(service.save_correlation, db, body, actor=principal.username)
    return {"code": code, "changed": changed}


@router.delete("/incident-correlations/{code}", status_code=204)
async def delete_correlation(code: RuleCode, db: Db, principal: Principal = CONFIGURE) -> Response:
    await _run(service.delete_correlation, db, code, actor=principal.username)
    return Response(status_code=204)
