"""REST routes of the pull connectors (``connectors:admin``); secrets are never returned."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from taydo.core.access import Principal, client_address, requires
from taydo.ingest.connectors import service
from taydo.ingest.connectors.base import kinds

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/connectors", tags=["connectors"])
ADMIN = requires("connectors:admin")


@router.get("", summary="Kết nối kéo dữ liệu / List pull connectors")
async def list_connectors(request: Request, _p: Principal = ADMIN) -> dict[str, Any]:
    items = await asyncio.to_thread(service.list_connectors, request.app.state.db)
    return {"items": items, "kinds": sorted(kinds(request.app.state.plugins))}


@router.post("", status_code=201, summary="Tạo kết nối / Create a connector")
async def create_connector(
    request: Request, body: service.ConnectorIn, principal: Principal = ADMIN
) -> dict[str, Any]:
    state = request.app.state
    return await asyncio.to_thread(
        service.create_connector,
        state.db,
        state.plugins,
        state.secrets,
        principal,
        body,
        client_address(request),
    )


@router.get("/{name}", summary="Một kết nối / One connector with its status")
async def get_connector(request: Request, name: str, _p: Principal = ADMIN) -> dict[str, Any]:
    return await asyncio.to_thread(service.get_connector, request.app.state.db, name)


@router.patch("/{name}", summary="Sửa kết nối / Change a connector's config, secret or schedule")
async def update_connector(
    request: Request, name: str, body: service.ConnectorPatch, principal: Principal = ADMIN
) -> dict[str, Any]:
    state = request.app.state
    return await asyncio.to_thread(
        service.update_connector,
        state.db,
        state.plugins,
        state.secrets,
        principal,
        name,
        body,
        client_address(request),
    )


@router.delete("/{name}", status_code=204, summary="Xóa kết nối / Delete a connector")
async def delete_connector(request: Request, name: str, principal: Principal = ADMIN) -> None:
    await asyncio.to_thread(
        service.delete_connector, request.app.state.db, principal, name, client_address(request)
    )


@router.post("/{name}/run", summary="Chạy ngay / Run a connector now")
async def run_connector(request: Request, name: str, _p: Principal = ADMIN) -> dict[str, Any]:
    await asyncio.to_thread(service.get_connector, request.app.state.db, name)  # 404 first
    return await request.app.state.connectors.run_once(name)
