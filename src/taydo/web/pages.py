"""Console pages of the shell: static assets, login/logout, language, overview, areas, data.

Pages call the domain services directly (never HTTP to the IOC itself). Each route declares who
may call it with :func:`taydo.web.shell.page` (the console's form of ``requires``/``public``).
"""

from __future__ import annotations

import json
import mimetypes
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from taydo.core.access import Principal, client_address
from taydo.core.errors import NotFound, TaydoError
from taydo.core.lifecycle import observations_settled
from taydo.web import overview as overview_data
from taydo.web.i18n import LANG_COOKIE, LOCALES, N_
from taydo.web.shell import STATIC_DIR, asset_url, page, render

__all__ = ["router", "safe_next"]

router = APIRouter(include_in_schema=False)


async def startup(app: FastAPI) -> None:
    """The overview's in-memory catalog part (see ``EntityCache``)."""
    app.state.console_entities = overview_data.EntityCache(app.state.db)


YEAR = 365 * 24 * 3600


def safe_next(target: str | None) -> str:
    """Only same-site paths are followed after login or a language switch."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


@router.get("/static/{name:path}", dependencies=[page(None)])
async def static(name: str, request: Request) -> Response:
    path = (STATIC_DIR / name).resolve()
    if STATIC_DIR not in path.parents or not path.is_file():
        return Response("not found", status_code=404, media_type="text/plain")
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    # Versioned URLs (``?v=<hash>``, see asset_url) never change: cache them for good.
    cache = f"public, max-age={YEAR}, immutable" if "v" in request.query_params else "no-cache"
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": cache})


API_DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tây Đô IOC — API</title>
<link rel="stylesheet" href="{css}"></head>
<body><div id="swagger-ui"></div>
<script src="{bundle}"></script><script src="{init}"></script></body></html>
"""


@router.get("/api/docs", dependencies=[page(None)], include_in_schema=False)
async def api_docs() -> Response:
    """Interactive API docs (Swagger UI) from the IOC's own assets: no CDN, strict CSP."""
    html = API_DOCS_PAGE.format(
        css=asset_url("vendor/swagger-ui.css"),
        bundle=asset_url("vendor/swagger-ui-bundle.js"),
        init=asset_url("api-docs.js"),
    )
    return HTMLResponse(html)


# ---------------------------------------------------------------- login, logout, language


@router.get("/login")
async def login_form(
    request: Request, principal: Annotated[Principal | None, page(None)], next: str = "/"
) -> Response:
    if principal is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", {"next": safe_next(next), "username": "", "error": None})


@router.post("/login", dependencies=[page(None)])
async def login_submit(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    from taydo.auth import sessions

    settings = request.app.state.settings
    address = client_address(request) or "unknown"
    try:
        result = await run_in_threadpool(
            sessions.login,
            request.app.state.db,
            username,
            password,
            address=address,
            hours=settings.session_hours,
            secret_key=settings.secret_key.get_secret_value(),
        )
    except TaydoError as exc:
        # The form again with the reason; 400 (not 401: this page is public, it asks for
        # credentials in its body, not with an authentication challenge).
        throttled = exc.status_code == 429
        error = (
            N_("Quá nhiều lần đăng nhập sai, vui lòng thử lại sau")
            if throttled
            else N_("Sai tên đăng nhập hoặc mật khẩu")
        )
        context = {"next": safe_next(next), "username": username[:80], "error": error}
        return render(request, "login.html", context, status=429 if throttled else 400)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        sessions.COOKIE_NAME,
        result.session_id,
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        path="/",
    )
    return response


@router.post("/logout")
async def logout(request: Request, principal: Annotated[Principal | None, page(None)]) -> Response:
    from taydo.auth import sessions

    session_id = request.cookies.get(sessions.COOKIE_NAME)
    if principal is not None and session_id:
        address = client_address(request)
        await run_in_threadpool(sessions.logout, request.app.state.db, session_id, address=address)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(sessions.COOKIE_NAME, path="/")
    return response


@router.get("/lang/{code}", dependencies=[page(None)])
async def switch_language(code: str, next: str = "/") -> Response:
    response = RedirectResponse(safe_next(next), status_code=303)
    if code in LOCALES:
        response.set_cookie(LANG_COOKIE, code, max_age=YEAR, samesite="lax", path="/")
    return response


