"""Console screens of the identity domain: the login form, logging in and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from taydo.auth import sessions
from taydo.core.access import Principal, client_address
from taydo.core.deps import AppSettings, Db
from taydo.core.errors import TaydoError
from taydo.web.i18n import N_
from taydo.web.pages import safe_next
from taydo.web.shell import page, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/login")
async def login_form(
    request: Request, principal: Annotated[Principal | None, page(None)], next: str = "/"
) -> Response:
    if principal is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(
        request, "auth/login.html", {"next": safe_next(next), "username": "", "error": None}
    )


@router.post("/login", dependencies=[page(None)])
async def login_submit(
    request: Request,
    db: Db,
    settings: AppSettings,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    address = client_address(request) or "unknown"
    try:
        result = await run_in_threadpool(
            sessions.login,
            db,
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
        return render(request, "auth/login.html", context, status=429 if throttled else 400)
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
async def logout(
    request: Request, db: Db, principal: Annotated[Principal | None, page(None)]
) -> Response:
    session_id = request.cookies.get(sessions.COOKIE_NAME)
    if principal is not None and session_id:
        address = client_address(request)
        await run_in_threadpool(sessions.logout, db, session_id, address=address)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(sessions.COOKIE_NAME, path="/")
    return response
