"""Display accounts: wall screens that stay logged in for months, read only what the wall
shows, and can be cut off at once.

A display is an account with the ``display`` role and no password (nobody can log in as it).
An administrator creates it and gets a **pairing code** (``tdp_…``, 256 random bits, valid
``PAIRING_HOURS``, stored only as a SHA-256 hash in ``api_tokens``; the ``tdp_`` prefix is
never accepted as a bearer token). The screen opens ``/display?code=…`` once and exchanges
the code for a display session cookie (``DISPLAY_SESSION_DAYS``): the code is spent, so the
session is bound to that browser. The wall then reconnects by itself after any network cut
or server restart without a person logging in.

Revoking a display disables its account, ends its sessions and spends its pending codes in
one transaction; the caller then publishes ``auth.ended`` so every process ends the
screen's live stream at once. A new code (``new_code``) pairs a replacement screen.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update

from taydo.auth import journal
from taydo.auth.models import ApiToken, User, UserSession
from taydo.auth.roles import valid_username
from taydo.auth.sessions import NewSession, create_session
from taydo.core import clock
from taydo.core.db import Database
from taydo.core.errors import Conflict, Invalid, NotFound, Unauthenticated

__all__ = [
    "DISPLAY_ROLE",
    "DISPLAY_SESSION_DAYS",
    "ENDED_SUBJECT",
    "PAIRING_HOURS",
    "PAIRING_PREFIX",
    "Pairing",
    "create_display",
    "ended_event",
    "list_displays",
    "new_code",
    "pair",
    "revoke_display",
]

DISPLAY_ROLE = "display"
PAIRING_PREFIX = "tdp_"
PAIRING_HOURS = 24
DISPLAY_SESSION_DAYS = 365
ENDED_SUBJECT = "auth.ended"  # {"keys": [...], "reason": str}; the live stream ends them
PAIRING_NAME = "display pairing"


@dataclass(frozen=True)
class Pairing:
    username: str
    code: str  # shown once, never stored
    expires_at: datetime


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _display(session: Any, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username, User.role == DISPLAY_ROLE))
    if user is None:
        raise NotFound(f"Không có màn hình / no display {username!r}")
    return user


def _issue(session: Any, user: User) -> Pairing:
    """A fresh pairing code for ``user``; older unspent codes are spent (one at a time)."""
    now = clock.now()
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    code = PAIRING_PREFIX + secrets.token_urlsafe(32)
    expires = now + timedelta(hours=PAIRING_HOURS)
    session.add(
        ApiToken(
            name=PAIRING_NAME,
            token_hash=_hash(code),
            prefix=code[: len(PAIRING_PREFIX) + 4],
            user_id=user.id,
            role=DISPLAY_ROLE,
            agencies=[],
            created_at=now,
            expires_at=expires,
        )
    )
    return Pairing(user.username, code, expires)


def create_display(
    database: Database,
    username: str,
    *,
    label: str = "",
    actor: str = "system",
    address: str | None = None,
) -> Pairing:
    """A new display account and its first pairing code."""
    username = username.strip()
    if not valid_username(username):
        raise Invalid("Tên màn hình 1–80 ký tự in được / display name must have 1 to 80 characters")
    with database.session() as session:
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise Conflict(f"Tên đã được dùng / the name {username!r} is taken")
        user = User(
            username=username,
            role=DISPLAY_ROLE,
            agencies=[],
            full_name=label[:200],
            password_hash=None,
            disabled=False,
            created_at=clock.now(),
        )
        session.add(user)
        session.flush()
        pairing = _issue(session, user)
        journal.record(
            session,
            actor=actor,
            action="display.create",
            object_type="user",
            object_id=username,
            summary={"label": label, "code_expires_at": pairing.expires_at.isoformat()},
            address=address,
        )
        return pairing


def new_code(
    database: Database, username: str, *, actor: str = "system", address: str | None = None
) -> Pairing:
    """A new pairing code for an existing display (a replaced screen); enables it again."""
    with database.session() as session:
        user = _display(session, username)
        user.disabled = False
        pairing = _issue(session, user)
        journal.record(
            session,
            actor=actor,
            action="display.code",
            object_type="user",
            object_id=username,
            summary={"code_expires_at": pairing.expires_at.isoformat()},
            address=address,
        )
        return pairing


def pair(database: Database, code: str, *, address: str | None = None) -> NewSession:
    """Spend a pairing code: a display session for this browser. ``Unauthenticated`` for a
    code that is unknown, spent, expired or whose display was revoked."""
    refused = Unauthenticated(
        "Mã ghép nối không hợp lệ hoặc đã dùng / the pairing code is unknown, used or expired"
    )
    code = code.strip()
    if not code.startswith(PAIRING_PREFIX) or len(code) > 100:
        raise refused
    with database.session() as session:
        found = session.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == _hash(code), ApiToken.role == DISPLAY_ROLE)
            .with_for_update()
        ).first()
        if found is None:
            raise refused
        row, user = found
        expires = row.expires_at
        if expires is not None and expires.tzinfo is None:
            expires = expires.replace(tzinfo=clock.now().tzinfo)
        if (
            row.revoked_at is not None
            or user.disabled
            or user.role != DISPLAY_ROLE
            or (expires is not None and expires <= clock.now())
        ):
            raise refused
        row.revoked_at = clock.now()  # spent: the session is bound to this one browser
        started = create_session(session, user, hours=DISPLAY_SESSION_DAYS * 24, address=address)
        journal.record(
            session,
            actor=user.username,
            action="display.pair",
            object_type="user",
            object_id=user.username,
            summary={"expires_at": started.expires_at.isoformat()},
            address=address,
        )
        return started


def revoke_display(
    database: Database, username: str, *, actor: str = "system", address: str | None = None
) -> dict[str, Any]:
    """Cut a display off: account disabled, sessions ended, pending codes spent. Returns the
    ``auth.ended`` event to publish after this commit (the screen's streams end at once)."""
    with database.session() as session:
        user = _display(session, username)
        now = clock.now()
        user.disabled = True
        ended = session.execute(delete(UserSession).where(UserSession.user_id == user.id))
        session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        journal.record(
            session,
            actor=actor,
            action="display.revoke",
            object_type="user",
            object_id=username,
            summary={"sessions": int(getattr(ended, "rowcount", 0) or 0)},
            address=address,
        )
        return ended_event([f"user:{user.id}"], "revoked")


def ended_event(keys: list[str], reason: str) -> dict[str, Any]:
    """The data of an ``auth.ended`` event (see ``taydo.alerts.stream.StreamHub.end``)."""
    return {"keys": keys, "reason": reason}


def list_displays(database: Database) -> list[dict[str, Any]]:
    """Every display: name, label, revoked or not, live sessions and pending code."""
    now = clock.now()
    with database.session() as session:
        users = session.scalars(
            select(User).where(User.role == DISPLAY_ROLE).order_by(User.username)
        ).all()
        out = []
        for user in users:
            sessions, last = session.execute(
                select(func.count(), func.max(UserSession.created_at)).where(
                    UserSession.user_id == user.id, UserSession.expires_at > now
                )
            ).one()
            pending = session.scalar(
                select(func.max(ApiToken.expires_at)).where(
                    ApiToken.user_id == user.id,
                    ApiToken.revoked_at.is_(None),
                    ApiToken.expires_at > now,
                )
            )
            out.append(
                {
                    "username": user.username,
                    "label": user.full_name,
                    "revoked": user.disabled,
                    "created_at": user.created_at,
                    "sessions": int(sessions or 0),
                    "paired_at": last,
                    "code_expires_at": pending,
                }
            )
        return out
