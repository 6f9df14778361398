"""REST API of early warning: alerts, silences, notification routing, the live stream and CAP."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import select

from taydo.alerts import routing, service
from taydo.alerts.cap import cap_document, cap_feed
from taydo.alerts.models import Alert
from taydo.alerts.runtime import Alerting
from taydo.alerts.schemas import AckIn, AssignIn, ResolveIn, RetryIn
from taydo.alerts.stream import filter_for
from taydo.auth.authn import credential_of
from taydo.catalog.service import entity_location_in
from taydo.core.access import Principal, client_address, public, requires
from taydo.core.bounds import MAX_INT64, Offset, RowId
from taydo.core.deps import AppSettings, Db
from taydo.core.errors import NotFound
from taydo.core.responses import answers_as
from taydo.core.runtime import runtime_of
from taydo.geo.service import area_name_in
from taydo.rules import service as rules_service
from taydo.rules.choices import choice_sets

__all__ = ["router"]

T = TypeVar("T")
router = APIRouter(prefix="/api/v1", tags=["alerts"])
READ = requires("alerts:read")
ACT = requires("alerts:act")
WRITE_RULES = requires("rules:write")
PUBLIC = public()
ListParam = Annotated[list[str] | None, Query()]


async def _run(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(func, *args, **kwargs)


# -- alerts ---------------------------------------------------------------------------------
@router.get("/alerts")
async def list_alerts(
    request: Request,
    db: Db,
    principal: Principal = READ,
    state: str | None = None,
    severity: str | None = None,
    area: str | None = None,
    agency: str | None = None,
    rule: str | None = None,
    sector: str | None = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    return await _run(
        service.list_alerts,
        db,
        principal,
        state=state,
        severity=severity,
        area=area,
        agency=agency,
        rule=rule,
        sector=sector,
        active=active,
        limit=limit,
        offset=offset,
    )


@router.get("/alerts/choices")
async def alert_choices(_p: Principal = READ) -> dict[str, Any]:
    return choice_sets()


@router.get("/alerts/{alert_id}")
async def get_alert(
    alert_id: RowId, request: Request, db: Db, principal: Principal = READ
) -> dict[str, Any]:
    return await _run(service.get_alert, db, principal, alert_id)


async def _transition(
    request: Request,
    action: Callable[..., dict[str, Any]],
    principal: Principal,
    alert_id: int,
    **fields: Any,
) -> dict[str, Any]:
    """Run one hand action (acknowledge, resolve, assign) and tell the live feeds."""
    alert = await _run(
        action,
        runtime_of(request.app).db,
        principal,
        alert_id,
        address=client_address(request),
        **fields,
    )
    await runtime_of(request.app).bus.publish("alerts.transition", alert)
    return alert


@router.post("/alerts/{alert_id}/ack")
async def acknowledge(
    alert_id: RowId, body: AckIn, request: Request, principal: Principal = ACT
) -> dict[str, Any]:
    return await _transition(request, service.acknowledge, principal, alert_id, note=body.note)


@router.post("/alerts/{alert_id}/resolve")
async def resolve(
    alert_id: RowId, body: ResolveIn, request: Request, principal: Principal = ACT
) -> dict[str, Any]:
    return await _transition(request, service.resolve, principal, alert_id, note=body.note)


@router.post("/alerts/{alert_id}/assign")
async def assign(
    alert_id: RowId, body: AssignIn, request: Request, principal: Principal = ACT
) -> dict[str, Any]:
    return await _transition(request, service.assign, principal, alert_id, assignee=body.assignee)


# -- silences -------------------------------------------------------------------------------
@router.get("/silences")
async def list_silences(
    request: Request, db: Db, principal: Principal = READ, active: bool = False
) -> list[dict[str, Any]]:
    scope = None if principal.sees_everything else frozenset(principal.agencies)
    return await _run(routing.list_silences, db, active_only=active, agencies=scope)


@router.post("/silences", status_code=201)
async def create_silence(
    body: routing.SilenceIn, request: Request, db: Db, principal: Principal = ACT
) -> dict[str, Any]:
    return await _run(service.create_silence, db, principal, body, address=client_address(request))


@router.delete("/silences/{silence_id}", status_code=204)
async def delete_silence(
    silence_id: RowId, request: Request, db: Db, principal: Principal = ACT
) -> Response:
    await _run(service.remove_silence, db, principal, silence_id, address=client_address(request))
    return Response(status_code=204)


# -- notification routing -------------------------------------------------------------------
@router.get("/notify/channels")
async def list_channels(request: Request, db: Db, _p: Principal = WRITE_RULES) -> Any:
    return await _run(routing.list_channels, db)


@router.put("/notify/channels/{code}")
async def put_channel(
    code: str,
    body: routing.ChannelIn,
    request: Request,
    db: Db,
    principal: Principal = WRITE_RULES,
) -> Any:
    if body.code != code:
        from taydo.core.errors import Invalid

        raise Invalid("mã kênh trong thân khác đường dẫn / body code differs from the path")
    return await _run(service.save_channel, db, principal, body, address=client_address(request))


@router.get("/notify/routes")
async def list_routes(request: Request, db: Db, _p: Principal = WRITE_RULES) -> Any:
    return await _run(routing.list_routes, db)


@router.put("/notify/routes")
async def put_routes(
    body: list[routing.RouteIn], request: Request, db: Db, principal: Principal = WRITE_RULES
) -> Any:
    count = await _run(routing.save_routes, db, body)
    return {"saved": count}


@router.get("/notify/outbox")
async def list_deliveries(
    request: Request,
    db: Db,
    _p: Principal = WRITE_RULES,
    status: str | None = None,
    channel: str | None = None,
    alert_id: Annotated[int | None, Query(ge=1, le=MAX_INT64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> Any:
    """Notification deliveries, newest first (``status=dead``: the failed ones)."""
    return await _run(
        service.list_deliveries,
        db,
        status=status,
        channel=channel,
        alert_id=alert_id,
        limit=limit,
        offset=offset,
    )


@router.post("/notify/outbox/retry")
async def retry_deliveries(
    body: RetryIn, request: Request, db: Db, alerting: Alerting, principal: Principal = WRITE_RULES
) -> dict[str, Any]:
    """Send dead letters again (after their channel was created or fixed)."""
    queued = await _run(
        service.retry_deliveries,
        db,
        principal,
        ids=body.ids,
        channel=body.channel,
        address=client_address(request),
    )
    alerting.notifier.wake()
    return {"queued": queued}


# -- live stream ----------------------------------------------------------------------------
@router.get("/stream", **answers_as("text/event-stream", "Server-Sent Events"))
async def stream(
    request: Request,
    alerting: Alerting,
    principal: Principal = READ,
    topics: str = "alerts",
    entity: ListParam = None,
    metric: ListParam = None,
    area: ListParam = None,
    min_severity: str | None = None,
    since: Annotated[str | None, Query(max_length=80)] = None,
    last_event_id: Annotated[str | None, Header(max_length=80)] = None,
) -> StreamingResponse:
    """Alert transitions (and, with ``topics=alerts,values``, new values) as Server-Sent
    Events. A reconnecting client sends ``Last-Event-ID`` (or ``?since=``) and first receives
    what it missed; a ``resync`` event asks it to reload its state instead."""
    hub = alerting.hub
    credential = credential_of(request)
    authenticate = runtime_of(request.app).authenticate

    async def still_valid() -> bool:
        # The same credentials, looked up again (not the answer cached in the scope).
        scope = {k: v for k, v in request.scope.items() if k != "taydo.principal"}
        if authenticate is None:
            return True
        return await _run(authenticate, Request(scope)) is not None

    client = hub.connect(
        filter_for(
            principal,
            topics=topics,
            entity=entity,
            metric=metric,
            area=area,
            min_severity=min_severity,
        ),
        last_event_id=(last_event_id or since or "").strip() or None,
        keys=credential.keys if credential else frozenset(),
        expires_ms=credential.expires_ms if credential else None,
        recheck=still_valid if credential else None,
    )
    return StreamingResponse(
        hub.events(client, request.is_disconnected),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


# -- CAP 1.2 public warnings ----------------------------------------------------------------
def _public_alerts(database: Any) -> list[dict[str, Any]]:
    with database.session() as session:
        rows = session.scalars(
            select(Alert)
            .where(Alert.public.is_(True), Alert.open_key.is_not(None))
            .order_by(Alert.id.desc())
            .limit(500)
        ).all()
        return [service.alert_dict(row) for row in rows]


def _cap_for(database: Any, settings: Any, alert_id: int) -> bytes:
    with database.session() as session:
        row = session.get(Alert, alert_id)
        if row is None or not row.public:
            raise NotFound(f"không có cảnh báo công khai / no public alert {alert_id}")
        alert = service.alert_dict(row)
        area_name = area_name_in(session, row.area_code) if row.area_code else None
        coords = entity_location_in(session, row.entity_id) if row.entity_id else None
    try:
        rule = rules_service.get_rule(database, alert["rule"])
        instruction = (rule.instruction, rule.instruction_en)
        category = rule.cap_category
    except NotFound:
        instruction, category = ("", ""), "Env"
    return cap_document(
        alert,
        sender=settings.cap_sender,
        sender_name=settings.cap_sender_name,
        tz=settings.tz,
        area_name=area_name,
        instruction=instruction,
        category=category,
        web=f"{settings.public_base_url}/api/v1/cap/alerts/{alert_id}.xml",
        lon_lat=coords,
    )


@router.get(
    "/cap/alerts.xml", **answers_as("application/atom+xml", "Atom feed of CAP 1.2 warnings")
)
async def cap_alerts_feed(
    request: Request, db: Db, settings: AppSettings, _p: Principal | None = PUBLIC
) -> Response:
    alerts = await _run(_public_alerts, db)
    body = cap_feed(
        alerts,
        sender=settings.cap_sender,
        title="Cảnh báo công khai / Public warnings — Tây Đô IOC",
        base_url=settings.public_base_url,
        tz=settings.tz,
    )
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@router.get("/cap/alerts/{alert_id}.xml", **answers_as("application/cap+xml", "a CAP 1.2 alert"))
async def cap_alert(
    alert_id: RowId, request: Request, db: Db, settings: AppSettings, _p: Principal | None = PUBLIC
) -> Response:
    body = await _run(_cap_for, db, settings, alert_id)
    return Response(body, media_type="application/cap+xml; charset=utf-8")
