"""Console screens of the alerts domain: the list with filters, the detail page with the series
around the alert and the rule that fired, and the hand actions (acknowledge, resolve, assign,
silence). Forms carry the session's CSRF token; the auth layer checks it."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from taydo.alerts.feed import feed_item
from taydo.alerts.runtime import live_context
from taydo.alerts.service import (
    acknowledge,
    assign,
    get_alert,
    list_alerts,
    resolve,
    silence_alert,
)
from taydo.catalog.service import list_datasets
from taydo.core import clock
from taydo.core.access import Principal, client_address
from taydo.core.db import Database
from taydo.core.deps import AppSettings, Db
from taydo.core.errors import NotFound, TaydoError
from taydo.core.runtime import runtime_of
from taydo.geo.service import list_areas
from taydo.rules.choices import ALERT_STATES, SEVERITIES
from taydo.rules.service import get_rule
from taydo.web.i18n import N_
from taydo.web.shell import page, render

__all__ = ["SILENCE_HOURS", "router"]

router = APIRouter(include_in_schema=False)

SILENCE_HOURS: tuple[int, ...] = (1, 4, 12, 24)
HOUR_MS = 3_600_000


def _choices() -> dict[str, Any]:
    return {"severities": SEVERITIES, "states": ALERT_STATES}


def _sectors(database: Database) -> list[str]:
    rows, _total = list_datasets(database, limit=10_000)
    return sorted({d["sector"] for d in rows if d.get("sector")})


def _area_names(database: Database, province: str) -> dict[str, str]:
    found, _total = list_areas(database, parent=province, limit=10_000)
    return {a["code"]: a["name"] for a in found}


def list_view(
    database: Database, principal: Principal, filters: dict[str, str], province: str
) -> dict[str, Any]:
    active = {"active": True, "closed": False}.get(filters.get("open", ""))
    alerts = list_alerts(
        database,
        principal,
        state=filters.get("state") or None,
        severity=filters.get("severity") or None,
        area=filters.get("area") or None,
        agency=filters.get("agency") or None,
        sector=filters.get("sector") or None,
        active=active,
        limit=200,
    )
    return {
        "alerts": [feed_item(a) for a in alerts],
        "filters": filters,
        "sectors": _sectors(database),
        "area_names": _area_names(database, province),
        **_choices(),
    }


def _filters(
    severity: str, state: str, area: str, sector: str, agency: str, open: str
) -> dict[str, str]:
    return {
        "severity": severity,
        "state": state,
        "area": area.strip(),
        "sector": sector,
        "agency": agency.strip(),
        "open": open,
    }


@router.get("/alerts")
async def alerts_list(
    request: Request,
    db: Db,
    settings: AppSettings,
    principal: Annotated[Principal, page("alerts:read")],
    severity: str = "",
    state: str = "",
    area: str = "",
    sector: str = "",
    agency: str = "",
    open: str = "active",
) -> Response:
    """The list; its rows reload (``/alerts/rows``) whenever the live stream announces a
    transition, so a new alarm or an acknowledgement made elsewhere shows without a reload."""
    filters = _filters(severity, state, area, sector, agency, open)
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
    severity: str = "",
    state: str = "",
    area: str = "",
    sector: str = "",
    agency: str = "",
    open: str = "active",
) -> Response:
    """The rows of the list alone (the live part of ``/alerts``)."""
    filters = _filters(severity, state, area, sector, agency, open)
    view = await run_in_threadpool(list_view, db, principal, filters, settings.console_area)
    return render(request, "alerts/_rows.html", view)


def detail_view(
    database: Database, principal: Principal, alert_id: int, province: str
) -> dict[str, Any]:
    alert = feed_item(get_alert(database, principal, alert_id))
    try:
        rule = get_rule(database, alert["rule"])
    except NotFound:
        rule = None
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
        **_choices(),
    }


async def _detail(
    request: Request, principal: Principal, alert_id: int, error: str | None = None
) -> Response:
    province = runtime_of(request.app).settings.console_area
    view = await run_in_threadpool(
        detail_view, runtime_of(request.app).db, principal, alert_id, province
    )
    view["error"] = error
    view.update(live_context(runtime_of(request.app)))
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
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)


@router.post("/alerts/{alert_id}/acknowledge")
async def alert_acknowledge(
    request: Request,
    alert_id: int,
    principal: Annotated[Principal, page("alerts:act")],
    note: Annotated[str, Form()] = "",
) -> Response:
    return await _act(request, principal, alert_id, acknowledge, note=note.strip())


@router.post("/alerts/{alert_id}/resolve")
async def alert_resolve(
    request: Request,
    alert_id: int,
    principal: Annotated[Principal, page("alerts:act")],
    note: Annotated[str, Form()] = "",
) -> Response:
    return await _act(request, principal, alert_id, resolve, note=note.strip())


@router.post("/alerts/{alert_id}/assign")
async def alert_assign(
    request: Request,
    alert_id: int,
    principal: Annotated[Principal, page("alerts:act")],
    assignee: Annotated[str, Form()] = "",
) -> Response:
    return await _act(request, principal, alert_id, assign, assignee=assignee.strip() or None)


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
