"""Console screens of the citizen domain.

Public (no login): the phone-friendly report form (photo, place picked on the map or from GPS,
category, optional contact), the status page of one report (reached by its secret token: the
reporter may rate it or reopen it there), and the stripped photos of public reports.
Operators and agencies: the report queue (filters, duplicates, live over SSE), a report's page
with its actions (acknowledge, start, close with a note, route to an agency, merge as
duplicate). Forms carry the session's CSRF token when one is logged in; the auth layer checks it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from taydo.catalog.service import actor_names
from taydo.citizen import photos, service
from taydo.citizen.models import CitizenReport
from taydo.citizen.open311 import new_report_from, read_photo
from taydo.citizen.runtime import CitizenParts, publish
from taydo.citizen.schemas import STATUSES
from taydo.citizen.service.reports import distance_m
from taydo.core.access import Principal, client_address
from taydo.core.bounds import RowId
from taydo.core.db import Database
from taydo.core.deps import AppSettings, Db
from taydo.core.errors import Conflict, Invalid, NotFound, TaydoError
from taydo.core.files import serve
from taydo.geo.service import get_area, list_areas
from taydo.web.i18n import N_
from taydo.web.shell import page, render

__all__ = ["STATUS_LABELS", "router"]

router = APIRouter(include_in_schema=False)

STATUS_LABELS: dict[str, tuple[str, str]] = {
    "open": (N_("Mới tiếp nhận"), "Received"),
    "acknowledged": (N_("Đã tiếp nhận"), "Acknowledged"),
    "in_progress": (N_("Đang xử lý"), "In progress"),
    "closed": (N_("Đã xử lý xong"), "Resolved"),
}

# A report's history in words (the journal's ``citizen.<event>`` actions); a status change
# is journalled under the status it moved to (``citizen.closed``…), said by STATUS_LABELS.
EVENT_LABELS: dict[str, tuple[str, str]] = {
    "report_created": (N_("Người dân gửi phản ánh"), "Report filed"),
    "routed": (N_("Chuyển cho cơ quan"), "Route to agency"),
    "merged": (N_("Gộp vào phản ánh trùng"), "Merged into a duplicate"),
    "reopened": (N_("Người dân mở lại"), "Reopened by the citizen"),
    "rated": (N_("Người dân đánh giá"), "Rated by the citizen"),
    "incident_linked": (N_("Gắn với sự cố"), "Linked to an incident"),
}


def _answers(service: dict[str, Any] | None, attributes: dict[str, Any]) -> list[tuple[Any, Any]]:
    """The report's answers to its type's questions, as ``((vi, en) question, answer)``: the
    question the form asked and the chosen value's name, not their codes (an answer of a
    question the type no longer asks is shown as stored)."""
    questions = {a.get("code"): a for a in (service or {}).get("attributes") or []}
    shown: list[tuple[Any, Any]] = []
    for code, value in attributes.items():
        question = questions.get(code) or {}
        names = {
            v.get("key"): (v.get("name") or v.get("key"), v.get("name_en") or v.get("name"))
            for v in question.get("values") or []
        }
        values = value if isinstance(value, list) else [value]
        answer = [names.get(v, (str(v), str(v))) for v in values]
        label = (
            (question["description"], question.get("description_en") or question["description"])
            if question.get("description")
            else (code, code)
        )
        shown.append((label, answer))
    return shown


def _wards(database: Database, province: str) -> list[dict[str, Any]]:
    found, _total = list_areas(database, parent=province, limit=10_000)
    return sorted(found, key=lambda a: a["name"])


def _form_view(database: Database, province: str) -> dict[str, Any]:
    return {"services": service.list_services(database), "wards": _wards(database, province)}


async def _form(
    request: Request,
    settings: Any,
    database: Database,
    *,
    error: str | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    view = await asyncio.to_thread(_form_view, database, settings.console_area)
    view.update(
        error=error,
        values=values or {},
        statuses=STATUS_LABELS,
        duplicate_radius_m=settings.citizen_duplicate_radius_m,
        max_photo_mb=round(settings.citizen_photo_max_bytes / 1_048_576, 1),
    )
    return render(request, "citizen/form.html", view, status=status)


@router.get("/citizen/report")
async def report_form(
    request: Request,
    db: Db,
    settings: AppSettings,
    _p: Annotated[Principal | None, page(None)],
) -> Response:
    return await _form(request, settings, db)


@router.post("/citizen/report")
async def submit_report(
    request: Request,
    db: Db,
    settings: AppSettings,
    parts: CitizenParts,
    _p: Annotated[Principal | None, page(None)],
) -> Response:
    stored: str | None = None
    values: dict[str, Any] = {}
    try:
        try:
            form = await request.form(max_files=1, max_fields=100)
        except StarletteHTTPException as exc:
            raise TaydoError(str(exc.detail)) from None
        values = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        new = new_report_from(values, list(form.multi_items()))
        new.public = values.get("public", "") == "on"
        new.area_code = values.get("area_code") or None
        if new.lat is None or new.lon is None:
            raise TaydoError(N_("Hãy chọn vị trí trên bản đồ hoặc dùng GPS"))
        if not parts.limiter.allow(client_address(request) or "?"):
            raise TaydoError(N_("Bạn đã gửi quá nhiều phản ánh, xin thử lại sau ít phút"))
        stored = await read_photo(form, settings)
        new.photo = stored
        report, event = await asyncio.to_thread(
            service.create_report, db, new, address=client_address(request)
        )
    except TaydoError as exc:
        if stored is not None:
            photos.remove(settings.citizen_photos_dir, stored)
        status = exc.status_code if exc.status_code >= 400 else 422
        return await _form(request, settings, db, error=exc.message, values=values, status=status)
    except Exception:  # the report was not filed: its photo must not stay behind
        if stored is not None:
            photos.remove(settings.citizen_photos_dir, stored)
        raise
    await publish(request, event, "created")
    return RedirectResponse(f"/citizen/r/{report['token']}", status_code=303)


def _status_view(database: Database, token: str, settings: Any) -> dict[str, Any]:
    report = service.get_by_token(database, token)
    similar = service.duplicates(
        database,
        service_code=report["service_code"],
        lat=report["lat"],
        lon=report["lon"],
        radius_m=settings.citizen_duplicate_radius_m,
        hours=settings.citizen_duplicate_hours,
        exclude=report["id"],
    )
    names = {a["code"]: a for a in service.agency_list(database)}
    return {
        "report": report,
        "agency": names.get(report["agency_code"] or ""),
        "duplicates": similar,
        "statuses": STATUS_LABELS,
        "reopen_days": settings.citizen_reopen_days,
    }


async def _status_page(
    request: Request,
    db: Database,
    settings: Any,
    token: str,
    *,
    error: str | None = None,
    status: int = 422,
) -> Response:
    view = await asyncio.to_thread(_status_view, db, token, settings)
    view["error"] = error
    return render(request, "citizen/status.html", view, status=status if error else 200)


@router.get("/citizen/r/{token}")
async def report_status(
    request: Request,
    token: str,
    db: Db,
    settings: AppSettings,
    _p: Annotated[Principal | None, page(None)],
) -> Response:
    return await _status_page(request, db, settings, token)


LIVE_PER_ADDRESS = 4  # status pages one address may keep open live (tabs, a family's phones)


def public_status(report: dict[str, Any]) -> dict[str, Any]:
    """What the live status page carries: the status and its public note, nothing else (no
    contact, no internal notes, no agency's work)."""
    labels = STATUS_LABELS.get(report["status"], (report["status"], report["status"]))
    return {
        "id": report["id"],
        "status": report["status"],
        "status_label": {"vi": labels[0], "en": labels[1]},
        "status_notes": report.get("status_notes") or None,
        "closed_at": report.get("closed_at"),
        "updated_at": report.get("updated_at"),
    }


class TooManyWatchers(TaydoError):
    status_code = 429


@router.get("/citizen/r/{token}/live")
async def report_live(
    request: Request,
    token: str,
    db: Db,
    parts: CitizenParts,
    _p: Annotated[Principal | None, page(None)],
) -> Response:
    """Server-Sent Events for one report's status page, keyed by its secret token: a
    ``status`` event (public fields only) whenever the report changes. At most
    ``LIVE_PER_ADDRESS`` open at once per client address (429 beyond)."""
    report = await asyncio.to_thread(service.get_by_token, db, token)  # 404 for a wrong token
    address = client_address(request) or "?"
    if parts.watching.get(address, 0) >= LIVE_PER_ADDRESS:
        raise TooManyWatchers(
            "quá nhiều trang theo dõi đang mở / too many live status pages open",
            retry_after_s=30,
        )
    parts.watching[address] = parts.watching.get(address, 0) + 1

    async def events() -> Any:
        try:
            # A long retry: a public page reconnects politely after a restart.
            yield b"retry: 10000\n\n"
            first = public_status(report)
            yield b"event: status\ndata: " + orjson.dumps(first) + b"\n\n"
            async for changed in parts.feed.changes_of(report["id"], request.is_disconnected):
                if not changed:
                    yield b": keep-alive\n\n"
                    continue
                fresh = await asyncio.to_thread(service.get_by_token, db, token)
                yield b"event: status\ndata: " + orjson.dumps(public_status(fresh)) + b"\n\n"
        finally:
            left = parts.watching.get(address, 1) - 1
            if left > 0:
                parts.watching[address] = left
            else:
                parts.watching.pop(address, None)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.post("/citizen/r/{token}/rate")
async def rate_report(
    request: Request,
    token: str,
    db: Db,
    settings: AppSettings,
    _p: Annotated[Principal | None, page(None)],
    rating: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """The status page's rating buttons. A refusal (not 1–5, not resolved, already rated)
    shows the page again with the reason; an unknown token is the console's 404 page."""
    try:
        value = int(rating.strip()) if rating.strip().isdigit() else 0
        if value not in range(1, 6):
            raise Invalid(N_("Hãy chọn mức đánh giá từ 1 đến 5 sao"))
        _report, event = await asyncio.to_thread(
            service.rate, db, token, value, address=client_address(request)
        )
    except NotFound:
        raise
    except TaydoError as exc:
        message = exc.message
        if isinstance(exc, Conflict) and "rating" in exc.details:
            message = N_(
                "Bạn đã đánh giá phản ánh này rồi: mỗi lần xử lý xong chỉ đánh giá một lần"
            )
        return await _status_page(
            request, db, settings, token, error=message, status=exc.status_code
        )
    await publish(request, event, "updated")
    return RedirectResponse(f"/citizen/r/{token}", status_code=303)


@router.post("/citizen/r/{token}/reopen")
async def reopen_report(
    request: Request,
    token: str,
    db: Db,
    settings: AppSettings,
    _p: Annotated[Principal | None, page(None)],
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    try:
        _report, event = await asyncio.to_thread(
            service.reopen,
            db,
            token,
            days=settings.citizen_reopen_days,
            note=note,
            address=client_address(request),
        )
    except NotFound:
        raise
    except TaydoError as exc:
        return await _status_page(request, db, settings, token, error=exc.message)
    await publish(request, event, "updated")
    return RedirectResponse(f"/citizen/r/{token}", status_code=303)


def _photo_of(database: Database, report_id: RowId, principal: Principal | None) -> str:
    with database.session() as session:
        row = session.get(CitizenReport, report_id)
        allowed = row is not None and (
            row.public
            or (
                principal is not None
                and principal.has("citizen:read")
                and principal.may_see_agency(row.agency_code)
            )
        )
        if row is None or row.photo is None or not allowed:
            raise NotFound("không có ảnh / no photo")
        return row.photo


@router.get("/citizen/photos/{report_id}")
async def report_photo(
    report_id: RowId,
    db: Db,
    settings: AppSettings,
    principal: Annotated[Principal | None, page(None)],
) -> Response:
    """A report's photo (stripped of metadata when stored): to anyone if the report is
    public, else only to those who may see the report."""
    name = await asyncio.to_thread(_photo_of, db, report_id, principal)
    path = photos.photo_path(settings.citizen_photos_dir, name)
    if not path.is_file():
        raise NotFound("không có ảnh / no photo")
    return serve(path, "image/jpeg", inline=True, cache="private, max-age=3600")


# -- operators and agencies -----------------------------------------------------------------


def _twins(reports: list[dict[str, Any]], settings: Any) -> dict[int, list[int]]:
    """For each unfinished report of the list, the others of the list that are possible
    duplicates (same category, within the configured distance and hours): the queue's hint;
    the report's page asks the database for all of them."""
    radius, window = settings.citizen_duplicate_radius_m, settings.citizen_duplicate_hours * 3600
    live = [r for r in reports if r["status"] != "closed" and not r["duplicate_of"]]
    found: dict[int, list[int]] = {}
    for index, one in enumerate(live):
        for other in live[index + 1 :]:
            if one["service_code"] != other["service_code"]:
                continue
            apart = abs(
                datetime.fromisoformat(one["requested_at"])
                - datetime.fromisoformat(other["requested_at"])
            ).total_seconds()
            if (
                apart <= window
                and distance_m(one["lat"], one["lon"], other["lat"], other["lon"]) <= radius
            ):
                found.setdefault(one["id"], []).append(other["id"])
                found.setdefault(other["id"], []).append(one["id"])
    return found


def _queue_view(
    database: Database, principal: Principal, filters: dict[str, str], settings: Any
) -> dict[str, Any]:
    province = settings.console_area
    reports = service.list_reports(
        database,
        principal,
        status=filters["status"] or None,
        service=filters["service"] or None,
        area=filters["area"] or None,
        agency=filters["agency"] or None,
        open_only=filters["status"] == "" and filters["open"] == "1",
        limit=200,
    )
    return {
        "reports": reports,
        "twins": _twins(reports, settings),
        "filters": filters,
        "services": service.list_services(database),
        "wards": {a["code"]: a["name"] for a in _wards(database, province)},
        "agencies": service.agency_list(database),
        "statuses": STATUS_LABELS,
    }


@router.get("/citizen/reports")
async def report_queue(
    request: Request,
    db: Db,
    settings: AppSettings,
    principal: Annotated[Principal, page("citizen:read")],
    status: str = "",
    service_code: str = "",
    area: str = "",
    agency: str = "",
    open: str = "1",
) -> Response:
    filters = {
        "status": status if status in STATUSES else "",
        "service": service_code.strip()[:64],
        "area": area.strip()[:16],
        "agency": agency.strip()[:40],
        "open": "1" if open == "1" else "0",
    }
    view = await asyncio.to_thread(_queue_view, db, principal, filters, settings)
    template = "citizen/_rows.html" if request.headers.get("hx-request") else "citizen/queue.html"
    return render(request, template, view)


@router.get("/citizen/stream")
async def report_stream(
    request: Request,
    parts: CitizenParts,
    principal: Annotated[Principal, page("citizen:read")],
) -> StreamingResponse:
    """Report changes the caller may see, as Server-Sent Events (the queue reloads on them)."""
    return StreamingResponse(
        parts.feed.events(principal, request.is_disconnected),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _detail_view(
    database: Database, principal: Principal, report_id: RowId, settings: Any
) -> dict[str, Any]:
    report = service.get_report(database, principal, report_id)
    similar = service.duplicates(
        database,
        service_code=report["service_code"],
        lat=report["lat"],
        lon=report["lon"],
        radius_m=settings.citizen_duplicate_radius_m,
        hours=settings.citizen_duplicate_hours,
        exclude=report["id"],
        at=None,
    )
    return {
        "report": report,
        "names": actor_names(database, [e["actor"] for e in report["history"]]),
        "duplicates": similar,
        "agencies": service.agency_list(database),
        "wards": {a["code"]: a["name"] for a in _wards(database, settings.console_area)},
        "statuses": STATUS_LABELS,
        "events": EVENT_LABELS,
        "answers": _answers(_service_of(database, report["service_code"]), report["attributes"]),
    }


def _service_of(database: Database, code: str) -> dict[str, Any] | None:
    try:
        return service.get_service(database, code)
    except NotFound:
        return None  # the type was removed since: the answers are shown as stored


async def _detail(
    request: Request, principal: Principal, report_id: RowId, *, error: str | None = None
) -> Response:
    from taydo.core.runtime import runtime_of

    runtime = runtime_of(request.app)
    view = await asyncio.to_thread(_detail_view, runtime.db, principal, report_id, runtime.settings)
    view["error"] = error
    return render(request, "citizen/detail.html", view, status=422 if error else 200)


@router.get("/citizen/reports/{report_id}")
async def report_detail(
    request: Request, report_id: RowId, principal: Annotated[Principal, page("citizen:read")]
) -> Response:
    return await _detail(request, principal, report_id)


async def _act(request: Request, principal: Principal, report_id: RowId, call: Any) -> Response:
    try:
        report, event = await asyncio.to_thread(call)
    except NotFound:
        raise
    except TaydoError as exc:
        return await _detail(request, principal, report_id, error=exc.message)
    await publish(request, event, "resolved" if report["status"] == "closed" else "updated")
    return RedirectResponse(f"/citizen/reports/{report_id}", status_code=303)


@router.post("/citizen/reports/{report_id}/status")
async def report_set_status(
    request: Request,
    report_id: RowId,
    db: Db,
    principal: Annotated[Principal, page("citizen:act")],
    status: Annotated[str, Form()],
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    address = client_address(request)
    return await _act(
        request,
        principal,
        report_id,
        lambda: service.act(db, principal, report_id, status, note=note, address=address),
    )


@router.post("/citizen/reports/{report_id}/route")
async def report_route(
    request: Request,
    report_id: RowId,
    db: Db,
    principal: Annotated[Principal, page("citizen:act")],
    agency_code: Annotated[str, Form(max_length=40)],
) -> Response:
    address = client_address(request)

    def call() -> tuple[dict[str, Any], dict[str, Any]]:
        known = {a["code"] for a in service.agency_list(db)}
        return service.route(
            db, principal, report_id, agency_code, known_agencies=known, address=address
        )

    return await _act(request, principal, report_id, call)


@router.post("/citizen/reports/{report_id}/merge")
async def report_merge(
    request: Request,
    report_id: RowId,
    db: Db,
    principal: Annotated[Principal, page("citizen:act")],
    into: Annotated[int, Form(ge=1, le=2**63 - 1)],
) -> Response:
    address = client_address(request)
    return await _act(
        request,
        principal,
        report_id,
        lambda: service.merge(db, principal, report_id, into, address=address),
    )


def _ward_outlines(database: Database, province: str) -> dict[str, Any]:
    found, _total = list_areas(database, parent=province, has_geometry=True, limit=10_000)
    features = []
    for ward in found:
        area = get_area(database, ward["code"], geometry=True)
        features.append(
            {
                "type": "Feature",
                "properties": {"code": area["code"], "name": area["name"]},
                "geometry": area.get("geometry"),
            }
        )
    return {"type": "FeatureCollection", "features": features}


@router.get("/citizen/areas.geojson")
async def ward_outlines(
    db: Db, settings: AppSettings, _p: Annotated[Principal | None, page(None)]
) -> Response:
    """The wards' outlines for the form's map (public: administrative boundaries)."""
    body = await asyncio.to_thread(_ward_outlines, db, settings.console_area)
    return Response(
        orjson.dumps(body),
        media_type="application/geo+json",
        headers={"Cache-Control": "public, max-age=3600"},
    )
