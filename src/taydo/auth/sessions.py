"""Console sessions, their CSRF tokens, and login throttling.

A session id is 256 random bits sent in an ``HttpOnly`` cookie; the database keeps only its
SHA-256, so a copy of the database cannot be replayed as a login. The CSRF token of a
session is an HMAC of the session id under the secret key: nothing more to store, and a page
from another site can neither read the cookie nor compute the token.

Throttling counts failed logins per (account, client address) in the database, so several
server processes share the count.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import Request
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from taydo.auth import journal, passwords
from taydo.auth.models import LoginAttempt, User, UserSession
from taydo.auth.roles import valid_username
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import TaydoError, Unauthenticated
from taydo.core.runtime import runtime_of

__all__ = [
    "COOKIE_NAME",
    "CSRF_FORM_FIELD",
    "CSRF_HEADER",
    "THROTTLE_MAX_FAILURES",
    "THROTTLE_WINDOW_MS",
    "LoginResult",
    "NewSession",
    "Throttled",
    "clear_failures",
    "create_session",
    "csrf_for_session_id",
    "csrf_token",
    "end_session",
    "login",
    "logout",
    "note_failure",
    "principal_for_session",
    "session_for",
    "session_hash",
    "throttle_wait",
]

COOKIE_NAME = "taydo_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
THROTTLE_MAX_FAILURES = 5
THROTTLE_WINDOW_MS = 60_000
BAD_LOGIN = "Sai tên đăng nhập hoặc mật khẩu / wrong username or password"


class Throttled(TaydoError):
    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "Quá nhiều lần đăng nhập sai, vui lòng thử lại sau / "
            "too many failed logins, try again later",
            retry_after=retry_after,
        )
        self.retry_after = retry_after


def session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def secret_key(request: Request) -> str:
    return str(runtime_of(request.app).settings.secret_key.get_secret_value())


def csrf_token(request: Request) -> str:
    """The CSRF token of the request's session cookie ("" without one). Console forms put it
    in a hidden ``csrf_token`` field; scripts send it as the ``X-CSRF-Token`` header."""
    session_id = request.cookies.get(COOKIE_NAME)
    return csrf_for_session_id(session_id, secret_key(request)) if session_id else ""


def csrf_for_session_id(session_id: str, secret_key: str) -> str:
    return hmac.new(secret_key.encode(), b"csrf:" + session_id.encode(), "sha256").hexdigest()


@dataclass(frozen=True)
class NewSession:
    session_id: str  # goes into the cookie, never stored
    expires_at: datetime


def create_session(
    session: Session, user: User, *, hours: float, address: str | None
) -> NewSession:
    """Start a session for ``user`` in the caller's transaction."""
    session_id = secrets.token_urlsafe(32)
    now = clock.now()
    expires = now + timedelta(hours=hours)
    session.add(
        UserSession(
            id_hash=session_hash(session_id),
            user_id=user.id,
            created_at=now,
            expires_at=expires,
            address=address,
        )
    )
    # Expired sessions of this user go at each login, so the table does not grow forever.
    session.execute(
        delete(UserSession).where(UserSession.user_id == user.id, UserSession.expires_at < now)
    )
    return NewSession(session_id, expires)


def end_session(session: Session, session_id: str) -> User | None:
    """Forget a session; returns its user (None when it was unknown)."""
    row = session.scalar(select(UserSession).where(UserSession.id_hash == session_hash(session_id)))
    if row is None:
        return None
    user = session.get(User, row.user_id)
    session.delete(row)
    return user


def principal_for_session(database: Database, session_id: str) -> Principal | None:
    found = session_for(database, session_id)
    return found[0] if found else None


def session_for(database: Database, session_id: str) -> tuple[Principal, datetime] | None:
    """The caller of a live session and when the session expires (None: unknown, expired, or
    its account disabled)."""
    with database.session() as session:
        found = session.execute(
            select(UserSession, User)
            .join(User, User.id == UserSession.user_id)
            .where(UserSession.id_hash == session_hash(session_id))
        ).first()
        if found is None:
            return None
        row, user = found
        expires = _aware(row.expires_at)
        if user.disabled or expires <= clock.now():
            return None
        principal = Principal(
            username=user.username,
            role=user.role,
            agencies=frozenset(user.agencies or []),
            user_id=user.id,
        )
        return principal, expires