# ---------------------------------------------------------------- overview


def _json(data: Any) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


def _area(request: Request, code: str | None) -> dict[str, Any] | None:
    if not code:
        return None
    from taydo.web.places import area_summary

    found = area_summary(request.app.state.db, code)
    if found is None:
        raise NotFound(f"no area {code!r}")
    return found


@router.get("/")
async def overview(
    request: Request,
    principal: Annotated[Principal, page("catalog:read")],
    area: str | None = None,
    cycle: int = 15,
) -> Response:
    """The map, counters and live feed; ``?wall=1`` cycles the panels every ``cycle`` s."""
    from taydo.web import live

    database = request.app.state.db
    chosen = await run_in_threadpool(_area, request, area)
    context = {
        "area": chosen,
        "legend": overview_data.legend_groups(),
        "counters": await run_in_threadpool(live.counters, database, principal),
        "feed": await run_in_threadpool(live.feed, database, principal, area),
        "stream_url": live.STREAM_URL,
        "cycle": min(max(cycle, 2), 600),
    }
    return render(request, "overview.html", context)


@router.get("/console/entities.json")
async def overview_entities(
    request: Request,
    principal: Annotated[Principal, page("catalog:read")],
    area: str | None = None,
) -> Response:
    await observations_settled(request.app)
    data = await run_in_threadpool(
        overview_data.entity_rows,
        request.app.state.db,
        principal,
        area=area,
        cache=getattr(request.app.state, "console_entities", None),
    )
    return _json(data)


@router.get("/console/areas.geojson")
async def overview_areas(
    request: Request,
    _principal: Annotated[Principal, page("catalog:read")],
    area: str | None = None,
) -> Response:
    from taydo.web.places import areas_geojson

    province = request.app.state.settings.console_area
    return _json(await run_in_threadpool(areas_geojson, request.app.state.db, province, area))


@router.get("/console/counters")
async def overview_counters(
    request: Request, principal: Annotated[Principal, page("alerts:read")]
) -> Response:
    from taydo.web import live

    counters = await run_in_threadpool(live.counters, request.app.state.db, principal)
    return render(request, "_counters.html", {"counters": counters})


@router.get("/console/feed")
async def overview_feed(
    request: Request,
    principal: Annotated[Principal, page("alerts:read")],
    area: str | None = None,
) -> Response:
    from taydo.web import live

    feed = await run_in_threadpool(live.feed, request.app.state.db, principal, area)
    return render(request, "_feed.html", {"feed": feed})


# ---------------------------------------------------------------- areas

AREA_KINDS = (N_("phường"), N_("xã"), N_("đặc khu"), N_("thành phố"), N_("tỉnh"))


def _areas_context(
    request: Request, principal: Principal, q: str, alerting: bool
) -> dict[str, Any]:
    from taydo.geo.names import loose_key
    from taydo.web import live, places

    database = request.app.state.db
    province = request.app.state.settings.console_area
    alerts = live.active_alerts(database, principal)
    rows = places.areas_table(database, principal, province, alerts)
    if q:
        wanted = loose_key(q)
        rows = [r for r in rows if wanted in loose_key(r["name"])]
    if alerting:
        rows = [r for r in rows if r["alerts"]]
    parent = places.area_summary(database, province)
    return {
        "areas": rows,
        "q": q,
        "alerting": alerting,
        "province_name": parent["name"] if parent else province,
    }


@router.get("/areas")
async def areas(
    request: Request,
    principal: Annotated[Principal, page("catalog:read")],
    q: str = "",
    alerting: bool = False,
) -> Response:
    context = await run_in_threadpool(_areas_context, request, principal, q.strip(), alerting)
    return render(request, "areas.html", context)


# ---------------------------------------------------------------- data

QUARANTINE_STATUSES = (
    ("pending", N_("Chờ xử lý")),
    ("replayed", N_("Đã nạp lại")),
    ("", N_("Tất cả")),
)
PILLARS = {
    "government": N_("Chính quyền số"),
    "economy": N_("Kinh tế số"),
    "society": N_("Xã hội số"),
}


