"""Console screens of the alerts domain: the list with filters, the detail page with the series
around the alert and the rule that fired, and the hand actions (acknowledge, resolve, assign,
silence). Forms carry the session's CSRF token; the auth layer checks it."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from taydo.alerts.feed import feed_item
from taydo.alerts.routing import list_channels
from taydo.alerts.runtime import live_context
from taydo.alerts.service import (
    LIST_SORTS,
    acknowledge,
    acknowledge_many,
    assign,
    condition_holds,
    get_alert,
    list_alerts,
    resolve,
    silence_alert,
)
from taydo.auth.service import list_users
from taydo.catalog.service import actor_names, get_entity, list_agencies, list_datasets
from taydo.core import clock
from taydo.core.access import Principal, client_address
from taydo.core.db import Database
from taydo.core.deps import AppSettings, Db
from taydo.core.errors import Invalid, NotFound, TaydoError
from taydo.core.runtime import runtime_of
from taydo.geo.service import list_areas
from taydo.ingest.files.output import append_row, csv_cell
from taydo.rules.choices import ALERT_STATES, SEVERITIES, severity_rank
from taydo.rules.service import get_rule
from taydo.web.i18n import N_
from taydo.web.shell import page, render

__all__ = ["EXPORT_HEADERS", "SILENCE_HOURS", "router"]

router = APIRouter(include_in_schema=False)

SILENCE_HOURS: tuple[int, ...] = (1, 4, 12, 24)
HOUR_MS = 3_600_000


SORTS: tuple[tuple[str, str], ...] = (
    ("time", N_("Mới nhất trước")),
    ("severity", N_("Nghiêm trọng nhất trước")),
    ("station", N_("Theo trạm")),
    ("area", N_("Theo địa bàn")),
)
assert tuple(code for code, _label in SORTS) == LIST_SORTS  # one list of sorts, two views

# The columns of the exported list, Vietnamese first (who reads it: the city's officers).
# Every export of the product names an agency and an area the same way: "Cơ quan" its name,
# "Mã cơ quan" its code beside it; "Khu vực" and "Mã khu vực" likewise.
EXPORT_HEADERS: tuple[str, ...] = (
    "Mã",
    "Mức độ",
    "Cảnh báo",
    "Trạng thái",
    "Bắt đầu (UTC)",
    "Giá trị",
    "Trạm",
    "Khu vực",
    "Mã khu vực",
    "Cơ quan",
    "Mã cơ quan",
    "Người tiếp nhận",
    "Người xử lý",
    "Kết thúc (UTC)",
)


# The events of an alert's history, in words (``alert_events.event``).
EVENTS: dict[str, str] = {
    "fired": N_("Bắt đầu cảnh báo"),
    "escalated": N_("Tăng mức"),
    "eased": N_("Giảm mức"),
    "cleared": N_("Điều kiện đã hết"),
    "acknowledged": N_("Tiếp nhận"),
    "resolved": N_("Kết thúc"),
    "assigned": N_("Giao xử lý"),
    # deliveries only: a reminder of an alert still open, the escalation to the next level
    "renotify": N_("Nhắc lại"),
    "escalation": N_("Chuyển cấp trên"),
}

# The kinds of notification channel (``notify_channels.kind``) and the outbox's states.
CHANNEL_KINDS: dict[str, str] = {
    "webhook": N_("Gọi hệ thống khác"),
    "email": N_("Thư điện tử"),
}
DELIVERY_STATES: dict[str, str] = {
    "pending": N_("Đang chờ gửi"),
    "sent": N_("Đã gửi"),
    "dead": N_("Gửi thất bại"),
}

SEVERITY_WORDS: dict[str, tuple[str, str]] = {c.code: (c.vi, c.en) for c in SEVERITIES}


def _choices() -> dict[str, Any]:
    return {
        "severities": SEVERITIES,
        "states": ALERT_STATES,
        "sorts": SORTS,
        "events": EVENTS,
        "severity_words": SEVERITY_WORDS,
        "channel_kinds": CHANNEL_KINDS,
        "delivery_states": DELIVERY_STATES,
    }


def _sectors(database: Database) -> list[str]:
    rows, _total = list_datasets(database, limit=10_000)
    return sorted({d["sector"] for d in rows if d.get("sector")})


def _agencies(database: Database) -> list[dict[str, Any]]:
    found, _total = list_agencies(database, limit=10_000)
    return found


def _area_names(database: Database, province: str) -> dict[str, str]:
    found, _total = list_areas(database, parent=province, limit=10_000)
    return {a["code"]: a["name"] for a in found}


def group_key(alert: dict[str, Any]) -> str:
    """What makes alerts related in the list: the same ward (a station's alarms and the
    ward's flood risk they raise), else the same station, else the same target."""
    if alert.get("area_code"):
        return f"area:{alert['area_code']}"
    return str(alert.get("entity_id") or alert.get("target") or f"alert:{alert['id']}")


def _needs_ack(alert: dict[str, Any]) -> bool:
    return alert.get("state") == "firing" or bool(alert.get("unseen"))


def _waiting(alert: dict[str, Any]) -> int:
    """0 for a firing alert, 1 for an unseen one, 2 for the others (handled, or closed)."""
    return 0 if alert.get("state") == "firing" else 1 if alert.get("unseen") else 2


def group_alerts(
    alerts: list[dict[str, Any]], area_names: dict[str, str], *, together: bool = True
) -> list[dict[str, Any]]:
    """The listed alerts gathered by :func:`group_key`. Each group is led by the member an
    operator must look at first: a firing one before an unseen one before the others, the
    worst of those, a station's before a ward's (the cause before what it raised), then the
    first in the list's order.
    A group stands where its lead stands in the list's order, so the rows a person sees keep
    that order; the other members follow their lead, folded in the page. ``together=False``
    (the list's "group=0"): every alert on its own row."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for alert in alerts:
        key = group_key(alert) if together else f"alert:{alert['id']}"
        groups.setdefault(key, []).append(alert)
    position = {id(a): i for i, a in enumerate(alerts)}
    out: list[dict[str, Any]] = []
    for key, members in groups.items():
        lead = min(
            members,
            key=lambda a: (
                _waiting(a),
                -severity_rank(a.get("severity") or ""),
                not a.get("entity_id"),  # a station's reading before the ward risk it raised
                position[id(a)],
            ),
        )
        worst = max(members, key=lambda a: severity_rank(a.get("severity") or ""))
        area = key.removeprefix("area:") if key.startswith("area:") else None
        out.append(
            {
                "key": key,
                "label": area_names.get(area, area) if area else None,
                "lead": lead,
                "others": [a for a in members if a is not lead],
                "count": len(members),
                "worst": worst,
                "pending": [a["id"] for a in members if _needs_ack(a)],
            }
        )
    out.sort(key=lambda g: position[id(g["lead"])])
    return out


def list_view(
    database: Database,
    principal: Principal,
    filters: dict[str, str],
    province: str,
    limit: int = 200,
) -> dict[str, Any]:
    active = {"active": True, "closed": False}.get(filters.get("open", ""))
    sort = filters.get("sort") or "time"
    alerts = list_alerts(
        database,
        principal,
        state=filters.get("state") or None,
        severity=filters.get("severity") or None,
        area=filters.get("area") or None,
        agency=filters.get("agency") or None,
        sector=filters.get("sector") or None,
        active=active,
        unseen=True,  # an alarm that cleared unacknowledged stays in the open list
        sort=sort if sort in LIST_SORTS else "time",
        limit=limit,
    )
    items = [feed_item(a) for a in alerts]
    agencies = _agencies(database)
    area_names = _area_names(database, province)
    return {
        "alerts": items,
        "groups": group_alerts(items, area_names, together=filters.get("group") != "0"),
        "filters": filters,
        "sectors": _sectors(database),
        "agencies": agencies,
        # names read here, in the worker thread, not while the rows are rendered
        "agency_names": {a["code"]: (a["name"], a.get("name_en") or a["name"]) for a in agencies},
        "area_names": area_names,
        "names": _names(database),
        **_choices(),
    }


def _filters(
    severity: str = "",
    state: str = "",
    area: str = "",
    sector: str = "",
    agency: str = "",
    open: str = "active",
    sort: str = "time",
    group: str = "1",
) -> dict[str, str]:
    """The list's filters and order from the query string (the page, its rows, its exports)."""
    return {
        "severity": severity,
        "state": state,
        "area": area.strip(),
        "sector": sector,
        "agency": agency.strip(),
        "open": open,
        "sort": sort if sort in LIST_SORTS else "time",
        "group": "0" if group == "0" else "1",
    }


ListFilters = Annotated[dict[str, str], Depends(_filters)]


@router.get("/alerts")
async def alerts_list(
    request: Request,
    db: Db,
    settings: AppSettings,
    principal: Annotated[Principal, page("alerts:read")],
    filters: ListFilters,
) -> Response:
    """The list; its rows reload (``/alerts/rows``) whenever the live stream announces a
    transition, so a new alarm or an acknowledgement made elsewhere shows without a reload."""
    province = settings.console_area
    view = await run_in_threadpool(list_view, db, principal, filters, province)
    view["query"] = urlencode(filters)
    view.update(live_context(runtime_of(request.app)))
    return render(request, "alerts/list.html", view)


@router.get("/alerts/rows")
async def alerts_rows(
    request: Request,
    db: Db,
    settings: AppSettings,
    principal: Annotated[Principal, page("alerts:read")],
    filters: ListFilters,
) -> Response:
    """The rows of the list alone (the live part of ``/alerts``)."""
    view = await run_in_threadpool(list_view, db, principal, filters, settings.console_area)
    view["query"] = urlencode(filters)
    return render(request, "alerts/_rows.html", view)


def _export_rows(view: dict[str, Any]) -> list[list[Any]]:
    areas: dict[str, str] = view["area_names"]
    agencies: dict[str, tuple[str, str]] = view["agency_names"]
    people: dict[str, str] = view["names"]  # accounts and agencies by name

    def row(a: dict[str, Any]) -> list[Any]:
        area = a.get("area_code") or ""
        agency = a.get("agency_code") or ""
        # a code nothing names stays in the name's column too (a row never loses its place)
        return [
            a["id"],
            a["severity_text"],
            a["title"],
            "Đã tự hết — chưa ai xem" if a["unseen"] else a["state_text"],
            a.get("started_at") or "",
            a.get("value"),
            a.get("entity_id") or "",
            areas.get(area, area),
            area,
            agencies[agency][0] if agency in agencies else agency,
            agency,
            people.get(a.get("acked_by") or "", a.get("acked_by") or ""),
            people.get(a.get("assignee") or "", a.get("assignee") or ""),
            a.get("resolved_at") or "",
        ]

    return [row(a) for a in view["alerts"]]


def _csv(rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_HEADERS)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    # A byte-order mark so that a spreadsheet opened by double click reads UTF-8 diacritics.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _xlsx(rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=False)
    sheet = book.active
    assert sheet is not None
    sheet.title = "Cảnh báo"
    append_row(sheet, EXPORT_HEADERS)
    for row in rows:
        append_row(sheet, row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


EXPORT_TYPES = {
    "csv": ("text/csv; charset=utf-8", _csv),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _xlsx),
}
EXPORT_LIMIT = 1000  # the service's own ceiling for one listing


@router.get("/alerts/export.{kind}")
async def alerts_export(
    request: Request,
    kind: str,
    db: Db,
    settings: AppSettings,
    principal: Annotated[Principal, page("alerts:read")],
    filters: ListFilters,
) -> Response:
    """The filtered list as .csv or .xlsx (the same rows the page shows, in the same order;
    cells that a spreadsheet would evaluate stay text)."""
    if kind not in EXPORT_TYPES:
        raise NotFound(f"không có định dạng xuất / no export format {kind!r}")
    view = await run_in_threadpool(
        list_view, db, principal, filters, settings.console_area, EXPORT_LIMIT
    )
    media, write = EXPORT_TYPES[kind]
    body = await run_in_threadpool(write, _export_rows(view))
    stamp = clock.now().strftime("%Y%m%d-%H%M")
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="canh-bao-{stamp}.{kind}"'},
    )