def throttle_wait(session: Session, username: str, address: str) -> int:
    """Seconds the caller must wait before trying again (0: go ahead)."""
    now = clock.now_ms()
    window_start = now - THROTTLE_WINDOW_MS
    count, oldest = session.execute(
        select(func.count(), func.min(LoginAttempt.at_ms)).where(
            LoginAttempt.username == username[:80],
            LoginAttempt.address == address[:64],
            LoginAttempt.at_ms > window_start,
        )
    ).one()
    if count < THROTTLE_MAX_FAILURES:
        return 0
    return max(1, math.ceil((oldest + THROTTLE_WINDOW_MS - now) / 1000))


def note_failure(session: Session, username: str, address: str) -> None:
    now = clock.now_ms()
    session.add(LoginAttempt(username=username[:80], address=address[:64], at_ms=now))
    # Old failures are useless once out of the window; drop this key's old ones as we go.
    session.execute(
        delete(LoginAttempt).where(
            LoginAttempt.username == username[:80],
            LoginAttempt.address == address[:64],
            LoginAttempt.at_ms <= now - THROTTLE_WINDOW_MS,
        )
    )


def clear_failures(session: Session, username: str, address: str) -> None:
    session.execute(
        delete(LoginAttempt).where(
            LoginAttempt.username == username[:80], LoginAttempt.address == address[:64]
        )
    )


@dataclass(frozen=True)
class LoginResult:
    principal: Principal
    session_id: str  # the cookie value; never log it
    csrf_token: str
    expires_at: datetime


def login(
    database: Database,
    username: str,
    password: str,
    *,
    address: str,
    hours: float,
    secret_key: str,
) -> LoginResult:
    """Check a password and start a session. Raises ``Throttled`` (429) after too many
    failures for this account from this address, ``Unauthenticated`` (401) otherwise."""
    username = username.strip()[:80]
    if not valid_username(username):
        raise Unauthenticated(BAD_LOGIN)  # cannot name an account; nothing to count
    with database.session() as session:
        wait = throttle_wait(session, username, address)
        user = session.scalar(select(User).where(User.username == username))
    if wait:
        raise Throttled(wait)
    usable = user is not None and not user.disabled
    # The hash check runs even for unknown or disabled accounts (same time, same answer).
    ok = passwords.verify(user.password_hash if usable and user else None, password)
    with database.session() as session:
        # Read again: the account may have been disabled while the hash was checked.
        stored = session.get(User, user.id) if ok and user is not None else None
        if stored is None or stored.disabled:
            ok = False
            note_failure(session, username, address)
            journal.record(
                session,
                actor=username or "anonymous",
                action="auth.login_failed",
                object_type="user",
                object_id=username,
                summary={"reason": "bad_credentials" if usable else "unknown_or_disabled"},
                address=address,
            )
        else:
            if stored.password_hash and passwords.needs_rehash(stored.password_hash):
                stored.password_hash = passwords.rehash(password)
            clear_failures(session, username, address)
            started = create_session(session, stored, hours=hours, address=address)
            journal.record(
                session,
                actor=username,
                action="auth.login",
                object_type="user",
                object_id=username,
                summary={"expires_at": started.expires_at.isoformat()},
                address=address,
            )
    if not ok or user is None:
        raise Unauthenticated(BAD_LOGIN)
    principal = Principal(
        username=user.username,
        role=user.role,
        agencies=frozenset(user.agencies or []),
        user_id=user.id,
    )
    csrf = csrf_for_session_id(started.session_id, secret_key)
    return LoginResult(principal, started.session_id, csrf, started.expires_at)


def logout(database: Database, session_id: str, *, address: str | None = None) -> bool:
    with database.session() as session:
        user = end_session(session, session_id)
        if user is None:
            return False
        journal.record(
            session,
            actor=user.username,
            action="auth.logout",
            object_type="user",
            object_id=user.username,
            summary={},
            address=address,
        )
    return True
