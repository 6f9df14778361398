"""Users, tokens, and turning a request's credentials into a ``Principal``."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime

from fastapi import Request
from sqlalchemy import select

from taydo.auth.models import ApiToken, User
from taydo.core import clock
from taydo.core.access import ROLES, Principal
from taydo.core.db import Database
from taydo.core.errors import Conflict, Invalid

TOKEN_PREFIX = "tdk_"  # noqa: S105 - a marker, not a secret


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    database: Database,
    username: str,
    role: str,
    *,
    agencies: list[str] | None = None,
    full_name: str = "",
    password_hash: str | None = None,
) -> User:
    if role not in ROLES:
        raise Invalid(f"unknown role {role!r}", roles=list(ROLES))
    if role == "agency_officer" and not agencies:
        raise Invalid("an agency officer must belong to at least one agency")
    with database.session() as session:
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise Conflict(f"user {username!r} exists")
        user = User(
            username=username,
            role=role,
            agencies=sorted(agencies or []),
            full_name=full_name,
            password_hash=password_hash,
            created_at=clock.now(),
        )
        session.add(user)
        session.flush()
        return user


def issue_token(
    database: Database,
    user_id: int,
    name: str,
    *,
    role: str | None = None,
    agencies: list[str] | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the token text, which is never shown again."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with database.session() as session:
        user = session.get(User, user_id)
        if user is None:
            raise Invalid(f"no user {user_id}")
        row = ApiToken(
            name=name,
            token_hash=_hash_token(token),
            prefix=token[: len(TOKEN_PREFIX) + 4],
            user_id=user.id,
            role=role or user.role,
            agencies=sorted(agencies if agencies is not None else user.agencies),
            created_at=clock.now(),
            expires_at=expires_at,
        )
        session.add(row)
        session.flush()
        return row, token


def principal_for_token(database: Database, token: str) -> Principal | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    with database.session() as session:
        found = session.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == _hash_token(token))
        ).first()
        if found is None:
            return None
        row, user = found
        now = clock.now()
        expires = row.expires_at
        if expires is not None and expires.tzinfo is None:  # SQLite returns naive UTC
            expires = expires.replace(tzinfo=now.tzinfo)
        if row.revoked_at is not None or user.disabled or (expires and expires <= now):
            return None
        return Principal(
            username=user.username,
            role=row.role,
            agencies=frozenset(row.agencies or []),
            user_id=user.id,
            token_id=row.id,
        )


def authenticator(database: Database) -> Callable[[Request], Principal | None]:
    """The function the app uses to resolve a request's caller."""

    def authenticate(request: Request) -> Principal | None:
        header = request.headers.get("authorization", "")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "bearer" and credentials:
            return principal_for_token(database, credentials.strip())
        return None

    return authenticate
