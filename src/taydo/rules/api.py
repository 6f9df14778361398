"""REST API of the rules: list, read, save (validated) and delete alert rules.

A change is journalled in the same transaction and announced as ``rules.changed``, which the
alert engine follows.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from taydo.auth import journal
from taydo.core.access import Principal, client_address, requires
from taydo.core.deps import AppRuntime, Db
from taydo.core.errors import Invalid
from taydo.rules import service
from taydo.rules.service import AuditHook

__all__ = ["router"]

# Listed with the alerts in the API docs, where integrators have always found them.
router = APIRouter(prefix="/api/v1", tags=["alerts"])
READ = requires("alerts:read")
WRITE_RULES = requires("rules:write")


async def _run(func: Any, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(func, *args, **kwargs)


def _audit(principal: Principal, address: str | None) -> AuditHook:
    """The journal entry of each saved or deleted rule, in the saving transaction."""

    def hook(session: Session, action: str, code: str, summary: dict[str, Any]) -> None:
        journal.record(
            session,
            actor=principal.username,
            action=action,
            object_type="rule",
            object_id=code,
            summary=summary,
            address=address,
        )

    return hook


@router.get("/rules")
async def list_rules(request: Request, db: Db, _p: Principal = READ) -> list[Any]:
    rules = await _run(service.list_rules, db)
    return [r.model_dump(mode="json", by_alias=True) for r in rules]


@router.get("/rules/{code}")
async def get_rule(code: str, request: Request, db: Db, _p: Principal = READ) -> Any:
    rule = await _run(service.get_rule, db, code)
    return rule.model_dump(mode="json", by_alias=True)


@router.put("/rules/{code}")
async def put_rule(
    code: str,
    data: Annotated[
        dict[str, Any],
        Body(description="the rule (one of the kinds of docs/rules.md); its code may be left out"),
    ],
    request: Request,
    db: Db,
    runtime: AppRuntime,
    principal: Principal = WRITE_RULES,
) -> Any:
    # FastAPI reads the body: an empty or non-JSON one is a 422, as on every other route.
    data.setdefault("code", code)
    rule = service.parse_rule(data)
    if rule.code != code:
        raise Invalid("mã quy tắc trong thân khác đường dẫn / body code differs from the path")
    await _run(
        service.save_rules,
        db,
        [rule],
        actor=principal.username,
        audit=_audit(principal, client_address(request)),
    )
    # Announced: this process's engine knows before the answer that its rules are stale, so
    # the next value it judges meets the new rule (other processes hear it on the bus).
    await runtime.announce("rules.changed", {"codes": [code]})
    return rule.model_dump(mode="json", by_alias=True)


@router.delete("/rules/{code}", status_code=204)
async def delete_rule(
    code: str, request: Request, db: Db, runtime: AppRuntime, principal: Principal = WRITE_RULES
) -> Response:
    await _run(
        service.delete_rule,
        db,
        code,
        audit=_audit(principal, client_address(request)),
    )
    # Announced: this process's engine knows before the answer that its rules are stale, so
    # the next value it judges meets the new rule (other processes hear it on the bus).
    await runtime.announce("rules.changed", {"codes": [code]})
    return Response(status_code=204)
