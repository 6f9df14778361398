"""Console screens of reports: generate a report (kind, day, format → download), the
scheduled jobs and their recent runs, and the agency scorecards (a sortable table coloured
by status)."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.deps import AppSettings, Db
from taydo.core.errors import Invalid
from taydo.reports import service
from taydo.reports.api import download, generate
from taydo.web.shell import page, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
FORMAT_LABELS = {"pdf": "PDF", "xlsx": "Excel (.xlsx)"}  # names, not words to translate


def _day(text: str, *, month: bool = False) -> date | None:
    """A day from the form (``YYYY-MM-DD``, or ``YYYY-MM`` for a month); empty: default."""
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(f"{text}-01" if month and len(text) == 7 else text)
    except ValueError:
        raise Invalid(f"ngày không hợp lệ / not a date: {text[:20]!r}") from None


@router.get("/reports")
async def reports_page(
    request: Request,
    db: Db,
    settings: AppSettings,
    principal: Annotated[Principal, page("reports:read")],
) -> Response:
    schedules = principal.has("reports:schedule")

    def work() -> dict[str, Any]:
        now = clock.now()
        return {
            "kinds": service.KINDS,
            "formats": FORMAT_LABELS,
            "sections": service.SECTIONS,
            "defaults": {k: service.default_day(k, now, settings.tz) for k in service.KINDS},
            "jobs": service.list_jobs(db) if schedules else [],
            "runs": service.list_runs(db, limit=20) if schedules else [],
            "schedules": schedules,
            "agencies": sorted(principal.agencies),
        }

    return render(request, "reports/index.html", await asyncio.to_thread(work))


@router.get("/reports/download")
async def reports_download(
    db: Db,
    settings: AppSettings,
    principal: Annotated[Principal, page("reports:read")],
    kind: str = "daily",
    day: str = "",
    format: str = "pdf",
    agency: str = "",
) -> Response:
    rendered = await asyncio.to_thread(
        generate,
        db,
        settings,
        principal,
        kind=kind,
        day=_day(day),
        agency=agency.strip()[:40] or None,
        fmt=format,
    )
    return download(rendered)


def scorecard_view(
    database: Database,
    settings: Any,
    principal: Principal,
    *,
    month: date | None,
    sort: str,
    order: str,
) -> dict[str, Any]:
    scope = service.make_scope(
        database, kind="monthly", tz=settings.tz, day=month, principal=principal
    )
    rows = service.scorecards(scope)
    codes = {m.code for m in service.MEASURES}
    if sort in codes:
        present = [r for r in rows if r["measures"][sort]["value"] is not None]
        missing = [r for r in rows if r["measures"][sort]["value"] is None]
        present.sort(key=lambda r: r["measures"][sort]["value"], reverse=order == "desc")
        rows = present + missing  # no data sorts last either way
    elif sort == "status":
        rank = {"red": 0, "amber": 1, "green": 2, "grey": 3}
        rows.sort(key=lambda r: rank.get(r["status"], 4), reverse=order == "desc")
    else:
        sort = "code"
        rows.sort(key=lambda r: r["code"], reverse=order == "desc")
    return {
        "rows": rows,
        "measures": service.MEASURES,
        "statuses": service.STATUSES,
        "month": f"{scope.day:%Y-%m}",
        "sort": sort,
        "order": order,
    }


@router.get("/scorecards")
async def scorecards_page(
    request: Request,
    db: Db,
    settings: AppSettings,
    principal: Annotated[Principal, page("reports:read")],
    month: str = "",
    sort: str = "status",
    order: str = "asc",
) -> Response:
    view = await asyncio.to_thread(
        scorecard_view,
        db,
        settings,
        principal,
        month=_day(month, month=True),
        sort=sort,
        order="desc" if order == "desc" else "asc",
    )
    return render(request, "reports/scorecards.html", view)
