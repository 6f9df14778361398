"""REST API of early warning: alerts, silences, rules, routing, the live stream and CAP."""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import select

from taydo.alerts import routing, service
from taydo.alerts.cap import cap_document, cap_feed
from taydo.alerts.models import Alert
from taydo.alerts.notify import Notifier
from taydo.alerts.runtime import AlertingRuntime
from taydo.alerts.schemas import AckIn, AssignIn, ResolveIn, RetryIn
from taydo.alerts.stream import filter_for
from taydo.catalog.models import Entity
from taydo.catalog.series import SeriesIndex
from taydo.core.access import Principal, client_address, public, requires
from taydo.core.errors import NotFound
from taydo.geo.models import Area
from taydo.rules import service as rules_service
from taydo.rules.choices import choice_sets

__all__ = ["router", "shutdown", "startup"]

router = APIRouter(prefix="/api/v1", tags=["alerts"])
_RUNTIME: ContextVar[AlertingRuntime | None] = ContextVar("taydo_alerting_runtime")
READ = requires("alerts:read")
ACT = requires("alerts:act")
WRITE_RULES = requires("rules:write")
PUBLIC = public()
ListParam = Annotated[list[str] | None, Query()]


def _db(request: Request) -> Any:
    return request.app.state.db


async def _run(func: Any, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(func, *args, **kwargs)


async def startup(app: FastAPI) -> None:
    settings = app.state.settings
    series = getattr(app.state, "series", None)
    if series is None:  # the observations component normally provides it; our runtime
        series = app.state.series = SeriesIndex(app.state.db)  # invalidates it on changes
    notifier = Notifier(
        app.state.db,
        timeout_s=settings.webhook_timeout_s,
        backoff_s=settings.notify_backoff_s,
        check_s=settings.alert_renotify_check_s,
    )
    runtime = AlertingRuntime(
        app.state.db,
        app.state.bus,
        series,
        tz=settings.tz,
        writer=getattr(app.state, "writer", None),
        check_s=settings.alert_check_interval_s,
        stream_queue=settings.stream_queue_size,
        notifier=notifier,
    )
    app.state.alerting = runtime
    _RUNTIME.set(runtime)  # this lifespan's runtime, even if the app is started twice
    await runtime.start()


async def shutdown(app: FastAPI) -> None:
    runtime = _RUNTIME.get(None) or getattr(app.state, "alerting", None)
    if runtime is not None:
        await runtime.close()


# -- alerts ---------------------------------------------------------------------------------
@router.get("/alerts")
async def list_alerts(
    request: Request,
    principal: Principal = READ,
    state: str | None = None,
    severity: str | None = None,
    area: str | None = None,
    agency: str | None = None,
    rule: str | None = None,
    sector: str | None = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    return await _run(
        service.list_alerts,
        _db(request),
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
async def get_alert(alert_id: int, request: Request, principal: Principal = READ) -> dict[str, Any]:
    return await _run(service.get_alert, _db(request), principal, alert_id)


async def _transition(
    request: Request, action: Any, principal: Principal, alert_id: int, **fields: Any
) -> dict[str, Any]:
    """Run one hand action (acknowledge, resolve, assign) and tell the live feeds."""
    alert = await _run(
        action, _db(request), principal, alert_id, address=client_address(request), **fields
    )
    await request.app.state.bus.publish("alerts.transition", alert)
    return alert


@router.post("/alerts/{alert_id}/ack")
async def acknowledge(
    alert_id: int, body: AckIn, request: Request, principal: Principal = ACT
) -> dict[str, Any]:
    return await _transition(request, service.acknowledge, principal, alert_id, note=body.note)


@router.post("/alerts/{alert_id}/resolve")
async def resolve(
    alert_id: int, body: ResolveIn, request: Request, principal: Principal = ACT
) -> dict[str, Any]:
    return await _transition(request, service.resolve, principal, alert_id, note=body.note)


@router.post("/alerts/{alert_id}/assign")
async def assign(
    alert_id: int, body: AssignIn, request: Request, principal: Principal = ACT
) -> dict[str, Any]:
    return await _transition(request, service.assign, principal, alert_id, assignee=body.assignee)


# -- silences -------------------------------------------------------------------------------
@router.get("/silences")
async def list_silences(
    request: Request, _p: Principal = READ, active: bool = False
) -> list[dict[str, Any]]:
    return await _run(routing.list_silences, _db(request), active_only=active)


@router.post("/silences", status_code=201)
async def create_silence(
    body: routing.SilenceIn, request: Request, principal: Principal = ACT
) -> dict[str, Any]:
    return await _run(
        service.create_silence, _db(request), principal, body, address=client_address(request)
    )


@router.delete("/silences/{silence_id}", status_code=204)
async def delete_silence(silence_id: int, request: Request, principal: Principal = ACT) -> Response:
    await _run(
        service.remove_silence, _db(request), principal, silence_id, address=client_address(request)
    )
    return Response(status_code=204)


# -- rules ----------------------------------------------------------------------------------
@router.get("/rules")
async def list_rules(request: Request, _p: Principal = READ) -> list[Any]:
    rules = await _run(rules_service.list_rules, _db(request))
    return [r.model_dump(mode="json", by_alias=True) for r in rules]


@router.get("/rules/{code}")
async def get_rule(code: str, request: Request, _p: Principal = READ) -> Any:
    rule = await _run(rules_service.get_rule, _db(request), code)
    return rule.model_dump(mode="json", by_alias=True)


@router.put("/rules/{code}")
async def put_rule(code: str, request: Request, principal: Principal = WRITE_RULES) -> Any:
    data = await request.json()
    if isinstance(data, dict):
        data.setdefault("code", code)
    rule = rules_service.parse_rule(data)
    if rule.code != code:
        from taydo.core.errors import Invalid

        raise Invalid("mã quy tắc trong thân khác đường dẫn / body code differs from the path")
    await _run(
        rules_service.save_rules,
        _db(request),
        [rule],
        actor=principal.username,
        audit=service.rule_audit_hook(principal, client_address(request)),
    )
    await request.app.state.bus.publish("rules.changed", {"codes": [code]})
    return rule.model_dump(mode="json", by_alias=True)


@router.delete("/rules/{code}", status_code=204)
async def delete_rule(code: str, request: Request, principal: Principal = WRITE_RULES) -> Response:
    await _run(
        rules_service.delete_rule,
        _db(request),
        code,
        audit=service.rule_audit_hook(principal, client_address(request)),
    )
    await request.app.state.bus.publish("rules.changed", {"codes": [code]})
    return Response(status_code=204)


# -- notification routing -------------------------------------------------------------------
@router.get("/notify/channels")
async def list_channels(request: Request, _p: Principal = WRITE_RULES) -> Any:
    return await _run(routing.list_channels, _db(request))


@router.put("/notify/channels/{code}")
async def put_channel(
    code: str,
    body: routing.ChannelIn,
    request: Request,
    principal: Principal = WRITE_RULES,
) -> Any:
    if body.code != code:
        from taydo.core.errors import Invalid

        raise Invalid("mã kênh trong thân khác đường dẫn / body code differs from the path")
    return await _run(
        service.save_channel, _db(request), principal, body, address=client_address(request)
    )


@router.get("/notify/routes")
async def list_routes(request: Request, _p: Principal = WRITE_RULES) -> Any:
    return await _run(routing.list_routes, _db(request))


@router.put("/notify/routes")
async def put_routes(
    body: list[routing.RouteIn], request: Request, principal: Principal = WRITE_RULES
) -> Any:
    count = await _run(routing.save_routes, _db(request), body)
    return {"saved": count}


@router.get("/notify/outbox")
async def list_deliveries(
    request: Request,
    _p: Principal = WRITE_RULES,
    status: str | None = None,
    channel: str | None = None,
    alert_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Any:
    """Notification deliveries, newest first (``status=dead``: the failed ones)."""
    return await _run(
        service.list_deliveries,
        _db(request),
        status=status,
        channel=channel,
        alert_id=alert_id,
        limit=limit,
        offset=offset,
    )


@router.post("/notify/outbox/retry")
async def retry_deliveries(
    body: RetryIn, request: Request, principal: Principal = WRITE_RULES
) -> dict[str, Any]:
    """Send dead letters again (after their channel was created or fixed)."""
    queued = await _run(
        service.retry_deliveries,
        _db(request),
        principal,
        ids=body.ids,
        channel=body.channel,
        address=client_address(request),
    )
    request.app.state.alerting.notifier.wake()
    return {"queued": queued}


# -- live stream ----------------------------------------------------------------------------
@router.get("/stream")
async def stream(
    request: Request,
    principal: Principal = READ,
    topics: str = "alerts",
    entity: ListParam = None,
    metric: ListParam = None,
    area: ListParam = None,
    min_severity: str | None = None,
) -> StreamingResponse:
    hub = request.app.state.alerting.hub
    client = hub.connect(
        filter_for(
            principal,
            topics=topics,
            entity=entity,
            metric=metric,
            area=area,
            min_severity=min_severity,
        )
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
        area = session.get(Area, row.area_code) if row.area_code else None
        coords = None
        if row.entity_id:
            found = session.execute(
                select(Entity.lon, Entity.lat).where(Entity.entity_id == row.entity_id)
            ).first()
            if found and found[0] is not None and found[1] is not None:
                coords = (float(found[0]), float(found[1]))
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
        area_name=area.name if area else None,
        instruction=instruction,
        category=category,
        web=f"{settings.public_base_url}/api/v1/cap/alerts/{alert_id}.xml",
        lon_lat=coords,
    )


@router.get("/cap/alerts.xml")
async def cap_alerts_feed(request: Request, _p: Principal | None = PUBLIC) -> Response:
    settings = request.app.state.settings
    alerts = await _run(_public_alerts, _db(request))
    body = cap_feed(
        alerts,
        sender=settings.cap_sender,
        title="Cảnh báo công khai / Public warnings — Tây Đô IOC",
        base_url=settings.public_base_url,
        tz=settings.tz,
    )
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@router.get("/cap/alerts/{alert_id}.xml")
async def cap_alert(alert_id: int, request: Request, _p: Principal | None = PUBLIC) -> Response:
    body = await _run(_cap_for, _db(request), request.app.state.settings, alert_id)
    return Response(body, media_type="application/cap+xml; charset=utf-8")