BULK_LIMIT = 200  # the list shows at most 200 rows


def _back(back: str) -> str:
    """Where to return after an action taken from the list: only the list itself (no open
    redirect through a crafted form)."""
    return back if back == "/alerts" or back.startswith("/alerts?") else "/alerts"


@router.post("/alerts/acknowledge")
async def alerts_acknowledge_many(
    request: Request,
    principal: Annotated[Principal, page("alerts:act")],
    ids: Annotated[list[int] | None, Form()] = None,
    back: Annotated[str, Form()] = "/alerts",
) -> Response:
    """Acknowledge the alerts ticked in the list, each journalled and announced on the bus
    as one acknowledgement is."""
    if len(ids or []) > BULK_LIMIT:
        raise Invalid(f"quá nhiều cảnh báo một lần / at most {BULK_LIMIT} alerts at once")
    runtime = runtime_of(request.app)
    changed, _refused = await run_in_threadpool(
        acknowledge_many, runtime.db, principal, list(ids or []), address=client_address(request)
    )
    for alert in changed:
        await runtime.bus.publish("alerts.transition", alert)
    return RedirectResponse(_back(back), status_code=303)


def detail_view(
    database: Database, principal: Principal, alert_id: int, province: str
) -> dict[str, Any]:
    alert = feed_item(get_alert(database, principal, alert_id))
    try:
        rule = get_rule(database, alert["rule"])
    except NotFound:
        rule = None
    if alert.get("entity_id"):
        try:
            entity = get_entity(database, alert["entity_id"])
            alert["entity_name"], alert["entity_type"] = entity.get("name"), entity.get("type")
        except NotFound:
            pass  # the station was removed since: its id is what is left to show
    started = alert["started_ms"] or clock.now_ms()
    resolved = alert.get("resolved_at")
    end = (feed_item({"started_at": resolved})["started_ms"] if resolved else None) or (
        clock.now_ms()
    )
    chart = {
        "entity": alert.get("entity_id"),
        "metric": alert.get("metric"),
        "from": started - 6 * HOUR_MS,
        "to": max(end, started) + HOUR_MS,
        "started": started,
        "value": alert.get("value"),
    }
    return {
        "alert": alert,
        "rule": rule,
        "rule_json": orjson.dumps(
            rule.model_dump(mode="json", exclude_none=True) if rule else {},
            option=orjson.OPT_INDENT_2,
        ).decode(),
        "chart_json": orjson.dumps(chart).decode(),
        "silence_hours": SILENCE_HOURS,
        "area_names": _area_names(database, province),
        "assignees": assignee_choices(database),
        "names": _names(database),
        "actors": actor_names(database, _actors(alert)),
        "channels": {c["code"]: c for c in list_channels(database)},
        **_choices(),
    }


