"""REST routes of data health (see ``taydo.ingest.health``)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from taydo.core.access import Principal, requires
from taydo.core.deps import AppRuntime, Db
from taydo.ingest import health
from taydo.observations.runtime import settled

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["data health"])
READ = requires("catalog:read")


@router.get("/health/datasets", summary="Sức khỏe dữ liệu / Health of every dataset")
async def all_health(
    request: Request, db: Db, runtime: AppRuntime, _principal: Principal = READ
) -> dict[str, Any]:
    await settled(runtime)
    items = await asyncio.to_thread(health.health_of_all, db)
    return {"items": items}


@router.get("/datasets/{code}/health", summary="Sức khỏe một bộ dữ liệu / Dataset health")
async def one_health(
    request: Request, db: Db, runtime: AppRuntime, code: str, _principal: Principal = READ
) -> dict[str, Any]:
    await settled(runtime)
    return await asyncio.to_thread(health.dataset_health, db, code)
