"""REST routes of the pull connectors (``connectors:admin``); secrets are never returned."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from taydo.core.access import Principal, client_address, requires
from taydo.core.deps import AppRuntime, Db, Plugins
from taydo.ingest.connectors import service
from taydo.ingest.connectors.base import kinds
from taydo.ingest.connectors.service import Scheduler

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/connectors", tags=["connectors"])
ADMIN = requires("connectors:admin")


@router.get("", summary="Kết nối kéo dữ liệu / List pull connectors")
async def list_connectors(
    request: Request, db: Db, plugins: Plugins, _p: Principal = ADMIN
) -> dict[str, Any]:
    items = await asyncio.to_thread(service.list_connectors, db)
    return {"items": items, "kinds": sorted(kinds(plugins))}


@router.post("", status_code=201, summary="Tạo kết nối / Create a connector")
async def create_connector(
    request: Request, runtime: AppRuntime, body: service.ConnectorIn, principal: Principal = ADMIN
) -> dict[str, Any]:
    return await asyncio.to_thread(
        service.create_connector,
        runtime.db,
        runtime.plugins,
        runtime.secrets,
        principal,
        body,
        client_address(request),
    )


@router.get("/{name}", summary="Một kết nối / One connector with its status")
async def get_connector(
    request: Request, db: Db, name: str, _p: Principal = ADMIN
) -> dict[str, Any]:
    return await asyncio.to_thread(service.get_connector, db, name)


@router.patch("/{name}", summary="Sửa kết nối / Change a connector's config, secret or schedule")
async def update_connector(
    request: Request,
    runtime: AppRuntime,
    name: str,
    body: service.ConnectorPatch,
    principal: Principal = ADMIN,
) -> dict[str, Any]:
    return await asyncio.to_thread(
        service.update_connector,
        runtime.db,
        runtime.plugins,
        runtime.secrets,
        principal,
        name,
        body,
        client_address(request),
    )


@router.delete("/{name}", status_code=204, summary="Xóa kết nối / Delete a connector")
async def delete_connector(
    request: Request, db: Db, name: str, principal: Principal = ADMIN
) -> None:
    await asyncio.to_thread(service.delete_connector, db, principal, name, client_address(request))


@router.post("/{name}/run", summary="Chạy ngay / Run a connector now")
async def run_connector(
    request: Request, runtime: AppRuntime, db: Db, name: str, _p: Principal = ADMIN
) -> dict[str, Any]:
    await asyncio.to_thread(service.get_connector, db, name)  # 404 first
    return await runtime.get(Scheduler).run_once(name)