def _data_context(request: Request, principal: Principal, status: str) -> dict[str, Any]:
    from taydo.catalog.service import list_agencies, list_datasets
    from taydo.web import datahealth

    database = request.app.state.db
    agencies, _n = list_agencies(database, limit=10_000)
    datasets, _m = list_datasets(database, limit=10_000)
    if not principal.sees_everything:
        agencies = [a for a in agencies if principal.may_see_agency(a["code"])]
        datasets = [d for d in datasets if principal.may_see_agency(d["agency"])]
    health = datahealth.health_by_dataset(database)
    for dataset in datasets:
        dataset["health"] = health.get(dataset["code"])
    quarantine = datahealth.quarantine_page(database, principal, status=status)
    connectors = datahealth.connector_status(database, principal)
    return {
        "agencies": agencies,
        "datasets": datasets,
        "pillars": PILLARS,
        "health_known": bool(health),
        "quarantine": quarantine,
        "connectors": connectors,
        "status": status,
        "statuses": QUARANTINE_STATUSES,
        "may_replay": principal.has("quarantine:act"),
        "may_upload": principal.has("observations:write"),
        "health_labels": datahealth.HEALTH_LABELS,
    }


@router.get("/data")
async def data(
    request: Request,
    principal: Annotated[Principal, page("catalog:read")],
    status: str = "pending",
) -> Response:
    context = await run_in_threadpool(_data_context, request, principal, status)
    return render(request, "data.html", context)


def _error_text(entry_id: int, exc: TaydoError) -> str:
    reasons = exc.details.get("reasons") or []
    listed = reasons if isinstance(reasons, list) else [reasons]
    return f"#{entry_id}: {exc.message}" + (" — " + "; ".join(map(str, listed)) if listed else "")


async def _entry_page(
    request: Request,
    principal: Principal,
    entry_id: int,
    *,
    error: TaydoError | None = None,
    raw_text: str | None = None,
) -> Response:
    from taydo.web import datahealth

    found = await run_in_threadpool(datahealth.entry, request.app.state.db, principal, entry_id)
    context = {
        "entry": found,
        "raw_text": found["raw_text"] if raw_text is None else raw_text,
        "may_act": principal.has("quarantine:act") and found["status"] == "pending",
        "error": _error_text(entry_id, error) if error else None,
    }
    status = error.status_code if error else 200
    return render(request, "quarantine_entry.html", context, status=status)


@router.get("/data/quarantine/{entry_id}")
async def quarantine_entry(
    request: Request, entry_id: int, principal: Annotated[Principal, page("quarantine:read")]
) -> Response:
    """One quarantined input in full, to fix and replay or to discard."""
    return await _entry_page(request, principal, entry_id)


@router.post("/data/quarantine/{entry_id}/replay")
async def quarantine_replay(
    request: Request,
    entry_id: int,
    principal: Annotated[Principal, page("quarantine:act")],
    raw: Annotated[str | None, Form()] = None,
) -> Response:
    """Replay an entry unchanged (the Data page's button) or as fixed on its own page
    (``raw``); a still-invalid one stays pending and the reasons show where it was sent."""
    from taydo.web import datahealth

    fixed: Any = None
    if raw is not None:
        shown = await run_in_threadpool(datahealth.entry, request.app.state.db, principal, entry_id)
        if raw.strip() != shown["raw_text"].strip():  # edited: JSON when it parses, else text
            try:
                fixed = json.loads(raw)
            except ValueError:
                fixed = raw
    try:
        await datahealth.replay(request, principal, entry_id, fixed)
    except NotFound:
        raise
    except TaydoError as exc:
        if raw is not None:
            return await _entry_page(request, principal, entry_id, error=exc, raw_text=raw)
        context = await run_in_threadpool(_data_context, request, principal, "pending")
        context["error"] = _error_text(entry_id, exc)
        return render(request, "data.html", context, status=exc.status_code)
    return RedirectResponse("/data#quarantine", status_code=303)


@router.post("/data/quarantine/{entry_id}/discard")
async def quarantine_discard(
    request: Request,
    entry_id: int,
    principal: Annotated[Principal, page("quarantine:act")],
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Discard an entry with a note (journalled); it stays listed as discarded."""
    from taydo.web import datahealth

    try:
        await run_in_threadpool(
            datahealth.discard,
            request.app.state.db,
            principal,
            entry_id,
            note,
            client_address(request),
        )
    except NotFound:
        raise
    except TaydoError as exc:
        return await _entry_page(request, principal, entry_id, error=exc)
    return RedirectResponse("/data#quarantine", status_code=303)
