"""REST API of the ingest domain: the HTTP observation gateway.

The handler stays thin and never blocks the event loop: the body is read with a hard size
limit, decoding + validation run in one worker-thread hop, the valid rows go to the group-commit
writer, rejected items to the quarantine, and the answer comes after both have committed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from taydo.catalog.series import SeriesIndex
from taydo.core import clock
from taydo.core.access import Principal, requires
from taydo.core.db import Database
from taydo.core.deps import AppRuntime, AppSettings
from taydo.core.errors import Invalid, TaydoError
from taydo.core.jsonbody import loads
from taydo.core.responses import FastJSONResponse
from taydo.core.settings import Settings
from taydo.ingest import quarantine
from taydo.ingest.counts import GatewayCounts
from taydo.ingest.schemas import IngestResult
from taydo.ingest.validate import Validated, validate_items
from taydo.observations.runtime import Series, Writer
from taydo.observations.service import ObservationWriter

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["ingest"])

SOURCE = "http"
WRITE = requires("observations:write")


class TooLarge(TaydoError):
    status_code = 413


class Malformed(TaydoError):
    status_code = 400


def _too_large(limit: int) -> TooLarge:
    return TooLarge(
        f"yêu cầu vượt quá {limit} byte / request body is larger than {limit} bytes",
        limit_bytes=limit,
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) anything over ``limit`` bytes: by Content-Length
    first, then by counting while reading (chunked bodies announce no length)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise Malformed("Content-Length không hợp lệ / invalid Content-Length") from None
        if length > limit:
            raise _too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    return bytes(body)


def decode_array(body: bytes) -> list[Any]:
    """The JSON array of a body. Non-standard number tokens (NaN, Infinity, 1e999) are
    accepted here so that the items holding them are rejected one by one, not the body;
    what no decoder should take (bad UTF-8, a lone surrogate, runaway nesting) is a 400.

    No depth walk on this hot path: an accepted item is flat by the time it is validated,
    and a rejected one is kept in quarantine as text, clipped if it is deeply nested."""
    data = loads(body, max_depth=None)
    if not isinstance(data, list):
        raise Invalid("nội dung phải là một mảng JSON / the body must be a JSON array")
    return data


def _scope(principal: Principal) -> Any:
    if principal.role in ("admin", "operator"):
        return None  # may write every agency's series: skip the check
    return principal.may_write_agency


def _prepare(
    settings: Settings,
    series: SeriesIndex,
    writer: ObservationWriter,
    body: bytes,
    principal: Principal,
) -> tuple[list[Any], Validated, bytes | None]:
    """Decode and check the body, and fold the valid rows' rollup deltas here, on a worker
    thread: the writer's thread, which every request waits for, then only concatenates."""
    items = decode_array(body)
    if len(items) > settings.max_batch_items:
        raise TooLarge(
            f"quá {settings.max_batch_items} mục / more than {settings.max_batch_items} items",
            limit_items=settings.max_batch_items,
        )
    checked = validate_items(items, series, now_ms=clock.now_ms(), may_write=_scope(principal))
    folded = writer.fold(checked.rows) if checked.rows else None
    return items, checked, folded


def _quarantine(
    database: Database, items: list[Any], checked: Validated, principal: Principal
) -> None:
    # Unknown series carry no agency: file them under the sender's agency when it has one.
    fallback = min(principal.agencies) if principal.agencies else None
    quarantine.put_many(
        database,
        [
            quarantine.Entry(SOURCE, reason, items[index], agency or fallback)
            for index, reason, agency in checked.rejected
        ],
    )


@router.post(
    "/observations",
    response_model=IngestResult,
    summary="Gửi quan trắc / Send observations",
    responses={
        400: {"description": "Malformed JSON"},
        413: {"description": "Too many items or too many bytes"},
        422: {"description": "The body is not a JSON array"},
        503: {"description": "Storage unavailable; nothing of this request was stored"},
    },
)
async def post_observations(
    request: Request,
    runtime: AppRuntime,
    settings: AppSettings,
    series: Series,
    writer: Writer,
    principal: Principal = WRITE,
) -> FastJSONResponse:
    """A JSON array of ``{entity_id, metric, ts, value, quality?}``. Answers after the
    valid items are committed; invalid ones are listed and quarantined."""
    body = await read_body(request, settings.max_request_bytes)
    items, checked, folded = await asyncio.to_thread(
        _prepare, settings, series, writer, body, principal
    )
    if checked.rejected:
        stored, _ = await asyncio.gather(
            writer.write_rows(checked.rows, folded),
            asyncio.to_thread(_quarantine, runtime.db, items, checked, principal),
        )
    else:
        stored = await writer.write_rows(checked.rows, folded)
    counts = runtime.find(GatewayCounts)
    if counts is not None:
        counts.add(
            "http",
            accepted=stored.accepted,
            duplicates=stored.duplicates,
            rejected=len(checked.rejected),
        )
    return FastJSONResponse(
        {
            "accepted": stored.accepted,
            "duplicates": stored.duplicates,
            "rejected": [{"index": i, "reason": reason} for i, reason, _ in checked.rejected],
        }
    )
