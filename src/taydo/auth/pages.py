"""Console screens of the identity domain: the login form, logging in and out, and pairing a
display screen (``/display``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from taydo.auth import displays, login_csrf, sessions
from taydo.auth.denied import DeniedJournal
from taydo.core.access import Principal, client_address
from taydo.core.deps import AppRuntime, AppSettings, Db
from taydo.core.errors import TaydoError
from taydo.core.runtime import runtime_of
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
    return _form(request, {"next": safe_next(next), "username": "", "error": None})


def _form(request: Request, context: dict[str, object], status: int = 200) -> Response:
    """The login form with its pre-session CSRF token (``login_csrf``) and cookie."""
    issued = login_csrf.form_token(request)
    response = render(request, "auth/login.html", {**context, "login_token": issued.token}, status)
    issued.set_cookie(request, response)
    return response


@router.post("/login", dependencies=[page(None)])
async def login_submit(
    request: Request,
    db: Db,
    settings: AppSettings,
    runtime: AppRuntime,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    address = client_address(request) or "unknown"
    context = {"next": safe_next(next), "username": username[:80]}
    cross_site = not login_csrf.same_origin(request)
    if cross_site or not login_csrf.token_matches(request, csrf_token):
        # A form posted from another site (login CSRF), or one older than its cookie: the
        # password is not even checked. 400 like a wrong password (this public page refuses
        # the form, not the caller); a fresh form lets a real user simply try again.
        runtime.get(DeniedJournal).note(
            "auth.login_refused",
            actor=username.strip()[:80] or "anonymous",
            address=address,
            detail={
                "status": 400,
                "method": "POST",
                "route": "/login",
                "reason": "cross_origin" if cross_site else "csrf_token",
            },
        )
        refused = N_("Biểu mẫu đăng nhập đã hết hạn, vui lòng đăng nhập lại")
        return _form(request, {**context, "error": refused}, status=400)
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
        if throttled:
            runtime.get(DeniedJournal).note(
                "auth.login_throttled",
                actor=username.strip()[:80] or "anonymous",
                address=address,
                detail={"status": 429, "method": "POST", "route": "/login"},
            )
        error = (
            N_("Quá nhiều lần đăng nhập sai, vui lòng thử lại sau")
            if throttled
            else N_("Sai tên đăng nhập hoặc mật khẩu")
        )
        return _form(request, {**context, "error": error}, status=429 if throttled else 400)
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
    response.delete_cookie(login_csrf.LOGIN_COOKIE, path="/login")  # used: a new one per form
    return response


@router.post("/logout")
async def logout(
    request: Request,
    db: Db,
    runtime: AppRuntime,
    principal: Annotated[Principal | None, page(None)],
) -> Response:
    session_id = request.cookies.get(sessions.COOKIE_NAME)
    if principal is not None and session_id:
        address = client_address(request)
        await run_in_threadpool(sessions.logout, db, session_id, address=address)
        # This browser's other tabs (and any process serving them) stop their live streams.
        ended = displays.ended_event([f"session:{sessions.session_hash(session_id)}"], "logged out")
        await runtime.bus.publish(displays.ENDED_SUBJECT, ended)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(sessions.COOKIE_NAME, path="/")
    return response


# ---------------------------------------------------------------- display screens


@router.get("/display")
async def display_form(
    request: Request, _principal: Annotated[Principal | None, page(None)], code: str = ""
) -> Response:
    """The page a wall screen opens once (``/display?code=…``): one button pairs it."""
    return render(request, "auth/display.html", {"code": code[:100], "error": None})


@router.post("/display", dependencies=[page(None)])
async def display_pair(
    request: Request,
    db: Db,
    code: Annotated[str, Form()] = "",
) -> Response:
    """Spend the pairing code: this browser gets a long-lived display session and shows the
    wall. A refused code (unknown, used, expired, revoked) shows the form again with why."""
    if not login_csrf.same_origin(request):
        refused = N_("Biểu mẫu không hợp lệ, vui lòng mở lại liên kết ghép nối")
        return render(request, "auth/display.html", {"code": "", "error": refused}, 400)
    address = client_address(request)
    try:
        started = await run_in_threadpool(displays.pair, db, code, address=address)
    except TaydoError:
        error = N_("Mã ghép nối không hợp lệ, đã dùng hoặc đã hết hạn")
        return render(request, "auth/display.html", {"code": "", "error": error}, 400)
    response = RedirectResponse("/?wall=1", status_code=303)
    response.set_cookie(
        sessions.COOKIE_NAME,
        started.session_id,
        max_age=displays.DISPLAY_SESSION_DAYS * 86400,
        httponly=True,
        secure=runtime_of(request.app).settings.cookie_secure,
        samesite="lax",
        path="/",
    )
    return response
