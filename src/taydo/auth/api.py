"""REST API of the auth domain: login/logout, users, tokens, and the audit journal."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from taydo.auth import displays, journal, login_csrf, passwords, service, sessions
from taydo.auth.denied import DeniedJournal
from taydo.auth.models import ApiToken
from taydo.auth.schemas import (
    AuditPageOut,
    AuditVerifyOut,
    DisplayIn,
    DisplayOut,
    LoginIn,
    LoginOut,
    MeOut,
    PairingOut,
    PasswordChangeIn,
    PasswordSetIn,
    Printable,
    TokenCreated,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
    UserPatch,
)
from taydo.auth.tokens import token_active, token_expiry
from taydo.core.access import GRANTS, Principal, client_address, public, requires
from taydo.core.bounds import Offset, RowId
from taydo.core.deps import AppRuntime, AppSettings, Db
from taydo.core.errors import Forbidden, Unauthenticated
from taydo.core.inputs import Moment

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["auth"])
PUBLIC = public()
SELF = requires("account:self")
ADMIN = requires("users:admin")
AUDIT = requires("audit:read")


def _address(request: Request) -> str:
    return client_address(request) or "unknown"


def _me(principal: Principal) -> MeOut:
    return MeOut(
        username=principal.username,
        role=principal.role,
        agencies=sorted(principal.agencies),
        via="token" if principal.token_id is not None else "session",
        permissions=sorted(GRANTS.get(principal.role, frozenset())),
    )


def _token_out(row: ApiToken, username: str) -> TokenOut:
    return TokenOut(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        username=username,
        role=row.role,
        agencies=list(row.agencies or []),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        active=token_active(row),
    )


@router.post("/auth/login", response_model=LoginOut, responses={429: {}, 401: {}})
def login(
    body: LoginIn,
    request: Request,
    db: Db,
    settings: AppSettings,
    runtime: AppRuntime,
    response: Response,
    _caller: Principal | None = PUBLIC,
) -> LoginOut | JSONResponse:
    """Đăng nhập / Log in: starts a console session (cookie) and returns its CSRF token."""
    if not login_csrf.same_origin(request):
        # A browser on another site (login CSRF); scripts send no Origin and pass.
        raise Forbidden("yêu cầu từ trang khác / cross-origin login refused")
    try:
        result = service.login(
            db,
            body.username,
            body.password,
            address=_address(request),
            hours=settings.session_hours,
            secret_key=settings.secret_key.get_secret_value(),
        )
    except sessions.Throttled as exc:
        runtime.get(DeniedJournal).note(
            "auth.login_throttled",
            actor=body.username.strip()[:80] or "anonymous",
            address=_address(request),
            detail={"status": 429, "method": "POST", "route": "/api/v1/auth/login"},
        )
        return JSONResponse(
            {"error": exc.message, "details": {"retry_after": exc.retry_after}},
            status_code=429,
            headers={"Retry-After": str(exc.retry_after)},
        )
    response.set_cookie(
        sessions.COOKIE_NAME,
        result.session_id,
        max_age=int(settings.session_hours * 3600),
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )
    me = _me(result.principal)
    return LoginOut(
        **me.model_dump(exclude={"via"}),
        via="session",
        csrf_token=result.csrf_token,
        expires_at=result.expires_at,
    )


@router.post("/auth/logout", status_code=204)
async def logout(
    request: Request, db: Db, runtime: AppRuntime, _caller: Principal | None = PUBLIC
) -> Response:
    """Đăng xuất / Log out: ends the session of the cookie (nothing to do for tokens)."""
    session_id = request.cookies.get(sessions.COOKIE_NAME)
    if session_id:
        await run_in_threadpool(service.logout, db, session_id, address=_address(request))
        # Its live streams end too, on every process.
        key = f"session:{sessions.session_hash(session_id)}"
        await runtime.bus.publish(displays.ENDED_SUBJECT, displays.ended_event([key], "logged out"))
    response = Response(status_code=204)
    response.delete_cookie(sessions.COOKIE_NAME, path="/", httponly=True, samesite="lax")
    return response


@router.get("/auth/me", response_model=MeOut)
def me(caller: Principal = SELF) -> MeOut:
    """Tôi là ai / Who am I: the caller's account, role, agencies and permissions."""
    return _me(caller)


