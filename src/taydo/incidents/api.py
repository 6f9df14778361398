"""REST API of incidents: incidents and their actions, SOPs, the SLA table, correlation
rules, and the live stream. Every change is published on ``incidents.changed`` after it is
committed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response, StreamingResponse

from taydo.core.access import Principal, client_address, requires
from taydo.core.bounds import MAX_INT64, Offset, RowId
from taydo.core.deps import AppRuntime, Db
from taydo.core.errors import Invalid
from taydo.core.responses import answers_as
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
)

__all__ = ["router"]

T = TypeVar("T")
router = APIRouter(prefix="/api/v1", tags=["incidents"])
READ = requires("incidents:read")
ACT = requires("incidents:act")
CONFIGURE = requires("incidents:configure")
TypeCode = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,59}$")]
RuleCode = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_.-]{0,79}$")]


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
