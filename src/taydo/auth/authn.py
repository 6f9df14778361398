"""Who is calling: a bearer token, else the console session cookie, whose state-changing
requests must carry the session's CSRF token."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from taydo.auth import sessions
from taydo.auth.tokens import principal_for_token
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import Forbidden

__all__ = [
    "CSRF_EXEMPT_PATHS",
    "SAFE_METHODS",
    "Credential",
    "authenticator",
    "credential_of",
    "csrf_token",
]

csrf_token = sessions.csrf_token

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Logging in starts a session, so it cannot carry that session's CSRF token yet (the API
# route and the console's login form). Checking them would only refuse a logged-in user who
# logs in again: an anonymous visitor has no session to check anyway.
# Pairing a display screen (``/display``) likewise starts a session; its form carries the
# one-time pairing code, a 256-bit secret, and the page checks the Origin.
CSRF_EXEMPT_PATHS: set[str] = {"/api/v1/auth/login", "/login", "/display"}


@dataclass(frozen=True)
class Credential:
    """What a request was authenticated with, for a response that outlives the request (the
    live stream): ``keys`` name it for ``auth.ended`` events, ``expires_ms`` is its end."""

    keys: frozenset[str]
    expires_ms: int | None


CREDENTIAL = "taydo.credential"


def credential_of(request: Request) -> Credential | None:
    """The credential of an authenticated request (None for an anonymous one)."""
    found: Credential | None = request.scope.get(CREDENTIAL)
    return found


def _check_csrf(request: Request, session_id: str) -> None:
    if request.method in SAFE_METHODS or request.url.path in CSRF_EXEMPT_PATHS:
        return
    sent = request.headers.get(sessions.CSRF_HEADER) or request.scope.get("taydo.csrf_form")
    expected = sessions.csrf_for_session_id(session_id, sessions.secret_key(request))
    if not sent or not hmac.compare_digest(str(sent).encode("utf-8", "replace"), expected.encode()):
        raise Forbidden(
            "Thiếu hoặc sai mã CSRF / missing or wrong CSRF token "
            f"({sessions.CSRF_HEADER} header or {sessions.CSRF_FORM_FIELD} field)"
        )


def authenticator(database: Database) -> Callable[[Request], Principal | None]:
    """The function the app uses to resolve a request's caller: a bearer token, else the
    session cookie (whose state-changing requests must carry the session's CSRF token)."""

    def resolve(request: Request) -> Principal | None:
        header = request.headers.get("authorization", "")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "bearer" and credentials:
            by_token = principal_for_token(database, credentials.strip())
            if by_token is not None:
                request.scope[CREDENTIAL] = Credential(
                    frozenset({f"token:{by_token.token_id}", f"user:{by_token.user_id}"}), None
                )
            return by_token
        session_id = request.cookies.get(sessions.COOKIE_NAME)
        if not session_id:
            return None
        found = sessions.session_for(database, session_id)
        if found is None:
            return None
        principal, expires = found
        _check_csrf(request, session_id)
        keys = {f"session:{sessions.session_hash(session_id)}", f"user:{principal.user_id}"}
        request.scope[CREDENTIAL] = Credential(frozenset(keys), int(expires.timestamp() * 1000))
        return principal

    def authenticate(request: Request) -> Principal | None:
        # Routes may resolve the caller more than once (router and route dependencies).
        if "taydo.principal" not in request.scope:
            request.scope["taydo.principal"] = resolve(request)
        principal: Principal | None = request.scope["taydo.principal"]
        return principal

    return authenticate