def _actors(alert: dict[str, Any]) -> list[str]:
    """Everyone an alert's page names: who took it, who has it, who acted in its history."""
    found = [alert.get("acked_by"), alert.get("assignee")]
    for event in alert.get("history") or []:
        found.append(event.get("actor"))
        if event.get("event") == "assigned":
            found.append(event.get("note"))
    return [a for a in found if isinstance(a, str)]


def assignee_choices(
    database: Database, *, with_codes: bool = True
) -> dict[str, list[tuple[str, str]]]:
    """Who an alert may be given to: the console's people (enabled accounts, not wall
    screens) and the agencies, as ``(value, label)``; the value is what is stored. The
    labels of the picker carry the code too (two agencies may be named alike); a name shown
    in a sentence does not (``with_codes=False``)."""
    people = [
        (
            u.username,
            (f"{u.full_name} ({u.username})" if with_codes else u.full_name)
            if u.full_name
            else u.username,
        )
        for u in list_users(database)
        if not u.disabled and u.role != "display"
    ]
    found, _total = list_agencies(database, limit=10_000)
    agencies = [
        (a["code"], f"{a['name']} ({a['code']})" if with_codes else a["name"]) for a in found
    ]
    return {"people": people, "agencies": agencies}


def _names(database: Database) -> dict[str, str]:
    """Who acted or was given an alert, by name: an account's full name, an agency's name
    (an assignee may be either; the stored value is a username or an agency code)."""
    choices = assignee_choices(database, with_codes=False)
    return {value: label for group in choices.values() for value, label in group}


