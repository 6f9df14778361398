"""Console screens of incidents: the board by status, the incident page (SOP checklist,
timeline, links, one map of the incident with its alerts' stations and its citizen reports),
the new-incident form (by hand or from an alert), and the hand actions. Both pages refresh
their live part when ``/api/v1/incidents/stream`` announces a change; forms carry the
session's CSRF token (checked by the auth layer)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from taydo.auth.service import list_users
from taydo.catalog.service import (
    actor_names,
    entity_context_in,
    entity_location_in,
    list_agencies,
)
from taydo.core import clock, files
from taydo.core.access import Principal, client_address
from taydo.core.bounds import MAX_INT64, RowId
from taydo.core.db import Database
from taydo.core.deps import AppRuntime, AppSettings, Db
from taydo.core.errors import NotFound, TaydoError
from taydo.geo.service import area_names
from taydo.incidents import service
from taydo.incidents.api import announce_directive, file_store
from taydo.incidents.runtime import publish
from taydo.incidents.schemas import AssignIn, IncidentIn, NoteIn, StatusIn, StepDoneIn, TaskIn
from taydo.incidents.service.common import STATUS_LABELS
from taydo.rules.choices import SEVERITIES
from taydo.web.i18n import N_
from taydo.web.shell import page, render

__all__ = ["BOARD_COLUMNS", "router"]

router = APIRouter(include_in_schema=False)
BOARD_COLUMNS = ("new", "dispatched", "in_progress", "resolved")
# Open work is shown in full up to 200 per column; of the resolved, the newest 50 (the board
# is for work in hand; the list API pages through the rest).
COLUMN_LIMITS = {"new": 200, "dispatched": 200, "in_progress": 200, "resolved": 50}
READ = page("incidents:read")
ACT = page("incidents:act")
STREAM = "/api/v1/incidents/stream"
ACTION_LABELS = {
    "incident.created": N_("Tạo sự cố"),
    "incident.status": N_("Chuyển trạng thái"),
    "incident.reopened": N_("Mở lại"),
    "incident.assigned": N_("Giao việc"),
    "incident.note": N_("Ý kiến"),
    "incident.file": N_("Đính kèm tệp"),
    "incident.directive": N_("Giao nhiệm vụ cho cơ quan"),
    "incident.step_done": N_("Hoàn thành bước"),
    "incident.linked": N_("Liên kết"),
    "incident.overdue": N_("Quá hạn xử lý"),
    "incident.step_overdue": N_("Bước quá hạn"),
    "incident.step_due_soon": N_("Bước sắp đến hạn"),
}


def _area_names(database: Database, province: str) -> dict[str, str]:
    return area_names(database, province)


def _common(database: Database, province: str) -> dict[str, Any]:
    return {
        "statuses": STATUS_LABELS,
        "severities": SEVERITIES,
        "area_names": _area_names(database, province),
        "sops": {s["type"]: s for s in service.list_sops(database)},
    }


def board_view(
    database: Database, principal: Principal, filters: dict[str, str], province: str
) -> dict[str, Any]:
    columns = service.board_columns(
        database,
        principal,
        {status: COLUMN_LIMITS[status] for status in BOARD_COLUMNS},
        incident_type=filters.get("type") or None,
        area=filters.get("area") or None,
    )
    return {"columns": columns, "filters": filters, **_common(database, province)}


@router.get("/incidents")
async def board(
    request: Request,
    db: Db,
    settings: AppSettings,
    principal: Annotated[Principal, READ],
    type: str = "",
    area: str = "",
    alert_id: Annotated[int | None, Query(ge=1, le=MAX_INT64)] = None,
    fragment: str = "",
) -> Response:
    """The board; ``alert_id``: the incidents of an alert (a link from the alert's page)."""
    if alert_id is not None:
        found = await run_in_threadpool(
            service.list_incidents, db, principal, alert_id=alert_id, limit=1
        )
        if found:
            return RedirectResponse(f"/incidents/{found[0]['id']}", status_code=303)
        return RedirectResponse(f"/incidents/new?alert_id={alert_id}", status_code=303)
    filters = {"type": type.strip(), "area": area.strip()}
    view = await run_in_threadpool(board_view, db, principal, filters, settings.console_area)
    view["stream"] = STREAM
    template = "incidents/_board.html" if fragment else "incidents/board.html"
    return render(request, template, view)


def _map_points(database: Database, incident: dict[str, Any]) -> list[dict[str, Any]]:
    """The incident, its alerts' stations and its citizen reports, for one map."""
    points: list[dict[str, Any]] = []
    if incident.get("lat") is not None:
        points.append(
            {
                "kind": "incident",
                "lat": incident["lat"],
                "lon": incident["lon"],
                "label": incident["code"],
                "href": incident["url"],
            }
        )
    alert_entities = {
        (link["snapshot"] or {}).get("entity_id")
        for link in incident["links"]
        if link["kind"] == "alert"
    }
    with database.session() as session:
        for link in incident["links"]:
            snap = link["snapshot"] or {}
            if link["kind"] == "alert" and snap.get("entity_id"):
                found = entity_location_in(session, snap["entity_id"])
                if found:
                    points.append(
                        {
                            "kind": "alert",
                            "lon": found[0],
                            "lat": found[1],
                            "label": snap.get("title") or snap["entity_id"],
                            "href": f"/alerts/{link['ref']}",
                        }
                    )
            elif link["kind"] == "entity":
                found = entity_location_in(session, link["ref"])
                if found and link["ref"] not in alert_entities:
                    points.append(
                        {
                            "kind": "alert",  # drawn as a station, like an alert's
                            "lon": found[0],
                            "lat": found[1],
                            "label": link["ref"],
                            "href": f"/entities/{link['ref']}",
                        }
                    )
            elif link["kind"] == "report" and snap.get("lat") is not None:
                points.append(
                    {
                        "kind": "report",
                        "lat": snap["lat"],
                        "lon": snap.get("lon"),
                        "label": snap.get("title") or f"#{link['ref']}",
                        "href": snap.get("url") or "",
                    }
                )
    return points


def detail_view(
    database: Database, principal: Principal, incident_id: int, province: str
) -> dict[str, Any]:
    incident = service.get_incident(database, principal, incident_id)
    points = _map_points(database, incident)
    tasks = (
        service.linked_directives(database, principal, incident_id)
        if principal.has("directives:read")
        else []
    )
    may_task = principal.has("directives:incident") and incident["may_write"]
    entity_names: dict[str, str] = {}
    with database.session() as session:
        for link in incident["links"]:
            if link["kind"] == "entity":
                found = entity_context_in(session, link["ref"])
                if found is not None and found.name:
                    entity_names[link["ref"]] = found.name
    may_act = incident["may_write"] and principal.has("incidents:act")
    agencies = list_agencies(database, limit=10_000)[0] if may_task or may_act else []
    return {
        "directives": tasks,
        "task_agencies": agencies if may_task else [],
        "names": actor_names(database, _actors(incident)),
        "assign_choices": _assign_choices(database, agencies) if may_act else [],
        "may_task": may_task and incident["status"] in ("new", "dispatched", "in_progress"),
        "incident": incident,
        "entity_names": entity_names,
        "map_json": orjson.dumps(points).decode(),
        "transitions": _transitions(incident["status"]),
        "action_labels": ACTION_LABELS,
        **_common(database, province),
    }


def _actors(incident: dict[str, Any]) -> list[str]:
    """Everyone the incident page names: who acted, wrote, did a step or was given it."""
    found = [incident.get("created_by"), *incident["assignees"]]
    found += [e["actor"] for e in incident["timeline"]]
    found += [n["author"] for n in incident["notes"]]
    found += [s["done_by"] for s in incident["steps"]]
    for event in incident["timeline"]:
        moved = (event.get("summary") or {}).get("to")
        if isinstance(moved, dict):
            found += moved.get("assignees") or []
    return [a for a in found if isinstance(a, str)]


def _assign_choices(
    database: Database, agencies: list[dict[str, Any]]
) -> list[tuple[str, str, str]]:
    """Whom an incident may be given to, as ``(value, name, code)``: the console's people
    (enabled accounts, not wall screens) and the agencies; the value is what is stored."""
    people = [
        (f"user:{u.username}", (u.full_name or "").strip() or u.username, u.username)
        for u in list_users(database)
        if not u.disabled and u.role != "display"
    ]
    return people + [(f"agency:{a['code']}", a["name"], a["code"]) for a in agencies]


def _transitions(status: str) -> list[tuple[str, str]]:
    labels = {
        "dispatched": N_("Đã giao"),
        "in_progress": N_("Bắt đầu xử lý"),
        "resolved": N_("Đã xử lý xong"),
        "closed": N_("Đóng sự cố"),
        "reopen": N_("Mở lại"),
    }
    from taydo.incidents.service.incidents import NEXT

    return [(s, labels[s]) for s in NEXT.get(status, ())]


async def _detail(
    request: Request,
    runtime: Any,
    principal: Principal,
    incident_id: RowId,
    error: str | None = None,
    fragment: bool = False,
) -> Response:
    view = await run_in_threadpool(
        detail_view, runtime.db, principal, incident_id, runtime.settings.console_area
    )
    view["error"] = error
    view["stream"] = f"{STREAM}?incident={incident_id}"
    template = "incidents/_detail.html" if fragment else "incidents/detail.html"
    return render(request, template, view, status=422 if error else 200)


@router.get("/incidents/new")
async def new_form(
    request: Request,
    db: Db,
    settings: AppSettings,
    principal: Annotated[Principal, ACT],
    alert_id: Annotated[int | None, Query(ge=1, le=MAX_INT64)] = None,
    report_id: Annotated[list[int] | None, Query(max_length=200)] = None,
) -> Response:
    """``alert_id``: from an alert; ``report_id`` (repeated): from citizen reports."""
    view = await run_in_threadpool(_common, db, settings.console_area)
    reports = sorted({r for r in report_id or [] if 1 <= r <= MAX_INT64})
    return render(
        request,
        "incidents/new.html",
        {**view, "alert_id": alert_id, "report_ids": reports, "error": None},
    )


@router.post("/incidents/new")
async def new_submit(
    request: Request,
    runtime: AppRuntime,
    principal: Annotated[Principal, ACT],
    type: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    severity: Annotated[str, Form()] = "",
    area_code: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    alert_id: Annotated[str, Form()] = "",
    report_ids: Annotated[str, Form()] = "",
) -> Response:
    reports = [int(r) for r in report_ids.split(",") if r.strip().isdigit()]
    raw = {
        "type": type.strip(),
        "title": title.strip() or None,
        "severity": severity or None,
        "area_code": area_code.strip() or None,
        "description": description.strip(),
        "alert_id": int(alert_id) if alert_id.strip().isdigit() else None,
        "report_ids": reports,
    }
    try:
        body = IncidentIn.model_validate(raw)
        incident, event = await run_in_threadpool(
            service.create, runtime.db, principal, body, address=client_address(request)
        )
    except (ValidationError, TaydoError) as exc:
        message = exc.message if isinstance(exc, TaydoError) else N_("Dữ liệu không hợp lệ")
        view = await run_in_threadpool(_common, runtime.db, runtime.settings.console_area)
        return render(
            request,
            "incidents/new.html",
            {
                **view,
                "alert_id": raw["alert_id"],
                "report_ids": reports,
                "error": message,
                "form": raw,
            },
            status=422,
        )
    await publish(runtime, [event])
    return RedirectResponse(f"/incidents/{incident['id']}", status_code=303)


@router.get("/incidents/{incident_id}")
async def incident_detail(
    request: Request,
    incident_id: RowId,
    runtime: AppRuntime,
    principal: Annotated[Principal, READ],
    fragment: str = "",
) -> Response:
    return await _detail(request, runtime, principal, incident_id, fragment=bool(fragment))


async def _act(
    request: Request, runtime: Any, principal: Principal, incident_id: int, action: Any, *args: Any
) -> Response:
    """Run one action; a refusal shows on the incident page, success goes back to it."""
    try:
        _incident, event = await run_in_threadpool(
            action, runtime.db, principal, incident_id, *args, address=client_address(request)
        )
    except NotFound:
        raise
    except (TaydoError, ValidationError) as exc:
        message = exc.message if isinstance(exc, TaydoError) else N_("Dữ liệu không hợp lệ")
        return await _detail(request, runtime, principal, incident_id, error=message)
    await publish(runtime, [event])
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


@router.post("/incidents/{incident_id}/status")
async def status_submit(
    request: Request,
    incident_id: RowId,
    runtime: AppRuntime,
    principal: Annotated[Principal, ACT],
    status: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    try:
        body = StatusIn.model_validate({"status": status, "note": note.strip()})
    except ValidationError:
        return await _detail(request, runtime, principal, incident_id, N_("Dữ liệu không hợp lệ"))
    return await _act(request, runtime, principal, incident_id, service.change_status, body)


@router.post("/incidents/{incident_id}/assign")
async def assign_submit(
    request: Request,
    incident_id: RowId,
    runtime: AppRuntime,
    principal: Annotated[Principal, ACT],
    agency_code: Annotated[str, Form()] = "",
    assignees: Annotated[list[str] | None, Form(max_length=50)] = None,
) -> Response:
    """``assignees``: the picker's choices (repeated), or one text of them split by commas."""
    entries = [
        a.strip()
        for text in assignees or []
        for a in text.replace("\n", ",").split(",")
        if a.strip()
    ]
    try:
        body = AssignIn.model_validate(
            {"agency_code": agency_code.strip() or None, "assignees": entries}
        )
    except ValidationError:
        return await _detail(request, runtime, principal, incident_id, N_("Dữ liệu không hợp lệ"))
    return await _act(request, runtime, principal, incident_id, service.assign, body)


@router.post("/incidents/{incident_id}/notes")
async def note_submit(
    request: Request,
    incident_id: RowId,
    runtime: AppRuntime,
    principal: Annotated[Principal, ACT],
    body: Annotated[str, Form()] = "",
    internal: Annotated[str, Form()] = "",
) -> Response:
    try:
        note = NoteIn.model_validate({"body": body.strip(), "internal": internal == "1"})
    except ValidationError:
        return await _detail(request, runtime, principal, incident_id, N_("Dữ liệu không hợp lệ"))
    return await _act(request, runtime, principal, incident_id, service.add_note, note)


@router.post("/incidents/{incident_id}/files")
async def file_submit(
    request: Request,
    incident_id: RowId,
    runtime: AppRuntime,
    principal: Annotated[Principal, ACT],
    file: Annotated[UploadFile | None, File()] = None,
    body: Annotated[str, Form()] = "",
    internal: Annotated[str, Form()] = "",
) -> Response:
    """The upload control of the incident page: one file, an optional comment."""
    if file is None or not file.filename:
        return await _detail(request, runtime, principal, incident_id, N_("Hãy chọn một tệp"))
    store = file_store(runtime.settings)
    try:
        data = await files.read_upload(file, store.max_bytes)
    except TaydoError as exc:
        return await _detail(request, runtime, principal, incident_id, exc.message)

    def attach(db: Database, who: Principal, incident: int, *, address: str | None) -> Any:
        return service.add_file(
            db,
            store,
            who,
            incident,
            data=data,
            name=file.filename,
            body=body[:10_000],
            internal=internal == "1",
            address=address,
        )

    return await _act(request, runtime, principal, incident_id, attach)


@router.post("/incidents/{incident_id}/directives")
async def task_submit(
    request: Request,
    incident_id: RowId,
    runtime: AppRuntime,
    principal: Annotated[Principal, page("directives:incident")],
    title: Annotated[str, Form(max_length=300)] = "",
    description: Annotated[str, Form(max_length=10_000)] = "",
    agencies: Annotated[list[str] | None, Form()] = None,
    hours: Annotated[str, Form(max_length=10)] = "",
    priority: Annotated[str, Form(max_length=16)] = "normal",
) -> Response:
    """The incident page's "assign a task" form: a directive tied to this incident, due in
    the given number of hours."""
    try:
        body = TaskIn.model_validate(
            {
                "title": title.strip(),
                "description": description.strip(),
                "agencies": agencies or [],
                "due_at": clock.now() + timedelta(hours=float(hours.replace(",", "."))),
                "priority": priority,
            }
        )
        if not 0 < float(hours.replace(",", ".")) <= 24 * 366:
            raise ValueError
    except (ValidationError, ValueError, OverflowError):
        return await _detail(request, runtime, principal, incident_id, N_("Dữ liệu không hợp lệ"))
    try:
        directive, event = await run_in_threadpool(
            lambda: service.issue_directive(
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
        )
    except NotFound:
        raise
    except TaydoError as exc:
        return await _detail(request, runtime, principal, incident_id, exc.message)
    await announce_directive(runtime, directive, event)
    return RedirectResponse(f"/incidents/{incident_id}#tasks", status_code=303)


@router.post("/incidents/{incident_id}/steps/{step_id}/complete")
async def step_submit(
    request: Request,
    incident_id: RowId,
    step_id: RowId,
    runtime: AppRuntime,
    principal: Annotated[Principal, ACT],
) -> Response:
    """The step's recorded data come as form fields named ``f_<field code>``."""
    form = await request.form()
    data: dict[str, str | float | bool] = {}
    for key, value in form.items():
        if key.startswith("f_") and isinstance(value, str) and value.strip():
            data[key[2:]] = value.strip()
    found = await run_in_threadpool(service.get_incident, runtime.db, principal, incident_id)
    step = next((s for s in found["steps"] if s["id"] == step_id), None)
    if step is None:
        raise NotFound(f"không có bước / no step {step_id}")
    for field in step["fields"]:  # form values are text: give numbers and yes/no their type
        code = field["code"]
        if code in data and field.get("kind") == "number":
            try:
                data[code] = float(str(data[code]).replace(",", "."))
            except ValueError:
                return await _detail(
                    request, runtime, principal, incident_id, N_("Dữ liệu không hợp lệ")
                )
        elif field.get("kind") == "yes_no":
            data[code] = str(form.get(f"f_{code}", "")) == "1"
    try:
        body = StepDoneIn.model_validate({"data": data, "note": str(form.get("note", ""))[:2000]})
    except ValidationError:
        return await _detail(request, runtime, principal, incident_id, N_("Dữ liệu không hợp lệ"))
    return await _act(
        request, runtime, principal, incident_id, service.complete_step, step_id, body
    )
