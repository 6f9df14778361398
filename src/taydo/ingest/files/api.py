"""REST routes of the file gateway: uploads, their reports, and the column mapping."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Body, File, Form, Request, UploadFile
from fastapi.responses import Response

from taydo.core.access import Principal, client_address, requires
from taydo.core.bounds import RowId
from taydo.core.deps import AppRuntime, Db
from taydo.core.errors import TaydoError
from taydo.core.responses import answers_as
from taydo.ingest.files import service

__all__ = ["TooLarge", "read_upload", "router"]

router = APIRouter(prefix="/api/v1/datasets", tags=["files"])
WRITE = requires("observations:write")
READ = requires("catalog:read")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class TooLarge(TaydoError):
    status_code = 413


@router.get("/{code}/column-mapping", summary="Ánh xạ cột / Column mapping of a dataset")
async def get_mapping(
    request: Request, response: Response, db: Db, code: str, _p: Principal = READ
) -> dict[str, Any]:
    """The mapping uploads are read with: the saved one, else the default one the dataset's
    template defines (header ``X-Taydo-Mapping``: ``saved`` or ``default``)."""
    mapping, is_default = await asyncio.to_thread(service.effective_mapping, db, code)
    response.headers["X-Taydo-Mapping"] = "default" if is_default else "saved"
    return mapping


@router.put("/{code}/column-mapping", summary="Đặt ánh xạ cột / Set the column mapping")
async def put_mapping(
    request: Request,
    db: Db,
    code: str,
    mapping: dict[str, Any] = Body(...),  # noqa: B008
    principal: Principal = WRITE,
) -> dict[str, Any]:
    return await asyncio.to_thread(
        service.set_mapping, db, principal, code, mapping, client_address(request)
    )


async def read_upload(upload: UploadFile, limit: int) -> bytes:
    """The uploaded file, refused with 413 once it passes ``limit`` bytes."""
    data = bytearray()
    while chunk := await upload.read(1 << 20):
        data += chunk
        if len(data) > limit:
            raise TooLarge(f"tệp vượt quá {limit} byte / file is larger than {limit} bytes")
    return bytes(data)


@router.post("/{code}/uploads", status_code=201, summary="Nạp tệp / Import an .xlsx or .csv")
async def upload_file(
    request: Request,
    runtime: AppRuntime,
    code: str,
    file: UploadFile = File(..., description=".xlsx or .csv"),  # noqa: B008
    mode: str = Form("accept_valid", description="accept_valid | all_or_nothing"),
    principal: Principal = WRITE,
) -> dict[str, Any]:
    data = await read_upload(file, runtime.settings.max_upload_bytes)
    return await service.import_file(
        runtime,
        principal,
        code,
        file.filename or "upload",
        data,
        mode=mode,
        address=client_address(request),
    )


@router.get(
    "/{code}/upload-template.xlsx",
    summary="Tệp mẫu để điền / A workbook to fill in",
    **answers_as(XLSX, "the workbook"),
)
async def upload_template(
    request: Request, db: Db, code: str, principal: Principal = READ
) -> Response:
    """The dataset's data sheet with its mapped headers, its stations, and how to write times
    and numbers (the saved mapping's headers, else the default mapping's; 404 while the
    dataset has neither a mapping nor stations with metrics)."""
    data = await asyncio.to_thread(service.template_xlsx, db, principal, code)
    return Response(
        data,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{code}-mau.xlsx"'},
    )


@router.get("/{code}/uploads/{upload_id}", summary="Một lần nạp tệp / One upload")
async def get_upload(
    request: Request, db: Db, code: str, upload_id: RowId, principal: Principal = READ
) -> dict[str, Any]:
    return await asyncio.to_thread(service.get_upload, db, principal, code, upload_id)


@router.get(
    "/{code}/uploads/{upload_id}/report.xlsx",
    summary="Báo cáo kiểm tra / Row report",
    **answers_as(XLSX, "the per-row report"),
)
async def upload_report(
    request: Request, db: Db, code: str, upload_id: RowId, principal: Principal = READ
) -> Response:
    data = await asyncio.to_thread(service.report_xlsx, db, principal, code, upload_id)
    return Response(
        data,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="upload-{upload_id}-report.xlsx"'},
    )
