"""REST routes of the quarantine: ``/api/v1/quarantine`` (see ``taydo.ingest.replay``)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel, Field

from taydo.core.access import Principal, client_address, requires
from taydo.core.bounds import Offset, RowId
from taydo.core.deps import AppRuntime, Db
from taydo.core.inputs import INPUT_CONFIG
from taydo.ingest import replay

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/quarantine", tags=["quarantine"])
READ = requires("quarantine:read")
ACT = requires("quarantine:act")


class ReplayBody(BaseModel):
    model_config = INPUT_CONFIG

    raw: Any = Field(None, description="The fixed raw input; omit to replay it unchanged.")


class DiscardBody(BaseModel):
    model_config = INPUT_CONFIG

    note: str = Field("", max_length=500, description="Why it is discarded.")


@router.get("", summary="Dữ liệu bị cách ly / List quarantined input")
async def list_quarantine(
    request: Request,
    db: Db,
    source: str | None = None,
    reason: str | None = Query(None, description="Text the reason contains."),
    agency: str | None = None,
    status: str | None = Query(None, pattern="^(pending|replayed|discarded)$"),
    limit: int = Query(50, ge=1, le=500),
    offset: Offset = 0,
    principal: Principal = READ,
) -> dict[str, Any]:
    return await asyncio.to_thread(
        replay.list_entries,
        db,
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
    request: Request, db: Db, entry_id: RowId, principal: Principal = READ
) -> dict[str, Any]:
    return await asyncio.to_thread(replay.get_entry, db, principal, entry_id)


@router.post("/{entry_id}/replay", summary="Sửa và nạp lại / Fix and replay")
async def replay_quarantine(
    request: Request,
    runtime: AppRuntime,
    entry_id: RowId,
    body: ReplayBody = Body(default_factory=ReplayBody),  # noqa: B008
    principal: Principal = ACT,
) -> dict[str, Any]:
    """Re-runs validation on the raw input (or on ``raw``, the fixed version); stores it
    when valid (422 with the reasons otherwise, and the entry stays pending)."""
    return await replay.replay_entry(
        runtime, principal, entry_id, body.raw, address=client_address(request)
    )


@router.post("/{entry_id}/discard", summary="Bỏ qua / Discard")
async def discard_quarantine(
    request: Request,
    db: Db,
    entry_id: RowId,
    body: DiscardBody = Body(default_factory=DiscardBody),  # noqa: B008
    principal: Principal = ACT,
) -> dict[str, Any]:
    return await asyncio.to_thread(
        replay.discard,
        db,
        principal,
        entry_id,
        body.note,
        client_address(request),
    )