def _valid_assignee(database: Database, assignee: str) -> bool:
    choices = assignee_choices(database)
    return any(assignee == value for group in choices.values() for value, _label in group)


async def _detail(
    request: Request,
    principal: Principal,
    alert_id: int,
    error: str | None = None,
    confirm: dict[str, Any] | None = None,
) -> Response:
    province = runtime_of(request.app).settings.console_area
    view = await run_in_threadpool(
        detail_view, runtime_of(request.app).db, principal, alert_id, province
    )
    view["error"] = error
    view["confirm"] = confirm
    view.update(live_context(runtime_of(request.app)))
    # A confirmation asked is a page like any other (200): nothing failed, and a browser
    # logs every 4xx page as a console error on the operator's screen.
    return render(request, "alerts/detail.html", view, status=422 if error else 200)


@router.get("/alerts/{alert_id}")
async def alert_detail(
    request: Request, alert_id: int, principal: Annotated[Principal, page("alerts:read")]
) -> Response:
    return await _detail(request, principal, alert_id)


async def _act(
    request: Request,
    principal: Principal,
    alert_id: int,
    action: Any,
    *,
    announce: bool = True,
    to: str | None = None,
    **fields: Any,
) -> Response:
    """Run one hand action of ``taydo.alerts.service``; a refusal shows on the detail page.
    A change of the alert is announced on the bus after its commit, as the API does, so every
    open screen (overview, wall, lists, other browsers) shows it at once."""
    address = client_address(request)
    runtime = runtime_of(request.app)
    try:
        changed = await run_in_threadpool(
            action, runtime.db, principal, alert_id, address=address, **fields
        )
    except NotFound:
        raise
    except TaydoError as exc:
        return await _detail(request, principal, alert_id, error=exc.message)
    if announce:
        await runtime.bus.publish("alerts.transition", changed)
    return RedirectResponse(to or f"/alerts/{alert_id}", status_code=303)


