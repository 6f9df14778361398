"""REST routes of the quarantine: ``/api/v1/quarantine`` (see ``taydo.ingest.replay``)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel, Field

from taydo.core.access import Principal, requires
from taydo.core.errors import Invalid
from taydo.ingest import replay
from taydo.ingest.mqtt.gateway import MqttGateway, parse_broker_url

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/quarantine", tags=["quarantine"])
READ = requires("quarantine:read")
ACT = requires("quarantine:act")


class ReplayBody(BaseModel):
    raw: Any = Field(None, description="The fixed raw input; omit to replay it unchanged.")


class DiscardBody(BaseModel):
    note: str = Field("", max_length=500, description="Why it is discarded.")


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _mqtt_parser(request: Request) -> MqttGateway:
    """The running gateway parses replays; without one, a parser with the same settings."""
    state = request.app.state
    running = getattr(state, "mqtt", None)
    if running is not None:
        return running
    settings = state.settings
    from taydo.ingest.gateways import iota_services

    return MqttGateway(
        parse_broker_url(settings.mqtt_url or "mqtt://127.0.0.1"),
        series=state.series,
        resolver=state.resolver,
        write=None,  # type: ignore[arg-type]
        quarantine=None,  # type: ignore[arg-type]
        prefix=settings.mqtt_topic_prefix,
        iota=iota_services(settings.mqtt_iota_services),
    )


@router.get("", summary="Dữ liệu bị cách ly / List quarantined input")
async def list_quarantine(
    request: Request,
    source: str | None = None,
    reason: str | None = Query(None, description="Text the reason contains."),
    agency: str | None = None,
    status: str | None = Query(None, pattern="^(pending|replayed|discarded)$"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
    principal: Principal = READ,
) -> dict[str, Any]:
    return await asyncio.to_thread(
        replay.list_entries,
        request.app.state.db,
        principal,
        source=source,
        reason=reason,
        agency=agency,
        status=status,
        limit=limit,
        offset=offset,
    )


@router.get("/{entry_id}", summary="Một mục cách ly / One quarantined input")
async def get_quarantine(
    request: Request, entry_id: int, principal: Principal = READ
) -> dict[str, Any]:
    return await asyncio.to_thread(replay.get_entry, request.app.state.db, principal, entry_id)


@router.post("/{entry_id}/replay", summary="Sửa và nạp lại / Fix and replay")
async def replay_quarantine(
    request: Request,
    entry_id: int,
    body: ReplayBody = Body(default_factory=ReplayBody),  # noqa: B008
    principal: Principal = ACT,
) -> dict[str, Any]:
    """Re-runs validation on the raw input (or on ``raw``, the fixed version); stores it
    when valid (422 with the reasons otherwise, and the entry stays pending)."""
    state = request.app.state
    plan = await asyncio.to_thread(
        replay.plan_replay,
        state.db,
        principal,
        entry_id,
        body.raw,
        series=state.series,
        mqtt_parser=_mqtt_parser(request),
    )
    if plan.reasons or not plan.rows:
        raise Invalid(
            "vẫn chưa hợp lệ / still invalid", reasons=plan.reasons or ["no values in the input"]
        )
    result = await state.writer.write_rows(plan.rows)
    entry = await asyncio.to_thread(
        replay.mark_replayed, state.db, principal, plan, result.accepted, _address(request)
    )
    return {"entry": entry, "accepted": result.accepted, "duplicates": result.duplicates}


@router.post("/{entry_id}/discard", summary="Bỏ qua / Discard")
async def discard_quarantine(
    request: Request,
    entry_id: int,
    body: DiscardBody = Body(default_factory=DiscardBody),  # noqa: B008
    principal: Principal = ACT,
) -> dict[str, Any]:
    return await asyncio.to_thread(
        replay.discard, request.app.state.db, principal, entry_id, body.note, _address(request)
    )