@router.post("/auth/password", status_code=204)
def change_own_password(
    body: PasswordChangeIn, request: Request, db: Db, caller: Principal = SELF
) -> Response:
    """Đổi mật khẩu / Change one's own password (ends one's other sessions)."""
    user = service.get_user(db, caller.username)
    if not passwords.verify(user.password_hash, body.current_password):
        raise Unauthenticated("Mật khẩu hiện tại không đúng / the current password is wrong")
    service.set_password(
        db,
        caller.username,
        body.new_password,
        actor=caller.username,
        address=_address(request),
        keep_session_id=request.cookies.get(sessions.COOKIE_NAME),
    )
    return Response(status_code=204)


@router.get("/users", response_model=list[UserOut])
def list_users(request: Request, db: Db, _caller: Principal = ADMIN) -> list[UserOut]:
    """Danh sách người dùng / List accounts."""
    return [UserOut.model_validate(user) for user in service.list_users(db)]


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(body: UserIn, request: Request, db: Db, caller: Principal = ADMIN) -> UserOut:
    """Tạo người dùng / Create an account."""
    user = service.create_user(
        db,
        body.username,
        body.role,
        agencies=body.agencies,
        full_name=body.full_name,
        password=body.password,
        actor=caller.username,
        address=_address(request),
    )
    return UserOut.model_validate(user)


@router.patch("/users/{username}", response_model=UserOut)
async def update_user(
    username: Printable,
    body: UserPatch,
    request: Request,
    db: Db,
    runtime: AppRuntime,
    caller: Principal = ADMIN,
) -> UserOut:
    """Đổi vai trò, cơ quan, khóa/mở / Change role, agencies, or disable/enable an account."""
    who = {"actor": caller.username, "address": _address(request)}

    def change() -> UserOut:
        user = service.get_user(db, username)
        if body.role is not None or body.agencies is not None:
            role = body.role or user.role
            user = service.set_role(db, username, role, agencies=body.agencies, **who)
        if body.disabled is not None:
            user = service.set_disabled(db, username, body.disabled, **who)
        return UserOut.model_validate(user)

    changed = await run_in_threadpool(change)
    if body.disabled or body.role is not None:
        # A disabled account's (or a changed role's) open live streams end now, everywhere.
        user_id = (await run_in_threadpool(service.get_user, db, username)).id
        ended = displays.ended_event([f"user:{user_id}"], "account changed")
        await runtime.bus.publish(displays.ENDED_SUBJECT, ended)
    return changed


@router.put("/users/{username}/password", status_code=204)
def set_user_password(
    username: Printable,
    body: PasswordSetIn,
    request: Request,
    db: Db,
    caller: Principal = ADMIN,
) -> Response:
    """Đặt mật khẩu / Set an account's password (ends its sessions)."""
    service.set_password(
        db, username, body.password, actor=caller.username, address=_address(request)
    )
    return Response(status_code=204)


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(
    request: Request,
    db: Db,
    username: Printable | None = None,
    _caller: Principal = ADMIN,
) -> list[TokenOut]:
    """Danh sách mã truy cập / List tokens (never the token itself, only its prefix)."""
    return [_token_out(row, owner) for row, owner in service.list_tokens(db, username=username)]