@router.post("/alerts/{alert_id}/acknowledge")
async def alert_acknowledge(
    request: Request,
    alert_id: int,
    principal: Annotated[Principal, page("alerts:act")],
    note: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    """Acknowledge; from the list (``back``) the browser returns to the list it was on."""
    to = _back(back) if back else None
    return await _act(request, principal, alert_id, acknowledge, to=to, note=note.strip())


@router.post("/alerts/{alert_id}/resolve")
async def alert_resolve(
    request: Request,
    alert_id: int,
    principal: Annotated[Principal, page("alerts:act")],
    note: Annotated[str, Form()] = "",
    confirmed: Annotated[bool, Form()] = False,
) -> Response:
    """Resolve by hand. While the condition still holds (the engine has not cleared it: the
    latest value is still beyond the threshold) the page asks first and says so; the second
    submission carries ``confirmed``."""
    if not confirmed and note.strip():
        holds = await run_in_threadpool(
            condition_holds, runtime_of(request.app).db, principal, alert_id
        )
        if holds is not None:
            return await _detail(request, principal, alert_id, confirm={**holds, "note": note})
    return await _act(request, principal, alert_id, resolve, note=note.strip())


@router.post("/alerts/{alert_id}/assign")
async def alert_assign(
    request: Request,
    alert_id: int,
    principal: Annotated[Principal, page("alerts:act")],
    assignee: Annotated[str, Form()] = "",
) -> Response:
    """Give the alert to a person or an agency picked from the list (empty: nobody)."""
    chosen = assignee.strip()
    if chosen:
        known = await run_in_threadpool(_valid_assignee, runtime_of(request.app).db, chosen)
        if not known:
            return await _detail(
                request,
                principal,
                alert_id,
                error=N_("Người hoặc cơ quan không có trong danh sách"),
            )
    return await _act(request, principal, alert_id, assign, assignee=chosen or None)


@router.post("/alerts/{alert_id}/silence")
async def alert_silence(
    request: Request,
    alert_id: int,
    principal: Annotated[Principal, page("alerts:act")],
    hours: Annotated[int, Form()] = 4,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Silence this alert's rule on this entity for some hours (notifications stop)."""
    if hours not in SILENCE_HOURS:
        return await _detail(request, principal, alert_id, error=N_("Thời hạn không hợp lệ"))
    # A silence changes no alert (it stops notifications): nothing for the live screens.
    return await _act(
        request, principal, alert_id, silence_alert, announce=False, hours=hours, reason=reason
    )
