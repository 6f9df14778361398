"""The UI kit's own routes: static assets, the API docs page and the language switch.

Each domain serves its own screens from its ``pages.py``; the cross-domain screens (overview,
wall, areas, station page) are in ``taydo.console``. Each route declares who may call it with
:func:`taydo.web.shell.page` (the console's form of ``requires``/``public``).
"""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from taydo.web.i18n import LANG_COOKIE, LOCALES, N_
from taydo.web.shell import STATIC_DIR, asset_url, page, render

__all__ = ["error_page", "router", "safe_next"]

router = APIRouter(include_in_schema=False)

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
<link rel="icon" href="data:,">
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


# ---------------------------------------------------------------- error pages

ERROR_TITLES = {
    401: N_("Cần đăng nhập"),
    403: N_("Không được phép truy cập"),
    404: N_("Không tìm thấy trang"),
    405: N_("Không thể thực hiện yêu cầu"),
    429: N_("Quá nhiều yêu cầu, xin thử lại sau"),
    500: N_("Lỗi hệ thống"),
    503: N_("Hệ thống đang quá tải, xin thử lại sau"),
}


async def error_page(request: Request, status: int, message: str) -> Response:
    """A refusal shown to a person's browser in the console's look (see
    ``taydo.core.answers.add_error_handlers``)."""
    title = ERROR_TITLES.get(status, N_("Không thể thực hiện yêu cầu"))
    return render(
        request, "error.html", {"title": title, "message": message, "status": status}, status
    )


# ---------------------------------------------------------------- language


@router.get("/lang/{code}", dependencies=[page(None)])
async def switch_language(code: str, next: str = "/") -> Response:
    response = RedirectResponse(safe_next(next), status_code=303)
    if code in LOCALES:
        response.set_cookie(LANG_COOKIE, code, max_age=YEAR, samesite="lax", path="/")
    return response
