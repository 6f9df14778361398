"""REST routes of data health (see ``taydo.ingest.health``)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from taydo.core.access import Principal, requires
from taydo.core.lifecycle import observations_settled
from taydo.ingest import health

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["data health"])
READ = requires("catalog:read")


@router.get("/health/datasets", summary="Sức khỏe dữ liệu / Health of every dataset")
async def all_health(request: Request, _principal: Principal = READ) -> dict[str, Any]:
    await observations_settled(request.app)
    items = await asyncio.to_thread(health.health_of_all, request.app.state.db)
    return {"items": items}


@router.get("/datasets/{code}/health", summary="Sức khỏe một bộ dữ liệu / Dataset health")
async def one_health(request: Request, code: str, _principal: Principal = READ) -> dict[str, Any]:
    await observations_settled(request.app)
    return await asyncio.to_thread(health.dataset_health, request.app.state.db, code)