@router.post("/tokens", response_model=TokenCreated, status_code=201)
def create_token(
    body: TokenIn, request: Request, db: Db, caller: Principal = ADMIN
) -> TokenCreated:
    """Tạo mã truy cập / Create a token. The answer is the only time the token is shown."""
    user = service.get_user(db, body.username)
    row, token = service.issue_token(
        db,
        user.id,
        body.name,
        role=body.role,
        agencies=body.agencies,
        expires_at=token_expiry(body.expires_in_days),
        actor=caller.username,
        address=_address(request),
    )
    return TokenCreated(**_token_out(row, user.username).model_dump(), token=token)


@router.delete("/tokens/{token_id}", response_model=TokenOut)
def revoke_token(token_id: RowId, request: Request, db: Db, caller: Principal = ADMIN) -> TokenOut:
    """Thu hồi mã truy cập / Revoke a token (takes effect on its next request)."""
    row, owner = service.revoke_token(
        db, token_id, actor=caller.username, address=_address(request)
    )
    return _token_out(row, owner)


# -- display screens ------------------------------------------------------------------------
def _pairing_out(pairing: displays.Pairing) -> PairingOut:
    return PairingOut(
        username=pairing.username,
        code=pairing.code,
        pair_url=f"/display?code={pairing.code}",
        expires_at=pairing.expires_at,
    )


@router.get("/displays", response_model=list[DisplayOut])
def list_displays(request: Request, db: Db, _caller: Principal = ADMIN) -> list[DisplayOut]:
    """Màn hình hiển thị / Display screens (wall accounts) and their pairing state."""
    return [DisplayOut(**row) for row in displays.list_displays(db)]


@router.post("/displays", response_model=PairingOut, status_code=201)
def create_display(
    body: DisplayIn, request: Request, db: Db, caller: Principal = ADMIN
) -> PairingOut:
    """Tạo màn hình / Create a display account; returns its one-time pairing code."""
    pairing = displays.create_display(
        db, body.username, label=body.label, actor=caller.username, address=_address(request)
    )
    return _pairing_out(pairing)


@router.post("/displays/{username}/code", response_model=PairingOut, status_code=201)
def new_display_code(
    username: Printable, request: Request, db: Db, caller: Principal = ADMIN
) -> PairingOut:
    """Mã ghép nối mới / A new pairing code (a replaced screen); older unused codes lapse."""
    pairing = displays.new_code(db, username, actor=caller.username, address=_address(request))
    return _pairing_out(pairing)


@router.delete("/displays/{username}", status_code=204)
async def revoke_display(
    username: Printable, request: Request, db: Db, runtime: AppRuntime, caller: Principal = ADMIN
) -> Response:
    """Thu hồi màn hình / Revoke a display: its sessions end and its live stream closes now."""
    ended = await run_in_threadpool(
        displays.revoke_display, db, username, actor=caller.username, address=_address(request)
    )
    await runtime.bus.publish(displays.ENDED_SUBJECT, ended)
    return Response(status_code=204)


@router.get("/audit", response_model=AuditPageOut)
def audit(
    request: Request,
    db: Db,
    actor: Printable | None = None,
    action: Annotated[
        Printable | None, Query(description="exact, or a prefix like token.*")
    ] = None,
    object_type: Printable | None = None,
    object_id: Printable | None = None,
    since: Moment | None = None,
    until: Moment | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
    _caller: Principal = AUDIT,
) -> AuditPageOut:
    """Nhật ký kiểm toán / The audit journal, newest first, filtered and paginated."""
    page = journal.query(
        db,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    return AuditPageOut.model_validate({"items": page.items, "next_offset": page.next_offset})


@router.get("/audit/verify", response_model=AuditVerifyOut)
def audit_verify(request: Request, db: Db, _caller: Principal = AUDIT) -> AuditVerifyOut:
    """Kiểm tra chuỗi băm / Walk the hash chain and report the first broken link."""
    result = journal.verify(db)
    return AuditVerifyOut(
        ok=result.ok,
        entries=result.entries,
        head_hash=result.head_hash,
        broken_at=result.broken.position if result.broken else None,
        reason=result.broken.reason if result.broken else None,
    )
