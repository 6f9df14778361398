"""REST API of the retention policies (``taydo.observations.policies``).

Reading is open to every role that reads the catalog; a dataset's policy is changed with
``catalog:write`` within the caller's agencies, the default policy with ``catalog:admin``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from taydo.core.access import Principal, client_address, requires
from taydo.core.deps import Db
from taydo.observations.policies import list_policies, set_policy, unset_policy
from taydo.observations.schemas import RetentionIn, RetentionOut

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["observations"])

READ = requires("catalog:read")
WRITE = requires("catalog:write")
ADMIN = requires("catalog:admin")


@router.get("/retention", summary="Thời hạn lưu dữ liệu / Retention policies")
async def get_policies(db: Db, _who: Principal = READ) -> dict[str, Any]:
    """The default policy (null: none, every series kept forever) and each dataset's."""
    return await run_in_threadpool(list_policies, db)


@router.put("/retention/default", response_model=RetentionOut)
async def put_default(
    request: Request, db: Db, body: RetentionIn, who: Principal = ADMIN
) -> dict[str, str]:
    """The policy of every series whose dataset has none of its own."""
    data = body.model_dump()
    return await run_in_threadpool(set_policy, db, None, data, who, client_address(request))


@router.delete("/retention/default", status_code=204)
async def delete_default(request: Request, db: Db, who: Principal = ADMIN) -> Response:
    await run_in_threadpool(unset_policy, db, None, who, client_address(request))
    return Response(status_code=204)


@router.put("/datasets/{code}/retention", response_model=RetentionOut)
async def put_dataset_policy(
    request: Request, db: Db, code: str, body: RetentionIn, who: Principal = WRITE
) -> dict[str, str]:
    data = body.model_dump()
    return await run_in_threadpool(set_policy, db, code, data, who, client_address(request))


@router.delete("/datasets/{code}/retention", status_code=204)
async def delete_dataset_policy(
    request: Request, db: Db, code: str, who: Principal = WRITE
) -> Response:
    """The dataset follows the default policy again."""
    await run_in_threadpool(unset_policy, db, code, who, client_address(request))
    return Response(status_code=204)
